package search

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Options tune the TPE sampler. Zero values take the defaults below.
type Options struct {
	Seed         uint64
	Startup      int  // random trials before the model is used; 0: 10 (Optuna's)
	Candidates   int  // candidates drawn from l(x) per proposal; 0: 24 (Optuna's)
	Multivariate bool // one joint model per branch instead of one per parameter
	// PriorWeight is the weight of the prior component (and the smoothing
	// of categorical tables); 0: 1.
	PriorWeight float64
	// CategoricalPrior is the smoothing of categorical tables alone; 0:
	// PriorWeight.
	CategoricalPrior float64
	// Bandwidth is the multivariate kernel width before Scott's factor
	// n^(-1/(d+4)), as a share of the range; 0: 0.1 (Optuna uses 0.2).
	Bandwidth float64
	// Gamma is the share of finished trials that count as good ("below"),
	// at most 25 of them; 0: 0.25 (Optuna uses 0.1; see the README).
	Gamma float64
	// MaxBelow caps the good set; 0: 25 (Optuna's cap).
	MaxBelow int
	// NoLiar leaves trials in flight out of the model. By default they count
	// as the worst trials (the constant liar), so parallel workers spread out.
	NoLiar bool
}

const (
	DefaultStartup    = 10
	DefaultCandidates = 24
)

func (o Options) withDefaults() Options {
	if o.Startup <= 0 {
		o.Startup = DefaultStartup
	}
	if o.Candidates <= 0 {
		o.Candidates = DefaultCandidates
	}
	if o.PriorWeight <= 0 {
		o.PriorWeight = 1
	}
	if o.CategoricalPrior <= 0 {
		o.CategoricalPrior = o.PriorWeight
	}
	return o
}

func (o Options) bandwidth() float64 {
	if o.Bandwidth > 0 {
		return o.Bandwidth
	}
	return 0.1
}

// TPE is the Tree-structured Parzen Estimator sampler.
type TPE struct {
	space Space
	opt   Options
}

// NewTPE makes a sampler for space. It panics on a space Check rejects.
func NewTPE(space Space, opt Options) *TPE {
	if err := space.Check(); err != nil {
		panic(err)
	}
	return &TPE{space: space, opt: opt.withDefaults()}
}

// Rand is the random source of trial number n (the n-th configuration of
// the sweep, 0-based) and retry r: a proposal depends on the seed, n, r and
// the history only, which is what makes a resumed sweep propose the same.
func Rand(seed uint64, n, r int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(n)<<16|uint64(r)))
}

// Random draws a configuration uniformly: the branch, then each parameter
// (uniform in value or, on a log scale, in log value; uniform over a grid's
// points). Startup trials are Random(seed, n, 0).
func (s Space) Random(rng *rand.Rand) Config {
	c := Config{Branch: rng.IntN(len(s.Branches))}
	for _, p := range s.Branches[c.Branch].Params {
		c.Values = append(c.Values, randomValue(p, rng))
	}
	return c
}

func randomValue(p Param, rng *rand.Rand) float64 {
	switch {
	case p.Kind == Categorical:
		return float64(rng.IntN(p.N))
	case p.Log:
		return p.external(math.Log(p.Low) + rng.Float64()*(math.Log(p.High)-math.Log(p.Low)))
	case p.step() > 0:
		n := int(math.Floor((p.High-p.Low)/p.step()+1e-9)) + 1
		return p.Low + float64(rng.IntN(n))*p.step()
	default:
		return p.Low + rng.Float64()*(p.High-p.Low)
	}
}

// Finished counts the trials that inform the model (complete or pruned).
func Finished(hist []Trial) int {
	n := 0
	for _, t := range hist {
		if t.State == Complete || t.State == Pruned {
			n++
		}
	}
	return n
}

