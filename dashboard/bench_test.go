package dashboard_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aexp/aexp/dashboard"
	"github.com/aexp/aexp/store"
)

// The benchmark store: one sweep of 10,000 runs (random search over lr,
// latent, beta and activation, 3 seeds), 5 epochs of train_loss, val_loss
// and epoch_seconds each, final test_mse and pca_mse; a tenth pruned at
// epoch 2. Built once through the store's write API (17 s on the 2-core
// machine) and kept in the temp dir; AEXP_UI_BENCH_DB overrides the path.
const benchRuns = 10000

var (
	benchOnce sync.Once
	benchPath string
	benchErr  error
)

func benchDB(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		benchPath = os.Getenv("AEXP_UI_BENCH_DB")
		if benchPath == "" {
			benchPath = filepath.Join(os.TempDir(), fmt.Sprintf("aexp-ui-bench-v%d-%d.db", store.SchemaVersion(), benchRuns))
		}
		if db, err := store.OpenReadOnly(benchPath); err == nil {
			rs, err := db.ListRuns(context.Background(), store.RunFilter{Statuses: []string{store.StatusDone}, Limit: 1, Offset: benchRuns*9/10 - 1})
			db.Close()
			if err == nil && len(rs) == 1 {
				return
			}
		}
		os.Remove(benchPath)
		start := time.Now()
		benchErr = buildBench(benchPath)
		fmt.Fprintf(os.Stderr, "built %s in %v\n", benchPath, time.Since(start).Round(time.Millisecond))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchPath
}

func buildBench(path string) error {
	ctx := context.Background()
	db, err := store.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	sw, _, err := db.EnsureSweepSpec(ctx, store.SweepSpec{Name: "big", SpecHash: "h", Objective: "val_loss",
		Spec: "name = \"big\"\n[params]\nlr = { distribution = \"log_uniform\", min = 1e-4, max = 1e-2 }\n"})
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(3, 4))
	specs := make([]store.RunSpec, benchRuns)
	for i := range specs {
		specs[i] = store.RunSpec{Key: fmt.Sprint(i), Variant: "vae", Dataset: "mnist", Seed: uint64(i % 3),
			Params: map[string]any{"lr": math.Pow(10, -4+2*rng.Float64()), "latent": int64(2 << (i % 5)),
				"beta": float64(i%4) / 2, "activation": []string{"relu", "selu", "tanh"}[(i/3)%3]}}
	}
	runs, err := db.EnsureRuns(ctx, sw.ID, specs)
	if err != nil {
		return err
	}
	for i, r := range runs {
		if err := db.StartRun(ctx, r.ID, store.RunStart{PluginVersion: "0.2.0", Threads: 1}); err != nil {
			return err
		}
		lr := specs[i].Params["lr"].(float64)
		epochs := 5
		if i%10 == 9 {
			epochs = 2
		}
		for e := 1; e <= epochs; e++ {
			v := 0.02 + 0.1/float64(e) + 0.01*math.Abs(math.Log10(lr)+3) + 0.002*rng.Float64()
			if err := db.RecordEpoch(ctx, r.ID, e, map[string]float64{"train_loss": v * 0.95, "val_loss": v, "epoch_seconds": 2}); err != nil {
				return err
			}
		}
		f := store.RunFinish{Status: store.StatusDone, Metrics: map[string]float64{"test_mse": 0.03, "pca_mse": 0.05}}
		if epochs == 2 {
			f = store.RunFinish{Status: store.StatusPruned}
		}
		if err := db.FinishRun(ctx, r.ID, f); err != nil {
			return err
		}
	}
	return db.FinishSweep(ctx, sw.ID, store.SweepDone)
}

// benchGet serves path from the dashboard over the 10,000-run store, b.N
// times, through the whole handler (routing, store queries, JSON or HTML).
// Each request goes to a fresh server, so nothing is cached: the cost of
// the first view, or of a view after the sweep changed.
func benchGet(b *testing.B, path string) { benchServe(b, path, false) }

func benchServe(b *testing.B, path string, warm bool) {
	ro, err := store.OpenReadOnly(benchDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer ro.Close()
	h := dashboard.New(ro, dashboard.Options{})
	var size int
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if !warm {
			h = dashboard.New(ro, dashboard.Options{})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != 200 {
			b.Fatalf("%s: %d %.300s", path, w.Code, w.Body.String())
		}
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size)/1e6, "MB/page")
}

// BenchmarkSweepPage: the sweep page is a shell; its data is SweepAPI.
func BenchmarkSweepPage(b *testing.B) { benchGet(b, "/sweeps/1") }

// BenchmarkSweepAPI: the runs table, the parallel, slice and importance
// data of 10,000 runs.
func BenchmarkSweepAPI(b *testing.B) { benchGet(b, "/api/sweeps/1") }

// BenchmarkSweepAPIUnchanged: the same, again, while the sweep has not
// changed (every open tab, every reload of a finished sweep).
func BenchmarkSweepAPIUnchanged(b *testing.B) { benchServe(b, "/api/sweeps/1", true) }

// BenchmarkCurves: the curves of the 5 best configurations (15 runs).
func BenchmarkCurves(b *testing.B) {
	benchGet(b, "/api/sweeps/1/curves?runs=1,2,3,16,17,18,31,32,33,46,47,48,61,62,63")
}

// BenchmarkSweeps: the sweeps page.
func BenchmarkSweeps(b *testing.B) { benchGet(b, "/") }
