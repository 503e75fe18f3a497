package orchestrator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
)

// Options configure a sweep's execution. Zero values are sensible.
type Options struct {
	Parallel int  // overrides budget.parallel when > 0
	Threads  int  // overrides budget.threads when > 0
	Cores    int  // 0: runtime.NumCPU()
	FailFast bool // stop the sweep (cancelling running runs) at the first failed run
	// Force continues a sweep whose recorded spec differs from this one
	// (the stored spec is replaced; recorded runs are kept).
	Force bool
	// RetryFailed gives failed and timed-out runs a fresh set of attempts
	// and of budget.timeout.
	RetryFailed bool

	Progress Progress  // nil: plain log lines to Log
	Log      io.Writer // log lines (nil: discarded)
	Verbose  bool      // also plugin log events and stderr

	HeartbeatEvery time.Duration // 0: 2s
	StaleAfter     time.Duration // 0: 30s; runs of a live aexp are never older
	StartTimeout   time.Duration // plugin handshake; 0: 30s

	// Executor runs each attempt's plugin; nil: a LocalExecutor (plugin
	// processes on this machine). The NATS transport gives one that trains
	// on workers.
	Executor Executor
}

// Result is how a sweep ended.
type Result struct {
	SweepID     int64
	Counts      map[string]int // run status -> runs of this plan
	Interrupted bool           // stopped by ctx (SIGINT/SIGTERM)
	FailedFast  bool
	TargetRun   int64 // a run that reached the objective's target (0: none)
	Skipped     int   // runs already done/pruned/diverged before this invocation
	Exhausted   int   // failed runs with no attempts left, not retried
	// Environment is why the sweep stopped early through no fault of its
	// runs: their data could not be read, or the store not written. The
	// runs it hit keep their attempts.
	Environment error
}

// Failed is the number of runs that did not finish well.
func (r *Result) Failed() int {
	return r.Counts[store.StatusFailed] + r.Counts[store.StatusTimedOut] + r.Counts[store.StatusDiverged]
}

// ChangedSpecError refuses to resume a sweep whose spec changed.
type ChangedSpecError struct {
	Name, DB string
	Changes  []string
}

func (e *ChangedSpecError) Error() string {
	what := "its spec changed"
	if len(e.Changes) > 0 {
		what = "changed (recorded → now):\n  " + strings.Join(e.Changes, "\n  ")
	}
	return fmt.Sprintf("sweep %q in %s was run with a different spec; %s\n"+
		"Budget fields (run_cap, samples, parallel, threads, timeout, attempts, target, keep) may change, others may not.\n"+
		"Rerun with --force to continue it with this spec (recorded runs are kept), or rename the sweep to start a new one", e.Name, e.DB, what)
}

// Engine runs a checked plan against a store.
type Engine struct {
	c    *Checked
	db   *store.DB
	opts Options
	prog Progress

	exec Executor

	mu      sync.Mutex
	live    map[int64]bool   // runs whose plugin runs
	varying map[int][]string // block -> the params that vary, for labels

	prop *proposer // method = "tpe": proposes runs as results come in
}

// NewEngine prepares to run c, recording into db.
func NewEngine(c *Checked, db *store.DB, opts Options) *Engine {
	if opts.Cores <= 0 {
		opts.Cores = runtime.NumCPU()
	}
	if opts.HeartbeatEvery <= 0 {
		opts.HeartbeatEvery = 2 * time.Second
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 30 * time.Second
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	e := &Engine{c: c, db: db, opts: opts, live: map[int64]bool{}, varying: map[int][]string{}, exec: opts.Executor}
	if e.exec == nil {
		e.exec = &LocalExecutor{}
	}
	e.prog = opts.Progress
	if e.prog == nil {
		e.prog = NewLogProgress(opts.Log, opts.Verbose)
	}
	return e
}

// Parallel is the number of runs side by side and the threads each gets:
// by default the cores are shared out so the machine is not oversubscribed.
func (e *Engine) Parallel() (parallel, threads int) {
	parallel = cmp.Or(max(e.opts.Parallel, 0), e.c.Spec.Budget.Parallel, e.opts.Cores)
	threads = cmp.Or(max(e.opts.Threads, 0), e.c.Spec.Budget.Threads, max(1, e.opts.Cores/parallel))
	return parallel, threads
}

// KillAll kills every running plugin process group at once (a second
// Ctrl-C). Runs are left as they are; the next start reclaims them.
func (e *Engine) KillAll() {
	if k, ok := e.exec.(interface{ KillAll() }); ok {
		k.KillAll()
	}
}

// track registers a run whose plugin runs, for heartbeats.
func (e *Engine) track(id int64) {
	e.mu.Lock()
	e.live[id] = true
	e.mu.Unlock()
}

func (e *Engine) untrack(id int64) {
	e.mu.Lock()
	delete(e.live, id)
	e.mu.Unlock()
}

func (e *Engine) liveIDs() []int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]int64, 0, len(e.live))
	for id := range e.live {
		ids = append(ids, id)
	}
	return ids
}

