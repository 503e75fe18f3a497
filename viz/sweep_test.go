package viz_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aexp/aexp/viz"
)

// TestImportanceKnownFunction checks the importance method on a function
// whose variance decomposition is known: y = 4·a + 2·b + 0·c + (a, b
// interaction-free) over a full grid of independent params. a contributes
// 16 parts of the variance, b 4 and c none, so the shares are 0.8, 0.2 and
// 0 — exactly fANOVA's first-order indices, which sum to 1 here.
func TestImportanceKnownFunction(t *testing.T) {
	levels := []float64{-1, -0.5, 0, 0.5, 1}
	var trials []viz.Trial
	id := int64(0)
	for _, a := range levels {
		for _, b := range levels {
			for _, c := range []string{"x", "y", "z"} {
				y := 4*a + 2*b
				id++
				trials = append(trials, viz.Trial{ID: id, Status: "done", Variant: "v",
					Params: map[string]any{"a": a, "b": b, "c": c, "const": int64(7)}, Objective: &y})
			}
		}
	}
	sc := viz.Charts(trials, viz.Objective{Metric: "loss"}, nil)
	want := map[string]float64{"a": 0.8, "b": 0.2, "c": 0}
	if len(sc.Importance) != 3 {
		t.Fatalf("importance %+v, want a, b and c (const does not vary)", sc.Importance)
	}
	for _, im := range sc.Importance {
		if math.Abs(im.Share-want[im.Param]) > 1e-9 {
			t.Errorf("%s: share %.4f, want %.4f", im.Param, im.Share, want[im.Param])
		}
	}
	if sc.Importance[0].Param != "a" || sc.Importance[1].Param != "b" {
		t.Errorf("order %+v, want the most important first", sc.Importance)
	}
}

// TestImportanceRandomSearch: with continuous params from a random search
// (binned into quantiles) and noise, the ranking and rough shares still
// come out: y = 3·a + b + noise, a and b uniform on [0, 1], c irrelevant.
// Binning into 10 bins keeps (1 - 1/100) of a linear effect's variance, and
// the noise adds a little to every share.
func TestImportanceRandomSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var trials []viz.Trial
	for i := range 2000 {
		a, b, c := rng.Float64(), math.Pow(10, -3+2*rng.Float64()), rng.Float64()
		y := 3*a + math.Log10(b)/2*1 + 0.05*rng.NormFloat64()
		trials = append(trials, viz.Trial{ID: int64(i + 1), Status: "done", Params: map[string]any{"a": a, "lr": b, "c": c}, Objective: &y})
	}
	sc := viz.Charts(trials, viz.Objective{Metric: "loss"}, map[string]bool{"lr": true})
	got := map[string]float64{}
	for _, im := range sc.Importance {
		got[im.Param] = im.Share
	}
	// Var(3a) = 9/12 = 0.75; Var(log10(b)/2) = (2/2)²/12 ≈ 0.083: shares 0.9 and 0.1.
	if math.Abs(got["a"]-0.9) > 0.03 || math.Abs(got["lr"]-0.1) > 0.03 || got["c"] > 0.02 {
		t.Errorf("shares %v, want about a 0.9, lr 0.1, c 0", got)
	}
	for _, d := range sc.Dims {
		if (d.Name == "lr") != (d.Kind == "log") {
			t.Errorf("dim %s has kind %s", d.Name, d.Kind)
		}
	}
}

// TestChartsSkipUnfinished: only done runs with an objective are plotted.
func TestChartsSkipUnfinished(t *testing.T) {
	v := 1.0
	sc := viz.Charts([]viz.Trial{
		{ID: 1, Status: "done", Params: map[string]any{"x": 1.0}, Objective: &v},
		{ID: 2, Status: "pruned", Params: map[string]any{"x": 2.0}, Objective: &v},
		{ID: 3, Status: "done", Params: map[string]any{"x": 3.0}},
	}, viz.Objective{}, nil)
	if len(sc.Trials) != 1 || sc.Left != 2 {
		t.Errorf("%d trials plotted, %d left out; want 1 and 2", len(sc.Trials), sc.Left)
	}
}

func TestLogParams(t *testing.T) {
	spec := `name = "s"
variant = "vae"
[params]
lr = { distribution = "log_uniform", min = 1e-4, max = 1e-2 }
beta = { distribution = "uniform", min = 0.1, max = 2 }
latent = [2, 8]
[[variants]]
name = "dense"
params = { wd = { distribution = "q_log_uniform", min = 1e-6, max = 1e-3, q = 1e-6 } }
`
	got := viz.LogParams(spec)
	if !got["lr"] || !got["wd"] || got["beta"] || got["latent"] || len(got) != 2 {
		t.Errorf("LogParams = %v, want lr and wd", got)
	}
	if viz.LogParams("not = [toml") != nil {
		t.Error("a broken spec should give no log params")
	}
}

// TestAssetsInline: the scripts a report inlines hold no "</script" (which
// would end the inline element early), and the vendored ECharts is the
// pinned version with its license beside it.
func TestAssetsInline(t *testing.T) {
	for _, name := range []string{"echarts.min.js", "aexp.js", "sweep.js"} {
		b, err := viz.Assets.ReadFile("assets/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(string(b)), "</script") {
			t.Errorf("%s holds </script: it cannot be inlined", name)
		}
	}
	b, _ := viz.Assets.ReadFile("assets/echarts.min.js")
	if !strings.Contains(string(b), `"5.6.0"`) {
		t.Error("echarts.min.js is not version 5.6.0 (the README and the Makefile pin it)")
	}
	if l, err := viz.Assets.ReadFile("assets/echarts.LICENSE"); err != nil || !strings.Contains(string(l), "Apache License") {
		t.Errorf("the ECharts license is missing: %v", err)
	}
}
