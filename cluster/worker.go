package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/variant"
)

// DefaultAckWait is how long JetStream waits for a worker's word on a run
// before it gives the run to another worker. Workers send a word (an
// in-progress ack) every third of it.
const DefaultAckWait = 30 * time.Second

// workerTTL is how long a worker stays listed after its last refresh.
const workerTTL = 10 * time.Second

// WorkerOptions configure a worker.
type WorkerOptions struct {
	Conn    ConnOptions
	Plugins map[string]string // variant name -> binary (variant.DiscoverDefault)
	Slots   int               // runs at once; 0: the number of cores
	Threads int               // BLAS threads per run; 0: the sweep's, else cores ÷ slots
	AckWait time.Duration     // for the run consumers this worker creates; 0: DefaultAckWait
	// CacheDir holds dataset files fetched from the coordinator; "": the
	// user cache directory.
	CacheDir string
	Log      io.Writer
	Verbose  bool // also the plugins' stderr
	// Executor trains the runs; nil: plugin processes on this machine
	// (orchestrator.LocalExecutor), as a local sweep does.
	Executor orchestrator.Executor
}

// Worker takes runs from the queue and trains them with the local run
// lifecycle, one plugin process per run. It never opens a store.
type Worker struct {
	opts    WorkerOptions
	id      string
	host    string
	log     io.Writer
	c       *Conn
	exec    orchestrator.Executor
	plugins []*offer
	ackWait time.Duration

	mu      sync.Mutex
	runs    map[string]*held // token -> run in flight
	offline bool
	since   time.Time
	changed chan struct{} // the runs in flight changed: refresh the registry now
}

// offer is a plugin build this worker takes runs for.
type offer struct {
	plugin *orchestrator.Plugin
	cons   jetstream.Consumer
}

// held is a delivery this worker trains.
type held struct {
	coord    string
	delivery uint64
	label    string
	cancel   context.CancelCauseFunc
}

// Reasons a run stops on a worker.
var (
	errLostConn   = errors.New("lost the connection to NATS")
	errShutdown   = errors.New("the worker is stopping")
	errSuperseded = errors.New("the run was given to another worker")
)

// cancelError is a cancel from the coordinator.
type cancelError struct{ reason string }

func (e *cancelError) Error() string { return "canceled by the coordinator: " + e.reason }

var idRE = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// NewWorker describes the plugins, connects and creates the run consumers.
func NewWorker(ctx context.Context, o WorkerOptions) (*Worker, error) {
	if o.Slots <= 0 {
		o.Slots = runtime.NumCPU()
	}
	if o.AckWait <= 0 {
		o.AckWait = DefaultAckWait
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	host, _ := os.Hostname()
	rnd := make([]byte, 3)
	_, _ = rand.Read(rnd)
	w := &Worker{opts: o, host: host, log: o.Log, runs: map[string]*held{}, since: time.Now(), exec: o.Executor,
		changed: make(chan struct{}, 1),
		id:      strings.Trim(idRE.ReplaceAllString(host, "-"), "-") + "-" + fmt.Sprint(os.Getpid()) + "-" + hex.EncodeToString(rnd)}
	if len(w.id) > 100 {
		w.id = w.id[len(w.id)-100:]
	}
	if w.exec == nil {
		w.exec = &orchestrator.LocalExecutor{}
	}
	if len(o.Plugins) == 0 {
		return nil, errors.New("no variant plugins found (build them with make build, or point --plugin-dir at them)")
	}
	names := make([]string, 0, len(o.Plugins))
	for n := range o.Plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p, err := orchestrator.LoadPlugin(ctx, o.Plugins[n])
		if err != nil {
			return nil, err
		}
		w.plugins = append(w.plugins, &offer{plugin: p})
	}
	co := o.Conn
	co.Name = "aexp worker " + w.id
	co.Log = o.Log
	co.Disconnected = w.disconnected
	co.Reconnected = func() { w.setOffline(false) }
	c, err := Connect(ctx, co)
	if err != nil {
		return nil, err
	}
	w.c = c
	w.ackWait = o.AckWait
	for _, of := range w.plugins {
		name := "run-" + of.plugin.Info.Name + "-" + short(of.plugin.Hash)
		cons, err := c.JS.Consumer(ctx, RunsStream, name)
		if err != nil {
			cons, err = c.JS.CreateOrUpdateConsumer(ctx, RunsStream, jetstream.ConsumerConfig{
				Durable: name, FilterSubject: RunSubject(of.plugin.Info.Name, of.plugin.Hash),
				AckPolicy: jetstream.AckExplicitPolicy, AckWait: o.AckWait, MaxDeliver: -1,
				Description: fmt.Sprintf("aexp: runs of %s %s", of.plugin.Info.Name, of.plugin.Info.Version)})
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("run consumer %s: %w", name, err)
		}
		if ci := cons.CachedInfo(); ci != nil && ci.Config.AckWait > 0 {
			w.ackWait = min(w.ackWait, ci.Config.AckWait)
		}
		of.cons = cons
	}
	return w, nil
}

