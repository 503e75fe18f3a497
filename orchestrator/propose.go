package orchestrator

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/aexp/aexp/search"
	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
)

// proposer is the engine's side of model-based search: when a slot is free
// and nothing is queued, it rebuilds the history from the store, asks the
// model for the next configuration and records its runs (one per seed)
// with their deterministic keys. The store is the model's only state, so a
// resumed sweep proposes what an uninterrupted one would have.
type proposer struct {
	e       *Engine
	m       *tpeModel
	sweepID int64

	keys    map[string]bool // every run key of the sweep (planned and proposed)
	configs int             // configurations recorded: the next proposal's number
	runs    int             // runs recorded
	done    bool            // the budget is spent or the space exhausted

	mu   sync.Mutex
	full map[string]map[string]any // proposed runs' params with defaults filled
}

func newProposer(e *Engine, sweepID int64) *proposer {
	return &proposer{e: e, m: e.c.tpe, sweepID: sweepID, keys: map[string]bool{}, full: map[string]map[string]any{}}
}

// params is the run's validated params: the plan's, or a proposed run's.
func (e *Engine) params(key string) map[string]any {
	if p, ok := e.c.Full[key]; ok {
		return p
	}
	if e.prop == nil {
		return nil
	}
	e.prop.mu.Lock()
	defer e.prop.mu.Unlock()
	return e.prop.full[key]
}

// resume loads the runs proposed by earlier invocations (those not in the
// plan): unfinished ones are queued again, finished ones are returned for
// the pruner's history.
func (p *proposer) resume(ctx context.Context) (queue []*job, finished []int64, err error) {
	for _, r := range p.e.c.Runs {
		p.keys[r.Key] = true
	}
	recs, err := p.e.db.ListRuns(ctx, store.RunFilter{SweepID: p.sweepID})
	if err != nil {
		return nil, nil, err
	}
	p.runs = len(recs)
	p.configs = len(groupConfigs(recs))
	var ids []int64
	for _, r := range recs {
		if !p.keys[r.RunKey] {
			ids = append(ids, r.RunID)
		}
	}
	s := p.e.c.Spec
	var retry []int64
	for _, id := range ids {
		rec, err := p.e.db.GetRun(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		p.keys[rec.Key] = true
		run := p.m.recordedRun(s, rec.Variant, rec.Params, rec.Seed, rec.Key, rec.Source)
		if run == nil {
			continue // not a point of this space (recorded under another spec with --force)
		}
		p.mu.Lock()
		p.full[rec.Key] = rec.Params
		p.mu.Unlock()
		switch rec.Status {
		case store.StatusDone, store.StatusPruned, store.StatusDiverged:
			finished = append(finished, id)
		case store.StatusRunning:
		case store.StatusFailed, store.StatusTimedOut:
			switch {
			case p.e.opts.RetryFailed: // as the plan's runs: a fresh set of attempts
				retry = append(retry, id)
				rec.Attempt = 0
				queue = append(queue, &job{run: run, rec: rec})
			case rec.Attempt < rec.MaxAttempts || strings.HasPrefix(rec.Error, "aexp process died"):
				queue = append(queue, &job{run: run, rec: rec, attempt: rec.Attempt})
			}
		default:
			queue = append(queue, &job{run: run, rec: rec, attempt: rec.Attempt})
		}
	}
	if len(retry) > 0 {
		if err := p.e.db.RetryRuns(ctx, retry); err != nil {
			return nil, nil, err
		}
	}
	return queue, finished, nil
}

// next proposes one configuration and records its runs; nil when the
// budget (samples, run_cap) is spent.
func (p *proposer) next(ctx context.Context) ([]*job, error) {
	s := p.e.c.Spec
	if p.done || p.configs >= s.Search.Samples || s.Search.RunCap > 0 && p.runs >= s.Search.RunCap {
		return nil, nil
	}
	recs, err := p.e.db.ListRuns(ctx, store.RunFilter{SweepID: p.sweepID})
	if err != nil {
		return nil, err
	}
	hist := p.history(recs)
	source := SourceModel
	if search.Finished(hist) < p.m.opts.Startup {
		source = SourceStartup // too few results yet: still random
	}
	runs, ok := p.m.draw(s, p.configs, hist, func(k string) bool { return p.keys[k] }, source)
	if !ok {
		p.done = true
		fmt.Fprintf(p.e.opts.Log, "aexp: tpe found no new configuration after %d draws; the space looks exhausted\n", maxRetries)
		return nil, nil
	}
	if s.Search.RunCap > 0 {
		runs = runs[:min(len(runs), s.Search.RunCap-p.runs)]
	}
	plug := p.e.c.Plugins[runs[0].Variant]
	full, err := variant.Validate(plug.Info.Params, runs[0].Params)
	if err != nil {
		return nil, fmt.Errorf("tpe proposed %s, which variant %s rejects: %w", formatParams(runs[0].Params, paramOrder(s.Blocks[runs[0].Block])), runs[0].Variant, err)
	}
	specs := make([]store.RunSpec, len(runs))
	for i, r := range runs {
		specs[i] = store.RunSpec{Key: r.Key, Variant: r.Variant, Dataset: r.Dataset, Seed: r.Seed,
			Params: full, Attempts: s.Budget.Attempts, Source: r.Source}
	}
	recorded, err := p.e.db.EnsureRuns(ctx, p.sweepID, specs)
	if err != nil {
		return nil, err
	}
	p.configs++
	p.runs += len(runs)
	jobs := make([]*job, len(runs))
	p.mu.Lock()
	for i, r := range runs {
		p.keys[r.Key] = true
		p.full[r.Key] = full
		jobs[i] = &job{run: r, rec: recorded[i]}
	}
	p.mu.Unlock()
	return jobs, nil
}

// cfgGroup is one configuration's runs (its seeds), in the order recorded.
type cfgGroup struct {
	first int64
	runs  []store.RunSummary
}

// groupConfigs groups a sweep's runs by configuration: the same variant
// and params, any seed.
func groupConfigs(recs []store.RunSummary) []*cfgGroup {
	by := map[string]*cfgGroup{}
	var out []*cfgGroup
	for _, r := range recs {
		k := r.Variant + "\x00" + canonical(r.Params)
		g := by[k]
		if g == nil {
			g = &cfgGroup{first: r.RunID}
			by[k] = g
			out = append(out, g)
		}
		g.runs = append(g.runs, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].first < out[j].first })
	return out
}

