package orchestrator

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// specFiles are the example specs (sweeps/*.toml) and the test specs.
func specFiles(t testing.TB) []string {
	var files []string
	for _, pat := range []string{"../sweeps/*.toml", "testdata/specs/*.toml"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no spec files")
	}
	return files
}

func mustPlan(t testing.TB, file string) *Plan {
	t.Helper()
	sp, err := ParseFile(file)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	pl, err := Expand(sp)
	if err != nil {
		t.Fatalf("expand %s: %v", file, err)
	}
	return pl
}

// TestExpandGolden checks the expansion of every example spec against a
// golden file: go test ./orchestrator -run Golden -update rewrites them.
func TestExpandGolden(t *testing.T) {
	for _, file := range specFiles(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".toml")
		if strings.HasPrefix(file, "..") {
			name = "sweeps-" + name
		}
		t.Run(name, func(t *testing.T) {
			pl := mustPlan(t, file)
			var buf bytes.Buffer
			if err := pl.Write(&buf); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", name+".plan")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./orchestrator -run Golden -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("plan of %s differs from %s (rerun with -update if intended):\n--- got\n%s\n--- want\n%s", file, golden, buf.Bytes(), want)
			}
		})
	}
}

// Properties of expansion that hold for every spec.
func TestExpandProperties(t *testing.T) {
	for _, file := range specFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			a := mustPlan(t, file)
			b := mustPlan(t, file)
			// same spec, same seed: same runs in the same order
			if len(a.Runs) != len(b.Runs) {
				t.Fatalf("two expansions differ in length: %d vs %d", len(a.Runs), len(b.Runs))
			}
			keys := map[string]bool{}
			for i := range a.Runs {
				if a.Runs[i].Key != b.Runs[i].Key {
					t.Fatalf("run %d: key %s then %s", i, a.Runs[i].Key, b.Runs[i].Key)
				}
				if keys[a.Runs[i].Key] {
					t.Fatalf("duplicate run key %s", a.Runs[i].Key)
				}
				keys[a.Runs[i].Key] = true
				if a.Runs[i].Key != RunKey(a.Runs[i]) {
					t.Fatalf("run %d: stored key is not RunKey", i)
				}
			}
			sp := a.Spec
			if sp.Search.RunCap > 0 && len(a.Runs) > sp.Search.RunCap {
				t.Fatalf("%d runs exceed run_cap %d", len(a.Runs), sp.Search.RunCap)
			}
			// a grid without include/exclude/cap has the product of its axes
			if sp.Search.Method == "grid" && sp.Search.RunCap == 0 {
				want := 0
				plain := true
				for _, blk := range sp.Blocks {
					if len(blk.Include)+len(blk.Exclude) > 0 {
						plain = false
					}
					n := 1
					for _, ax := range blockAxes(sp, blk) {
						n *= ax.size()
					}
					want += n
				}
				if plain && len(a.Runs) != want*len(sp.Budget.Seeds) {
					t.Fatalf("grid has %d runs, want product of axes %d × %d seeds", len(a.Runs), want, len(sp.Budget.Seeds))
				}
			}
		})
	}
}

