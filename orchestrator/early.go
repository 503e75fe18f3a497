package orchestrator

import (
	"math"
	"sort"
	"sync"
)

// ashaRungs are the epochs at which successive halving compares runs:
// grace, grace·η, grace·η², ... below the last epoch.
func ashaRungs(es EarlyStop, epochs int) []int {
	var rungs []int
	if es.GraceEpochs < 1 || es.Reduction < 2 {
		return nil
	}
	for r := es.GraceEpochs; r < epochs; r *= es.Reduction {
		rungs = append(rungs, r)
	}
	return rungs
}

// pruner decides, on each per-epoch report, whether a run should stop.
// It keeps the objective of every run at every epoch, across workers, and
// is safe for concurrent use.
//
//   - median: from the grace epoch on, a run whose best value so far is
//     worse than the median of the other runs' values at the same epoch is
//     pruned (Optuna's MedianPruner); it needs min_runs other runs there.
//   - asha: at each rung epoch a run continues only if its value is within
//     the best 1/reduction of all values recorded at that rung so far
//     (asynchronous successive halving as in Ray Tune's ASHA: the first run
//     at a rung always continues).
type pruner struct {
	es   EarlyStop
	obj  Objective
	rung map[int]bool

	mu     sync.Mutex
	byEp   map[int]map[int64]float64 // epoch -> run -> value at that epoch
	bestOf map[int64]float64         // run -> best value so far
}

func newPruner(es EarlyStop, obj Objective, epochs int) *pruner {
	p := &pruner{es: es, obj: obj, rung: map[int]bool{}, byEp: map[int]map[int64]float64{}, bestOf: map[int64]float64{}}
	for _, r := range ashaRungs(es, epochs) {
		p.rung[r] = true
	}
	return p
}

// seed records history of runs finished earlier (a resumed sweep prunes
// against them too). values[e-1] is the value at epoch e.
func (p *pruner) seed(run int64, values []float64) {
	for i, v := range values {
		p.report(run, i+1, v, true)
	}
}

// report records a run's objective at an epoch and says whether to prune.
func (p *pruner) report(run int64, epoch int, v float64, history bool) bool {
	if p == nil || p.es.Method == "none" || math.IsNaN(v) {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.byEp[epoch]
	if m == nil {
		m = map[int64]float64{}
		p.byEp[epoch] = m
	}
	m[run] = v
	if b, ok := p.bestOf[run]; !ok || p.obj.better(v, b) {
		p.bestOf[run] = v
	}
	if history || epoch < p.es.GraceEpochs {
		return false
	}
	switch p.es.Method {
	case "median":
		var others []float64
		for id, x := range m {
			if id != run {
				others = append(others, x)
			}
		}
		if len(others) < p.es.MinRuns {
			return false
		}
		med := median(others)
		return p.obj.better(med, p.bestOf[run])
	case "asha":
		if !p.rung[epoch] {
			return false
		}
		vals := make([]float64, 0, len(m))
		for _, x := range m {
			vals = append(vals, x)
		}
		if len(vals) < 2 {
			return false
		}
		// the cutoff below which (minimize) the best 1/η of values lie
		q := 1 / float64(p.es.Reduction)
		if p.obj.Goal == "maximize" {
			q = 1 - q
		}
		cut := percentile(vals, q)
		return p.obj.better(cut, v)
	}
	return false
}

func median(xs []float64) float64 { return percentile(xs, 0.5) }

// percentile with linear interpolation between order statistics (numpy's
// default), q in [0, 1].
func percentile(xs []float64, q float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 1 {
		return s[0]
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	f := pos - float64(lo)
	return s[lo]*(1-f) + s[hi]*f
}
