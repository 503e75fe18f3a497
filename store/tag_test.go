package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
)

// threeRuns records a sweep of three runs, each with a metric, a param and
// a 1 KiB checkpoint; the second is left running.
func threeRuns(t *testing.T, db *store.DB, name string) []int64 {
	t.Helper()
	ctx := context.Background()
	sw := mustSweep(t, db, name)
	var specs []store.RunSpec
	for i := range 3 {
		specs = append(specs, store.RunSpec{Key: fmt.Sprint(name, i), Variant: "vae", Dataset: "mnist", Params: map[string]any{"lr": 1e-3 * float64(i+1)}})
	}
	runs, err := db.EnsureRuns(ctx, sw.ID, specs)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i, r := range runs {
		ids = append(ids, r.ID)
		if err := db.StartRun(ctx, r.ID, store.RunStart{}); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordEpoch(ctx, r.ID, 1, map[string]float64{"train_loss": 1, "val_loss": 1}); err != nil {
			t.Fatal(err)
		}
		ck := variant.Artifact{Kind: variant.KindCheckpoint, Name: "m.safetensors", Epoch: 1, Format: "safetensors", Data: make([]byte, 1024)}
		if err := db.SaveArtifact(ctx, r.ID, ck, store.KeepLast, 1); err != nil {
			t.Fatal(err)
		}
		if i != 1 {
			if err := db.FinishRun(ctx, r.ID, store.RunFinish{Status: store.StatusDone}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids
}

func TestTags(t *testing.T) {
	ctx := context.Background()
	db, _ := mustOpen(t)
	ids := threeRuns(t, db, "tags")
	if err := db.SetTags(ctx, ids[:2], map[string]string{"note": "baseline, lr too low", "keep": "yes"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.SetTags(ctx, ids[1:2], map[string]string{"keep": "no"}, []string{"note"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Tags(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]map[string]string{ids[0]: {"note": "baseline, lr too low", "keep": "yes"}, ids[1]: {"keep": "no"}}
	if len(got) != 2 || !maps.Equal(got[ids[0]], want[ids[0]]) || !maps.Equal(got[ids[1]], want[ids[1]]) {
		t.Errorf("tags %v, want %v", got, want)
	}
	// a missing run: an error, and nothing changes on the others
	err = db.SetTags(ctx, []int64{ids[2], 999}, map[string]string{"x": "1"}, nil)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tag of run 999: %v", err)
	}
	if got, _ := db.Tags(ctx, ids[2:]); len(got) != 0 {
		t.Errorf("a failed SetTags tagged run %d: %v", ids[2], got)
	}
	// queryable in SQL
	var n int
	var sweep string
	if err := db.QueryRowForTest(`SELECT count(*), min(sweep) FROM run_tags WHERE key = 'keep'`).Scan(&n, &sweep); err != nil || n != 2 || sweep != "tags" {
		t.Errorf("run_tags: %d rows of sweep %q, err %v", n, sweep, err)
	}
}

func TestDeleteRuns(t *testing.T) {
	ctx := context.Background()
	db, _ := mustOpen(t)
	ids := threeRuns(t, db, "rm")
	other := threeRuns(t, db, "other")
	db.SetTags(ctx, ids, map[string]string{"x": "1"}, nil)

	// the running run is refused while its heartbeat is fresh, and nothing goes
	if _, err := db.DeleteRuns(ctx, ids, 30*time.Second); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("deleting a running run: %v", err)
	}
	if _, err := db.DeleteRuns(ctx, []int64{ids[0], 999}, 30*time.Second); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting run 999: %v", err)
	}
	count := func(table string) int {
		var n int
		if err := db.QueryRowForTest(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count("runs") != 6 || count("artifacts") != 6 || count("tags") != 3 {
		t.Fatalf("a refused delete removed something: %d runs, %d artifacts, %d tags", count("runs"), count("artifacts"), count("tags"))
	}
	pre, err := db.Removal(ctx, []int64{ids[0], ids[2]}, 30*time.Second)
	if err != nil || pre != (store.Removal{Runs: 2, Artifacts: 2, Bytes: 2048}) {
		t.Fatalf("Removal: %+v %v", pre, err)
	}
	got, err := db.DeleteRuns(ctx, []int64{ids[0], ids[2]}, 30*time.Second)
	if err != nil || got != pre {
		t.Fatalf("DeleteRuns: %+v %v", got, err)
	}
	for table, want := range map[string]int{"runs": 4, "artifacts": 4, "tags": 1, "params": 4, "metrics": 8, "metric_summary": 8} {
		if n := count(table); n != want {
			t.Errorf("%s: %d rows after deleting 2 of 6 runs, want %d", table, n, want)
		}
	}
	// a run left running by a dead process (stale heartbeat) may go
	db.Now = func() time.Time { return time.Now().Add(time.Minute) }
	if _, err := db.DeleteRuns(ctx, ids[1:2], 30*time.Second); err != nil {
		t.Errorf("deleting a stale running run: %v", err)
	}
	db.Now = time.Now
	// a whole sweep, its spec with it
	sw, _ := db.GetSweep(ctx, "other")
	if _, err := db.DeleteSweep(ctx, sw.ID, 30*time.Second); !errors.Is(err, store.ErrConflict) {
		t.Errorf("deleting a sweep with a running run: %v", err)
	}
	db.FinishRun(ctx, other[1], store.RunFinish{Status: store.StatusCanceled})
	if got, err := db.DeleteSweep(ctx, sw.ID, 30*time.Second); err != nil || got.Runs != 3 || got.Artifacts != 3 {
		t.Errorf("DeleteSweep: %+v %v", got, err)
	}
	if _, err := db.GetSweep(ctx, "other"); !errors.Is(err, store.ErrNotFound) || count("runs") != 0 || count("artifacts") != 0 {
		t.Errorf("after DeleteSweep: %v, %d runs, %d artifacts", err, count("runs"), count("artifacts"))
	}
}
