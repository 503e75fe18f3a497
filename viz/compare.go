package viz

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Run is everything viz shows of one run: plain data, loaded by the caller
// (cmd/aexp reads it from the store).
type Run struct {
	ID      int64
	SweepID int64
	Variant string
	Dataset string
	Status  string
	Seed    uint64
	Params  map[string]any
	// Final holds the run's final metrics (test_mse, pca_mse, ... and the
	// last epoch's values of the per-epoch metrics).
	Final map[string]float64
	// History holds per-epoch metrics (train_loss, val_loss, ...).
	History map[string][]Point
	// Meta holds facts from the final report: "params" (parameter count), "blas".
	Meta      map[string]string
	Tags      map[string]string // aexp tag
	Artifacts []Artifact
}

// Artifact is a stored artifact with its bytes (safetensors).
type Artifact struct {
	Kind  string // variant.KindReconstruction, KindSample, KindLatent, ...
	Name  string
	Epoch int
	Meta  map[string]string
	Data  []byte
}

// Objective is the metric runs are ranked by.
type Objective struct {
	Metric string `json:"metric"`
	Goal   string `json:"goal"` // "minimize" or "maximize"
}

func (o Objective) better(a, b float64) bool {
	if o.Goal == "maximize" {
		return a > b
	}
	return a < b
}

// Stat summarises one value over the runs of a group: mean and sample
// standard deviation of the finite values; N counts them.
type Stat struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	N    int     `json:"n"`
}

func statOf(xs []float64) *Stat {
	var s Stat
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s.N++
			s.Mean += x
		}
	}
	if s.N == 0 {
		return nil
	}
	s.Mean /= float64(s.N)
	if s.N > 1 {
		for _, x := range xs {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				s.Std += float64((x - s.Mean) * (x - s.Mean)) // explicit: no fused multiply-add, same bits on every arch
			}
		}
		s.Std = math.Sqrt(s.Std / float64(s.N-1))
	}
	return &s
}

// RunRow is one run's line of a comparison. Missing or non-finite values are
// left out of Metrics and nil in the pointers.
type RunRow struct {
	ID         int64              `json:"id"`
	Seed       uint64             `json:"seed"`
	Status     string             `json:"status"`
	Final      *float64           `json:"objective_final,omitempty"`
	Best       *float64           `json:"objective_best,omitempty"`
	Metrics    map[string]float64 `json:"metrics"`
	Epochs     int                `json:"epochs"`
	Seconds    *float64           `json:"train_seconds,omitempty"`
	ParamCount *int64             `json:"param_count,omitempty"`
}

// Group is a set of runs that differ only by seed.
type Group struct {
	Variant    string           `json:"variant"`
	Dataset    string           `json:"dataset"`
	Params     map[string]any   `json:"params"` // all of the group's params
	Runs       []RunRow         `json:"runs"`
	Final      *Stat            `json:"objective_final,omitempty"`
	Best       *Stat            `json:"objective_best,omitempty"`
	Metrics    map[string]*Stat `json:"metrics"`
	Epochs     *Stat            `json:"epochs,omitempty"`
	Seconds    *Stat            `json:"train_seconds,omitempty"`
	ParamCount *int64           `json:"param_count,omitempty"`
}

// Comparison is the table `aexp compare` prints.
type Comparison struct {
	Objective Objective `json:"objective"`
	// Differ lists the params whose values differ between groups (all
	// params when there is only one group), sorted.
	Differ []string `json:"params_that_differ"`
	// Metrics lists the other final metrics shown, in display order.
	Metrics []string `json:"metrics"`
	Groups  []Group  `json:"groups"` // best objective first
}

// metricOrder puts the shared metrics first; the rest follow alphabetically.
var metricOrder = []string{"val_loss", "train_loss", "test_mse", "pca_mse"}

// hidden metrics are summarised elsewhere (epoch_seconds becomes the time column).
var hiddenMetric = map[string]bool{"epoch_seconds": true}

