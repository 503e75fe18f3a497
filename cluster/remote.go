package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/variant"
)

// CoordinatorID names the coordinator of one sweep in one store on one
// host. It stays the same when the coordinator is restarted, so the events
// published while it was down wait for it in its durable consumer.
func CoordinatorID(dbPath, sweep string) string {
	host, _ := os.Hostname()
	if abs, err := filepath.Abs(dbPath); err == nil {
		dbPath = abs
	}
	sum := sha256.Sum256([]byte(host + "\x00" + dbPath + "\x00" + sweep))
	return "c" + hex.EncodeToString(sum[:8])
}

// RemoteOptions configure the coordinator side.
type RemoteOptions struct {
	Conn ConnOptions
	ID   string // CoordinatorID
	// AckWait is the workers' ack wait; an attempt with no word from its
	// worker for LostAfter (default 3×AckWait+5s) is queued again under a
	// new token, in case JetStream took a late ack for its redelivery's.
	AckWait   time.Duration
	LostAfter time.Duration
	// Threads is the sweep's BLAS threads per run when the spec or the
	// command line sets them; 0 lets each worker choose (cores ÷ slots).
	Threads int
	Log     io.Writer
}

// Remote is the coordinator's [orchestrator.Executor]: it queues each
// attempt on JetStream and turns the events of the worker that trains it
// back into emit calls and errors, exactly as a local plugin would. It is
// the fence: only events of the delivery it believes in are passed on.
type Remote struct {
	opts RemoteOptions
	c    *Conn
	log  io.Writer
	runs jetstream.Stream
	cc   jetstream.ConsumeContext
	subs []*nats.Subscription

	listenOnce sync.Once
	listenErr  error
	listening  time.Time      // when Listen began
	backlog    uint64         // events the stream held for this coordinator then
	received   atomic.Uint64  // events received since
	stopped    chan struct{}  // closed by Close, under mu
	settling   sync.WaitGroup // acks waiting for the engine to record an end
	closeOnce  sync.Once

	mu      sync.Mutex
	atts    map[string]*remoteAttempt // token -> attempt in flight
	ended   map[string]bool           // tokens of attempts that ended (quietly dropped)
	orphans map[string]*orphan        // token/delivery -> delivery of an earlier process (adopt.go)
	held    int                       // events the orphans hold
	taken   map[int64]bool            // runs the engine gave this process
	data    map[string]*DataRef       // dataset path -> published file

	kv       jetstream.KeyValue
	noWorker map[string]time.Time // variant/hash -> when we last said no worker can take it
	live     []WorkerInfo         // the registry, read at most every few seconds
	liveAt   time.Time
}

var _ orchestrator.Executor = (*Remote)(nil)

// delivered is an event of the believed delivery, decoded once, with the
// message to ack once it is recorded.
type delivered struct {
	msg jetstream.Msg
	ev  *EventMsg
}

// remoteAttempt is one attempt in flight.
type remoteAttempt struct {
	token  string
	task   *orchestrator.Task
	events chan delivered

	mu         sync.Mutex
	delivery   uint64 // the delivery believed in; 0: none yet
	worker     string
	host       string
	lastSeq    uint64
	seen       time.Time
	ahead      time.Time // since when events come after a missing one
	maxEpoch   int
	replayUpTo int             // epochs of earlier deliveries already recorded
	adopted    int             // deliveries adopted so far
	over       bool            // the attempt ended or was canceled: drop its message
	arts       map[string]bool // kind/name/epoch of the artifacts recorded
	// state is the newest training state recorded in this attempt: a
	// later delivery resumes from it (on whichever worker takes it).
	state *variant.Artifact
	// stateSeq is the seq of state's event; pending are the events
	// recorded but not acked yet, which a restarted coordinator would
	// need to take the delivery back (settle).
	stateSeq uint64
	pending  []delivered
}

