package orchestrator_test

// Model-based search through the real engine: the testfn plugin (real
// plugin processes evaluating test functions), a real SQLite file.

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/store"
)

func testfnPlugins(t testing.TB) map[string]string {
	dir := buildtest.Binaries(t, map[string]string{"plugins/testfn": "aexp-variant-testfn"})
	return map[string]string{"testfn": filepath.Join(dir, "aexp-variant-testfn")}
}

// cancelAfter is a Progress that cancels the sweep once n runs ended.
type cancelAfter struct {
	orchestrator.Progress
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) RunEnd(id int64, status, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; c.n == 0 {
		c.cancel()
	}
}

// sweepTPE runs spec against the store at dbPath; stopAfter > 0 interrupts
// it once that many runs ended.
func sweepTPE(t *testing.T, dbPath, spec string, parallel, stopAfter int) *orchestrator.Result {
	t.Helper()
	sp, err := orchestrator.Parse("tpe.toml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := orchestrator.Expand(sp)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := orchestrator.Check(ctx, pl, testfnPlugins(t))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opts := orchestrator.Options{Parallel: parallel, Threads: 1, Log: io.Discard}
	if stopAfter > 0 {
		opts.Progress = &cancelAfter{Progress: orchestrator.NewLogProgress(io.Discard, false), n: stopAfter, cancel: cancel}
	}
	res, err := orchestrator.NewEngine(c, db, opts).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

type tpeRun struct {
	key, source, status string
	params              map[string]any
	objective           float64
}

// runsOf lists the sweep's runs in the order they were recorded.
func runsOf(t *testing.T, dbPath string) []tpeRun {
	t.Helper()
	db, err := store.OpenReadOnly(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	sums, err := db.ListRuns(ctx, store.RunFilter{Sweep: "tpe"})
	if err != nil {
		t.Fatal(err)
	}
	var out []tpeRun
	for _, s := range sums {
		r, err := db.GetRun(ctx, s.RunID)
		if err != nil {
			t.Fatal(err)
		}
		rec := tpeRun{key: s.RunKey, source: r.Source, status: s.Status, params: s.Params}
		if s.BestObjective != nil {
			rec.objective = *s.BestObjective
		}
		out = append(out, rec)
	}
	return out
}

const braninTPE = `name = "tpe"
variant = "testfn"
dataset = "sines"
[objective]
metric = "val_loss"
[search]
method = "tpe"
seed = 3
samples = %d
startup = 5
[budget]
epochs = 1
[params]
problem = "branin"
x1 = { distribution = "uniform", min = -5.0, max = 10.0 }
x2 = { distribution = "uniform", min = 0.0, max = 15.0 }
`

func TestTPESweep(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "aexp.db")
	res := sweepTPE(t, dbPath, fmt.Sprintf(braninTPE, 16), 1, 0)
	if res.Failed() > 0 || res.Interrupted {
		t.Fatalf("sweep ended badly: %+v", res)
	}
	runs := runsOf(t, dbPath)
	if len(runs) != 16 || res.Counts[store.StatusDone] != 16 {
		t.Fatalf("%d runs recorded, %d done; want 16", len(runs), res.Counts[store.StatusDone])
	}
	// the leaderboard ranks every run, the model's too
	sp, _ := orchestrator.Parse("tpe.toml", []byte(fmt.Sprintf(braninTPE, 16)))
	pl, _ := orchestrator.Expand(sp)
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	var lb strings.Builder
	err = orchestrator.WriteLeaderboard(context.Background(), &lb, db, pl, res.SweepID)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(lb.String(), "  done  "); n != 16 {
		t.Errorf("the leaderboard lists %d done runs, want 16:\n%s", n, lb.String())
	}
	// aexp show says how a run was chosen
	for id, want := range map[string]string{"1": "chosen by  tpe, startup", "16": "chosen by  tpe, proposed by the model"} {
		out := run(t, filepath.Dir(dbPath), "show", "--db", dbPath, id)
		if out.code != 0 || !strings.Contains(out.stdout, want) {
			t.Errorf("aexp show %s (exit %d) does not say %q:\n%s%s", id, out.code, want, out.stdout, out.stderr)
		}
	}
	for i, r := range runs {
		want := orchestrator.SourceModel
		if i < 5 {
			want = orchestrator.SourceStartup
		}
		if r.source != want {
			t.Errorf("run %d: source %q, want %q", i+1, r.source, want)
		}
		x1, x2 := r.params["x1"].(float64), r.params["x2"].(float64)
		if x1 < -5 || x1 > 10 || x2 < 0 || x2 > 15 {
			t.Errorf("run %d: params out of bounds: %v", i+1, r.params)
		}
	}
}

// An interrupted TPE sweep, run again, proposes exactly what an
// uninterrupted one does: the store's history is the sampler's state.
func TestTPEResume(t *testing.T) {
	spec := fmt.Sprintf(braninTPE, 14)
	whole := filepath.Join(t.TempDir(), "whole.db")
	sweepTPE(t, whole, spec, 1, 0)
	want := runsOf(t, whole)

	split := filepath.Join(t.TempDir(), "split.db")
	res := sweepTPE(t, split, spec, 1, 8) // 5 startup + 3 proposed, then Ctrl-C
	if !res.Interrupted {
		t.Fatal("the first invocation was not interrupted")
	}
	if n := len(runsOf(t, split)); n >= len(want) {
		t.Fatalf("the interrupted sweep recorded %d runs already", n)
	}
	sweepTPE(t, split, spec, 1, 0)
	got := runsOf(t, split)
	if len(got) != len(want) {
		t.Fatalf("resumed sweep has %d runs, uninterrupted %d", len(got), len(want))
	}
	for i := range want {
		if got[i].key != want[i].key || got[i].source != want[i].source || got[i].status != store.StatusDone {
			t.Errorf("run %d: resumed %s (%s, %s), uninterrupted %s (%s)", i+1, got[i].key, got[i].source, got[i].status, want[i].key, want[i].source)
		}
	}
}

// With runs in flight the constant liar keeps proposals apart, and every
// proposal is a new configuration.
func TestTPEParallel(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "aexp.db")
	spec := fmt.Sprintf(braninTPE, 14) + "sleep_ms = 50\n"
	res := sweepTPE(t, dbPath, spec, 3, 0)
	if res.Counts[store.StatusDone] != 14 {
		t.Fatalf("counts %v, want 14 done", res.Counts)
	}
	var keys []string
	for _, r := range runsOf(t, dbPath) {
		keys = append(keys, r.key)
	}
	slices.Sort(keys)
	if len(slices.Compact(keys)) != 14 {
		t.Fatalf("duplicate configurations: %v", keys)
	}
}

// [[variants]] blocks are a conditional space: the model picks a block,
// then values for that block's parameters only. Seeds repeat every
// configuration; ASHA prunes on the per-epoch reports and pruned runs
// inform the model.
func TestTPEConditionalSeedsPruning(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "aexp.db")
	spec := `name = "tpe"
dataset = "sines"
[search]
method = "tpe"
seed = 1
samples = 12
startup = 4
[budget]
epochs = 3
seeds = [0, 1]
[early_stop]
method = "asha"
grace_epochs = 1
reduction = 2
[params]
problem = "cond"
activation = ["relu", "tanh", "sigmoid"]
[[variants]]
name = "testfn"
params = { optimizer = "sgd", lr = { distribution = "log_uniform", min = 1e-4, max = 1.0 }, momentum = { distribution = "uniform", min = 0.0, max = 1.0 } }
[[variants]]
name = "testfn"
params = { optimizer = "adam", lr = { distribution = "log_uniform", min = 1e-5, max = 0.1 }, beta1 = { distribution = "uniform", min = 0.5, max = 0.999 } }
`
	res := sweepTPE(t, dbPath, spec, 1, 0)
	if res.Failed() > 0 {
		t.Fatalf("failed runs: %+v", res)
	}
	runs := runsOf(t, dbPath)
	if len(runs) != 24 {
		t.Fatalf("%d runs, want 12 configurations × 2 seeds", len(runs))
	}
	branches := map[string]int{}
	pruned := 0
	for i, r := range runs {
		opt := r.params["optimizer"].(string)
		branches[opt]++
		lr := r.params["lr"].(float64)
		switch opt {
		case "sgd":
			if lr < 1e-4 || lr > 1 {
				t.Errorf("run %d: sgd lr %g outside its block's range", i+1, lr)
			}
		case "adam":
			if b := r.params["beta1"].(float64); lr < 1e-5 || lr > 0.1 || b < 0.5 || b > 0.999 {
				t.Errorf("run %d: adam params outside its block's range: %v", i+1, r.params)
			}
		}
		if r.status == store.StatusPruned {
			pruned++
		}
		// seeds repeat a configuration: runs come in pairs
		if i%2 == 1 && (r.params["lr"] != runs[i-1].params["lr"] || r.source != runs[i-1].source) {
			t.Errorf("runs %d and %d are not the two seeds of one configuration", i, i+1)
		}
	}
	if pruned == 0 {
		t.Error("asha pruned nothing")
	}
	t.Logf("branches %v, %d pruned", branches, pruned)
}