// threads is --threads, else cores ÷ slots.
func (w *Worker) threads() int {
	if w.opts.Threads > 0 {
		return w.opts.Threads
	}
	return max(1, runtime.NumCPU()/w.opts.Slots)
}

// ID is the worker's name in the registry and in control subjects.
func (w *Worker) ID() string { return w.id }

// Run takes and trains runs until ctx ends; then it stops its runs (they go
// back to the queue) and leaves the registry.
func (w *Worker) Run(ctx context.Context) error {
	defer w.c.Close()
	sub, err := w.c.NC.Subscribe(ctlSubject(w.id), w.control)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	kv, err := w.c.workers(ctx)
	if err != nil {
		return fmt.Errorf("worker registry: %w", err)
	}
	var bg sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(ctx)
	bg.Add(1)
	go func() { defer bg.Done(); w.advertise(bgCtx, kv) }()
	var vs []string
	for _, of := range w.plugins {
		vs = append(vs, of.plugin.Info.Name+" "+of.plugin.Info.Version)
	}
	fmt.Fprintf(w.log, "aexp: worker %s: %d slot(s), %d BLAS thread(s) each; variants %s\n",
		w.id, w.opts.Slots, w.threads(), strings.Join(vs, ", "))

	// One fetch loop per slot: a slot asks for one run when it is free,
	// so a worker never holds more runs than it can train and no run
	// waits in a client buffer (nats.go issue #1929).
	var runs sync.WaitGroup
	for slot := range w.opts.Slots {
		runs.Add(1)
		go func() {
			defer runs.Done()
			w.slot(ctx, slot)
		}()
	}
	runs.Wait()
	stopBG()
	bg.Wait()
	dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = kv.Delete(dctx, w.id)
	return nil
}

// slot takes runs one at a time until ctx ends.
func (w *Worker) slot(ctx context.Context, slot int) {
	wait := max(200*time.Millisecond, time.Second/time.Duration(len(w.plugins)))
	for i := slot; ctx.Err() == nil; i++ {
		if w.isOffline() {
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		of := w.plugins[i%len(w.plugins)]
		batch, err := of.cons.Fetch(1, jetstream.FetchMaxWait(wait))
		if err == nil {
			for m := range batch.Messages() {
				w.take(ctx, m, of.plugin)
			}
			err = batch.Error()
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			fmt.Fprintf(w.log, "aexp: worker: fetching runs of %s: %v\n", of.plugin.Info.Name, err)
			sleep(ctx, 500*time.Millisecond)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// advertise keeps the registry entry fresh and heartbeats held runs to
// their coordinators.
func (w *Worker) advertise(ctx context.Context, kv jetstream.KeyValue) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		info := w.info()
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, _ = kv.Put(pctx, w.id, encode(info))
		cancel()
		byCoord := map[string][]Held{}
		w.mu.Lock()
		for tok, h := range w.runs {
			byCoord[h.coord] = append(byCoord[h.coord], Held{Token: tok, Delivery: h.delivery})
		}
		w.mu.Unlock()
		for coord, hs := range byCoord {
			_ = w.c.NC.Publish(hbSubject(coord), encode(HeartbeatMsg{V: ProtocolVersion, Worker: w.id, Held: hs}))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.changed:
			sleep(ctx, 200*time.Millisecond) // at most 5 refreshes a second
		}
	}
}

// nudge refreshes the registry soon (runs taken or ended).
func (w *Worker) nudge() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *Worker) info() WorkerInfo {
	info := WorkerInfo{V: ProtocolVersion, ID: w.id, Host: w.host, Slots: w.opts.Slots, Threads: w.threads(),
		Since: w.since.UTC().Format(time.RFC3339)}
	for _, of := range w.plugins {
		info.Variants = append(info.Variants, VariantInfo{Name: of.plugin.Info.Name, Version: of.plugin.Info.Version, Hash: of.plugin.Hash})
	}
	w.mu.Lock()
	for _, h := range w.runs {
		info.Runs = append(info.Runs, h.label)
	}
	w.mu.Unlock()
	sort.Strings(info.Runs)
	return info
}

func (w *Worker) disconnected(err error) {
	w.setOffline(true)
	w.mu.Lock()
	n := len(w.runs)
	for _, h := range w.runs {
		h.cancel(errLostConn)
	}
	w.mu.Unlock()
	if n > 0 {
		fmt.Fprintf(w.log, "aexp: worker: lost the connection to NATS (%v): stopped %d run(s); JetStream gives them to a worker after the ack wait\n", err, n)
	}
}

func (w *Worker) setOffline(v bool) {
	w.mu.Lock()
	w.offline = v
	w.mu.Unlock()
}

func (w *Worker) isOffline() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.offline
}

