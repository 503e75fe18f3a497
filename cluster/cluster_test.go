package cluster_test

// Integration tests against an embedded JetStream server (nats-server's Go
// package, a temp store dir, a random port on 127.0.0.1), real plugin
// processes (internal/testplugin) and a real SQLite store.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	_ "github.com/mattn/go-sqlite3"

	"github.com/aexp/aexp/cluster"
	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/store"
)

// ackWait is short so that redelivery tests take seconds.
const ackWait = 2 * time.Second

// startServer runs an embedded JetStream server on a random port. port 0
// picks one; a given port (and storeDir) restarts a server where an earlier
// one was.
func startServer(t testing.TB, storeDir string, port int) *server.Server {
	t.Helper()
	return startServerWith(t, &server.Options{JetStream: true}, storeDir, port)
}

// startServerWith starts a server with opts (a config file's, say) on
// 127.0.0.1.
func startServerWith(t testing.TB, opts *server.Options, storeDir string, port int) *server.Server {
	t.Helper()
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts.Host, opts.Port, opts.StoreDir, opts.NoLog, opts.NoSigs = "127.0.0.1", port, storeDir, true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// plugins builds the test plugin (as variant "test") and aexp once.
func plugins(t testing.TB) string {
	return buildtest.Binaries(t, map[string]string{"cmd/aexp": "aexp", "internal/testplugin": "aexp-variant-test"})
}

// startWorker runs an in-process worker offering the test plugin until the
// test ends (or stop).
func startWorker(t testing.TB, url string, slots int, log *buildtest.SyncBuffer) (stop func()) {
	t.Helper()
	return startWorkerPlugins(t, url, slots, map[string]string{"test": filepath.Join(plugins(t), "aexp-variant-test")}, log)
}

// startWorkerPlugins runs an in-process worker offering the given plugins.
func startWorkerPlugins(t testing.TB, url string, slots int, pl map[string]string, log *buildtest.SyncBuffer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := cluster.NewWorker(ctx, cluster.WorkerOptions{Conn: cluster.ConnOptions{URL: url},
		Plugins: pl, Slots: slots, Threads: 1, AckWait: ackWait, CacheDir: t.TempDir(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// sweep runs spec text through the engine: remotely when url is set,
// locally otherwise. It returns the result and the store's path.
func sweep(t testing.TB, ctx context.Context, url, dir, text string, log *buildtest.SyncBuffer) (*orchestrator.Result, string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "s.toml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return sweepWith(t, ctx, cluster.ConnOptions{URL: url}, dir, log)
}

// sweepWith runs dir/s.toml with the test plugin, remotely when co.URL is
// set.
func sweepWith(t testing.TB, ctx context.Context, co cluster.ConnOptions, dir string, log *buildtest.SyncBuffer) (*orchestrator.Result, string) {
	t.Helper()
	return sweepPlugins(t, ctx, co, dir, map[string]string{"test": filepath.Join(plugins(t), "aexp-variant-test")}, log)
}

// sweepPlugins runs dir/s.toml with the given plugins (variant -> path),
// remotely when co.URL is set, and returns the result and the store's path.
func sweepPlugins(t testing.TB, ctx context.Context, co cluster.ConnOptions, dir string, pl map[string]string, log *buildtest.SyncBuffer) (*orchestrator.Result, string) {
	t.Helper()
	res, dbPath, err := sweepExec(t, ctx, co, dir, pl, log, nil)
	if err != nil {
		t.Fatalf("sweep: %v\n%s", err, log)
	}
	return res, dbPath
}

// sweepExec is sweepPlugins with the engine's error returned; wrap, if not
// nil, stands between the engine and the Remote.
func sweepExec(t testing.TB, ctx context.Context, co cluster.ConnOptions, dir string, pl map[string]string, log *buildtest.SyncBuffer,
	wrap func(*cluster.Remote) orchestrator.Executor) (*orchestrator.Result, string, error) {
	t.Helper()
	spec, err := orchestrator.ParseFile(filepath.Join(dir, "s.toml"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := orchestrator.Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	checked, err := orchestrator.Check(ctx, plan, pl)
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "aexp.db")
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opts := orchestrator.Options{Log: log}
	if co.URL != "" {
		rem, err := cluster.NewRemote(ctx, cluster.RemoteOptions{Conn: co,
			ID: cluster.CoordinatorID(dbPath, spec.Name), AckWait: ackWait, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		defer rem.Close()
		opts.Executor = rem
		if wrap != nil {
			opts.Executor = wrap(rem)
		}
	}
	res, err := orchestrator.NewEngine(checked, db, opts).Run(ctx)
	return res, dbPath, err
}

func openRO(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// content is what must be identical between a local and a distributed
// sweep: run keys, status, params, attempts, per-epoch metrics (without the
// timing ones), final metrics, artifact hashes.
func content(t testing.TB, path string) []string {
	t.Helper()
	db := openRO(t, path)
	var out []string
	q := func(query string) {
		rows, err := db.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%s=%v ", cols[i], v)
			}
			out = append(out, b.String())
		}
	}
	q(`SELECT r.run_key, r.status, r.attempt, r.epochs, r.params_json FROM runs r ORDER BY r.run_key`)
	q(`SELECT r.run_key, m.key, m.epoch, m.value FROM metrics m JOIN runs r ON r.id = m.run_id
	   WHERE m.key NOT IN ('epoch_seconds', 'samples_per_second') ORDER BY r.run_key, m.key, m.epoch`)
	q(`SELECT r.run_key, a.kind, a.name, a.epoch, a.size, a.sha256 FROM artifacts a JOIN runs r ON r.id = a.run_id
	   ORDER BY r.run_key, a.kind, a.name, a.epoch`)
	return out
}

func diff(a, b []string) string {
	var d []string
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			d = append(d, fmt.Sprintf("local:  %s\nremote: %s", x, y))
		}
		if len(d) > 5 {
			break
		}
	}
	return strings.Join(d, "\n")
}

func statusCounts(t testing.TB, path string) map[string]int {
	t.Helper()
	return buildtest.QueryMap[string, int](t, openRO(t, path), `SELECT status, count(*) FROM runs GROUP BY status`)
}

const testSpec = `name = "%s"
variant = "test"
dataset = "sines"
[budget]
epochs = 3
seeds = [0, 1]
parallel = 4
threads = 1
[params]
lr = [0.5, 1.0]
artifact_mb = %s
sleep_ms = %d
[checkpoints]
keep = "all"
`

// TestSweepOnWorkers: a sweep over two workers records the same store
// content as the same sweep run locally, artifacts above the inline limit
// included (they go through the object store).
func TestSweepOnWorkers(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	var wlog, clog, llog buildtest.SyncBuffer
	startWorker(t, ns.ClientURL(), 2, &wlog)
	startWorker(t, ns.ClientURL(), 2, &wlog)
	ctx := context.Background()
	spec := fmt.Sprintf(testSpec, "onworkers", "[0.01, 0.6]", 20)
	res, remote := sweep(t, ctx, ns.ClientURL(), t.TempDir(), spec, &clog)
	if res.Counts[store.StatusDone] != 8 || res.Failed() > 0 {
		t.Fatalf("counts %v\ncoordinator:\n%s\nworkers:\n%s", res.Counts, &clog, &wlog)
	}
	_, local := sweep(t, ctx, "", t.TempDir(), spec, &llog)
	a, b := content(t, local), content(t, remote)
	if len(a) == 0 || diff(a, b) != "" {
		t.Fatalf("stores differ (%d vs %d rows):\n%s", len(a), len(b), diff(a, b))
	}
	hosts := openRO(t, remote)
	var n int
	if err := hosts.QueryRow(`SELECT count(*) FROM runs WHERE host != '' AND pid > 0`).Scan(&n); err != nil || n != 8 {
		t.Fatalf("runs with host and pid: %d, %v", n, err)
	}
}

// TestLeastPrivilege runs a sweep through a server configured with
// testdata/least-privilege.conf (the README's setup): the coordinator and
// the workers authenticate as their users and need nothing more than the
// subjects listed there; artifacts and requests above the inline limit
// take the object store path.
func TestLeastPrivilege(t *testing.T) {
	opts, err := server.ProcessConfigFile("testdata/least-privilege.conf")
	if err != nil {
		t.Fatal(err)
	}
	url := startServerWith(t, opts, t.TempDir(), 0).ClientURL()
	coord := cluster.ConnOptions{URL: url, User: "coordinator", Password: "coordinator-secret"}
	// the coordinator creates the streams and buckets first
	if _, err := cluster.Workers(context.Background(), coord); err != nil {
		t.Fatal(err)
	}
	var wlog, clog buildtest.SyncBuffer
	bin := plugins(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		w, err := cluster.NewWorker(ctx, cluster.WorkerOptions{Conn: cluster.ConnOptions{URL: url, User: "worker", Password: "worker-secret"},
			Plugins: map[string]string{"test": filepath.Join(bin, "aexp-variant-test")}, Slots: 2, AckWait: ackWait,
			CacheDir: t.TempDir(), Log: &wlog})
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = w.Run(ctx) }()
	}
	// a worker may not pose as a coordinator
	if _, err := cluster.NewRemote(ctx, cluster.RemoteOptions{Conn: cluster.ConnOptions{URL: url, User: "worker", Password: "worker-secret"},
		ID: "cforged"}); err == nil {
		t.Error("a worker's credentials started a coordinator")
	}
	dir := t.TempDir()
	specPath := filepath.Join(dir, "s.toml")
	if err := os.WriteFile(specPath, []byte(fmt.Sprintf(testSpec, "leastpriv", "[0.01, 0.6]", 0)), 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ := sweepWith(t, ctx, coord, dir, &clog)
	if res.Counts[store.StatusDone] != 8 {
		t.Fatalf("counts %v\ncoordinator:\n%s\nworkers:\n%s", res.Counts, &clog, &wlog)
	}
	ws, err := cluster.Workers(ctx, coord)
	if err != nil || len(ws) != 2 {
		t.Fatalf("workers %v, %v", ws, err)
	}
}

// TestDatasetFile: a csv: file named in the spec is published once by the
// coordinator (by sha256) and fetched by the workers, which train on their
// copy.
func TestDatasetFile(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	var wlog, clog buildtest.SyncBuffer
	bin := plugins(t)
	cache := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := cluster.NewWorker(ctx, cluster.WorkerOptions{Conn: cluster.ConnOptions{URL: ns.ClientURL()},
		Plugins: map[string]string{"test": filepath.Join(bin, "aexp-variant-test")}, Slots: 2, AckWait: ackWait,
		CacheDir: cache, Log: &wlog})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.Run(ctx) }()
	dir := t.TempDir()
	var csv strings.Builder
	for i := range 50 {
		fmt.Fprintf(&csv, "%d,%d,%d,%d\n", i, i+1, i+2, i+3)
	}
	if err := os.WriteFile(filepath.Join(dir, "series.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := strings.Replace(fmt.Sprintf(testSpec, "csvdata", "0.01", 0), `dataset = "sines"`, `dataset = "csv:series.csv"`, 1)
	res, _ := sweep(t, ctx, ns.ClientURL(), dir, spec, &clog)
	if res.Counts[store.StatusDone] != 4 {
		t.Fatalf("counts %v\ncoordinator:\n%s\nworker:\n%s", res.Counts, &clog, &wlog)
	}
	sum := sha256.Sum256([]byte(csv.String()))
	got, err := os.ReadFile(filepath.Join(cache, hex.EncodeToString(sum[:]), "series.csv"))
	if err != nil || string(got) != csv.String() {
		t.Fatalf("the worker's copy of the dataset: %v", err)
	}
}
