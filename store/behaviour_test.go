package store_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
)

func epochMetrics(run, epoch int) map[string]float64 {
	l := 1 / float64(epoch+run)
	return map[string]float64{
		"train_loss": l * 1.1, "val_loss": l, "epoch_seconds": 0.5,
		"samples_per_second": 1000 + float64(run), "val_kl": l / 2, "val_recon": l / 3,
	}
}

// TestConcurrentWritersAndReaders runs 8 runs writing epochs through the one
// writer while separate read-only connections poll run_summary, as a user's
// sqlite3 shell would: nobody may see "database is locked".
func TestConcurrentWritersAndReaders(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpen(t)
	sw := mustSweep(t, db, "conc")
	var specs []store.RunSpec
	for i := range 8 {
		specs = append(specs, store.RunSpec{Key: fmt.Sprint("run", i), Variant: "dense", Params: map[string]any{"i": i}})
	}
	runs, err := db.EnsureRuns(ctx, sw.ID, specs)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	// A plain read-only connection like `sqlite3 -readonly` with a timeout.
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	const epochs = 40
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := db.StartRun(ctx, r.ID, store.RunStart{Pid: 1000 + i}); err != nil {
				errs <- err
				return
			}
			for e := 1; e <= epochs; e++ {
				if err := db.RecordEpoch(ctx, r.ID, e, epochMetrics(i, e)); err != nil {
					errs <- err
					return
				}
				if e%10 == 0 {
					a := variant.Artifact{Kind: variant.KindCheckpoint, Name: "model.safetensors", Epoch: e, Format: "safetensors", Data: make([]byte, 64<<10)}
					if err := db.SaveArtifact(ctx, r.ID, a, store.KeepBest, math.NaN()); err != nil {
						errs <- err
						return
					}
				}
				if err := db.Heartbeat(ctx, r.ID); err != nil {
					errs <- err
					return
				}
			}
			errs <- db.FinishRun(ctx, r.ID, store.RunFinish{Status: store.StatusDone, Metrics: map[string]float64{"test_mse": 0.1}})
		}()
	}
	done := make(chan struct{})
	var polls atomic.Int64
	var readErrs []error
	var mu sync.Mutex
	var rwg sync.WaitGroup
	for p := range 2 {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				var err error
				if p == 0 {
					_, err = ro.ListRuns(ctx, store.RunFilter{OrderBy: "objective"})
				} else {
					var n int
					err = raw.QueryRow(`SELECT count(*) FROM (SELECT * FROM run_summary ORDER BY best_objective)`).Scan(&n)
				}
				polls.Add(1)
				if err != nil {
					mu.Lock()
					readErrs = append(readErrs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	rwg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("writer: %v", err)
		}
	}
	for _, err := range readErrs {
		t.Errorf("reader: %v", err)
	}
	rs, err := ro.ListRuns(ctx, store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Status != store.StatusDone || r.Epochs != epochs {
			t.Errorf("run %d: status %s epochs %d", r.RunID, r.Status, r.Epochs)
		}
	}
	t.Logf("%d reads while writing", polls.Load())
}