func TestGridSizeIsProductOfAxes(t *testing.T) {
	for _, axes := range [][]int{{1}, {2}, {3, 2}, {2, 2, 2}, {5, 1, 3}, {4, 3, 2, 1}} {
		var b strings.Builder
		b.WriteString("name = \"p\"\nvariant = \"dense\"\n[budget]\nseeds = [0, 1, 2]\n[params]\n")
		want := 3
		for i, n := range axes {
			vals := make([]string, n)
			for k := range vals {
				vals[k] = fmt.Sprint(k)
			}
			fmt.Fprintf(&b, "p%d = [%s]\n", i, strings.Join(vals, ", "))
			want *= n
		}
		sp, err := Parse("p.toml", []byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		pl, err := Expand(sp)
		if err != nil {
			t.Fatal(err)
		}
		if len(pl.Runs) != want {
			t.Errorf("axes %v × 3 seeds: %d runs, want %d", axes, len(pl.Runs), want)
		}
	}
}

func TestRandomSearch(t *testing.T) {
	spec := func(seed, samples int) string {
		return fmt.Sprintf(`name = "r"
variant = "dense"
[search]
method = "random"
seed = %d
samples = %d
[params]
code = [8, 16, 32]
act = ["relu", "tanh"]
lr = { distribution = "log_uniform", min = 1e-4, max = 1e-2 }
`, seed, samples)
	}
	plan := func(s string) *Plan {
		sp, err := Parse("r.toml", []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		pl, err := Expand(sp)
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	a, b, c := plan(spec(1, 10)), plan(spec(1, 20)), plan(spec(2, 10))
	for i, r := range a.Runs {
		if b.Runs[i].Key != r.Key {
			t.Fatalf("more samples must extend the list: run %d differs", i)
		}
		lr := r.Params["lr"].(float64)
		if lr < 1e-4 || lr > 1e-2 {
			t.Fatalf("lr %g out of bounds", lr)
		}
	}
	if a.Runs[0].Key == c.Runs[0].Key && a.Runs[1].Key == c.Runs[1].Key {
		t.Fatal("a different sweep seed should sample differently")
	}

	// a finite space is sampled without replacement, and exhausted
	finite := `name = "f"
variant = "dense"
[search]
method = "random"
samples = 100
[params]
code = [8, 16, 32]
act = ["relu", "tanh"]
`
	pl := plan(finite)
	if len(pl.Runs) != 6 {
		t.Fatalf("finite space of 6: got %d runs", len(pl.Runs))
	}
	seen := map[string]bool{}
	for _, r := range pl.Runs {
		k := canonical(r.Params)
		if seen[k] {
			t.Fatalf("duplicate configuration %s", k)
		}
		seen[k] = true
	}
}

func TestCoupled(t *testing.T) {
	pl := mustPlan(t, "testdata/specs/coupled.toml")
	// 3 codes × 2 activations × 2 zipped layouts - 2 excluded + 2 included (one per activation)
	if got, want := len(pl.Runs), 3*2*2-2+2; got != want {
		t.Fatalf("%d runs, want %d", got, want)
	}
	for _, r := range pl.Runs {
		h := formatValue(r.Params["hidden"])
		lr := r.Params["lr"].(float64)
		if h == "[128]" && lr != 3e-3 || h == "[512,256]" && lr != 1e-3 || h == "[1024,512]" && lr != 3e-4 {
			t.Fatalf("zip broken: hidden %s with lr %g", h, lr)
		}
		if r.Params["code"] == int64(32) && r.Params["activation"] == "tanh" {
			t.Fatal("excluded point present")
		}
	}
}

func TestSpecHashIgnoresBudget(t *testing.T) {
	base := "name = \"h\"\nvariant = \"dense\"\n[search]\nrun_cap = 5\n[budget]\nparallel = 2\ntimeout = \"1m\"\nattempts = 1\n[params]\nlr = [1e-3, 1e-2]\n"
	h := func(s string) string {
		sp, err := Parse("h.toml", []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return sp.Hash()
	}
	h0 := h(base)
	same := strings.NewReplacer("run_cap = 5", "run_cap = 9", "parallel = 2", "parallel = 1\nthreads = 2", `"1m"`, `"2h"`, "attempts = 1", "attempts = 3").Replace(base)
	if h(same) != h0 {
		t.Error("budget fields must not change the spec hash")
	}
	if h("# a comment\n"+strings.ReplaceAll(base, "1e-3", "0.001")) != h0 {
		t.Error("formatting must not change the spec hash")
	}
	if h(strings.ReplaceAll(base, "1e-2", "3e-3")) == h0 {
		t.Error("a param change must change the spec hash")
	}
}

func TestPositions(t *testing.T) {
	text := `# comment
name = "x" # trailing
[params]
lr = 1e-3
hidden = [
  [512, 256],  # first
  [128],
]
s = """multi
line = 3
"""
d = { distribution = "uniform",
      min = 0.1, max = 1 }
"quoted.key" = 1
a.b = 2
[[variants]]
name = "dense"
[variants.params]
code = 3
[[variants]]
name = "vae"
params = { latent = [2, 3] }
[[variants.zip]]
x = [1]
`
	p := scanPositions(text)
	for path, want := range map[string]int{
		"name": 2, "params": 3, "params.lr": 4, "params.hidden": 5, "params.hidden[0]": 6,
		"params.hidden[1]": 7, "params.s": 9, "params.d": 12, "params.d.min": 13,
		"params.quoted.key": 14, "params.a.b": 15, "variants[0]": 16, "variants[0].name": 17,
		"variants[0].params.code": 19, "variants[1].name": 21, "variants[1].params.latent": 22,
		"variants[1].params.latent[1]": 22, "variants[1].zip[0].x": 24,
	} {
		if got := p.line(path); got != want {
			t.Errorf("line(%q) = %d, want %d", path, got, want)
		}
	}
	if _, ok := p.lines["params.line"]; ok {
		t.Error("a key inside a multi-line string was recorded")
	}
}

// FuzzParseExpand: arbitrary text never panics the parser or the expander,
// and an expanded plan has unique keys.
func FuzzParseExpand(f *testing.F) {
	for _, file := range specFiles(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, c := range badSpecs {
		f.Add([]byte(c.text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sp, err := Parse("fuzz.toml", data)
		if err != nil {
			if !IsSpecError(err) {
				t.Fatalf("non-spec error: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz.toml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		// keep the fuzzer fast: skip huge grids
		if sp.Search.RunCap == 0 || sp.Search.RunCap > 2000 {
			sp.Search.RunCap = 2000
		}
		if sp.Search.Samples > 2000 {
			sp.Search.Samples = 2000
		}
		pl, err := Expand(sp)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range pl.Runs {
			if seen[r.Key] {
				t.Fatalf("duplicate key %s", r.Key)
			}
			seen[r.Key] = true
		}
		var buf bytes.Buffer
		pl.Write(&buf)
		sp.Hash()
	})
}
