package store_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
)

// mustOpen opens a writer on a fresh file in t.TempDir().
func mustOpen(tb testing.TB) (*store.DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "aexp.db")
	db, err := store.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, path
}

func mustSweep(tb testing.TB, db *store.DB, name string) store.Sweep {
	tb.Helper()
	sw, _, err := db.EnsureSweepSpec(context.Background(), store.SweepSpec{
		Name: name, Spec: "name = \"" + name + "\"", SpecHash: "h-" + name, Objective: "val_loss", Goal: store.Minimize,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return sw
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpen(t)
	sw, created, err := db.EnsureSweep(ctx, "s1", "spec", "hash")
	if err != nil || !created {
		t.Fatalf("EnsureSweep: %v created=%v", err, created)
	}
	if sw2, created, err := db.EnsureSweep(ctx, "s1", "spec2", "hash2"); err != nil || created || sw2.ID != sw.ID || sw2.SpecHash != "hash2" {
		t.Fatalf("EnsureSweep again: %+v %v %v", sw2, created, err)
	}
	specs := []store.RunSpec{
		{Key: "k1", Variant: "vae", Dataset: "mnist", Seed: 1, Attempts: 2, Params: map[string]any{
			"lr": 1e-3, "latent": int64(2), "hidden": []any{int64(512), int64(256)}, "act": "relu", "tied": true, "one": 1.0}},
		{Key: "k2", Variant: "vae", Dataset: "mnist", Seed: 2, Params: map[string]any{"lr": 1e-2, "latent": 10}},
	}
	runs, err := db.EnsureRuns(ctx, sw.ID, specs)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].Status != store.StatusQueued || runs[0].MaxAttempts != 2 {
		t.Fatalf("runs: %+v", runs)
	}
	p := runs[0].Params
	if p["lr"] != 1e-3 || p["latent"] != int64(2) || p["act"] != "relu" || p["tied"] != true || p["one"] != 1.0 {
		t.Fatalf("params: %#v", p)
	}
	if h, ok := p["hidden"].([]int64); !ok || len(h) != 2 || h[0] != 512 {
		t.Fatalf("hidden: %#v", p["hidden"])
	}
	id := runs[0].ID
	if err := db.StartRun(ctx, id, store.RunStart{PluginVersion: "0.1.0", BLAS: "gonum", Threads: 1, Pid: 42}); err != nil {
		t.Fatal(err)
	}
	for e, v := range []float64{0.5, 0.3, 0.4} {
		if err := db.RecordEpoch(ctx, id, e+1, map[string]float64{"train_loss": v + 0.1, "val_loss": v, "samples_per_second": 100 * float64(e+1)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.FinishRun(ctx, id, store.RunFinish{Status: store.StatusDone, Metrics: map[string]float64{"test_mse": 0.02, "pca_mse": 0.03}, Meta: map[string]string{"blas": "gonum"}}); err != nil {
		t.Fatal(err)
	}
	ro, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	rs, err := ro.ListRuns(ctx, store.RunFilter{Sweep: "s1", OrderBy: "objective"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].RunID != id || *rs[0].BestObjective != 0.3 || *rs[0].FinalObjective != 0.4 || *rs[0].BestEpoch != 2 || rs[0].Epochs != 3 || *rs[0].TestMSE != 0.02 {
		t.Fatalf("list: %+v", rs[0])
	}
	if rs[1].BestObjective != nil || rs[1].FinalObjective != nil {
		t.Fatalf("queued run has objective: %+v", rs[1])
	}
	fm, err := ro.FinalMetrics(ctx, id)
	if err != nil || fm["val_loss"] != 0.4 || fm["test_mse"] != 0.02 || fm["samples_per_second"] != 300 {
		t.Fatalf("final: %v %v", fm, err)
	}
	ss, _ := ro.Summaries(ctx, id)
	for _, s := range ss {
		if s.Key == "samples_per_second" && (*s.Best != 300 || s.Goal != store.Maximize) {
			t.Fatalf("summary %+v", s)
		}
	}
	h, err := ro.MetricHistory(ctx, id)
	if err != nil || len(h["val_loss"]) != 3 || h["val_loss"][1] != (store.Point{Epoch: 2, Value: 0.3}) {
		t.Fatalf("history: %v %v", h, err)
	}
	if _, err := ro.GetRun(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRun(999): %v", err)
	}
	if err := ro.RecordEpoch(ctx, id, 4, nil); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("write on read-only: %v", err)
	}
	r, _ := ro.GetRun(ctx, id)
	if r.Status != "done" || r.Attempt != 1 || r.Pid != 42 || r.Meta["blas"] != "gonum" || r.Finished == nil {
		t.Fatalf("run: %+v", r)
	}
}

func TestNaNMetric(t *testing.T) {
	ctx := context.Background()
	db, _ := mustOpen(t)
	sw := mustSweep(t, db, "nan")
	runs, _ := db.EnsureRuns(ctx, sw.ID, []store.RunSpec{{Key: "a", Variant: "dense"}})
	id := runs[0].ID
	db.StartRun(ctx, id, store.RunStart{})
	db.RecordEpoch(ctx, id, 1, map[string]float64{"val_loss": 0.5})
	if err := db.RecordEpoch(ctx, id, 2, map[string]float64{"val_loss": math.NaN()}); err != nil {
		t.Fatal(err)
	}
	h, _ := db.MetricHistory(ctx, id)
	if !math.IsNaN(h["val_loss"][1].Value) {
		t.Fatalf("want NaN, got %v", h)
	}
	rs, _ := db.ListRuns(ctx, store.RunFilter{})
	if *rs[0].BestObjective != 0.5 || rs[0].FinalObjective != nil {
		t.Fatalf("%+v", rs[0])
	}
	_ = variant.KindCheckpoint
	_ = time.Second
}

func TestParseTime(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, s := range []string{store.FormatTime(now), now.Format(time.RFC3339Nano)} {
		got := store.ParseTime(s)
		if got == nil || !got.Equal(now) {
			t.Errorf("ParseTime(%q) = %v, want %v", s, got, now)
		}
	}
	if store.ParseTime("") != nil || store.ParseTime("garbage") != nil {
		t.Error("bad times should give nil")
	}
}

// TestSummaryGoalAndRewrite checks that best follows the sweep's goal for
// its objective and that rewriting an epoch recomputes the summary.
func TestSummaryGoalAndRewrite(t *testing.T) {
	ctx := context.Background()
	db, _ := mustOpen(t)
	sw, _, err := db.EnsureSweepSpec(ctx, store.SweepSpec{Name: "max", Objective: "accuracy_val", Goal: store.Maximize})
	if err != nil {
		t.Fatal(err)
	}
	runs, _ := db.EnsureRuns(ctx, sw.ID, []store.RunSpec{{Key: "a", Variant: "dense"}, {Key: "b", Variant: "dense"}})
	id := runs[0].ID
	db.StartRun(ctx, id, store.RunStart{})
	for e, v := range []float64{0.5, 0.9, 0.7} {
		if err := db.RecordEpoch(ctx, id, e+1, map[string]float64{"accuracy_val": v, "val_loss": 1 - v}); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := db.ListRuns(ctx, store.RunFilter{OrderBy: "objective"})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].RunID != id || *rs[0].BestObjective != 0.9 || *rs[0].BestEpoch != 2 || rs[1].BestObjective != nil {
		t.Fatalf("maximize: %+v", rs)
	}
	// Epoch 2 recorded again (a replayed report) with a worse value.
	if err := db.RecordEpoch(ctx, id, 2, map[string]float64{"accuracy_val": 0.6, "val_loss": 0.4}); err != nil {
		t.Fatal(err)
	}
	ss, _ := db.Summaries(ctx, id)
	for _, s := range ss {
		switch s.Key {
		case "accuracy_val":
			if *s.Best != 0.7 || s.BestEpoch != 3 || *s.Latest != 0.7 || s.LatestEpoch != 3 || s.Count != 3 || s.Goal != store.Maximize {
				t.Fatalf("after rewrite: %+v best %v latest %v", s, *s.Best, *s.Latest)
			}
		case "val_loss":
			if math.Abs(*s.Best-0.3) > 1e-12 || s.BestEpoch != 3 || s.Goal != store.Minimize {
				t.Fatalf("val_loss: %+v", s)
			}
		}
	}
}