// NewRemote connects the coordinator; it listens from its first Train
// (Listen).
func NewRemote(ctx context.Context, o RemoteOptions) (*Remote, error) {
	if !tokenRE.MatchString(o.ID) {
		return nil, fmt.Errorf("bad coordinator id %q", o.ID)
	}
	if o.AckWait <= 0 {
		o.AckWait = DefaultAckWait
	}
	if o.LostAfter <= 0 {
		o.LostAfter = 3*o.AckWait + 5*time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	r := &Remote{opts: o, log: o.Log, atts: map[string]*remoteAttempt{}, ended: map[string]bool{},
		orphans: map[string]*orphan{}, taken: map[int64]bool{}, stopped: make(chan struct{}),
		data: map[string]*DataRef{}, noWorker: map[string]time.Time{}}
	co := o.Conn
	co.Name = "aexp coordinator " + o.ID
	co.Log = o.Log
	co.Disconnected = func(err error) {
		fmt.Fprintf(r.log, "aexp: lost the connection to NATS (%v); reconnecting (runs on workers keep going)\n", err)
	}
	c, err := Connect(ctx, co)
	if err != nil {
		return nil, err
	}
	r.c = c
	if r.runs, err = c.JS.Stream(ctx, RunsStream); err != nil {
		c.Close()
		return nil, err
	}
	if r.kv, err = c.workers(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("worker registry: %w", err)
	}
	// the events consumer is bound here (which checks the permissions)
	// but consumed only by Listen
	if _, err := r.consumer(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("event consumer: %w", err)
	}
	return r, nil
}

func (r *Remote) consumer(ctx context.Context) (jetstream.Consumer, error) {
	return r.c.JS.CreateOrUpdateConsumer(ctx, EventsStream, jetstream.ConsumerConfig{
		Durable: "coord-" + r.opts.ID, FilterSubject: eventSubject(r.opts.ID), AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 30 * time.Second, MaxDeliver: -1, MaxAckPending: 200_000,
		Description: "aexp: events for coordinator " + r.opts.ID})
}

// Listen starts taking the coordinator's events, heartbeats and start
// requests. Train calls it first; call it earlier only while holding the
// sweep's lock (orchestrator.Engine.Run takes it), because it takes over
// what another live coordinator of the same sweep would be using.
func (r *Remote) Listen(ctx context.Context) error {
	r.listenOnce.Do(func() { r.listenErr = r.listen(ctx) })
	return r.listenErr
}

func (r *Remote) listen(ctx context.Context) error {
	// A fresh consumer delivers every event the stream still holds at
	// once: those an earlier process of this coordinator had not acked
	// (they would wait out that process's ack wait otherwise) and those
	// published while no coordinator ran. Deleting the consumer keeps the
	// messages of a work-queue stream.
	if err := r.c.JS.DeleteConsumer(ctx, EventsStream, "coord-"+r.opts.ID); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("event consumer: %w", err)
	}
	cons, err := r.consumer(ctx)
	if err != nil {
		return fmt.Errorf("event consumer: %w", err)
	}
	if ci := cons.CachedInfo(); ci != nil {
		r.backlog = ci.NumPending
	}
	for subj, h := range map[string]nats.MsgHandler{startSubject(r.opts.ID): r.onStart, hbSubject(r.opts.ID): r.onHeartbeat} {
		sub, err := r.c.NC.Subscribe(subj, h)
		if err != nil {
			return err
		}
		r.subs = append(r.subs, sub)
	}
	if err := r.c.NC.FlushTimeout(10 * time.Second); err != nil {
		return err
	}
	r.listening = time.Now()
	if r.cc, err = cons.Consume(r.onEvent, jetstream.PullMaxMessages(1000)); err != nil {
		return err
	}
	go r.refresh(r.stopped)
	return nil
}

// Close stops the deliveries of earlier processes the engine did not
// take back, stops consuming and disconnects. Calls after the first do
// nothing.
func (r *Remote) Close() {
	r.closeOnce.Do(r.close)
}

func (r *Remote) close() {
	r.mu.Lock()
	close(r.stopped) // no acks wait from now on
	r.mu.Unlock()
	r.settling.Wait()
	r.dropOrphans(r.allOrphans(), "the coordinator ended without taking it back", false)
	if r.cc != nil {
		r.cc.Stop()
	}
	for _, s := range r.subs {
		_ = s.Unsubscribe()
	}
	_ = r.c.NC.FlushTimeout(2 * time.Second) // the stops reach the workers
	r.c.Close()
}

// KillAll cancels every attempt on its worker at once (a second Ctrl-C),
// and the deliveries of an earlier process not taken back yet.
func (r *Remote) KillAll() {
	r.mu.Lock()
	var as []*remoteAttempt
	for _, a := range r.atts {
		as = append(as, a)
	}
	r.mu.Unlock()
	r.dropOrphans(r.allOrphans(), "the coordinator was killed", false)
	for _, a := range as {
		a.mu.Lock()
		a.over = true
		w := a.worker
		a.mu.Unlock()
		r.cancelOn(w, a.token, "the coordinator was killed", false)
	}
	_ = r.c.NC.Flush()
}