// Compare builds the comparison of runs: groups of runs that differ only by
// seed, the params that differ between groups, the objective's final value
// and its best value over epochs, the other final metrics, epochs, training
// time (the sum of epoch_seconds) and parameter count (Meta "params").
// Groups are sorted by the mean final objective; groups without one go last.
func Compare(runs []Run, obj Objective) Comparison {
	if obj.Metric == "" {
		obj.Metric = "val_loss"
	}
	if obj.Goal != "maximize" {
		obj.Goal = "minimize"
	}
	c := Comparison{Objective: obj, Metrics: []string{}, Differ: []string{}}
	idx := map[string]int{}
	metricSet := map[string]bool{}
	for _, r := range runs {
		key := r.Variant + "\x00" + r.Dataset + "\x00" + canonical(r.Params)
		i, ok := idx[key]
		if !ok {
			i = len(c.Groups)
			idx[key] = i
			c.Groups = append(c.Groups, Group{Variant: r.Variant, Dataset: r.Dataset, Params: r.Params})
		}
		c.Groups[i].Runs = append(c.Groups[i].Runs, rowOf(r, obj))
		for m := range r.Final {
			if m != obj.Metric && !hiddenMetric[m] {
				metricSet[m] = true
			}
		}
	}
	for _, m := range metricOrder {
		if metricSet[m] {
			c.Metrics = append(c.Metrics, m)
			delete(metricSet, m)
		}
	}
	rest := make([]string, 0, len(metricSet))
	for m := range metricSet {
		rest = append(rest, m)
	}
	sort.Strings(rest)
	c.Metrics = append(c.Metrics, rest...)

	for gi := range c.Groups {
		g := &c.Groups[gi]
		slices.SortFunc(g.Runs, func(a, b RunRow) int { return cmp.Compare(a.ID, b.ID) })
		var fin, best, ep, sec []float64
		for _, r := range g.Runs {
			if r.Final != nil {
				fin = append(fin, *r.Final)
			}
			if r.Best != nil {
				best = append(best, *r.Best)
			}
			ep = append(ep, float64(r.Epochs))
			if r.Seconds != nil {
				sec = append(sec, *r.Seconds)
			}
			if r.ParamCount != nil && g.ParamCount == nil {
				g.ParamCount = r.ParamCount
			}
		}
		g.Final, g.Best, g.Epochs, g.Seconds = statOf(fin), statOf(best), statOf(ep), statOf(sec)
		g.Metrics = map[string]*Stat{}
		for _, m := range c.Metrics {
			var xs []float64
			for _, r := range g.Runs {
				if v, ok := r.Metrics[m]; ok {
					xs = append(xs, v)
				}
			}
			if s := statOf(xs); s != nil {
				g.Metrics[m] = s
			}
		}
	}
	slices.SortStableFunc(c.Groups, func(a, b Group) int {
		switch {
		case a.Final == nil && b.Final == nil:
		case a.Final == nil:
			return 1
		case b.Final == nil:
			return -1
		case obj.better(a.Final.Mean, b.Final.Mean):
			return -1
		case obj.better(b.Final.Mean, a.Final.Mean):
			return 1
		}
		return cmp.Compare(a.Runs[0].ID, b.Runs[0].ID)
	})
	c.Differ = differingParams(c.Groups)
	return c
}

func rowOf(r Run, obj Objective) RunRow {
	row := RunRow{ID: r.ID, Seed: r.Seed, Status: r.Status, Metrics: map[string]float64{}}
	for m, v := range r.Final {
		if finite(v) && !hiddenMetric[m] && m != obj.Metric {
			row.Metrics[m] = v
		}
	}
	hist := r.History[obj.Metric]
	if v, ok := r.Final[obj.Metric]; ok && finite(v) {
		row.Final = &v
	} else if len(hist) > 0 && finite(hist[len(hist)-1].Value) {
		v := hist[len(hist)-1].Value
		row.Final = &v
	}
	for _, p := range hist {
		if finite(p.Value) && (row.Best == nil || obj.better(p.Value, *row.Best)) {
			v := p.Value
			row.Best = &v
		}
	}
	if row.Best == nil && row.Final != nil {
		v := *row.Final
		row.Best = &v
	}
	for _, s := range r.History {
		for _, p := range s {
			row.Epochs = max(row.Epochs, p.Epoch)
		}
	}
	if es := r.History["epoch_seconds"]; len(es) > 0 {
		var t float64
		for _, p := range es {
			t += p.Value
		}
		row.Seconds = &t
	}
	if s, ok := r.Meta["params"]; ok {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			row.ParamCount = &n
		}
	}
	return row
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// differingParams lists the params whose values are not the same in every
// group; with a single group, all of its params.
func differingParams(gs []Group) []string {
	names := map[string]bool{}
	for _, g := range gs {
		for k := range g.Params {
			names[k] = true
		}
	}
	var out []string
	for k := range names {
		if len(gs) == 1 {
			out = append(out, k)
			continue
		}
		first, ok0 := gs[0].Params[k]
		for _, g := range gs[1:] {
			v, ok := g.Params[k]
			if ok != ok0 || FormatValue(v) != FormatValue(first) {
				out = append(out, k)
				break
			}
		}
	}
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// canonical is a deterministic text of params (encoding/json sorts map keys).
func canonical(p map[string]any) string {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Sprint(p)
	}
	return string(b)
}

// FormatValue prints a param value compactly: 0.001, 128, [512 256], relu.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = FormatValue(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case []int64:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = strconv.FormatInt(e, 10)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case []float64:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = strconv.FormatFloat(e, 'g', -1, 64)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case []int:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = strconv.Itoa(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v)
}
