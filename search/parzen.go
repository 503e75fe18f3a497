package search

import (
	"math"
	"math/rand/v2"
	"sort"
)

// estimator is a Parzen estimator over one or more parameters: a weighted
// mixture whose components are the observations (one kernel per parameter
// each) plus a prior component that covers the whole range.
type estimator struct {
	params []Param
	logW   []float64   // log component weights; the last component is the prior
	w      []float64   // the same, normalised
	mu     [][]float64 // numeric: [param][component] kernel centre (model scale)
	sigma  [][]float64 // numeric: [param][component] bandwidth
	cat    [][][]float64
	lo, hi []float64
}

// rampWeights are the observations' weights, oldest first: 1 for the newest
// 25, a linear ramp from 1/n for older ones, so the model follows the
// search as it narrows (Optuna's default_weights).
func rampWeights(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	if n > 25 {
		m := n - 25
		for i := 0; i < m; i++ {
			if m == 1 {
				w[i] = 1 / float64(n)
				continue
			}
			w[i] = 1/float64(n) + (1-1/float64(n))*float64(i)/float64(m-1)
		}
	}
	return w
}

// newEstimator fits an estimator to obs, one row per observation (oldest
// first), one column per parameter (values as the user sees them;
// categoricals as indices). multivariate selects the bandwidth rule: Scott's
// rule over all the parameters jointly, or, per parameter, the distance to
// the neighbouring observations.
func newEstimator(params []Param, obs [][]float64, o Options) *estimator {
	n := len(obs)
	e := &estimator{params: params}
	w := append(rampWeights(n), o.PriorWeight)
	var sum float64
	for _, x := range w {
		sum += x
	}
	e.w = make([]float64, len(w))
	e.logW = make([]float64, len(w))
	for i, x := range w {
		e.w[i] = x / sum
		e.logW[i] = math.Log(x / sum)
	}
	d := len(params)
	e.mu = make([][]float64, d)
	e.sigma = make([][]float64, d)
	e.cat = make([][][]float64, d)
	e.lo = make([]float64, d)
	e.hi = make([]float64, d)
	for j, p := range params {
		if p.Kind == Categorical {
			e.cat[j] = categoricalTable(p.N, column(obs, j), o.CategoricalPrior)
			continue
		}
		lo, hi := p.bounds()
		e.lo[j], e.hi[j] = lo, hi
		mus := make([]float64, n+1)
		for i, row := range obs {
			mus[i] = p.internal(row[j])
		}
		mus[n] = (lo + hi) / 2
		var sig []float64
		if o.Multivariate {
			s := o.bandwidth() * math.Pow(float64(max(n, 1)), -1/float64(d+4)) * (hi - lo)
			sig = make([]float64, n+1)
			for i := range sig {
				sig[i] = s
			}
		} else {
			sig = neighbourBandwidths(mus, lo, hi)
		}
		minS, maxS := (hi-lo)/math.Min(100, 1+float64(n+1)), hi-lo
		for i := range sig {
			sig[i] = math.Max(minS, math.Min(maxS, sig[i]))
		}
		sig[n] = hi - lo // the prior is as wide as the range
		e.mu[j], e.sigma[j] = mus, sig
	}
	return e
}

func column(obs [][]float64, j int) []float64 {
	c := make([]float64, len(obs))
	for i, row := range obs {
		c[i] = row[j]
	}
	return c
}

// categoricalTable is, per component, the probability of each choice: an
// observation's choice gets 1 plus the prior's share, every choice the
// prior's share prior/(n+1); the prior component is the prior's share alone
// (uniform). Rows are normalised.
func categoricalTable(k int, obs []float64, prior float64) [][]float64 {
	n := len(obs)
	t := make([][]float64, n+1)
	base := prior / float64(n+1)
	for i := range t {
		row := make([]float64, k)
		for c := range row {
			row[c] = base
		}
		if i < n {
			row[int(obs[i])]++
		}
		var s float64
		for _, x := range row {
			s += x
		}
		for c := range row {
			row[c] /= s
		}
		t[i] = row
	}
	return t
}

// neighbourBandwidths gives each centre the larger of the distances to its
// neighbours in sorted order (the range's ends are neighbours too, except
// for the outermost centres, which take the distance inwards).
func neighbourBandwidths(mus []float64, lo, hi float64) []float64 {
	idx := make([]int, len(mus))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return mus[idx[a]] < mus[idx[b]] })
	padded := make([]float64, len(mus)+2)
	padded[0], padded[len(padded)-1] = lo, hi
	for i, k := range idx {
		padded[i+1] = mus[k]
	}
	sorted := make([]float64, len(mus))
	for i := range sorted {
		sorted[i] = math.Max(padded[i+1]-padded[i], padded[i+2]-padded[i+1])
	}
	if len(padded) >= 4 {
		sorted[0] = padded[2] - padded[1]
		sorted[len(sorted)-1] = padded[len(padded)-2] - padded[len(padded)-3]
	}
	out := make([]float64, len(mus))
	for i, k := range idx {
		out[k] = sorted[i]
	}
	return out
}

// sample draws n points (values as the user sees them: on the grid, in
// bounds), each from one mixture component chosen by weight.
func (e *estimator) sample(rng *rand.Rand, n int) [][]float64 {
	out := make([][]float64, n)
	for s := range out {
		k := pick(rng, e.w)
		x := make([]float64, len(e.params))
		for j, p := range e.params {
			if p.Kind == Categorical {
				x[j] = float64(pick(rng, e.cat[j][k]))
				continue
			}
			x[j] = p.external(truncNormSample(rng, e.mu[j][k], e.sigma[j][k], e.lo[j], e.hi[j]))
		}
		out[s] = x
	}
	return out
}

// pick draws an index with probability proportional to w.
func pick(rng *rand.Rand, w []float64) int {
	var s float64
	for _, x := range w {
		s += x
	}
	u := rng.Float64() * s
	for i, x := range w {
		u -= x
		if u < 0 {
			return i
		}
	}
	return len(w) - 1
}

// logPDF is the log density (log mass on a grid) of the mixture at x.
func (e *estimator) logPDF(x []float64) float64 {
	best := math.Inf(-1)
	terms := make([]float64, len(e.w))
	for k := range e.w {
		t := e.logW[k]
		for j, p := range e.params {
			t += e.componentLogPDF(j, k, p, x[j])
		}
		terms[k] = t
		best = math.Max(best, t)
	}
	if math.IsInf(best, -1) {
		return best
	}
	var s float64
	for _, t := range terms {
		s += math.Exp(t - best)
	}
	return best + math.Log(s)
}

func (e *estimator) componentLogPDF(j, k int, p Param, v float64) float64 {
	if p.Kind == Categorical {
		return math.Log(e.cat[j][k][int(v)])
	}
	mu, sg, lo, hi := e.mu[j][k], e.sigma[j][k], e.lo[j], e.hi[j]
	if q := p.step(); q > 0 && !p.Log {
		return truncNormLogMass(v, q, mu, sg, lo, hi)
	}
	return truncNormLogPDF(p.internal(v), mu, sg, lo, hi)
}