// Train queues t and follows it to its end on whichever worker takes it.
// A run that an earlier process of this coordinator gave out and whose
// worker still trains it is taken back instead (adopt.go).
func (r *Remote) Train(ctx context.Context, t orchestrator.Task, emit func(variant.Event) error) (string, error) {
	if err := r.Listen(ctx); err != nil {
		return "", err
	}
	rnd := make([]byte, 4)
	_, _ = rand.Read(rnd)
	a := &remoteAttempt{task: &t, events: make(chan delivered, 256), arts: map[string]bool{},
		token: fmt.Sprintf("%d-%d-%s", t.RunID, t.Attempt, hex.EncodeToString(rnd))}
	if ds := t.Req.Dataset; strings.HasPrefix(ds, "csv:") || strings.HasPrefix(ds, "idx:") {
		if err := r.publishData(ctx, ds); err != nil {
			return "", err
		}
	}
	r.waitOrphans(ctx, &t)
	ad := r.adopt(ctx, a, &t)
	defer func() {
		r.mu.Lock()
		delete(r.atts, a.token)
		r.ended[a.token] = true
		closing := false
		select {
		case <-r.stopped:
			closing = true
		default:
			r.settling.Add(1)
		}
		r.mu.Unlock()
		if closing {
			return // the connection is going: the next process takes them back
		}
		// once the engine has recorded the attempt's end a restart has
		// nothing to take back; until then a restarted coordinator takes
		// the unacked events back and records the end from them
		a.mu.Lock()
		ps := a.pending
		a.pending = nil
		a.mu.Unlock()
		go func() {
			defer r.settling.Done()
			if t.Recorded != nil {
				select {
				case <-t.Recorded:
				case <-r.stopped:
					select {
					case <-t.Recorded:
					default:
						return // never recorded: left for the next process
					}
				}
			}
			r.ack(ps)
		}()
	}()

	var seq uint64
	var replay []delivered
	if ad != nil {
		fmt.Fprintf(r.log, "aexp: run %d: took back delivery %d on worker %s (%s), which kept training while the coordinator was down; %d event(s) waited after epoch %d\n",
			t.RunID, ad.o.delivery, ad.o.worker, ad.started.Host, len(ad.replay), ad.from)
		if t.Started != nil {
			if err := t.Started(orchestrator.Started{Pid: ad.started.Pid, Host: ad.started.Host, Threads: ad.started.Threads, Since: ad.since}); err != nil {
				return r.stop(a, 0, err.Error()), err
			}
		}
		if t.Req.Resume != nil {
			// the record of this attempt continues from the store's state
			if err := emit(variant.Event{Resumed: &variant.Resumed{Epoch: ad.from}}); err != nil {
				return r.stop(a, 0, err.Error()), err
			}
		}
		replay = ad.replay
	} else {
		var err error
		if seq, err = r.enqueue(ctx, a); err != nil {
			return "", err
		}
	}
	queued := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var d delivered
		if len(replay) > 0 && ctx.Err() == nil {
			d, replay = replay[0], replay[1:]
		} else {
			select {
			case <-ctx.Done():
				return r.stop(a, seq, "the run was stopped ("+context.Cause(ctx).Error()+")"), ctx.Err()
			case d = <-a.events:
			case <-tick.C:
				if err := r.check(ctx, a, rnd, queued, &seq); err != nil {
					return "", err
				}
				continue
			}
		}
		tail, end, err := r.apply(ctx, a, d.ev, emit)
		r.settle(a, d)
		if err != nil {
			return r.stop(a, seq, err.Error()), err
		}
		if end != nil {
			return tail, end.Err()
		}
	}
}

