package viz

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Trial is one run as the sweep-level plots see it: its params and its
// objective. The CLI and the dashboard fill it from the store.
type Trial struct {
	ID        int64          `json:"id"`
	Status    string         `json:"status"`
	Variant   string         `json:"variant"`
	Params    map[string]any `json:"params"`
	Objective *float64       `json:"objective"` // the best value over epochs; nil: none yet
}

// SweepCharts is the data of the sweep-level plots: parallel coordinates,
// slice plots and parameter importance, over the runs that finished (done)
// with a finite objective. The page's script draws them.
type SweepCharts struct {
	Objective  Objective    `json:"objective"`
	Dims       []Dim        `json:"dims"`       // the params that vary, then nothing else
	Trials     []ChartTrial `json:"trials"`     // one per plotted run
	Importance []Importance `json:"importance"` // most important first
	Method     string       `json:"method"`     // how Importance was computed
	Left       int          `json:"left_out"`   // runs not plotted (not done, or no objective)

	dimKeys []string // Dims' param keys ("\x00variant" for the variant)
}

// Dim is one axis of the parallel-coordinates plot and one slice plot.
type Dim struct {
	Name string `json:"name"`
	// Kind is "value" for numbers, "log" for positive numbers on a log
	// scale, "category" for anything else (Categories lists the values).
	Kind       string   `json:"kind"`
	Categories []string `json:"categories,omitempty"`
}

// ChartTrial is one plotted run: X[i] is its value of Dims[i] (a number, or
// an index into Dims[i].Categories), Y its objective.
type ChartTrial struct {
	ID int64     `json:"id"`
	X  []float64 `json:"x"`
	Y  float64   `json:"y"`
}

// Importance is a param's share of the objective's variance.
type Importance struct {
	Param string  `json:"param"`
	Share float64 `json:"share"`
}

// ImportanceMethod names the method of Importances, for captions and docs.
const ImportanceMethod = "fANOVA main effects (first-order variance shares), estimated by binning: " +
	"each param's values are grouped (numbers into at most 10 quantile bins), and its importance is the " +
	"variance of the objective's bin means (weighted by bin size) over the objective's total variance, " +
	"normalised to sum to 1"

// maxBins is how many quantile bins a numeric param is cut into for importance.
const maxBins = 10

// Charts builds the sweep-level plot data of trials. logParams names the
// params sampled on a log scale (from the spec); a grid axis of positive
// values spaced by a steady factor over more than a factor of 100 (1e-4,
// 1e-3, 1e-2) is drawn on a log axis too.
func Charts(trials []Trial, obj Objective, logParams map[string]bool) SweepCharts {
	if obj.Metric == "" {
		obj.Metric = "val_loss"
	}
	if obj.Goal != "maximize" {
		obj.Goal = "minimize"
	}
	c := SweepCharts{Objective: obj, Dims: []Dim{}, Trials: []ChartTrial{}, Importance: []Importance{}, Method: ImportanceMethod}
	var keep []Trial
	for _, t := range trials {
		if t.Status == "done" && t.Objective != nil && finite(*t.Objective) {
			keep = append(keep, t)
		} else {
			c.Left++
		}
	}
	if len(keep) == 0 {
		return c
	}
	// The params that vary among the plotted runs (a variant counts as one).
	names := map[string]bool{}
	for _, t := range keep {
		for k := range t.Params {
			names[k] = true
		}
	}
	keys := make([]string, 0, len(names)+1)
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	value := func(t Trial, k string) any {
		if k == "\x00variant" {
			return t.Variant
		}
		return t.Params[k]
	}
	variants := map[string]bool{}
	for _, t := range keep {
		variants[t.Variant] = true
	}
	if len(variants) > 1 {
		keys = append([]string{"\x00variant"}, keys...)
	}
	for _, k := range keys {
		seen := map[string]bool{}
		numeric, positive := true, true
		lo, hi := math.Inf(1), math.Inf(-1)
		var xs []float64
		for _, t := range keep {
			v := value(t, k)
			seen[FormatValue(v)] = true
			x, ok := number(v)
			if !ok {
				numeric = false
				continue
			}
			lo, hi = math.Min(lo, x), math.Max(hi, x)
			positive = positive && x > 0
			if !slices.Contains(xs, x) && len(xs) <= 20 {
				xs = append(xs, x)
			}
		}
		if len(seen) < 2 {
			continue
		}
		d := Dim{Name: strings.TrimPrefix(k, "\x00"), Kind: "category"}
		if numeric {
			d.Kind = "value"
			if positive && (logParams[k] || (hi/lo > 100 && geometric(xs))) {
				d.Kind = "log"
			}
		} else {
			for s := range seen {
				d.Categories = append(d.Categories, s)
			}
			slices.SortFunc(d.Categories, compareValues)
		}
		c.Dims = append(c.Dims, d)
		c.dimKeys = append(c.dimKeys, k)
	}
	for _, t := range keep {
		ct := ChartTrial{ID: t.ID, Y: *t.Objective, X: make([]float64, len(c.Dims))}
		for i, d := range c.Dims {
			v := value(t, c.dimKeys[i])
			if d.Kind == "category" {
				ct.X[i] = float64(slices.Index(d.Categories, FormatValue(v)))
			} else {
				ct.X[i], _ = number(v)
			}
		}
		c.Trials = append(c.Trials, ct)
	}
	c.Importance = Importances(c)
	return c
}