// control handles a cancel from a coordinator.
func (w *Worker) control(m *nats.Msg) {
	cm, err := decode[CtlMsg](m.Data)
	if err != nil {
		fmt.Fprintf(w.log, "aexp: worker: dropped a control message that does not parse: %v\n", err)
		return
	}
	w.mu.Lock()
	h := w.runs[cm.Token]
	w.mu.Unlock()
	if h == nil {
		return // already over
	}
	if cm.Superseded {
		h.cancel(errSuperseded)
		return
	}
	h.cancel(&cancelError{reason: cm.Reason})
}

// take handles one delivery of a run: the start handshake with its
// coordinator, then the local run lifecycle with every event published.
func (w *Worker) take(ctx context.Context, m jetstream.Msg, p *orchestrator.Plugin) {
	md, err := m.Metadata()
	if err != nil {
		fmt.Fprintf(w.log, "aexp: worker: dropped a run message without JetStream metadata: %v\n", err)
		_ = m.Term()
		return
	}
	rm, err := decode[RunMsg](m.Data())
	if err != nil {
		fmt.Fprintf(w.log, "aexp: worker: dropped a run message that does not parse: %v\n", err)
		_ = m.TermWithReason("does not parse")
		return
	}
	if rm.Variant != p.Info.Name || rm.Hash != p.Hash {
		// a different build under the same short hash: leave it to others
		_ = m.NakWithDelay(time.Second)
		return
	}

	// In-progress acks while this delivery is held: JetStream redelivers it
	// only when this worker stops sending them.
	hbCtx, stopHB := context.WithCancel(context.Background())
	defer stopHB()
	go func() {
		t := time.NewTicker(max(100*time.Millisecond, w.ackWait/3))
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
				_ = m.InProgress()
			}
		}
	}()

	reply, err := w.start(ctx, rm, md.NumDelivered)
	if err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(w.log, "aexp: worker: run %d: coordinator %s does not answer (%v); back to the queue\n", rm.RunID, rm.Coord, err)
		}
		_ = m.NakWithDelay(2 * time.Second)
		return
	}
	if !reply.OK {
		if reply.Drop {
			_ = m.TermWithReason(reply.Reason)
		}
		if w.opts.Verbose {
			fmt.Fprintf(w.log, "aexp: worker: run %d not taken: %s\n", rm.RunID, reply.Reason)
		}
		return
	}

	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w.mu.Lock()
	w.runs[rm.Token] = &held{coord: rm.Coord, delivery: md.NumDelivered, label: fmt.Sprintf("run %d %s", rm.RunID, rm.Label), cancel: cancel}
	offline := w.offline
	w.mu.Unlock()
	w.nudge()
	defer func() {
		w.mu.Lock()
		delete(w.runs, rm.Token)
		w.mu.Unlock()
		w.nudge()
	}()
	if offline {
		cancel(errLostConn)
	}

	pub := newPublisher(w, rm.Coord, rm.Token, md.NumDelivered, func() error {
		if c := context.Cause(rctx); errors.Is(c, errLostConn) || errors.Is(c, errSuperseded) || ctx.Err() != nil {
			return c
		}
		return nil
	})
	end := w.train(rctx, pub, reply, p, rm)
	pubErr := pub.flush()
	cause := context.Cause(rctx)
	var ce *cancelError
	switch {
	case errors.Is(cause, errSuperseded):
		// never ack: the run is another worker's now
		fmt.Fprintf(w.log, "aexp: worker: run %d was given to another worker; stopped it here\n", rm.RunID)
		return
	case errors.Is(cause, errLostConn):
		// never ack: JetStream gives the run to a worker after the ack wait
		return
	case errors.Is(cause, errShutdown) || (ctx.Err() != nil && !errors.As(cause, &ce)):
		_ = m.Nak() // back to the queue at once
		return
	case pubErr != nil:
		fmt.Fprintf(w.log, "aexp: worker: run %d: events cannot reach the coordinator (%v); back to the queue\n", rm.RunID, pubErr)
		_ = m.NakWithDelay(time.Second)
		return
	case errors.As(cause, &ce):
		end = &End{Kind: EndCanceled, Msg: ce.reason, StderrTail: end.StderrTail}
	}
	if err := pub.publish(EventMsg{End: end}); err != nil {
		_ = m.NakWithDelay(time.Second)
		return
	}
	actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer acancel()
	_ = m.DoubleAck(actx)
}