// check looks after an attempt every second: it says so when no worker
// can take a queued run, and queues the run again when its worker went
// silent.
func (r *Remote) check(ctx context.Context, a *remoteAttempt, rnd []byte, queued time.Time, seq *uint64) error {
	t := a.task
	a.mu.Lock()
	d, w, seen, ahead := a.delivery, a.worker, a.seen, a.ahead
	a.mu.Unlock()
	if d == 0 {
		if time.Since(queued) > 2*time.Second {
			r.checkWorkers(ctx, t)
		}
		return nil
	}
	switch {
	case time.Since(seen) > r.opts.LostAfter:
		// JetStream did not give the run to another worker although its
		// worker went silent: queue it again under a new token.
		fmt.Fprintf(r.log, "aexp: run %d: no word from worker %s for %s; queuing it again\n", t.RunID, w, time.Since(seen).Round(time.Second))
	case !ahead.IsZero() && time.Since(ahead) > r.opts.LostAfter:
		// an event of the delivery never came (acked by someone else?)
		fmt.Fprintf(r.log, "aexp: run %d: an event from worker %s is missing for %s; queuing the run again\n", t.RunID, w, time.Since(ahead).Round(time.Second))
	default:
		return nil
	}
	r.cancelOn(w, a.token, "presumed dead", true)
	r.mu.Lock()
	delete(r.atts, a.token)
	r.ended[a.token] = true
	a.mu.Lock()
	a.token = fmt.Sprintf("%d-%d-%s", t.RunID, t.Attempt, hex.EncodeToString(rnd)+fmt.Sprint(time.Now().UnixNano()%1e6))
	a.delivery, a.worker, a.replayUpTo, a.ahead, a.stateSeq = 0, "", a.maxEpoch, time.Time{}, 0
	a.mu.Unlock()
	r.atts[a.token] = a
	r.mu.Unlock()
	var err error
	*seq, err = r.enqueue(ctx, a)
	return err
}

// enqueue publishes the attempt's run message, retrying while NATS is away.
func (r *Remote) enqueue(ctx context.Context, a *remoteAttempt) (uint64, error) {
	t := a.task
	a.mu.Lock()
	tok := a.token
	a.mu.Unlock()
	msg := encode(RunMsg{V: ProtocolVersion, Coord: r.opts.ID, Token: tok, RunID: t.RunID,
		Variant: t.Variant, Version: t.Plugin.Info.Version, Hash: t.Plugin.Hash, Label: t.Label})
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ack, err := r.c.JS.Publish(pctx, RunSubject(t.Variant, t.Plugin.Hash), msg, jetstream.WithMsgID(tok))
		cancel()
		if err == nil {
			return ack.Sequence, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		fmt.Fprintf(r.log, "aexp: run %d: queuing on NATS: %v; retrying\n", t.RunID, err)
		sleep(ctx, time.Second)
	}
}

// stop ends an attempt early: the worker holding it is told to stop, or
// the queued message is removed. It waits a moment for the worker's last
// word, for the plugin's stderr tail.
func (r *Remote) stop(a *remoteAttempt, seq uint64, reason string) string {
	a.mu.Lock()
	a.over = true
	w := a.worker
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if w == "" {
		_ = r.runs.DeleteMsg(ctx, seq) // not taken yet (or taken and about to be refused)
		return ""
	}
	r.cancelOn(w, a.token, reason, false)
	for {
		select {
		case <-ctx.Done():
			return ""
		case d := <-a.events:
			_ = d.msg.Ack()
			if d.ev.End != nil {
				return d.ev.End.StderrTail
			}
		}
	}
}

func (r *Remote) cancelOn(worker, token, reason string, superseded bool) {
	if worker == "" {
		return
	}
	_ = r.c.NC.Publish(ctlSubject(worker), encode(CtlMsg{V: ProtocolVersion, Token: token, Reason: reason, Superseded: superseded}))
}