// Propose returns the configuration of trial number n, retry r, given the
// history (trials in the order they started). Until Startup trials have
// finished it draws at random; then it fits the model.
func (t *TPE) Propose(n, r int, hist []Trial) (Config, bool) {
	rng := Rand(t.opt.Seed, n, r)
	if Finished(hist) < t.opt.Startup {
		return t.space.Random(rng), false
	}
	below, above := t.split(hist)
	c := Config{}
	if len(t.space.Branches) > 1 {
		bp := []Param{{Name: "branch", Kind: Categorical, N: len(t.space.Branches)}}
		pick := func(ts []Trial) [][]float64 {
			out := make([][]float64, len(ts))
			for i, tr := range ts {
				out[i] = []float64{float64(tr.Branch)}
			}
			return out
		}
		c.Branch = int(t.best(rng, bp, pick(below), pick(above))[0])
	}
	params := t.space.Branches[c.Branch].Params
	if len(params) == 0 {
		return c, true
	}
	bl, ab := onBranch(below, c.Branch), onBranch(above, c.Branch)
	if t.opt.Multivariate {
		c.Values = t.best(rng, params, bl, ab)
		return c, true
	}
	c.Values = make([]float64, len(params))
	for j, p := range params {
		c.Values[j] = t.best(rng, []Param{p}, column2(bl, j), column2(ab, j))[0]
	}
	return c, true
}

// best fits l to below and g to above, draws candidates from l and returns
// the one with the highest log l(x) − log g(x).
func (t *TPE) best(rng *rand.Rand, params []Param, below, above [][]float64) []float64 {
	l := newEstimator(params, below, t.opt)
	g := newEstimator(params, above, t.opt)
	cands := l.sample(rng, t.opt.Candidates)
	bestI, bestS := 0, math.Inf(-1)
	for i, x := range cands {
		if s := l.logPDF(x) - g.logPDF(x); s > bestS {
			bestI, bestS = i, s
		}
	}
	return cands[bestI]
}

// nBelow is how many trials count as good among n finished: Gamma (10%)
// of them, at most 25.
func (o Options) nBelow(n int) int {
	g := o.Gamma
	if g <= 0 {
		g = 0.25
	}
	cap := o.MaxBelow
	if cap <= 0 {
		cap = 25
	}
	return min(int(math.Ceil(g*float64(n))), cap)
}

// split orders the trials best first — complete ones by value, then pruned
// ones by how far they got and then by value, then those in flight (the
// constant liar: they count as the worst) — and returns the best gamma(n)
// and the rest, each in the order the trials started.
func (t *TPE) split(hist []Trial) (below, above []Trial) {
	var ts []int
	for i, tr := range hist {
		switch tr.State {
		case Complete, Pruned:
			ts = append(ts, i)
		case Running:
			if !t.opt.NoLiar {
				ts = append(ts, i)
			}
		}
	}
	rank := func(tr Trial) (float64, float64) {
		switch tr.State {
		case Complete:
			return math.Inf(-1), nanWorst(tr.Value)
		case Pruned:
			return -float64(tr.Step), nanWorst(tr.Value)
		}
		return math.Inf(1), math.Inf(1)
	}
	order := append([]int(nil), ts...)
	sort.SliceStable(order, func(a, b int) bool {
		sa, va := rank(hist[order[a]])
		sb, vb := rank(hist[order[b]])
		if sa != sb {
			return sa < sb
		}
		return va < vb
	})
	nb := t.opt.nBelow(Finished(hist))
	good := map[int]bool{}
	for _, i := range order[:min(nb, len(order))] {
		good[i] = true
	}
	for _, i := range ts {
		if good[i] {
			below = append(below, hist[i])
		} else {
			above = append(above, hist[i])
		}
	}
	return below, above
}

func nanWorst(v float64) float64 {
	if math.IsNaN(v) {
		return math.Inf(1)
	}
	return v
}

func onBranch(ts []Trial, b int) [][]float64 {
	var out [][]float64
	for _, t := range ts {
		if t.Branch == b {
			out = append(out, t.Values)
		}
	}
	return out
}

func column2(obs [][]float64, j int) [][]float64 {
	out := make([][]float64, len(obs))
	for i, row := range obs {
		out[i] = []float64{row[j]}
	}
	return out
}
