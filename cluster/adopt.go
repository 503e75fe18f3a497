package cluster

// Taking runs back after a restart.
//
// A coordinator killed mid-sweep leaves its runs training on the workers:
// their events wait in the events stream and the workers keep heartbeating
// them. The restarted coordinator (same CoordinatorID) keeps those
// deliveries as orphans instead of stopping them; when the engine retries
// such a run from its newest recorded training state, the orphan is
// adopted: its buffered events after that state are recorded and its live
// ones followed, so nothing the worker trained meanwhile is trained again.
//
// Adoption is exact because events are acked only once the store holds
// what a restart resumes from (settle): an epoch's events when the
// epoch's training state is recorded. The state's own event and the
// delivery's Started event stay unacked, so a restarted coordinator finds
// both the delivery's start and the event of the newest state it recorded.

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/variant"
)

const (
	// adoptGrace is how long after listening a retried run waits for its
	// orphan's heartbeats (workers send them every second).
	adoptGrace = 3 * time.Second
	// backlogWait bounds the wait for the events the stream held when
	// the coordinator started listening.
	backlogWait = 30 * time.Second
	// progressEvery renews the ack wait (30 s) of the events held unacked.
	progressEvery = 10 * time.Second

	maxOrphans      = 4096 // deliveries kept; more are stopped
	maxOrphanEvents = 4096 // events kept per orphan; more and it is stopped
	// maxHeld bounds the events all orphans hold unacked, well below the
	// events consumer's MaxAckPending: JetStream stops delivering at that
	// limit, which would stall the runs being recorded.
	maxHeld = 100_000
	// maxPending bounds an attempt's unacked events: a run that records
	// no training state for that long has its oldest acked (a restart
	// then starts it over instead of adopting it).
	maxPending = 256
)

// orphanRE is a token this coordinator gives: <run>-<attempt>-<hex>.
var orphanRE = regexp.MustCompile(`^([1-9][0-9]{0,17})-[0-9]{1,9}-[0-9a-f]+$`)