// apply passes one event of the believed delivery on to the engine.
func (r *Remote) apply(ctx context.Context, a *remoteAttempt, ev *EventMsg, emit func(variant.Event) error) (string, *End, error) {
	a.mu.Lock()
	current := ev.Token == a.token && ev.Delivery == a.delivery
	replay := a.replayUpTo
	a.mu.Unlock()
	if !current {
		fmt.Fprintf(r.log, "aexp: run %d: dropped a late event from worker %s (delivery %d), which was presumed dead\n", a.task.RunID, ev.Worker, ev.Delivery)
		return "", nil, nil
	}
	t := a.task
	switch {
	case ev.Started != nil:
		a.mu.Lock()
		first := a.host == ""
		a.host = ev.Started.Host
		a.mu.Unlock()
		if first {
			if t.Started != nil {
				return "", nil, t.Started(orchestrator.Started{Pid: ev.Started.Pid, Host: ev.Started.Host, Threads: ev.Started.Threads})
			}
			return "", nil, nil
		}
		fmt.Fprintf(r.log, "aexp: run %d continues on worker %s (%s, delivery %d)\n", t.RunID, ev.Worker, ev.Started.Host, ev.Delivery)
	case ev.Epoch != nil:
		if ev.Epoch.Epoch <= replay {
			return "", nil, nil // recorded from an earlier delivery
		}
		a.mu.Lock()
		a.maxEpoch = max(a.maxEpoch, ev.Epoch.Epoch)
		a.mu.Unlock()
		return "", nil, emit(variant.Event{Epoch: &variant.EpochReport{Epoch: ev.Epoch.Epoch, Metrics: ev.Epoch.Metrics}})
	case ev.Log != nil:
		return "", nil, emit(variant.Event{Log: &variant.LogLine{Level: ev.Log.Level, Text: ev.Log.Text}})
	case ev.Artifact != nil:
		am := ev.Artifact // its object blob is removed once the event is acked (settle)
		key := fmt.Sprintf("%s/%s/%d", am.Kind, am.Name, am.Epoch)
		a.mu.Lock()
		seen, maxEpoch := a.arts[key], a.maxEpoch
		a.mu.Unlock()
		// a replay of an earlier delivery's epoch: keep only what that
		// delivery did not deliver (it may have died between an epoch's
		// report and its checkpoint), and no state older than the newest
		// recorded epoch (its own state follows)
		if am.Epoch > 0 && am.Epoch <= replay && (seen || am.Kind == variant.KindState && am.Epoch < maxEpoch) {
			return "", nil, nil
		}
		data, err := r.c.getBlob(ctx, am.Blob)
		if err != nil {
			return "", nil, fmt.Errorf("artifact %s of epoch %d: %w", am.Name, am.Epoch, err)
		}
		art := &variant.Artifact{Kind: am.Kind, Name: am.Name, Epoch: am.Epoch, Format: am.Format, Data: data, Meta: am.Meta}
		if err := emit(variant.Event{Artifact: art}); err != nil {
			return "", nil, err
		}
		a.mu.Lock()
		a.arts[key] = true
		if art.Kind == variant.KindState {
			a.state, a.stateSeq = art, ev.Seq
		}
		a.mu.Unlock()
		return "", nil, nil
	case ev.Final != nil:
		return "", nil, emit(variant.Event{Final: &variant.FinalReport{Metrics: ev.Final.Metrics, Meta: ev.Final.Meta}})
	case ev.Resumed != nil:
		a.mu.Lock()
		first := a.adopted == 1
		a.mu.Unlock()
		if !first {
			// a redelivery resumed within this attempt: what came after
			// the state is dropped as a replay (replayUpTo); the engine
			// records the resume
			fmt.Fprintf(r.log, "aexp: run %d resumed after epoch %d on worker %s (delivery %d)\n", t.RunID, ev.Resumed.Epoch, ev.Worker, ev.Delivery)
		}
		return "", nil, emit(variant.Event{Resumed: &variant.Resumed{Epoch: ev.Resumed.Epoch}})
	case ev.End != nil:
		return ev.End.StderrTail, ev.End, nil
	}
	return "", nil, nil
}

