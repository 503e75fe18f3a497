package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aexp/aexp/store"
)

// TestDashboardQueries covers the read-only helpers the dashboard polls and
// lists with: the change stamp moves on every kind of write a viewer sees
// (and only then), the status counts, the metric names, and SweepRuns.
func TestDashboardQueries(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpen(t)
	sw := mustSweep(t, db, "watched")
	other := mustSweep(t, db, "other")
	ro, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	stamp := func(id int64) string {
		t.Helper()
		s, err := ro.ChangeStamp(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	last := stamp(sw.ID)
	moved := func(what string) {
		t.Helper()
		if s := stamp(sw.ID); s == last {
			t.Errorf("the change stamp did not move after %s", what)
		} else {
			last = s
		}
	}
	rs, err := db.EnsureRuns(ctx, sw.ID, []store.RunSpec{
		{Key: "a", Variant: "dense", Seed: 0, Params: map[string]any{"lr": 0.01, "code": int64(8)}},
		{Key: "b", Variant: "dense", Seed: 1, Params: map[string]any{"lr": 0.01, "code": int64(8)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	moved("adding runs")
	if err := db.StartRun(ctx, rs[0].ID, store.RunStart{}); err != nil {
		t.Fatal(err)
	}
	moved("starting a run")
	if err := db.RecordEpoch(ctx, rs[0].ID, 1, map[string]float64{"val_loss": 0.5, "train_loss": 0.6}); err != nil {
		t.Fatal(err)
	}
	moved("an epoch")
	if err := db.SetTags(ctx, []int64{rs[0].ID}, map[string]string{"k": "v"}, nil); err != nil {
		t.Fatal(err)
	}
	moved("a tag")
	if err := db.FinishRun(ctx, rs[0].ID, store.RunFinish{Status: store.StatusDone, Metrics: map[string]float64{"test_mse": 0.1}}); err != nil {
		t.Fatal(err)
	}
	moved("finishing a run")
	// Another sweep's writes leave this sweep's stamp alone.
	if _, err := db.EnsureRuns(ctx, other.ID, []store.RunSpec{{Key: "z", Variant: "vae"}}); err != nil {
		t.Fatal(err)
	}
	if s := stamp(sw.ID); s != last {
		t.Errorf("another sweep's run moved the stamp: %q → %q", last, s)
	}
	if s0 := stamp(0); s0 == "" {
		t.Error("no stamp for all sweeps")
	}

	counts, err := ro.StatusCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[sw.ID]["done"] != 1 || counts[sw.ID]["queued"] != 1 || counts[other.ID]["queued"] != 1 {
		t.Errorf("status counts %v", counts)
	}
	keys, err := ro.MetricKeys(ctx, sw.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"test_mse", "train_loss", "val_loss"}) {
		t.Errorf("metric keys %v", keys)
	}
	runs, err := ro.SweepRuns(ctx, sw.ID, "val_loss")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	r := runs[0]
	if r.Status != "done" || r.Best == nil || *r.Best != 0.5 || r.BestEpoch == nil || *r.BestEpoch != 1 ||
		r.TestMSE == nil || *r.TestMSE != 0.1 || r.PCAMSE != nil || r.Params["code"] != int64(8) {
		t.Errorf("run %+v", r)
	}
	if runs[1].Best != nil || runs[1].ParamsJSON != r.ParamsJSON || runs[1].Seed != 1 {
		t.Errorf("second run %+v: want no objective yet and the same params text", runs[1])
	}
}
