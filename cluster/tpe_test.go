package cluster_test

// Model-based search (method = "tpe") over NATS: the engine proposes on the
// coordinator, the testfn plugin evaluates on two workers.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aexp/aexp/cluster"
	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/store"
)

const tpeSpec = `name = "tpe"
variant = "testfn"
dataset = "sines"
[objective]
metric = "val_loss"
[search]
method = "tpe"
seed = 5
samples = 14
startup = 5
[budget]
epochs = 2
parallel = %d
threads = 1
[params]
problem = "branin"
x1 = { distribution = "uniform", min = -5.0, max = 10.0 }
x2 = { distribution = "uniform", min = 0.0, max = 15.0 }
`

func testfnPlugin(t testing.TB) map[string]string {
	dir := buildtest.Binaries(t, map[string]string{"plugins/testfn": "aexp-variant-testfn"})
	return map[string]string{"testfn": filepath.Join(dir, "aexp-variant-testfn")}
}

// tpeSweep runs the spec through the engine, on the workers behind url
// when it is set, and returns the runs in the order they were recorded.
func tpeSweep(t *testing.T, url, spec string, log *buildtest.SyncBuffer) (*orchestrator.Result, []store.RunSummary, map[int64]string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.toml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	res, dbPath := sweepPlugins(t, ctx, cluster.ConnOptions{URL: url}, dir, testfnPlugin(t), log)
	db, err := store.OpenReadOnly(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.ListRuns(ctx, store.RunFilter{SweepID: res.SweepID})
	if err != nil {
		t.Fatal(err)
	}
	sources := map[int64]string{}
	for _, r := range runs {
		rec, err := db.GetRun(ctx, r.RunID)
		if err != nil {
			t.Fatal(err)
		}
		sources[r.RunID] = rec.Source
	}
	return res, runs, sources
}

// A TPE sweep on two workers records its startup and model runs; at
// parallel 1 (each proposal sees every result before it) it proposes
// exactly what the same sweep proposes locally: same run keys, params,
// sources and values, in the same order. At parallel 2 it completes with
// distinct configurations.
func TestTPEOnWorkers(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	var wlog, clog, llog buildtest.SyncBuffer
	startWorkerPlugins(t, ns.ClientURL(), 2, testfnPlugin(t), &wlog)
	startWorkerPlugins(t, ns.ClientURL(), 2, testfnPlugin(t), &wlog)

	res, remote, rsrc := tpeSweep(t, ns.ClientURL(), fmt.Sprintf(tpeSpec, 1), &clog)
	if res.Counts[store.StatusDone] != 14 || res.Failed() > 0 || len(remote) != 14 {
		t.Fatalf("counts %v, %d runs\ncoordinator:\n%s\nworkers:\n%s", res.Counts, len(remote), &clog, &wlog)
	}
	_, local, lsrc := tpeSweep(t, "", fmt.Sprintf(tpeSpec, 1), &llog)
	if len(local) != len(remote) {
		t.Fatalf("local sweep: %d runs, on workers %d", len(local), len(remote))
	}
	for i, r := range remote {
		l := local[i]
		want := orchestrator.SourceModel
		if i < 5 {
			want = orchestrator.SourceStartup
		}
		if rsrc[r.RunID] != want {
			t.Errorf("run %d on workers: source %q, want %q", i+1, rsrc[r.RunID], want)
		}
		if r.RunKey != l.RunKey || rsrc[r.RunID] != lsrc[l.RunID] || fmt.Sprint(r.Params) != fmt.Sprint(l.Params) ||
			r.BestObjective == nil || l.BestObjective == nil || *r.BestObjective != *l.BestObjective {
			t.Errorf("run %d: on workers %s %s %v, locally %s %s %v", i+1, r.RunKey, rsrc[r.RunID], r.Params, l.RunKey, lsrc[l.RunID], l.Params)
		}
	}

	var plog buildtest.SyncBuffer
	res, par, psrc := tpeSweep(t, ns.ClientURL(), fmt.Sprintf(tpeSpec, 2), &plog)
	if res.Counts[store.StatusDone] != 14 || len(par) != 14 {
		t.Fatalf("parallel 2: counts %v, %d runs\n%s", res.Counts, len(par), &plog)
	}
	// (a configuration drawn while fewer than 5 had finished is random
	// too: startup counts finished results, not proposals)
	keys, bySource := map[string]bool{}, map[string]int{}
	for _, r := range par {
		keys[r.RunKey] = true
		bySource[psrc[r.RunID]]++
	}
	if len(keys) != 14 || bySource[orchestrator.SourceStartup] < 5 || bySource[orchestrator.SourceModel] < 1 ||
		bySource[orchestrator.SourceStartup]+bySource[orchestrator.SourceModel] != 14 {
		t.Errorf("parallel 2: %d distinct run keys, sources %v; want 14, at least 5 startup and the rest model", len(keys), bySource)
	}
}