// onEvent routes an event to its attempt, in order; an event of an
// attempt of an earlier process of this coordinator is kept for the engine
// to take back (adopt.go); what is for neither is logged and dropped.
func (r *Remote) onEvent(m jetstream.Msg) {
	r.received.Add(1)
	ev, err := decode[EventMsg](m.Data())
	if err != nil {
		fmt.Fprintf(r.log, "aexp: dropped an event that does not parse: %v\n", err)
		_ = m.Term()
		return
	}
	d := delivered{m, ev}
	r.mu.Lock()
	a := r.atts[ev.Token]
	ended := r.ended[ev.Token]
	kept := false
	if a == nil && !ended {
		if run := orphanRun(ev.Token); run > 0 {
			kept = r.keepLocked(d, run)
		}
	}
	if a == nil && !kept && !ended {
		r.ended[ev.Token] = true
		// once per attempt: forged, or of a delivery that cannot be taken back
		fmt.Fprintf(r.log, "aexp: dropped an event of an unknown run attempt %s from worker %s; telling it to stop\n", ev.Token, ev.Worker)
	}
	r.mu.Unlock()
	if kept {
		return // acked once recorded, or when dropped
	}
	if a == nil {
		r.cancelOn(ev.Worker, ev.Token, "unknown run attempt", false)
		_ = m.Ack()
		return
	}
	a.mu.Lock()
	cur := ev.Delivery == a.delivery
	next := cur && ev.Seq == a.lastSeq+1
	ahead := cur && ev.Seq > a.lastSeq+1
	stale := ev.Delivery < a.delivery
	if next {
		a.lastSeq = ev.Seq
		a.seen = time.Now()
		a.ahead = time.Time{}
	}
	if ahead && a.ahead.IsZero() {
		a.ahead = time.Now()
	}
	a.mu.Unlock()
	switch {
	case next:
		select {
		case a.events <- d: // acked once recorded (settle)
		case <-time.After(10 * time.Second):
			// the attempt is gone or stuck: take the event again shortly
			a.mu.Lock()
			if a.delivery == ev.Delivery && a.lastSeq == ev.Seq {
				a.lastSeq--
			}
			a.mu.Unlock()
			_ = m.NakWithDelay(time.Second)
		}
	case ahead:
		// an earlier event is missing (JetStream redelivers it): this one
		// comes again after it
		_ = m.NakWithDelay(time.Second)
	case stale:
		fmt.Fprintf(r.log, "aexp: run %d: dropped a late event from worker %s (delivery %d), which was presumed dead\n", a.task.RunID, ev.Worker, ev.Delivery)
		r.cancelOn(ev.Worker, ev.Token, "presumed dead", true)
		_ = m.Ack()
	default:
		// a redelivery of an event taken already: its first handle acks it
	}
}