// start asks the coordinator whether to train this delivery.
func (w *Worker) start(ctx context.Context, rm *RunMsg, delivery uint64) (*StartReply, error) {
	req := encode(StartMsg{V: ProtocolVersion, Token: rm.Token, Delivery: delivery, Worker: w.id, Host: w.host})
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := w.c.NC.RequestWithContext(rctx, startSubject(rm.Coord), req)
	if err != nil {
		return nil, err
	}
	return decode[StartReply](msg.Data)
}

// train prepares the request on this machine and runs the local lifecycle.
func (w *Worker) train(ctx context.Context, pub *publisher, reply *StartReply, p *orchestrator.Plugin, rm *RunMsg) *End {
	req, err := w.request(ctx, reply, p)
	if err != nil {
		return &End{Kind: EndStart, Msg: err.Error()}
	}
	var stderr io.Writer
	if w.opts.Verbose {
		stderr = orchestrator.PrefixWriter(w.log, fmt.Sprintf("[run %d] ", rm.RunID))
	}
	started := false
	tail, err := w.exec.Train(ctx, orchestrator.Task{
		RunID: rm.RunID, Variant: rm.Variant, Plugin: p, Req: req, Threads: req.Threads, Label: rm.Label, Stderr: stderr,
		Started: func(st orchestrator.Started) error {
			started = true
			return pub.send(EventMsg{Started: &Started{Pid: st.Pid, Host: st.Host, Threads: st.Threads}})
		},
	}, pub.event)
	if !started && err != nil {
		return &End{Kind: EndStart, Msg: err.Error(), StderrTail: tail}
	}
	return endOf(err, tail)
}

// request decodes the coordinator's request and resolves what is local:
// the dataset files and MNIST's folder, the params' Go types, the threads.
func (w *Worker) request(ctx context.Context, reply *StartReply, p *orchestrator.Plugin) (variant.TrainRequest, error) {
	var req variant.TrainRequest
	data, err := w.c.getBlob(ctx, *reply.Request)
	if err != nil {
		return req, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("the run's request does not parse: %v", err)
	}
	// the same schema as the coordinator's (same binary hash): this only
	// restores the Go types JSON loses (ints and floats)
	full, err := variant.Validate(p.Info.Params, req.Params)
	if err != nil {
		return req, err
	}
	req.Params = full
	if w.opts.Threads > 0 || req.Threads <= 0 {
		req.Threads = w.threads() // else the sweep pinned them
	}
	req.DataDir, req.Data = "", nil // resolved on this machine (variant.Plugin.Train)
	if d := reply.Data; d != nil {
		path, err := w.dataFile(ctx, d)
		if err != nil {
			return req, err
		}
		req.Dataset = d.Prefix + path
	}
	if req.Dataset == "mnist" {
		dir, err := dataset.MNISTDir()
		if err != nil {
			return req, fmt.Errorf("on worker %s: %w", w.host, err)
		}
		req.DataDir = dir
	}
	return req, nil
}

var dataMu sync.Mutex