// job is one run to attempt.
type job struct {
	run     *Run
	rec     store.Run
	attempt int // attempts started before this one (store's count)
}

// outcome is how one attempt ended.
type outcome struct {
	job       *job
	status    string
	objective float64 // NaN: none
	err       string
	env       error // the environment failed (data, store): stop the sweep
}

// pruneGrace is how long a pruned run may keep streaming (the checkpoint of
// the epoch it was pruned at) before it is stopped.
const pruneGrace = time.Second

var (
	errPruned      = errors.New("pruned")
	errTimedOut    = errors.New("timed out")
	errFailFast    = errors.New("another run failed (--fail-fast)")
	errEnvironment = errors.New("the sweep stopped: another run could not read its data or be recorded")
)

// Run executes the sweep: it records the sweep and its runs, skips what is
// done, runs the rest in a pool of plugin processes, and returns how it
// ended. Cancelling ctx (SIGINT/SIGTERM) stops scheduling, cancels running
// runs (killing their process groups) and marks them canceled.
func (e *Engine) Run(ctx context.Context) (*Result, error) {
	s := e.c.Spec
	bg := context.WithoutCancel(ctx) // store writes must land even while stopping
	res := &Result{Counts: map[string]int{}}

	exclusive, unlock, err := lockDB(e.db.Path())
	if err != nil {
		return nil, err
	}
	defer unlock()
	held, unlockSweep, err := lockSweep(e.db.Path(), s.Name)
	if err != nil {
		return nil, err
	}
	defer unlockSweep()
	if !held {
		return nil, fmt.Errorf("sweep %q is being run by another aexp process on %s; wait for it, or stop it (Ctrl-C) and run this again", s.Name, e.db.Path())
	}
	stale := e.opts.StaleAfter
	if exclusive {
		// no other aexp process writes this store: every running run is an orphan
		stale = 0
	}
	reclaimed, err := e.db.ReclaimStale(bg, stale)
	if err != nil {
		return nil, err
	}

	hash := s.Hash()
	if old, err := e.db.GetSweep(bg, s.Name); err == nil && old.SpecHash != hash && !e.opts.Force {
		ce := &ChangedSpecError{Name: s.Name, DB: e.db.Path()}
		if prev, perr := Parse(s.File, []byte(old.Spec)); perr == nil {
			ce.Changes = s.Changes(prev)
		}
		return nil, ce
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	sw, _, err := e.db.EnsureSweepSpec(bg, store.SweepSpec{
		Name: s.Name, Description: s.Description, Spec: s.Text, SpecHash: hash,
		Objective: s.Objective.Metric, Goal: s.Objective.Goal,
	})
	if err != nil {
		return nil, err
	}
	res.SweepID = sw.ID
	// A run's owner is the process holding its sweep's lock, which is this
	// one now: runs of this sweep left running belong to a dead process,
	// whatever other sweeps run on the store meanwhile.
	n, err := e.db.ReclaimSweep(bg, sw.ID)
	if err != nil {
		return nil, err
	}
	if reclaimed += n; reclaimed > 0 {
		fmt.Fprintf(e.opts.Log, "aexp: reclaimed %d run(s) left running by an aexp process that died; they will be retried\n", reclaimed)
	}

	specs := make([]store.RunSpec, len(e.c.Runs))
	for i, r := range e.c.Runs {
		specs[i] = store.RunSpec{Key: r.Key, Variant: r.Variant, Dataset: r.Dataset, Seed: r.Seed,
			Params: e.c.Full[r.Key], Attempts: s.Budget.Attempts, Source: r.Source}
	}
	recs, err := e.db.EnsureRuns(bg, sw.ID, specs)
	if err != nil {
		return nil, err
	}

	pr := newPruner(s.EarlyStop, s.Objective, s.Budget.Epochs)
	var queue []*job
	var history, retry []int64
	for i, rec := range recs {
		r := e.c.Runs[i]
		switch rec.Status {
		case store.StatusDone, store.StatusPruned, store.StatusDiverged:
			res.Skipped++
			history = append(history, rec.ID)
		case store.StatusRunning:
			// another live aexp process runs it
			fmt.Fprintf(e.opts.Log, "aexp: run %d is running in another aexp process; leaving it\n", rec.ID)
		case store.StatusFailed, store.StatusTimedOut:
			if e.opts.RetryFailed {
				retry = append(retry, rec.ID)
				rec.Attempt = 0
				queue = append(queue, &job{run: r, rec: rec})
				continue
			}
			if rec.Attempt >= rec.MaxAttempts && !strings.HasPrefix(rec.Error, "aexp process died") {
				res.Exhausted++
				continue
			}
			queue = append(queue, &job{run: r, rec: rec, attempt: rec.Attempt})
		default: // queued, canceled
			queue = append(queue, &job{run: r, rec: rec, attempt: rec.Attempt})
		}
	}
	if len(retry) > 0 {
		if err := e.db.RetryRuns(bg, retry); err != nil {
			return nil, err
		}
		fmt.Fprintf(e.opts.Log, "aexp: %d failed or timed-out run(s) get a fresh set of attempts (--retry-failed)\n", len(retry))
	}
	if e.c.tpe != nil {
		e.prop = newProposer(e, sw.ID)
		q, fin, err := e.prop.resume(bg)
		if err != nil {
			return nil, err
		}
		queue, history = append(queue, q...), append(history, fin...)
		res.Skipped += len(fin)
	}
	if s.Objective.Target != nil && (len(queue) > 0 || e.prop != nil) {
		// a sweep whose target was reached earlier is finished
		sums, err := e.db.ListRuns(bg, store.RunFilter{SweepID: sw.ID, Statuses: []string{store.StatusDone}})
		if err != nil {
			return nil, err
		}
		for _, r := range sums {
			if v := r.BestObjective; v != nil && s.Objective.reached(*v) {
				res.TargetRun = r.RunID
				fmt.Fprintf(e.opts.Log, "aexp: run %d reached the target %s %g (%g) before; starting no more runs\n",
					r.RunID, s.Objective.Metric, *s.Objective.Target, *v)
				queue = nil
				break
			}
		}
	}
	if s.EarlyStop.Method != "none" && len(history) > 0 {
		hs, err := e.db.Histories(bg, history)
		if err != nil {
			return nil, err
		}
		for id, h := range hs {
			pts := h[s.Objective.Metric]
			vals := make([]float64, 0, len(pts))
			for _, p := range pts {
				vals = append(vals, p.Value)
			}
			pr.seed(id, vals)
		}
	}

	parallel, threads := e.Parallel()
	nRuns := len(recs)
	if e.prop != nil {
		nRuns = e.prop.runs // the plan's startup runs and the model's earlier proposals
	}
	fmt.Fprintf(e.opts.Log, "aexp: sweep %q (id %d): %d runs: %d to run, %d done before", s.Name, sw.ID, nRuns, len(queue), res.Skipped)
	if res.Exhausted > 0 {
		fmt.Fprintf(e.opts.Log, ", %d failed with no attempts left (raise budget.attempts to retry them)", res.Exhausted)
	}
	fmt.Fprintf(e.opts.Log, "; %d in parallel, %d BLAS thread(s) each\n", parallel, threads)

	total, before := len(recs), len(recs)-len(queue)
	if e.prop != nil {
		fmt.Fprintf(e.opts.Log, "aexp: tpe proposes up to %d more configurations as results come in\n", s.Search.Samples-e.prop.configs)
		total, before = max(e.c.Total, e.prop.runs), e.prop.runs-len(queue)
	}
	e.prog.Start(total, before)
	defer e.prog.Stop()

	// heartbeats for running runs
	hbCtx, hbStop := context.WithCancel(bg)
	var hbWG sync.WaitGroup
	hbWG.Add(1)
	go func() {
		defer hbWG.Done()
		t := time.NewTicker(e.opts.HeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
				if ids := e.liveIDs(); len(ids) > 0 {
					_ = e.db.Heartbeat(hbCtx, ids...)
				}
			}
		}
	}()
	defer func() { hbStop(); hbWG.Wait() }()

	runCtx, stopRuns := context.WithCancelCause(ctx)
	defer stopRuns(nil)
	results := make(chan outcome)
	running := 0
	stopping := false
	done := ctx.Done()
	for {
		if done != nil && ctx.Err() != nil {
			done = nil
			stopping = true
			res.Interrupted = true
		}
		for !stopping && running < parallel && (len(queue) > 0 || e.propose(bg, &queue, res)) {
			j := queue[0]
			queue = queue[1:]
			running++
			go func() { results <- e.attempt(runCtx, bg, j, threads, pr) }()
		}
		if running == 0 {
			break
		}
		select {
		case <-done:
			done = nil
			stopping = true
			res.Interrupted = true
		case o := <-results:
			running--
			st := o.status
			// a timed-out run has used its budget.timeout, which counts
			// the training time of all its attempts: it is not retried
			retry := o.env == nil && st == store.StatusFailed && o.job.attempt+1 < s.Budget.Attempts && !stopping
			if retry {
				// not finished: the progress counts it when it ends
				e.prog.RunEnd(o.job.rec.ID, StatusRetrying, st+": "+o.err)
			} else {
				e.prog.RunEnd(o.job.rec.ID, st, o.err)
			}
			if o.env != nil {
				if res.Environment == nil {
					res.Environment = o.env
					fmt.Fprintf(e.opts.Log, "aexp: run %d: %v; stopping the sweep (this is not the run's fault: it keeps its attempts)\n", o.job.rec.ID, o.env)
				}
				if !stopping {
					stopping = true
					stopRuns(errEnvironment)
				}
				continue
			}
			if retry {
				fmt.Fprintf(e.opts.Log, "aexp: run %d %s (attempt %d of %d); retrying\n", o.job.rec.ID, st, o.job.attempt+1, s.Budget.Attempts)
				queue = append(queue, &job{run: o.job.run, rec: o.job.rec, attempt: o.job.attempt + 1})
				continue
			}
			switch st {
			case store.StatusFailed, store.StatusTimedOut, store.StatusDiverged:
				if e.opts.FailFast && !stopping {
					stopping = true
					res.FailedFast = true
					fmt.Fprintf(e.opts.Log, "aexp: run %d %s; stopping the sweep (--fail-fast)\n", o.job.rec.ID, st)
					stopRuns(errFailFast)
				}
			case store.StatusDone:
				if s.Objective.reached(o.objective) && res.TargetRun == 0 {
					res.TargetRun = o.job.rec.ID
					if !stopping {
						stopping = true
						fmt.Fprintf(e.opts.Log, "aexp: run %d reached the target %s %g (%g); starting no more runs\n",
							o.job.rec.ID, s.Objective.Metric, *s.Objective.Target, o.objective)
					}
				}
			}
		}
	}

	// counts over the plan's runs, from the store
	final, err := e.db.ListRuns(bg, store.RunFilter{SweepID: sw.ID})
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for _, r := range e.c.Runs {
		keys[r.Key] = true
	}
	if e.prop != nil {
		maps.Copy(keys, e.prop.keys)
	}
	for _, r := range final {
		if keys[r.RunKey] {
			res.Counts[r.Status]++
		}
	}
	status := store.SweepDone
	switch {
	case res.Interrupted:
		status = store.SweepCanceled
	case res.Failed() > 0 || res.Counts[store.StatusCanceled] > 0:
		status = store.SweepFailed
	}
	if err := e.db.FinishSweep(bg, sw.ID, status); err != nil {
		return nil, err
	}
	return res, nil
}

