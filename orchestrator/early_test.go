package orchestrator

import (
	"math"
	"testing"
)

func TestAshaRungs(t *testing.T) {
	for _, c := range []struct {
		grace, red, epochs int
		want               []int
	}{
		{1, 3, 10, []int{1, 3, 9}},
		{1, 2, 4, []int{1, 2}},
		{2, 2, 20, []int{2, 4, 8, 16}},
		{5, 3, 5, nil},
	} {
		got := ashaRungs(EarlyStop{GraceEpochs: c.grace, Reduction: c.red}, c.epochs)
		if len(got) != len(c.want) {
			t.Errorf("grace %d, η %d, %d epochs: %v, want %v", c.grace, c.red, c.epochs, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("grace %d, η %d, %d epochs: %v, want %v", c.grace, c.red, c.epochs, got, c.want)
			}
		}
	}
}

func TestMedianRule(t *testing.T) {
	obj := Objective{Metric: "val_loss", Goal: "minimize"}
	p := newPruner(EarlyStop{Method: "median", GraceEpochs: 2, MinRuns: 2}, obj, 10)
	p.seed(1, []float64{1.0, 0.5, 0.3})
	p.seed(2, []float64{1.0, 0.6, 0.4})
	if p.report(3, 1, 5.0, false) {
		t.Error("pruned before the grace epoch")
	}
	if !p.report(3, 2, 0.9, false) {
		t.Error("a run behind the median at epoch 2 (0.9 vs 0.55) was not pruned")
	}
	if p.report(4, 2, 0.5, false) {
		t.Error("a run ahead of the median was pruned")
	}
	// maximize flips the comparison
	pm := newPruner(EarlyStop{Method: "median", GraceEpochs: 1, MinRuns: 1}, Objective{Goal: "maximize"}, 10)
	pm.seed(1, []float64{0.9})
	if !pm.report(2, 1, 0.1, false) || pm.report(3, 1, 0.95, false) {
		t.Error("maximize: wrong decisions")
	}
	// NaN never prunes (divergence is the plugin's to report)
	if p.report(5, 2, math.NaN(), false) {
		t.Error("NaN pruned")
	}
	var nilp *pruner
	if nilp.report(1, 1, 1, false) {
		t.Error("nil pruner pruned")
	}
}

func TestASHA(t *testing.T) {
	p := newPruner(EarlyStop{Method: "asha", GraceEpochs: 1, Reduction: 2}, Objective{Goal: "minimize"}, 4)
	if p.report(1, 1, 0.5, false) {
		t.Error("the first run at a rung must continue")
	}
	if !p.report(2, 1, 0.9, false) {
		t.Error("a run in the worse half at a rung must stop")
	}
	if p.report(3, 1, 0.4, false) {
		t.Error("a run in the better half must continue")
	}
	if p.report(3, 3, 10, false) {
		t.Error("epoch 3 is no rung (rungs 1, 2)")
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{4, 1, 3, 2}
	for q, want := range map[float64]float64{0: 1, 1: 4, 0.5: 2.5, 1.0 / 3: 2} {
		if got := percentile(xs, q); math.Abs(got-want) > 1e-12 {
			t.Errorf("percentile(%v) = %g, want %g", q, got, want)
		}
	}
}
