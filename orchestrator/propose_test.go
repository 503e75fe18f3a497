package orchestrator

import (
	"testing"

	"github.com/aexp/aexp/search"
	"github.com/aexp/aexp/store"
)

// The history the model sees: configurations grouped over their seeds,
// in the order recorded, with the states and values of the rules in
// propose.go.
func TestProposerHistory(t *testing.T) {
	sp, err := Parse("h.toml", []byte(`name = "h"
variant = "testfn"
[objective]
goal = "maximize"
[search]
method = "tpe"
samples = 20
[budget]
seeds = [0, 1]
[params]
x1 = { distribution = "uniform", min = 0.0, max = 1.0 }
act = ["a", "b"]
`))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Expand(sp)
	if err != nil {
		t.Fatal(err)
	}
	p := &proposer{e: &Engine{c: &Checked{Plan: pl}}, m: pl.tpe}
	f := func(v float64) *float64 { return &v }
	run := func(id int64, x float64, act, status string, best, final *float64, epochs int) store.RunSummary {
		return store.RunSummary{RunID: id, Variant: "testfn", Status: status, Params: map[string]any{"x1": x, "act": act, "sleep_ms": int64(0)},
			BestObjective: best, FinalObjective: final, Epochs: epochs}
	}
	recs := []store.RunSummary{
		run(1, 0.5, "b", store.StatusDone, f(2), f(2), 5),
		run(2, 0.5, "b", store.StatusDone, f(4), f(4), 5), // seed 1 of the same configuration
		run(3, 0.25, "a", store.StatusPruned, f(9), f(1), 2),
		run(4, 0.25, "a", store.StatusPruned, f(9), f(3), 1), // pruned earlier: the furthest epoch counts
		run(5, 0.75, "a", store.StatusRunning, nil, nil, 0),
		run(6, 0.75, "a", store.StatusDone, f(1), f(1), 5), // one seed done: complete
		run(7, 0.125, "b", store.StatusQueued, nil, nil, 0),
		run(8, 0.9, "a", store.StatusFailed, nil, nil, 0),
		run(9, 0.3, "c", store.StatusDone, f(1), f(1), 5), // not a point of the space: left out
	}
	h := p.history(recs)
	want := []search.Trial{
		{Config: search.Config{Values: []float64{0.5, 1}}, State: search.Complete, Value: -3}, // maximize: negated mean
		{Config: search.Config{Values: []float64{0.25, 0}}, State: search.Pruned, Value: -1, Step: 2},
		{Config: search.Config{Values: []float64{0.75, 0}}, State: search.Complete, Value: -1},
		{Config: search.Config{Values: []float64{0.125, 1}}, State: search.Running},
		{Config: search.Config{Values: []float64{0.9, 0}}, State: search.Failed},
	}
	if len(h) != len(want) {
		t.Fatalf("history has %d trials, want %d: %+v", len(h), len(want), h)
	}
	for i, w := range want {
		g := h[i]
		if g.State != w.State || g.Value != w.Value || g.Step != w.Step || g.Values[0] != w.Values[0] || g.Values[1] != w.Values[1] {
			t.Errorf("trial %d = %+v, want %+v", i, g, w)
		}
	}
}