// attempt runs one attempt of a run in its own plugin process.
func (e *Engine) attempt(ctx, bg context.Context, j *job, threads int, pr *pruner) (o outcome) {
	s := e.c.Spec
	r := j.run
	id := j.rec.ID
	o = outcome{job: j, objective: math.NaN()}
	plug := e.c.Plugins[r.Variant]
	label := e.label(r)
	e.prog.RunStart(id, label, s.Budget.Epochs)

	var trainSeconds func() float64
	finish := func(f store.RunFinish) {
		if trainSeconds != nil {
			f.TrainSeconds = trainSeconds()
		}
		o.status, o.err = f.Status, f.Error
		if err := e.db.FinishRun(bg, id, f); err != nil {
			o.status, o.err = store.StatusFailed, "recording the run: "+err.Error()
		}
	}
	if err := ctx.Err(); err != nil {
		o.status = store.StatusQueued
		return o
	}

	// What earlier attempts left: their training time (budget.timeout
	// counts all of it) and the state of the last completed epoch.
	rs, err := e.resumeState(bg, id, plug)
	if err != nil {
		finish(store.RunFinish{Status: store.StatusFailed, Error: err.Error()})
		return o
	}
	if s.Budget.Timeout > 0 && rs.spent >= s.Budget.Timeout.Seconds() {
		finish(store.RunFinish{Status: store.StatusTimedOut, Error: fmt.Sprintf(
			"timed out: its %s of training in earlier attempts used up budget.timeout (%s); raise it to continue from epoch %d",
			fmtDuration(time.Duration(rs.spent*float64(time.Second))), fmtDuration(s.Budget.Timeout), rs.from)})
		return o
	}

	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var logw io.Writer
	if e.opts.Verbose {
		logw = PrefixWriter(e.opts.Log, fmt.Sprintf("[run %d] ", id))
	}
	started := false
	var start time.Time // when the plugin started
	var stopTimer func()
	trainSeconds = func() float64 { return rs.spent }
	startRun := func(st Started) error {
		if err := e.db.StartRun(bg, id, store.RunStart{Attempt: j.attempt + 1, PluginVersion: plug.Info.Version,
			PluginHash: plug.Hash, Threads: st.Threads, Pid: st.Pid, Host: st.Host, ResumeFrom: rs.from}); err != nil {
			o.env = fmt.Errorf("the store cannot be written: %w", err)
			return err
		}
		started = true
		e.track(id)
		// training time and the timeout's clock start with the plugin, not
		// while the run waits for a worker
		now := time.Now()
		start = now
		if !st.Since.IsZero() && st.Since.Before(now) {
			start = st.Since // taken back while training (Started.Since)
		}
		trainSeconds = func() float64 { return rs.spent + time.Since(start).Seconds() }
		if s.Budget.Timeout > 0 {
			left := s.Budget.Timeout - time.Duration(rs.spent*float64(time.Second)) - now.Sub(start)
			timer := time.AfterFunc(left, func() { cancel(errTimedOut) })
			stopTimer = func() { timer.Stop() }
		}
		return nil
	}
	stopTimer = func() {}
	defer func() { stopTimer() }()
	defer e.untrack(id)
	var (
		lastEpoch  = rs.from
		resumed    bool      // the plugin confirmed it continues from rs.from
		stateEpoch = rs.from // of the last training state recorded
		byEpoch    = map[int]float64{}
		best       = math.NaN()
		final      *variant.FinalReport
		pruneMsg   string
		pruneAt    int
		pruneTimer *time.Timer
		recErr     error
	)
	req := variant.TrainRequest{
		RunKey: r.Key, Params: e.params(r.Key), Seed: r.Seed, Dataset: s.ResolveDataset(r.Dataset),
		DataDir: e.c.DataDir, Epochs: r.Epochs, BatchSize: r.BatchSize,
		TrainLimit: r.TrainLimit, TestLimit: r.TestLimit, Threads: threads, Keep: s.Keep,
	}
	if rs.state != nil {
		req.Resume = &rs.state.Artifact
		kept := make([]float64, rs.from) // the early-stopping history of the epochs kept
		for i := range kept {
			kept[i] = math.NaN()
		}
		for ep, v := range rs.objective {
			byEpoch[ep] = v
			if ep >= 1 && ep <= rs.from {
				kept[ep-1] = v
			}
			if math.IsNaN(best) || s.Objective.better(v, best) {
				best = v
			}
		}
		pr.seed(id, kept)
	}
	emit := func(ev variant.Event) error {
		switch {
		case ev.Resumed != nil && (resumed || lastEpoch > rs.from):
			// the run moved within this attempt (a redelivery to another
			// worker) and continues from the state this attempt recorded
			if ev.Resumed.Epoch != stateEpoch {
				return fmt.Errorf("protocol error: resumed from epoch %d, but the last training state recorded is of epoch %d", ev.Resumed.Epoch, stateEpoch)
			}
			if err := e.db.MarkResumed(bg, id, stateEpoch); err != nil {
				recErr = err
				return err
			}
		case ev.Resumed != nil:
			if rs.state == nil || ev.Resumed.Epoch != rs.from {
				return fmt.Errorf("plugin protocol error: resumed from epoch %d, but was sent the state of epoch %d", ev.Resumed.Epoch, rs.from)
			}
			if err := e.db.MarkResumed(bg, id, rs.from); err != nil {
				recErr = err
				return err
			}
			resumed = true
			e.prog.RunLog(id, "info", fmt.Sprintf("resumed after epoch %d of %d", rs.from, r.Epochs))
		case ev.Epoch != nil:
			ep := ev.Epoch
			if pruneAt > 0 {
				cancel(errPruned)
				return errPruned
			}
			if rs.from > 0 && !resumed {
				// the plugin did not use the state: it starts over
				if err := e.db.TruncateRun(bg, id, 0); err != nil {
					recErr = err
					return err
				}
				e.prog.RunLog(id, "warn", fmt.Sprintf("the plugin did not resume from epoch %d; starting over", rs.from))
				rs.from, byEpoch, best = 0, map[int]float64{}, math.NaN()
			}
			if ep.Epoch <= rs.from {
				return fmt.Errorf("plugin protocol error: epoch %d reported after resuming from epoch %d", ep.Epoch, rs.from)
			}
			if err := e.db.RecordEpoch(bg, id, ep.Epoch, ep.Metrics); err != nil {
				recErr = err
				return err
			}
			lastEpoch = ep.Epoch
			e.prog.RunEpoch(id, ep.Epoch, ep.Metrics)
			if v, ok := ep.Metrics[s.Objective.Metric]; ok {
				byEpoch[ep.Epoch] = v
				if math.IsNaN(best) || s.Objective.better(v, best) {
					best = v
				}
				if pr.report(id, ep.Epoch, v, false) && ep.Epoch < r.Epochs {
					pruneMsg = fmt.Sprintf("pruned at epoch %d of %d by %s: %s %.6g is behind the other runs", ep.Epoch, r.Epochs, s.EarlyStop.Method, s.Objective.Metric, v)
					// stop at the next epoch's report, or after a short grace:
					// the checkpoint of this epoch usually follows its report
					pruneAt = ep.Epoch
					pruneTimer = time.AfterFunc(pruneGrace, func() { cancel(errPruned) })
				}
			}
		case ev.Artifact != nil && ev.Artifact.Kind == variant.KindState:
			if pruneAt > 0 && ev.Artifact.Epoch > pruneAt {
				return nil
			}
			if ev.Artifact.Epoch != lastEpoch {
				return fmt.Errorf("plugin protocol error: training state of epoch %d after epoch %d", ev.Artifact.Epoch, lastEpoch)
			}
			if err := e.db.SaveState(bg, id, *ev.Artifact, plug.Hash, trainSeconds()); err != nil {
				recErr = err
				return err
			}
			stateEpoch = ev.Artifact.Epoch
		case ev.Artifact != nil:
			if pruneAt > 0 && ev.Artifact.Epoch > pruneAt {
				return nil
			}
			obj := math.NaN()
			if v, ok := byEpoch[ev.Artifact.Epoch]; ok {
				obj = v
			}
			if err := e.db.SaveArtifact(bg, id, *ev.Artifact, s.Keep, obj); err != nil {
				recErr = err
				return err
			}
		case ev.Log != nil:
			e.prog.RunLog(id, ev.Log.Level, ev.Log.Text)
		case ev.Final != nil:
			final = ev.Final
		}
		return nil
	}
	recorded := make(chan struct{})
	defer close(recorded) // after every finish below
	tail, trainErr := e.exec.Train(actx, Task{RunID: id, Attempt: j.attempt + 1, Variant: r.Variant, Plugin: plug,
		Req: req, Threads: threads, Label: label, Stderr: logw, StartTimeout: e.opts.StartTimeout, Started: startRun,
		Recorded: recorded}, emit)
	if !started {
		switch {
		case ctx.Err() != nil || errors.Is(trainErr, ErrStopped):
			// stopped before it started: leave it queued for the next time
			o.status = store.StatusQueued
		case trainErr == nil:
			o.status, o.err = store.StatusFailed, "the plugin never started"
		default:
			_ = e.db.StartRun(bg, id, store.RunStart{PluginVersion: plug.Info.Version, PluginHash: plug.Hash, Threads: threads})
			finish(store.RunFinish{Status: store.StatusFailed, Error: "starting the plugin: " + trainErr.Error()})
		}
		return o
	}
	if trainErr == nil && rs.from > 0 && !resumed && lastEpoch == rs.from {
		// it finished without reporting an epoch or confirming the state
		trainErr = fmt.Errorf("plugin protocol error: Train ended without resuming from epoch %d or reporting an epoch", rs.from)
	}
	if pruneTimer != nil {
		pruneTimer.Stop()
		if trainErr == nil {
			// the run ended within the grace: it was pruned all the same
			trainErr = errPruned
			cancel(errPruned)
		}
	}
	elapsed := time.Since(start).Round(time.Millisecond)
	cause := context.Cause(actx)
	tail = tailOf(tail, 4<<10)

	var diverged *variant.DivergedError
	var crash *variant.CrashError
	switch {
	case trainErr == nil:
		f := store.RunFinish{Status: store.StatusDone}
		if final != nil {
			f.Metrics, f.Meta = final.Metrics, final.Meta
			if v, ok := final.Metrics[s.Objective.Metric]; ok {
				best = v
			}
		}
		o.objective = best
		finish(f)
		if o.err == "" {
			o.err = fmt.Sprintf("in %s", elapsed)
			if !math.IsNaN(best) {
				o.err += fmt.Sprintf(", %s %.5g", s.Objective.Metric, best)
			}
		}
	case recErr != nil:
		o.env = fmt.Errorf("the store cannot be written: %w", recErr)
		finish(store.RunFinish{Status: store.StatusFailed, Error: "recording the run: " + recErr.Error(), StderrTail: tail, Refund: true})
	case errors.Is(trainErr, variant.ErrData):
		o.env = trainErr
		finish(store.RunFinish{Status: store.StatusFailed, StderrTail: tail, Refund: true,
			Error: fmt.Sprintf("%v (not counted as an attempt: fix the data and run the sweep again)", trainErr)})
	case errors.Is(cause, errPruned):
		finish(store.RunFinish{Status: store.StatusPruned, Error: pruneMsg})
	case errors.Is(cause, errTimedOut):
		finish(store.RunFinish{Status: store.StatusTimedOut, StderrTail: tail,
			Error: fmt.Sprintf("timed out after %s (budget.timeout) at epoch %d of %d", fmtDuration(s.Budget.Timeout), lastEpoch, r.Epochs)})
	case ctx.Err() != nil:
		why := "interrupted (SIGINT/SIGTERM)"
		if c := context.Cause(ctx); errors.Is(c, errFailFast) || errors.Is(c, errEnvironment) {
			why = c.Error()
		}
		finish(store.RunFinish{Status: store.StatusCanceled, Error: fmt.Sprintf("canceled at epoch %d of %d: %s", lastEpoch, r.Epochs, why), StderrTail: tail})
	case errors.As(trainErr, &diverged):
		finish(store.RunFinish{Status: store.StatusDiverged, Error: diverged.Error(), StderrTail: tail})
	case errors.As(trainErr, &crash):
		msg := "plugin failed during " + crash.Op
		if crash.ExitStatus != "" {
			msg = fmt.Sprintf("plugin process exited during %s (%s)", crash.Op, crash.ExitStatus)
		}
		if crash.Panic != "" {
			msg += ": " + crash.Panic
		} else if crash.Err != nil {
			msg += ": " + crash.Err.Error()
		}
		finish(store.RunFinish{Status: store.StatusFailed, Error: fmt.Sprintf("%s (at epoch %d of %d)", msg, lastEpoch, r.Epochs), StderrTail: tail})
	default:
		finish(store.RunFinish{Status: store.StatusFailed, Error: fmt.Sprintf("%v (at epoch %d of %d)", trainErr, lastEpoch, r.Epochs), StderrTail: tail})
	}
	return o
}

