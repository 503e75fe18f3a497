package store_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
)

// The benchmark store: 10 sweeps × 1,000 runs, 50 epochs × 6 metrics each,
// two final metrics, params and a 1 KiB checkpoint per run. It is built
// once (a few seconds, through one bulk transaction) and kept in the temp
// directory for later runs; AEXP_BENCH_DB overrides the path.
const (
	benchSweeps  = 10
	benchRunsPer = 1000
	benchEpochs  = 50
)

var benchMetrics = []string{"train_loss", "val_loss", "epoch_seconds", "samples_per_second", "val_kl", "val_recon"}

var (
	benchOnce sync.Once
	benchPath string
	benchErr  error
)

func benchDB(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		benchPath = os.Getenv("AEXP_BENCH_DB")
		if benchPath == "" {
			benchPath = filepath.Join(os.TempDir(), fmt.Sprintf("aexp-bench-v%d-%dx%d.db", store.SchemaVersion(), benchSweeps*benchRunsPer, benchEpochs))
		}
		if db, err := store.OpenReadOnly(benchPath); err == nil {
			rs, err := db.ListRuns(context.Background(), store.RunFilter{Limit: 1, Offset: benchSweeps*benchRunsPer - 1})
			db.Close()
			if err == nil && len(rs) == 1 {
				return // built by an earlier run
			}
		}
		os.Remove(benchPath)
		start := time.Now()
		benchErr = buildBenchDB(benchPath)
		fmt.Fprintf(os.Stderr, "built %s in %v\n", benchPath, time.Since(start).Round(time.Millisecond))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchPath
}

