package viz

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// CurveSet is one metric's learning curves: runs that differ only by seed
// are folded into one line (the mean, with a band of ± one standard
// deviation), labelled by the params that differ between the lines.
type CurveSet struct {
	Metric string `json:"metric"`
	Lines  []Line `json:"lines"` // in the comparison's order: best first
}

// Line is one configuration's curve.
type Line struct {
	Label  string  `json:"label"`
	Runs   []int64 `json:"runs"`
	Status string  `json:"status"` // "done", or e.g. "pruned×2 done"
	// Points are [epoch, mean, mean-std, mean+std, n] for every epoch at
	// least one run reached with a finite value.
	Points [][5]float64 `json:"points"`
	// Pruned lists the epochs at which runs of this line were stopped early.
	Pruned []int `json:"pruned"`
}

// Label is a group's legend text: the params that differ between the
// comparison's groups as k=v (the variant first when variants differ), or
// the variant alone when nothing differs.
func (c Comparison) Label(g Group) string {
	var parts []string
	variants := map[string]bool{}
	for _, h := range c.Groups {
		variants[h.Variant] = true
	}
	if len(variants) > 1 || len(c.Groups) == 1 {
		parts = append(parts, g.Variant)
	}
	if len(c.Groups) > 1 {
		for _, p := range c.Differ {
			if v, ok := g.Params[p]; ok {
				parts = append(parts, p+"="+FormatValue(v))
			}
		}
	}
	if len(parts) == 0 {
		ids := make([]string, len(g.Runs))
		for i, r := range g.Runs {
			ids[i] = strconv.FormatInt(r.ID, 10)
		}
		return "runs " + strings.Join(ids, ",")
	}
	return strings.Join(parts, " ")
}

// RunLabels labels each run by its group (Label), adding "seed N" when its
// group holds several seeds: the legend of per-run pictures.
func (c Comparison) RunLabels() map[int64]string {
	out := map[int64]string{}
	for _, g := range c.Groups {
		l := c.Label(g)
		for _, r := range g.Runs {
			if len(g.Runs) > 1 {
				out[r.ID] = l + " seed " + strconv.FormatUint(r.Seed, 10)
			} else {
				out[r.ID] = l
			}
		}
	}
	return out
}

// Curves folds the runs' histories of metric into one line per group of c
// (c must be Compare of these runs, or of a superset).
func Curves(runs []Run, c Comparison, metric string) CurveSet {
	byID := make(map[int64]*Run, len(runs))
	for i := range runs {
		byID[runs[i].ID] = &runs[i]
	}
	cs := CurveSet{Metric: metric, Lines: []Line{}}
	for _, g := range c.Groups {
		l := Line{Label: c.Label(g), Points: [][5]float64{}, Pruned: []int{}, Status: statuses(g.Runs)}
		byEpoch := map[int][]float64{}
		for _, rr := range g.Runs {
			r := byID[rr.ID]
			if r == nil {
				continue
			}
			l.Runs = append(l.Runs, r.ID)
			last := 0
			for _, p := range r.History[metric] {
				last = max(last, p.Epoch)
				if finite(p.Value) {
					byEpoch[p.Epoch] = append(byEpoch[p.Epoch], p.Value)
				}
			}
			if r.Status == "pruned" && last > 0 {
				l.Pruned = append(l.Pruned, last)
			}
		}
		if len(l.Runs) == 0 {
			continue
		}
		epochs := make([]int, 0, len(byEpoch))
		for e := range byEpoch {
			epochs = append(epochs, e)
		}
		slices.Sort(epochs)
		for _, e := range epochs {
			s := statOf(byEpoch[e])
			if !finite(s.Std) { // values near the float64 limit: no band
				s.Std = 0
			}
			l.Points = append(l.Points, [5]float64{float64(e), s.Mean, s.Mean - s.Std, s.Mean + s.Std, float64(s.N)})
		}
		slices.Sort(l.Pruned)
		cs.Lines = append(cs.Lines, l)
	}
	return cs
}

// MaxEpoch is the last epoch of any line (0 for none).
func (cs CurveSet) MaxEpoch() int {
	m := 0.0
	for _, l := range cs.Lines {
		for _, p := range l.Points {
			m = math.Max(m, p[0])
		}
	}
	return int(m)
}