// dataFile returns the local copy of a published dataset file, fetching it
// once (content-addressed).
func (w *Worker) dataFile(ctx context.Context, d *DataRef) (string, error) {
	dir := w.opts.CacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "aexp", "data")
	}
	dir = filepath.Join(dir, d.SHA256)
	path := filepath.Join(dir, d.Name)
	dataMu.Lock()
	defer dataMu.Unlock()
	if st, err := os.Stat(path); err == nil && st.Size() == d.Size {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return path, w.c.getFile(ctx, d.SHA256, d.Size, path)
}

// publisher publishes the events of one delivery, numbered, in order, to
// JetStream. Events are queued and published by one goroutine, so the
// plugin keeps training while an artifact uploads; the queue is short, so a
// slow server slows the plugin down instead of filling memory.
type publisher struct {
	w        *Worker
	coord    string
	token    string
	delivery uint64
	q        chan queued
	done     chan struct{}
	seq      uint64       // owned by the goroutine
	stop     func() error // non-nil: give up publishing (the run is no longer ours)

	mu  sync.Mutex
	err error
}

// queued is an event waiting to be published; an artifact's bytes become
// a Blob (inline or in the object store) just before.
type queued struct {
	m    EventMsg
	data []byte
}

func newPublisher(w *Worker, coord, token string, delivery uint64, stop func() error) *publisher {
	p := &publisher{w: w, coord: coord, token: token, delivery: delivery, q: make(chan queued, 8), done: make(chan struct{}), stop: stop}
	go func() {
		defer close(p.done)
		blobs := 0
		for it := range p.q {
			if p.failed() != nil {
				continue
			}
			if a := it.m.Artifact; a != nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				// an object of this event's own: the coordinator deletes it
				// once recorded, while another run may be sending the same bytes
				blobs++
				b, err := p.w.c.putBlob(ctx, it.data, fmt.Sprintf("%s-%d-a%d", p.token, p.delivery, blobs))
				cancel()
				if err != nil {
					p.fail(err)
					continue
				}
				a.Blob = b
			}
			if err := p.publish(it.m); err != nil {
				p.fail(err)
			}
		}
	}()
	return p
}

// event is the emit function given to the plugin's Train stream.
func (p *publisher) event(ev variant.Event) error {
	var it queued
	switch {
	case ev.Epoch != nil:
		it.m.Epoch = &EpochMsg{Epoch: ev.Epoch.Epoch, Metrics: ev.Epoch.Metrics}
	case ev.Log != nil:
		it.m.Log = &LogMsg{Level: ev.Log.Level, Text: ev.Log.Text}
	case ev.Artifact != nil:
		a := ev.Artifact
		it.m.Artifact = &ArtifactMsg{Kind: a.Kind, Name: a.Name, Epoch: a.Epoch, Format: a.Format, Meta: a.Meta}
		it.data = a.Data
	case ev.Final != nil:
		it.m.Final = &FinalMsg{Metrics: ev.Final.Metrics, Meta: ev.Final.Meta}
	case ev.Resumed != nil:
		it.m.Resumed = &ResumedMsg{Epoch: ev.Resumed.Epoch}
	default:
		return nil
	}
	return p.send(it.m, it.data)
}

// send queues an event; it fails once an earlier one could not be
// published.
func (p *publisher) send(m EventMsg, data ...[]byte) error {
	if err := p.failed(); err != nil {
		return err
	}
	it := queued{m: m}
	if len(data) > 0 {
		it.data = data[0]
	}
	p.q <- it
	return nil
}

// flush waits until everything queued is published.
func (p *publisher) flush() error {
	close(p.q)
	<-p.done
	return p.failed()
}

func (p *publisher) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *publisher) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// publish sends one event and waits for JetStream to have it, retrying
// through a short reconnect.
func (p *publisher) publish(m EventMsg) error {
	p.seq++
	m.V, m.Token, m.Delivery, m.Seq, m.Worker = ProtocolVersion, p.token, p.delivery, p.seq, p.w.id
	data := encode(m)
	var err error
	for try := 0; try < 5; try++ {
		if err := p.stop(); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = p.w.c.JS.Publish(ctx, eventSubject(p.coord), data,
			jetstream.WithMsgID(fmt.Sprintf("%s.%d.%d", p.token, p.delivery, p.seq)))
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
	}
	return err
}