// geometric reports whether a few distinct positive values are spaced by a
// steady factor (consecutive ratios within 4× of each other).
func geometric(xs []float64) bool {
	if len(xs) < 3 || len(xs) > 20 {
		return false
	}
	s := slices.Sorted(slices.Values(xs))
	lo, hi := math.Inf(1), 0.0
	for i := 1; i < len(s); i++ {
		r := s[i] / s[i-1]
		lo, hi = math.Min(lo, r), math.Max(hi, r)
	}
	return hi/lo <= 4
}

// compareValues orders category labels numerically when both are numbers.
func compareValues(a, b string) int {
	var x, y float64
	if _, err := fmt.Sscan(a, &x); err == nil {
		if _, err := fmt.Sscan(b, &y); err == nil && x != y {
			return cmp.Compare(x, y)
		}
	}
	return strings.Compare(a, b)
}

// number reads a param value as a number (bools are not numbers here).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, finite(x)
	case float32:
		return float64(x), finite(float64(x))
	}
	return 0, false
}

// Importances computes each dimension's importance for the objective (see
// ImportanceMethod). For an additive objective over a full grid of
// independent params this is exactly fANOVA's first-order variance share.
func Importances(c SweepCharts) []Importance {
	out := []Importance{}
	n := len(c.Trials)
	if n < 3 {
		return out
	}
	var mean float64
	for _, t := range c.Trials {
		mean += t.Y
	}
	mean /= float64(n)
	var total float64
	for _, t := range c.Trials {
		total += (t.Y - mean) * (t.Y - mean)
	}
	if total == 0 {
		return out
	}
	var sum float64
	for i, d := range c.Dims {
		bins := binOf(c.Trials, i, d.Kind)
		s, cnt := map[int]float64{}, map[int]int{}
		for j, t := range c.Trials {
			s[bins[j]] += t.Y
			cnt[bins[j]]++
		}
		var between float64
		for b, k := range cnt {
			m := s[b] / float64(k)
			between += float64(k) * (m - mean) * (m - mean)
		}
		out = append(out, Importance{Param: d.Name, Share: between / total})
		sum += between / total
	}
	if sum > 0 {
		for i := range out {
			out[i].Share /= sum
		}
	}
	slices.SortStableFunc(out, func(a, b Importance) int { return cmp.Compare(b.Share, a.Share) })
	return out
}

// binOf returns each trial's bin of dimension i: categories and numbers
// with at most maxBins distinct values as they are, other numbers cut into
// maxBins bins of equal counts (by rank; log or not makes no difference).
func binOf(ts []ChartTrial, i int, kind string) []int {
	bins := make([]int, len(ts))
	distinct := map[float64]int{}
	for _, t := range ts {
		if _, ok := distinct[t.X[i]]; !ok {
			distinct[t.X[i]] = len(distinct)
		}
	}
	if kind == "category" || len(distinct) <= maxBins {
		for j, t := range ts {
			bins[j] = distinct[t.X[i]]
		}
		return bins
	}
	order := make([]int, len(ts))
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(ts[a].X[i], ts[b].X[i]) })
	for r, j := range order {
		bins[j] = r * maxBins / len(ts)
	}
	// Equal values share a bin: the bin of their first rank.
	for r := 1; r < len(order); r++ {
		if ts[order[r]].X[i] == ts[order[r-1]].X[i] {
			bins[order[r]] = bins[order[r-1]]
		}
	}
	return bins
}
