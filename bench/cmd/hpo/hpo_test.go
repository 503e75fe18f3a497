package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/search"
	"github.com/aexp/aexp/search/testfn"
)

// Every problem written as a spec parses and plans the space the
// in-process driver searches: same startup configurations.
func TestSpecFor(t *testing.T) {
	for _, name := range testfn.Names {
		p := testfn.Problems[name]
		sp, err := orchestrator.Parse("x.toml", []byte(specFor(p, 3, 20, "tpe")))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, specFor(p, 3, 20, "tpe"))
		}
		if _, err := orchestrator.Expand(sp); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := orchestrator.Parse("m.toml", []byte(mnistTPESpec("m", 1, 20))); err != nil {
		t.Fatal(err)
	}
}

// The Optuna driver answers asks in the space and takes tells.
func TestOptunaDriver(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import optuna").Run(); err != nil {
		t.Skip("Debian's python3-optuna is not installed")
	}
	o, err := startOptuna(filepath.Join("..", "..", "hpo_optuna.py"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	p := testfn.Problems["cond"]
	seen := map[int]bool{}
	vals, err := o.study(p.Space, "tpe", 1, 14, func(c search.Config) float64 {
		seen[c.Branch] = true
		for j, q := range p.Space.Branches[c.Branch].Params {
			if v := c.Values[j]; v < q.Low && q.N == 0 || v > q.High && q.N == 0 || q.N > 0 && int(v) >= q.N {
				t.Errorf("%s = %v outside its range", q.Name, v)
			}
		}
		return p.Eval(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 14 || len(seen) != 2 {
		t.Errorf("%d values, branches %v", len(vals), seen)
	}
}

// The bootstrap interval of a ratio: exactly 0.5 when one method's regret
// is half the other's in every seed; wide when they only differ by seed.
func TestInterval(t *testing.T) {
	var a, c [][]float64
	for k := range 20 {
		x := float64(k%7 + 1)
		a, c = append(a, []float64{1 + x/2, 9}), append(c, []float64{1 + x, 9})
	}
	if lo, hi := interval(a, c, 2, 1); lo != 0.5 || hi != 0.5 {
		t.Errorf("interval %v-%v, want 0.5-0.5", lo, hi)
	}
	if lo, hi := interval(c[:10], c[10:], 2, 1); !(lo < 1 && hi > 1) {
		t.Errorf("interval %v-%v of two halves of one sample should contain 1", lo, hi)
	}
}

// The trace file: per method, per seed, every trial's values and val_loss
// as JSON keys "values" and "val_loss", which scripts reading it rely on.
func TestWriteTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace.json")
	writeTrace(path, map[string][][]traceTrial{
		"aexp_tpe":   {{{[]float64{0.01, 2}, 0.5}, {[]float64{0.02, 1}, 0.25}}},
		"optuna_tpe": {{{[]float64{0.03, 0}, 0.75}}},
	})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string][][]struct {
		Values []float64 `json:"values"`
		Loss   float64   `json:"val_loss"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if s := got["aexp_tpe"][0]; len(s) != 2 || s[1].Loss != 0.25 || s[1].Values[0] != 0.02 || s[1].Values[1] != 1 {
		t.Errorf("aexp_tpe seed 0: %+v", s)
	}
	if s := got["optuna_tpe"][0]; len(s) != 1 || s[0].Loss != 0.75 || s[0].Values[0] != 0.03 {
		t.Errorf("optuna_tpe seed 0: %+v", s)
	}
}