// orphanRun is the run a token names, or 0 when it is not one of ours.
func orphanRun(token string) int64 {
	m := orphanRE.FindStringSubmatch(token)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// orphan is a delivery that no attempt of this process started: one an
// earlier process of this coordinator gave out before it was killed.
type orphan struct {
	token    string
	run      int64
	delivery uint64
	worker   string
	hb       time.Time            // the worker's last heartbeat naming it
	events   map[uint64]delivered // by seq, unacked
	bad      string               // why it can never be adopted
}

func orphanKey(token string, delivery uint64) string { return fmt.Sprintf("%s/%d", token, delivery) }

// orphanLocked returns the orphan of a delivery, created when new; nil when
// there are too many or the run is already taken. r.mu is held.
func (r *Remote) orphanLocked(token string, delivery uint64, worker string, run int64) *orphan {
	if r.taken[run] {
		return nil // the engine retried the run: this delivery is too late
	}
	k := orphanKey(token, delivery)
	o := r.orphans[k]
	if o == nil {
		if len(r.orphans) >= maxOrphans {
			return nil
		}
		o = &orphan{token: token, run: run, delivery: delivery, worker: worker, events: map[uint64]delivered{}}
		r.orphans[k] = o
	}
	if o.worker != worker && o.bad == "" {
		o.bad = fmt.Sprintf("named by two workers, %s and %s", o.worker, worker)
	}
	return o
}

// keepLocked buffers an event of an orphan; false when it cannot (the
// event is then dropped as of an unknown attempt). r.mu is held.
func (r *Remote) keepLocked(d delivered, run int64) bool {
	ev := d.ev
	o := r.orphanLocked(ev.Token, ev.Delivery, ev.Worker, run)
	if o == nil || o.bad != "" {
		return false
	}
	if old, ok := o.events[ev.Seq]; ok && streamSeq(old.msg) != streamSeq(d.msg) {
		// a worker never publishes two events under one number
		o.bad = fmt.Sprintf("two different events numbered %d", ev.Seq)
		return false
	} else if !ok {
		switch {
		case len(o.events) >= maxOrphanEvents:
			o.bad = fmt.Sprintf("more than %d events waited for the coordinator", maxOrphanEvents)
			return false
		case r.held >= maxHeld:
			o.bad = fmt.Sprintf("the deliveries not taken back yet hold %d events already", r.held)
			return false
		}
		r.held++
	}
	o.events[ev.Seq] = d // a redelivery replaces the handle
	return true
}

func streamSeq(m jetstream.Msg) uint64 {
	if md, err := m.Metadata(); err == nil {
		return md.Sequence.Stream
	}
	return 0
}

// heard notes a worker's heartbeat for an orphan; false when it is not
// one to keep.
func (r *Remote) heard(worker string, h Held, run int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended[h.Token] {
		return false
	}
	o := r.orphanLocked(h.Token, h.Delivery, worker, run)
	if o == nil || o.bad != "" {
		return false
	}
	o.hb = time.Now()
	return true
}

// removeLocked forgets an orphan. r.mu is held.
func (r *Remote) removeLocked(key string) {
	if o := r.orphans[key]; o != nil {
		r.held -= len(o.events)
		delete(r.orphans, key)
	}
}

// allOrphans removes and returns every orphan.
func (r *Remote) allOrphans() []*orphan {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := make([]*orphan, 0, len(r.orphans))
	for k, o := range r.orphans {
		list = append(list, o)
		r.removeLocked(k)
	}
	return list
}

// dropOrphans stops orphans on their workers and acks their events (their
// object blobs expire with the bucket's TTL: a live delivery's identical
// artifact may share them).
func (r *Remote) dropOrphans(list []*orphan, reason string, superseded bool) {
	for _, o := range list {
		for _, d := range o.events {
			_ = d.msg.Ack()
		}
		fmt.Fprintf(r.log, "aexp: run %d: dropped %d event(s) of an unknown run attempt %s (delivery %d on worker %s): %s; telling it to stop\n",
			o.run, len(o.events), o.token, o.delivery, o.worker, reason)
		r.cancelOn(o.worker, o.token, reason, superseded)
	}
}

// adoption is how an orphan continues an engine's attempt.
type adoption struct {
	o       *orphan
	started *Started
	from    int         // the epoch of the store's newest state (0: none)
	held    []delivered // buffered and recorded before: acked with the next state
	replay  []delivered // buffered and not recorded yet, in order
	since   time.Time   // when the worker's training since the store's state began
	last    uint64      // the newest buffered seq
	why     string      // not adoptable: why
}

// waitOrphans gives a retried run's orphan time to be heard of: the
// events the stream held when the coordinator started listening, then a
// couple of heartbeats when the run was started before (or its events
// are here).
func (r *Remote) waitOrphans(ctx context.Context, t *orchestrator.Task) {
	for r.received.Load() < r.backlog && time.Since(r.listening) < backlogWait && ctx.Err() == nil {
		sleep(ctx, 50*time.Millisecond)
	}
	r.mu.Lock()
	known := false
	for _, o := range r.orphans {
		known = known || o.run == t.RunID
	}
	r.mu.Unlock()
	if !(known || t.Attempt > 1 || t.Req.Resume != nil) {
		return
	}
	sleep(ctx, time.Until(r.listening.Add(adoptGrace)))
	// a loaded worker may heartbeat late: give an orphan whose events are
	// here but not its worker's word until the registry would forget it
	for time.Since(r.listening) < workerTTL && ctx.Err() == nil && r.unheard(t.RunID) {
		sleep(ctx, 100*time.Millisecond)
	}
}

// unheard says whether an orphan of run is still training as far as its
// events tell (no End) but no heartbeat named it yet.
func (r *Remote) unheard(run int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.orphans {
		if o.run != run || !o.hb.IsZero() || o.bad != "" {
			continue
		}
		ended := false
		for _, d := range o.events {
			ended = ended || d.ev.End != nil
		}
		if !ended {
			return true
		}
	}
	return false
}

// adopt registers a as the attempt of t's run: under the token of an
// orphan of the run that can continue from the store's state (the
// returned adoption says how), else under a's own token (nil: queue it;
// the run's orphans are stopped).
func (r *Remote) adopt(ctx context.Context, a *remoteAttempt, t *orchestrator.Task) *adoption {
	k := 0
	if t.Req.Resume != nil {
		k = t.Req.Resume.Epoch
	}
	ws, _ := r.liveWorkers(ctx)
	r.mu.Lock()
	r.taken[t.RunID] = true
	var cands []*orphan
	for key, o := range r.orphans {
		if o.run == t.RunID {
			cands = append(cands, o)
			r.removeLocked(key)
		}
	}
	// the newest delivery first, then the one heard of last
	slices.SortFunc(cands, func(x, y *orphan) int {
		if c := cmp.Compare(y.delivery, x.delivery); c != 0 {
			return c
		}
		return y.hb.Compare(x.hb)
	})
	var got *adoption
	why := map[*orphan]string{}
	for _, o := range cands {
		if got != nil {
			why[o] = "another delivery of the run was taken back"
			continue
		}
		if ad := r.viable(o, t, k, ws); ad.why != "" {
			why[o] = "the restarted coordinator cannot take it back (" + ad.why + "); the run is queued again"
		} else {
			got = ad
		}
	}
	type drop struct {
		o          *orphan
		superseded bool
	}
	var drops []drop
	for _, o := range cands {
		switch {
		case got != nil && o == got.o:
		case got != nil && o.token == got.o.token:
			drops = append(drops, drop{o, true}) // the taken token lives on
		default:
			r.ended[o.token] = true
			drops = append(drops, drop{o, false})
		}
	}
	if got != nil {
		a.mu.Lock()
		a.token, a.delivery, a.worker, a.host = got.o.token, got.o.delivery, got.o.worker, got.started.Host
		a.lastSeq, a.seen, a.adopted, a.maxEpoch = got.last, time.Now(), 1, k
		a.pending = got.held
		a.mu.Unlock()
	}
	r.atts[a.token] = a
	r.mu.Unlock()
	for _, d := range drops {
		r.dropOrphans([]*orphan{d.o}, why[d.o], d.superseded)
	}
	return got
}

// viable says how o continues the engine's attempt from the store's state
// of epoch k, or why it cannot (ad.why). r.mu is held.
func (r *Remote) viable(o *orphan, t *orchestrator.Task, k int, ws []WorkerInfo) *adoption {
	ad := &adoption{o: o, from: k}
	if o.bad != "" {
		ad.why = o.bad
		return ad
	}
	if !holds(ws, o.worker, t.Variant, t.Plugin.Hash) {
		ad.why = fmt.Sprintf("worker %s is gone or holds another build of %s", o.worker, t.Variant)
		return ad
	}
	seqs := make([]uint64, 0, len(o.events))
	for s := range o.events {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	first, ok := o.events[1]
	if !ok || first.ev.Started == nil {
		ad.why = "its start is not in the stream"
		return ad
	}
	ad.started = first.ev.Started
	ad.last = seqs[len(seqs)-1]
	if end := o.events[ad.last].ev.End; end != nil {
		if end.Kind == EndCanceled || end.Kind == EndStart {
			ad.why = "it was stopped on its worker"
			return ad
		}
	} else if time.Since(o.hb) > workerTTL {
		ad.why = fmt.Sprintf("worker %s no longer heartbeats it", o.worker)
		return ad
	}
	// the contiguous tail of what is buffered; what comes before it was
	// recorded and acked (an ack of a restart's moment may be lost)
	i := len(seqs) - 1
	for i > 0 && seqs[i-1] == seqs[i]-1 {
		i--
	}
	whole := seqs[i] <= 2 // every event of the delivery is here
	// where the delivery itself began: the epoch it resumed from (its
	// first event after Started that is not a log line), or 0
	began, beganAt := 0, 0
	for j := 1; whole && j < len(seqs); j++ {
		ev := o.events[seqs[j]].ev
		if ev.Log != nil {
			continue
		}
		if ev.Resumed != nil {
			began, beganAt = ev.Resumed.Epoch, j
		}
		break
	}
	at := -1 // the index of the event after which to replay
	switch {
	case k > 0:
		for j := i; j < len(seqs); j++ {
			if am := o.events[seqs[j]].ev.Artifact; am != nil && am.Kind == variant.KindState && am.Epoch == k {
				at = j
			}
		}
		if at < 0 && whole && began == k {
			at = beganAt
		}
	case whole && began == 0:
		at = 0 // seq 1, Started
	}
	if at < 0 {
		ad.why = fmt.Sprintf("the events right after epoch %d are not in the stream", k)
		return ad
	}
	for j, s := range seqs {
		if j <= at {
			ad.held = append(ad.held, o.events[s])
		} else {
			ad.replay = append(ad.replay, o.events[s])
		}
	}
	// training since the state: the stream's clock between its event and
	// the newest one, as if it began that long ago here
	from, err1 := seqs[at], error(nil)
	var t0, t1 time.Time
	if md, err := o.events[from].msg.Metadata(); err == nil {
		t0 = md.Timestamp
	} else {
		err1 = err
	}
	if md, err := o.events[ad.last].msg.Metadata(); err == nil {
		t1 = md.Timestamp
	} else {
		err1 = err
	}
	if err1 == nil && t1.After(t0) {
		ad.since = time.Now().Add(-t1.Sub(t0))
	}
	return ad
}

// holds says whether a live worker holds the build of a variant.
func holds(ws []WorkerInfo, worker, name, hash string) bool {
	for _, w := range ws {
		if w.ID != worker {
			continue
		}
		for _, v := range w.Variants {
			if v.Name == name && v.Hash == hash {
				return true
			}
		}
	}
	return false
}

// settle keeps d unacked while a restart would need it, and acks what it
// no longer needs: once a training state is recorded, the events before
// it (the delivery's Started excepted); events of earlier deliveries; the
// oldest beyond maxPending.
func (r *Remote) settle(a *remoteAttempt, d delivered) {
	a.mu.Lock()
	if d.ev.Token != a.token || d.ev.Delivery != a.delivery {
		a.mu.Unlock()
		_ = d.msg.Ack() // a late event, dropped by apply
		return
	}
	a.pending = append(a.pending, d)
	state := a.stateSeq == d.ev.Seq
	var acks []delivered
	keep := a.pending[:0]
	for _, p := range a.pending {
		if p.ev.Token != a.token || p.ev.Delivery != a.delivery || (state && p.ev.Seq != 1 && p.ev.Seq < d.ev.Seq) {
			acks = append(acks, p)
		} else {
			keep = append(keep, p)
		}
	}
	a.pending = keep
	for len(a.pending) > maxPending {
		i := 0
		if a.pending[0].ev.Seq == 1 {
			i = 1
		}
		acks = append(acks, a.pending[i])
		a.pending = slices.Delete(a.pending, i, i+1)
	}
	a.mu.Unlock()
	r.ack(acks)
}

// ack acks recorded events and removes their object blobs.
func (r *Remote) ack(ds []delivered) {
	for _, d := range ds {
		_ = d.msg.Ack()
		if am := d.ev.Artifact; am != nil && am.Blob.Object {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			r.c.deleteBlob(ctx, am.Blob)
			cancel()
		}
	}
}

// refresh renews the ack wait of the events held unacked (orphans' and
// attempts' pending ones) until done is closed.
func (r *Remote) refresh(done <-chan struct{}) {
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		var ms []jetstream.Msg
		var as []*remoteAttempt
		r.mu.Lock()
		for _, o := range r.orphans {
			for _, d := range o.events {
				ms = append(ms, d.msg)
			}
		}
		for _, a := range r.atts {
			as = append(as, a)
		}
		r.mu.Unlock()
		for _, a := range as {
			a.mu.Lock()
			for _, d := range a.pending {
				ms = append(ms, d.msg)
			}
			a.mu.Unlock()
		}
		for _, m := range ms {
			_ = m.InProgress()
		}
	}
}