// resumed is what a run's earlier attempts left for the next one.
type resumed struct {
	spent     float64         // training seconds of earlier attempts
	state     *store.State    // nil: start at epoch 1
	from      int             // the state's epoch
	objective map[int]float64 // the objective at the epochs kept
}

// resumeState reads the run's training time so far and, when its plugin
// can resume and wrote the stored state, that state.
func (e *Engine) resumeState(ctx context.Context, id int64, plug *Plugin) (resumed, error) {
	var rs resumed
	run, err := e.db.GetRun(ctx, id)
	if err != nil {
		return rs, err
	}
	rs.spent = run.TrainSeconds
	if !slices.Contains(plug.Info.Capabilities, variant.CapResume) {
		return rs, nil
	}
	st, err := e.db.LatestState(ctx, id)
	if err != nil || st == nil {
		if err != nil {
			fmt.Fprintf(e.opts.Log, "aexp: run %d: %v; starting it over\n", id, err)
		}
		return rs, nil
	}
	if st.PluginHash != plug.Hash {
		fmt.Fprintf(e.opts.Log, "aexp: run %d: its training state was written by another build of the %s plugin; starting it over\n", id, run.Variant)
		return rs, nil
	}
	h, err := e.db.MetricHistory(ctx, id)
	if err != nil {
		return rs, err
	}
	rs.state, rs.from, rs.objective = st, st.Epoch, map[int]float64{}
	for _, p := range h[e.c.Spec.Objective.Metric] {
		if p.Epoch <= st.Epoch {
			rs.objective[p.Epoch] = p.Value
		}
	}
	return rs, nil
}

// label names a run for people: variant, the params that vary, the seed.
func (e *Engine) label(r *Run) string {
	e.mu.Lock()
	vary, ok := e.varying[r.Block]
	if !ok {
		// once per block: Varying looks at every run of the plan
		vary, _ = e.c.Varying(r.Block)
		e.varying[r.Block] = vary
	}
	e.mu.Unlock()
	var b strings.Builder
	b.WriteString(r.Variant)
	if ps := formatParams(r.Params, vary); ps != "" {
		b.WriteString(" " + ps)
	}
	if len(e.c.Spec.Budget.Seeds) > 1 {
		fmt.Fprintf(&b, " seed=%d", r.Seed)
	}
	return b.String()
}

func tailOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return s
}

// PrefixWriter writes each line with a prefix (a run's log lines, here
// and on a worker).
func PrefixWriter(w io.Writer, prefix string) io.Writer {
	return &prefixed{w: w, prefix: prefix, bol: true}
}

type prefixed struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	bol    bool
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []byte
	for _, c := range b {
		if p.bol {
			out = append(out, p.prefix...)
			p.bol = false
		}
		out = append(out, c)
		if c == '\n' {
			p.bol = true
		}
	}
	_, err := p.w.Write(out)
	return len(b), err
}