// TestCrash kills a writer with SIGKILL in the middle of writing: the file
// must pass integrity_check and reopen with every committed epoch whole.
func TestCrash(t *testing.T) {
	if os.Getenv("AEXP_STORE_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	for round := range 3 {
		t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crash.db")
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
			cmd.Env = append(os.Environ(), "AEXP_STORE_CRASH_CHILD="+path)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			committed := 0
			for sc.Scan() {
				if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "committed ")); err == nil {
					committed = n
				}
				if committed >= 20+round*15 {
					break
				}
			}
			// Kill while the child is in its next writes.
			time.Sleep(time.Duration(round) * 3 * time.Millisecond)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			if committed == 0 {
				t.Fatal("child committed nothing")
			}

			raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
			if err != nil {
				t.Fatal(err)
			}
			var ok string
			if err := raw.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
				t.Fatalf("integrity_check: %q %v", ok, err)
			}
			raw.Close()
			db, err := store.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			rs, err := db.ListRuns(ctx, store.RunFilter{})
			if err != nil || len(rs) != 1 {
				t.Fatalf("runs: %v %v", rs, err)
			}
			if rs[0].Epochs < committed {
				t.Fatalf("epochs = %d, child reported %d committed", rs[0].Epochs, committed)
			}
			h, err := db.MetricHistory(ctx, rs[0].RunID)
			if err != nil {
				t.Fatal(err)
			}
			for k, pts := range h {
				if len(pts) != rs[0].Epochs {
					t.Fatalf("metric %s has %d points, run has %d epochs: an epoch was torn", k, len(pts), rs[0].Epochs)
				}
			}
			if len(h) != 6 {
				t.Fatalf("%d metrics, want 6", len(h))
			}
			// The store still takes writes.
			if err := db.RecordEpoch(ctx, rs[0].RunID, rs[0].Epochs+1, epochMetrics(0, 1)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// crashChild writes epochs (and a 1 MB checkpoint each epoch) forever,
// reporting each commit on stdout, until it is killed.
func crashChild() {
	path := os.Getenv("AEXP_STORE_CRASH_CHILD")
	ctx := context.Background()
	db, err := store.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sw, _, _ := db.EnsureSweep(ctx, "crash", "spec", "h")
	runs, err := db.EnsureRuns(ctx, sw.ID, []store.RunSpec{{Key: "k", Variant: "dense"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	id := runs[0].ID
	db.StartRun(ctx, id, store.RunStart{})
	blob := make([]byte, 1<<20)
	for e := 1; ; e++ {
		if err := db.RecordEpoch(ctx, id, e, epochMetrics(0, e)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("committed %d\n", e)
		blob[e%len(blob)] = byte(e)
		db.SaveArtifact(ctx, id, variant.Artifact{Kind: variant.KindCheckpoint, Name: "m", Epoch: e, Data: blob}, store.KeepAll, math.NaN())
	}
}

func TestKeepCheckpoints(t *testing.T) {
	ctx := context.Background()
	losses := []float64{0.5, 0.3, 0.4, 0.35}
	for _, tc := range []struct {
		keep   string
		goal   string
		epochs []int
	}{
		{store.KeepAll, store.Minimize, []int{1, 2, 3, 4}},
		{store.KeepLast, store.Minimize, []int{4}},
		{store.KeepBest, store.Minimize, []int{2}},
		{store.KeepBest, store.Maximize, []int{1}},
		{"", store.Minimize, []int{4}},
	} {
		t.Run(tc.keep+"_"+tc.goal, func(t *testing.T) {
			db, _ := mustOpen(t)
			sw, _, err := db.EnsureSweepSpec(ctx, store.SweepSpec{Name: "keep", Objective: "val_loss", Goal: tc.goal})
			if err != nil {
				t.Fatal(err)
			}
			runs, _ := db.EnsureRuns(ctx, sw.ID, []store.RunSpec{{Key: "k", Variant: "dense"}})
			id := runs[0].ID
			db.StartRun(ctx, id, store.RunStart{})
			for i, l := range losses {
				e := i + 1
				if err := db.RecordEpoch(ctx, id, e, map[string]float64{"val_loss": l}); err != nil {
					t.Fatal(err)
				}
				obj := l
				if i%2 == 1 {
					obj = math.NaN() // the store looks it up
				}
				data := []byte(fmt.Sprintf("weights of epoch %d", e))
				if err := db.SaveArtifact(ctx, id, variant.Artifact{Kind: variant.KindCheckpoint, Name: "model.safetensors", Epoch: e, Format: "safetensors", Data: data}, tc.keep, obj); err != nil {
					t.Fatal(err)
				}
				// Non-checkpoints are never thinned.
				if err := db.SaveArtifact(ctx, id, variant.Artifact{Kind: variant.KindReconstruction, Name: "recon", Epoch: e, Data: data}, tc.keep, obj); err != nil {
					t.Fatal(err)
				}
			}
			as, err := db.Artifacts(ctx, id, variant.KindCheckpoint)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, a := range as {
				got = append(got, a.Epoch)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.epochs) {
				t.Fatalf("kept epochs %v, want %v", got, tc.epochs)
			}
			info, data, err := db.Checkpoint(ctx, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.epochs[len(tc.epochs)-1]
			if info.Epoch != want || string(data) != fmt.Sprintf("weights of epoch %d", want) {
				t.Fatalf("checkpoint: epoch %d %q", info.Epoch, data)
			}
			if rec, _ := db.Artifacts(ctx, id, variant.KindReconstruction); len(rec) != 4 {
				t.Fatalf("%d reconstructions, want 4", len(rec))
			}
		})
	}
}

func TestReclaimStale(t *testing.T) {
	ctx := context.Background()
	db, _ := mustOpen(t)
	sw := mustSweep(t, db, "stale")
	runs, _ := db.EnsureRuns(ctx, sw.ID, []store.RunSpec{{Key: "old", Variant: "dense"}, {Key: "fresh", Variant: "dense"}, {Key: "queued", Variant: "dense"}})
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	db.Now = func() time.Time { return t0 }
	db.StartRun(ctx, runs[0].ID, store.RunStart{})
	db.Now = func() time.Time { return t0.Add(50 * time.Second) }
	db.StartRun(ctx, runs[1].ID, store.RunStart{})
	db.Now = func() time.Time { return t0.Add(70 * time.Second) }
	n, err := db.ReclaimStale(ctx, time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("ReclaimStale = %d, %v; want 1", n, err)
	}
	r, _ := db.GetRun(ctx, runs[0].ID)
	if r.Status != store.StatusFailed || !strings.Contains(r.Error, "aexp process died") || !strings.Contains(r.Error, "2026-01-02T03:04:05.000Z") {
		t.Fatalf("reclaimed run: %s %q", r.Status, r.Error)
	}
	for _, id := range []int64{runs[1].ID, runs[2].ID} {
		if r, _ := db.GetRun(ctx, id); r.Status == store.StatusFailed {
			t.Fatalf("run %d reclaimed", id)
		}
	}
	// A retry starts over with attempt 2 and no old data.
	db.RecordEpoch(ctx, runs[1].ID, 1, map[string]float64{"val_loss": 1})
	if err := db.StartRun(ctx, runs[0].ID, store.RunStart{}); err != nil {
		t.Fatal(err)
	}
	r, _ = db.GetRun(ctx, runs[0].ID)
	if r.Status != store.StatusRunning || r.Attempt != 2 || r.Error != "" {
		t.Fatalf("retry: %+v", r)
	}
}

func TestEnsureRunsResumes(t *testing.T) {
	ctx := context.Background()
	db, _ := mustOpen(t)
	sw := mustSweep(t, db, "resume")
	specs := []store.RunSpec{{Key: "a", Variant: "dense", Params: map[string]any{"lr": 0.1}}, {Key: "b", Variant: "dense"}}
	first, err := db.EnsureRuns(ctx, sw.ID, specs)
	if err != nil {
		t.Fatal(err)
	}
	db.StartRun(ctx, first[0].ID, store.RunStart{})
	db.FinishRun(ctx, first[0].ID, store.RunFinish{Status: store.StatusDone})
	specs = append(specs, store.RunSpec{Key: "c", Variant: "vae"})
	again, err := db.EnsureRuns(ctx, sw.ID, specs)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 3 || again[0].ID != first[0].ID || again[0].Status != store.StatusDone || again[2].Status != store.StatusQueued {
		t.Fatalf("%+v", again)
	}
	if again[0].Params["lr"] != 0.1 {
		t.Fatalf("params lost: %v", again[0].Params)
	}
	if _, err := db.EnsureRuns(ctx, sw.ID, []store.RunSpec{{Key: "d", Variant: "x"}, {Key: "d", Variant: "x"}}); err == nil {
		t.Fatal("duplicate keys accepted")
	}
	if rs, _ := db.ListRuns(ctx, store.RunFilter{}); len(rs) != 3 {
		t.Fatalf("a failed EnsureRuns left %d runs", len(rs))
	}
}