// history is the sweep's trials for the model, in the order they were
// recorded. A configuration's value is the mean over its finished seeds
// (best objective of each done run); one with no done seed but pruned ones
// is pruned at the furthest epoch with the mean of the values reported
// there; one still queued or running is in flight (the constant liar); one
// that only failed or diverged is left out. A maximised objective is
// negated, so the model always minimises.
func (p *proposer) history(recs []store.RunSummary) []search.Trial {
	s := p.e.c.Spec
	sign := 1.0
	if s.Objective.Goal == "maximize" {
		sign = -1
	}
	var hist []search.Trial
	for _, g := range groupConfigs(recs) {
		c, ok := p.m.decode(s, g.runs[0].Variant, g.runs[0].Params)
		if !ok {
			continue
		}
		t := search.Trial{Config: c, State: search.Failed}
		var done, pruned []float64
		step := 0
		inFlight := false
		for _, r := range g.runs {
			switch r.Status {
			case store.StatusDone:
				if r.BestObjective != nil && !math.IsInf(*r.BestObjective, 0) {
					done = append(done, *r.BestObjective)
				}
			case store.StatusPruned:
				if r.FinalObjective == nil {
					continue
				}
				if r.Epochs > step {
					step, pruned = r.Epochs, nil
				}
				if r.Epochs == step {
					pruned = append(pruned, *r.FinalObjective)
				}
			case store.StatusQueued, store.StatusRunning, store.StatusCanceled:
				inFlight = true
			}
		}
		switch {
		case len(done) > 0:
			t.State, t.Value = search.Complete, sign*mean(done)
		case inFlight:
			t.State = search.Running
		case len(pruned) > 0:
			t.State, t.Value, t.Step = search.Pruned, sign*mean(pruned), step
		}
		hist = append(hist, t)
	}
	return hist
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// propose tops up an empty queue with the model's next configuration; it
// reports whether it added runs. A proposal the plugin rejects or a store
// error stops the proposals (the sweep finishes what it has).
func (e *Engine) propose(ctx context.Context, queue *[]*job, res *Result) bool {
	if e.prop == nil || res.TargetRun != 0 {
		return false
	}
	jobs, err := e.prop.next(ctx)
	if err != nil {
		fmt.Fprintf(e.opts.Log, "aexp: %v; proposing no more runs\n", err)
		e.prop.done = true
		return false
	}
	*queue = append(*queue, jobs...)
	return len(jobs) > 0
}