func buildBenchDB(path string) error {
	db, err := store.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	variants := []string{"dense", "denoise", "vae", "rnn"}
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for s := range benchSweeps {
		sw, _, err := db.EnsureSweepSpec(ctx, store.SweepSpec{Name: fmt.Sprintf("sweep-%02d", s), Spec: "# bench", SpecHash: fmt.Sprint(s)})
		if err != nil {
			return err
		}
		specs := make([]store.RunSpec, benchRunsPer)
		for i := range specs {
			specs[i] = store.RunSpec{Key: fmt.Sprintf("%d-%d", s, i), Variant: variants[i%len(variants)], Dataset: "mnist", Seed: uint64(i % 3),
				Params: map[string]any{"lr": math.Pow(10, -4+2*rng.Float64()), "latent": int64(2 + i%20), "beta": float64(i%4) / 2,
					"hidden": []int64{512, int64(64 * (1 + i%4))}, "activation": []string{"relu", "selu", "tanh"}[i%3]}}
		}
		runs, err := db.EnsureRuns(ctx, sw.ID, specs)
		if err != nil {
			return err
		}
		err = db.Bulk(func(tx *store.Tx) error {
			met, err := tx.Prepare(`INSERT INTO metrics (run_id, key, epoch, value, time) VALUES (?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer met.Close()
			sum, err := tx.Prepare(`INSERT INTO metric_summary (run_id, key, latest, latest_epoch, best, best_epoch, goal, count, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer sum.Close()
			upd, err := tx.Prepare(`UPDATE runs SET status = 'done', attempt = 1, epochs = ?, started = ?, finished = ?, heartbeat = ?, host = 'bench', blas = 'gonum', threads = 1 WHERE id = ?`)
			if err != nil {
				return err
			}
			defer upd.Close()
			art, err := tx.Prepare(`INSERT INTO artifacts (run_id, kind, name, epoch, format, size, sha256, objective, meta, created, bytes) VALUES (?, 'checkpoint', 'model.safetensors', ?, 'safetensors', 1024, 'x', ?, '{}', ?, ?)`)
			if err != nil {
				return err
			}
			defer art.Close()
			blob := make([]byte, 1024)
			for ri, r := range runs {
				start := now.Add(time.Duration(s*benchRunsPer+ri) * time.Second)
				base := 0.02 + 0.03*rng.Float64()
				var best, last [8]float64
				var bestE [8]int
				for e := 1; e <= benchEpochs; e++ {
					t := store.FormatTime(start.Add(time.Duration(e) * time.Second))
					for k, key := range benchMetrics {
						v := base*(1+1/float64(e)) + 0.001*rng.Float64() + float64(k)
						if key == "samples_per_second" {
							v = 4000 + 100*rng.Float64()
						}
						if _, err := met.Exec(r.ID, key, e, v, t); err != nil {
							return err
						}
						g := store.MetricGoal(key)
						if e == 1 || (g == store.Minimize && v < best[k]) || (g == store.Maximize && v > best[k]) {
							best[k], bestE[k] = v, e
						}
						last[k] = v
					}
				}
				end := store.FormatTime(start.Add(benchEpochs * time.Second))
				for k, key := range benchMetrics {
					if _, err := sum.Exec(r.ID, key, last[k], benchEpochs, best[k], bestE[k], store.MetricGoal(key), benchEpochs, end); err != nil {
						return err
					}
				}
				for _, key := range []string{"test_mse", "pca_mse"} {
					v := base + 0.001*rng.Float64()
					if _, err := met.Exec(r.ID, key, benchEpochs, v, end); err != nil {
						return err
					}
					if _, err := sum.Exec(r.ID, key, v, benchEpochs, v, benchEpochs, store.Minimize, 1, end); err != nil {
						return err
					}
				}
				if _, err := art.Exec(r.ID, bestE[1], best[1], end, blob); err != nil {
					return err
				}
				if _, err := upd.Exec(benchEpochs, store.FormatTime(start), end, end, r.ID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func benchRO(b *testing.B) *store.DB {
	b.Helper()
	db, err := store.OpenReadOnly(benchDB(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkListRuns is `aexp runs` on 10,000 runs: every row of run_summary.
func BenchmarkListRuns(b *testing.B) {
	db := benchRO(b)
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		rs, err := db.ListRuns(ctx, store.RunFilter{})
		if err != nil || len(rs) != benchSweeps*benchRunsPer {
			b.Fatal(len(rs), err)
		}
	}
}

// BenchmarkListRunsSweepBest is `aexp runs --sweep S --variant vae --sort objective --limit 5`.
func BenchmarkListRunsSweepBest(b *testing.B) {
	db := benchRO(b)
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		rs, err := db.ListRuns(ctx, store.RunFilter{Sweep: "sweep-03", Variant: "vae", OrderBy: "objective", Limit: 5})
		if err != nil || len(rs) != 5 {
			b.Fatal(len(rs), err)
		}
	}
}

// BenchmarkCompare100 reads what a comparison of 100 runs needs: their
// summary rows, full metric histories, metric summaries and artifact lists.
func BenchmarkCompare100(b *testing.B) {
	db := benchRO(b)
	ctx := context.Background()
	ids := make([]int64, 100)
	for i := range ids {
		ids[i] = int64(1 + i*97)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		rs, err := db.ListRuns(ctx, store.RunFilter{IDs: ids})
		if err != nil || len(rs) != 100 {
			b.Fatal(len(rs), err)
		}
		h, err := db.Histories(ctx, ids)
		if err != nil || len(h) != 100 {
			b.Fatal(len(h), err)
		}
		for _, id := range ids {
			if _, err := db.Summaries(ctx, id); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Artifacts(ctx, id, ""); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCompare100PerRun is the same read done run by run, as a caller
// using GetRun, MetricHistory, FinalMetrics and Artifacts would.
func BenchmarkCompare100PerRun(b *testing.B) {
	db := benchRO(b)
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		for i := range 100 {
			id := int64(1 + i*97)
			if _, err := db.GetRun(ctx, id); err != nil {
				b.Fatal(err)
			}
			if _, err := db.MetricHistory(ctx, id); err != nil {
				b.Fatal(err)
			}
			if _, err := db.FinalMetrics(ctx, id); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Artifacts(ctx, id, ""); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// startedRun adds a sweep of one started run of variant to db and returns
// the sweep's and the run's ids.
func startedRun(b *testing.B, db *store.DB, sweep, variant string) (sweepID, runID int64) {
	ctx := context.Background()
	sw, _, err := db.EnsureSweep(ctx, sweep, "x", "x")
	if err != nil {
		b.Fatal(err)
	}
	runs, err := db.EnsureRuns(ctx, sw.ID, []store.RunSpec{{Key: "r", Variant: variant}})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.StartRun(ctx, runs[0].ID, store.RunStart{}); err != nil {
		b.Fatal(err)
	}
	return sw.ID, runs[0].ID
}

// BenchmarkRecordEpoch records one epoch of 6 metrics for one run in the
// 10,000-run store (a transaction with summary upkeep and heartbeat).
func BenchmarkRecordEpoch(b *testing.B) {
	path := benchDB(b)
	db, err := store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	swID, id := startedRun(b, db, fmt.Sprintf("bench-write-%d", time.Now().UnixNano()), "vae")
	m := make(map[string]float64, len(benchMetrics))
	b.ReportAllocs()
	e := 0
	done := reportCPU(b)
	for b.Loop() {
		e++
		for i, k := range benchMetrics {
			m[k] = 1/float64(e) + float64(i)
		}
		if err := db.RecordEpoch(ctx, id, e, m); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	done()
	// Leave the shared benchmark store as it was.
	if err := db.Bulk(func(tx *store.Tx) error {
		_, err := tx.Exec(`DELETE FROM sweeps WHERE id = ?`, swID)
		return err
	}); err != nil {
		b.Fatal(err)
	}
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a cpu-ms/op metric: on a shared, loaded machine the CPU
// time of the benchmark process says more than the wall time.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}
}

// BenchmarkSaveState replaces a run's training state with one of the size
// the default dense model writes after each epoch (weights, two Adam
// moments: ~6.7 MB), as the engine does once per epoch.
func BenchmarkSaveState(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	_, id := startedRun(b, db, "bench-state", "dense")
	data := make([]byte, 6_700_000)
	rand.NewChaCha8([32]byte{1}).Read(data) // incompressible, like float weights
	b.SetBytes(int64(len(data)))
	e := 0
	for b.Loop() {
		e++
		a := variant.Artifact{Kind: variant.KindState, Name: "state", Epoch: e, Format: "aexp-train-state", Data: data}
		if err := db.SaveState(ctx, id, a, "h", float64(e)); err != nil {
			b.Fatal(err)
		}
	}
}