// onStart answers a worker that got a delivery: train it (with the newest
// request) or not.
func (r *Remote) onStart(m *nats.Msg) {
	reply := func(sr StartReply) {
		sr.V = ProtocolVersion
		_ = m.Respond(encode(sr))
	}
	sm, err := decode[StartMsg](m.Data)
	if err != nil {
		fmt.Fprintf(r.log, "aexp: dropped a start request that does not parse: %v\n", err)
		reply(StartReply{Reason: "request does not parse"})
		return
	}
	r.mu.Lock()
	a := r.atts[sm.Token]
	r.mu.Unlock()
	if a == nil {
		reply(StartReply{Drop: true, Reason: "unknown run attempt (it ended, or its coordinator restarted)"})
		return
	}
	a.mu.Lock()
	switch {
	case a.over:
		a.mu.Unlock()
		reply(StartReply{Drop: true, Reason: "the attempt is over"})
		return
	case sm.Delivery < a.delivery || (sm.Delivery == a.delivery && sm.Worker != a.worker):
		d := a.delivery
		a.mu.Unlock()
		reply(StartReply{Reason: fmt.Sprintf("superseded by delivery %d", d)})
		return
	}
	old, oldD := a.worker, a.delivery
	if sm.Delivery > a.delivery {
		a.delivery, a.worker, a.lastSeq, a.replayUpTo, a.stateSeq = sm.Delivery, sm.Worker, 0, a.maxEpoch, 0
		a.adopted++
	}
	state := a.state
	a.seen = time.Now()
	t := a.task
	a.mu.Unlock()
	if old != "" && oldD != sm.Delivery {
		fmt.Fprintf(r.log, "aexp: run %d was given to worker %s (%s, delivery %d); worker %s (delivery %d) is presumed dead and its late events will be dropped\n",
			t.RunID, sm.Worker, sm.Host, sm.Delivery, old, oldD)
		r.cancelOn(old, sm.Token, "presumed dead", true)
	}
	req := t.Req
	req.DataDir, req.Data = "", nil // the worker resolves its own files
	if state != nil && slices.Contains(t.Plugin.Info.Capabilities, variant.CapResume) {
		req.Resume = state
	}
	req.Threads = r.opts.Threads
	data, err := json.Marshal(req)
	if err != nil {
		reply(StartReply{Reason: "encoding the request: " + err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := r.c.putBlob(ctx, data, "")
	if err != nil {
		reply(StartReply{Reason: err.Error()})
		return
	}
	sr := StartReply{OK: true, Request: &b}
	if ds := req.Dataset; strings.HasPrefix(ds, "csv:") || strings.HasPrefix(ds, "idx:") {
		r.mu.Lock()
		sr.Data = r.data[ds]
		r.mu.Unlock()
	}
	reply(sr)
}

// onHeartbeat notes that a worker still trains its deliveries, and tells
// it to stop those that no longer count.
func (r *Remote) onHeartbeat(m *nats.Msg) {
	hb, err := decode[HeartbeatMsg](m.Data)
	if err != nil {
		fmt.Fprintf(r.log, "aexp: dropped a heartbeat that does not parse: %v\n", err)
		return
	}
	for _, h := range hb.Held {
		r.mu.Lock()
		a := r.atts[h.Token]
		r.mu.Unlock()
		if a == nil {
			if run := orphanRun(h.Token); run > 0 && r.heard(hb.Worker, h, run) {
				continue // of an earlier process: the engine may take it back
			}
			r.cancelOn(hb.Worker, h.Token, "unknown run attempt", false)
			continue
		}
		a.mu.Lock()
		cur := h.Delivery == a.delivery && hb.Worker == a.worker
		stale := h.Delivery < a.delivery
		if cur {
			a.seen = time.Now()
		}
		a.mu.Unlock()
		if stale {
			r.cancelOn(hb.Worker, h.Token, "presumed dead", true)
		}
	}
}

// publishData publishes a csv:/idx: file once per coordinator.
func (r *Remote) publishData(ctx context.Context, ds string) error {
	r.mu.Lock()
	_, ok := r.data[ds]
	r.mu.Unlock()
	if ok {
		return nil
	}
	path := ds[4:]
	sum, size, err := r.c.putFile(ctx, path)
	if err != nil {
		return fmt.Errorf("publishing dataset %s for the workers: %w", path, err)
	}
	r.mu.Lock()
	r.data[ds] = &DataRef{Prefix: ds[:4], Name: filepath.Base(path), SHA256: sum, Size: size}
	r.mu.Unlock()
	return nil
}

// checkWorkers says so when no live worker can take t's run (lacking the
// variant, or holding another build of it); at most every 30 s per build.
func (r *Remote) checkWorkers(ctx context.Context, t *orchestrator.Task) {
	key := t.Variant + "/" + t.Plugin.Hash
	r.mu.Lock()
	last := r.noWorker[key]
	r.mu.Unlock()
	if time.Since(last) < 30*time.Second {
		return
	}
	ws, err := r.liveWorkers(ctx)
	if err != nil {
		return
	}
	var others []string
	for _, w := range ws {
		for _, v := range w.Variants {
			if v.Name == t.Variant && v.Hash == t.Plugin.Hash {
				return
			}
			if v.Name == t.Variant {
				others = append(others, fmt.Sprintf("%s has %s %s (binary %s)", w.ID, v.Name, v.Version, short(v.Hash)))
			}
		}
	}
	r.mu.Lock()
	r.noWorker[key] = time.Now()
	r.mu.Unlock()
	msg := fmt.Sprintf("aexp: no live worker can take run %d: it needs %s %s (binary %s)", t.RunID, t.Variant, t.Plugin.Info.Version, short(t.Plugin.Hash))
	switch {
	case len(ws) == 0:
		msg += "; no worker is connected (start one: aexp worker --nats URL)"
	case len(others) > 0:
		msg += "; " + strings.Join(others, "; ")
	default:
		msg += fmt.Sprintf("; none of the %d live worker(s) has that variant", len(ws))
	}
	fmt.Fprintln(r.log, msg+"; waiting")
}

// liveWorkers is the registry as read at most 3 s ago.
func (r *Remote) liveWorkers(ctx context.Context) ([]WorkerInfo, error) {
	r.mu.Lock()
	if time.Since(r.liveAt) < 3*time.Second {
		ws := r.live
		r.mu.Unlock()
		return ws, nil
	}
	r.mu.Unlock()
	ws, err := listWorkers(ctx, r.kv)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.live, r.liveAt = ws, time.Now()
	r.mu.Unlock()
	return ws, nil
}

// Workers lists the live workers.
func Workers(ctx context.Context, o ConnOptions) ([]WorkerInfo, error) {
	c, err := Connect(ctx, o)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	kv, err := c.workers(ctx)
	if err != nil {
		return nil, err
	}
	return listWorkers(ctx, kv)
}

func listWorkers(ctx context.Context, kv jetstream.KeyValue) ([]WorkerInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	keys, err := kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []WorkerInfo
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		wi, err := decode[WorkerInfo](e.Value())
		if err != nil {
			continue
		}
		out = append(out, *wi)
	}
	return out, nil
}
