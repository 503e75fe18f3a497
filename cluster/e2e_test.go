package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aexp/aexp/cluster"
	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/internal/buildtest"
)

const mnistSpec = `name = "dense-nats"
variant = "dense"
dataset = "mnist"
[budget]
epochs = 4
batch_size = 64
parallel = 4
threads = 1
train_limit = 3000
test_limit = 300
seeds = [0, 1]
[params]
hidden = [[64, 8], [64, 16]]
lr = 3e-3
[checkpoints]
keep = "best"
`

// TestEndToEndMNIST: real processes on localhost — a NATS server, the
// coordinator (aexp sweep --nats) and two aexp worker processes training
// the dense plugin on an MNIST subset. One worker is SIGKILLed mid-run;
// once its run resumed on the other worker, the coordinator is SIGKILLed
// too and started again 2 s later (it takes that delivery back). Every run
// is done exactly once, no plugin process is left, and the store holds
// what the same sweep run locally records (run keys, params, per-epoch
// metrics at equal threads, artifacts; a run taken back counts one
// attempt more).
func TestEndToEndMNIST(t *testing.T) {
	if _, err := dataset.MNISTDir(); err != nil {
		t.Fatalf("no MNIST (make test fetches it with `make mnist`): %v", err)
	}
	bin := buildtest.Binaries(t, map[string]string{"cmd/aexp": "aexp", "plugins/dense": "aexp-variant-dense"})
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME"), "AEXP_PLUGIN_DIR=", "GOMODCACHE=" + gomodcache(), "AEXP_DB="}
	worker := func() *proc {
		cmd := exec.Command(filepath.Join(bin, "aexp"), "worker", "--nats", url, "--plugin-dir", bin,
			"--parallel", "1", "--ack-wait", ackWait.String(), "--cache-dir", t.TempDir())
		cmd.Env = env
		return startProc(t, cmd)
	}
	a, b := worker(), worker()
	list := exec.Command(filepath.Join(bin, "aexp"), "workers", "--nats", url)
	list.Env = env
	out, err := list.Output()
	if err != nil || !strings.Contains(string(out), a.id) || !strings.Contains(string(out), b.id) || strings.Count(string(out), "dense ") != 2 {
		t.Fatalf("aexp workers: %v\n%s", err, out)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dense.toml"), []byte(mnistSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	sweepCmd := func(args ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, "aexp"), append([]string{"sweep", "--plugin-dir", bin, "--plain"}, args...)...)
		cmd.Dir, cmd.Env = dir, env
		return cmd
	}
	coordinator := func(log *buildtest.SyncBuffer) *exec.Cmd {
		cmd := sweepCmd("--db", "remote.db", "--nats", url, "--ack-wait", ackWait.String(), "dense.toml")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd
	}
	var clog1 buildtest.SyncBuffer
	first := coordinator(&clog1)
	victim := holding(t, url, a, b)
	// mid-run, once the state of its first epoch is recorded (it comes
	// before the second epoch's report)
	afterEpoch(t, url, victim, &clog1, 2)
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// once the run resumed on the other worker, the coordinator dies too
	for deadline := time.Now().Add(2 * time.Minute); !strings.Contains(clog1.String(), "resumed after epoch"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the run of the killed worker did not resume on the other:\n%s", &clog1)
		}
	}
	_ = first.Process.Kill()
	_ = first.Wait()
	if !strings.Contains(clog1.String(), "presumed dead") {
		t.Errorf("the run of the killed worker was not given to the other:\n%s", &clog1)
	}
	time.Sleep(2 * time.Second) // the other worker trains on for nobody
	var clog buildtest.SyncBuffer
	coord := coordinator(&clog)
	done := make(chan error)
	go func() { done <- coord.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("coordinator: %v\n%s", err, &clog)
		}
	case <-time.After(5 * time.Minute):
		_ = coord.Process.Kill()
		t.Fatalf("the sweep did not finish:\n%s", &clog)
	}
	if !strings.Contains(clog.String(), "took back delivery 2") || strings.Contains(clog.String(), "cannot take it back") {
		t.Errorf("the restarted coordinator did not take back the redelivered run:\n%s", &clog)
	}
	epochsOnce(t, filepath.Join(dir, "remote.db"), 4, 4)

	local := sweepCmd("--db", "local.db", "dense.toml")
	if out, err := local.CombinedOutput(); err != nil {
		t.Fatalf("local sweep: %v\n%s", err, out)
	}
	if d := diff(sansAttempt(content(t, filepath.Join(dir, "local.db"))), sansAttempt(content(t, filepath.Join(dir, "remote.db")))); d != "" {
		t.Fatalf("stores differ:\n%s", d)
	}
	noProcs(t, filepath.Join(bin, "aexp-variant-dense"))
}

// startProc starts a worker process and reads its id from stdout.
func startProc(t testing.TB, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{cmd: cmd, log: &buildtest.SyncBuffer{}}
	var out buildtest.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "\n") {
		if time.Now().After(deadline) {
			t.Fatalf("worker did not start:\n%s", p.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.id = strings.TrimSpace(out.String())
	return p
}

// noProcs asserts no process runs the binary at path.
func noProcs(t testing.TB, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []string
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
			if err == nil && exe == path {
				left = append(left, e.Name())
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s processes left: %v", filepath.Base(path), left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// restartSpec has runs of two speeds: when the coordinator is killed, the
// fast ones end during its downtime and the slow ones train through it.
const restartSpec = `name = "restart-coord"
variant = "test"
dataset = "sines"
[budget]
epochs = 8
parallel = 4
threads = 1
[params]
lr = [0.5, 1.0]
sleep_ms = [400, 1500]
[checkpoints]
keep = "all"
`

// startCoord runs aexp sweep --nats on dir/s.toml with dir/aexp.db.
func startCoord(t testing.TB, dir, url string) (*exec.Cmd, *buildtest.SyncBuffer) {
	t.Helper()
	bin := plugins(t)
	cmd := exec.Command(filepath.Join(bin, "aexp"), "sweep", "--plugin-dir", bin, "--plain", "--db", "aexp.db",
		"--nats", url, "--ack-wait", ackWait.String(), "s.toml")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME"), "AEXP_PLUGIN_DIR=", "AEXP_DB="}
	var log buildtest.SyncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, &log
}

// killCoordWhen SIGKILLs the coordinator once `n` runs are running with
// the training state of at least `epochs` epochs recorded (an epoch's
// metrics come before its state: waiting for them alone, a loaded machine
// killed it in between), and returns their plugin pids by run.
func killCoordWhen(t testing.TB, cmd *exec.Cmd, log *buildtest.SyncBuffer, db string, n, epochs int) map[int64]int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got int
		if _, err := os.Stat(db); err == nil {
			_ = openRO(t, db).QueryRow(`SELECT count(*) FROM runs r JOIN run_state s ON s.run_id = r.id
				WHERE r.status = 'running' AND s.epoch >= ?`, epochs).Scan(&got)
		}
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d runs at epoch %d:\n%s", n, epochs, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	pids := runPids(t, db, "WHERE status = 'running'")
	if len(pids) < n {
		t.Fatalf("%d runs running when the coordinator was killed, want %d", len(pids), n)
	}
	return pids
}

// inFlight is the runs the workers hold, by their registry labels.
func inFlight(t testing.TB, url string) map[int64]string {
	t.Helper()
	ws, err := cluster.Workers(context.Background(), cluster.ConnOptions{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for _, w := range ws {
		for _, l := range w.Runs {
			var id int64
			if _, err := fmt.Sscanf(l, "run %d", &id); err == nil {
				out[id] = w.ID
			}
		}
	}
	return out
}

// runPids is the recorded plugin pid of each run (that matches where).
func runPids(t testing.TB, db, where string) map[int64]int {
	t.Helper()
	return buildtest.QueryMap[int64, int](t, openRO(t, db), `SELECT id, coalesce(pid, 0) FROM runs `+where)
}

// sameAsLocal asserts the store at db holds what spec run locally records
// (but for the attempt count) and that no test plugin is left.
func sameAsLocal(t testing.TB, spec, db string) {
	t.Helper()
	var llog buildtest.SyncBuffer
	_, local := sweep(t, context.Background(), "", t.TempDir(), spec, &llog)
	if d := diff(sansAttempt(content(t, local)), sansAttempt(content(t, db))); d != "" {
		t.Fatalf("stores differ:\n%s", d)
	}
	noPlugins(t)
}

// sansAttempt drops the attempt column from content(): a run taken back
// by a restarted coordinator is its next attempt, as after a local crash.
func sansAttempt(rows []string) []string {
	re := regexp.MustCompile(`attempt=\d+ `)
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = re.ReplaceAllString(r, "")
	}
	return out
}

// TestCoordinatorRestart: the coordinator (aexp sweep --nats) SIGKILLed
// mid-sweep and started again (in this process, so -race covers it) after
// several epochs' worth of time takes
// back the runs its workers kept training: the plugin processes that were
// training them finish them (the store records their pids; none is
// started again), the runs that ended meanwhile are recorded from the
// events that waited in the stream, every epoch is recorded once, nothing
// trained during the downtime is trained again, training time counts the
// downtime, and the store holds what a local sweep records.
func TestCoordinatorRestart(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	var wlog buildtest.SyncBuffer
	startWorker(t, url, 2, &wlog)
	startWorker(t, url, 2, &wlog)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.toml"), []byte(restartSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "aexp.db")
	first, log1 := startCoord(t, dir, url)
	// every run has a recorded epoch: the slow ones are in their second,
	// the fast ones half-way
	pids := killCoordWhen(t, first, log1, db, 4, 1)
	time.Sleep(4 * time.Second) // the workers train on for nobody: the fast runs end
	flying := inFlight(t, url)
	var ended, live int
	for id := range pids {
		if _, ok := flying[id]; ok {
			live++
		} else {
			ended++
		}
	}
	if ended == 0 || live == 0 {
		t.Fatalf("%d run(s) ended during the downtime, %d still train; want some of each (timing?)\n%s", ended, live, log1)
	}
	// restarted in this process (so that go test -race sees it take back)
	var log2 buildtest.SyncBuffer
	sweepWith(t, context.Background(), cluster.ConnOptions{URL: url}, dir, &log2)
	epochsOnce(t, db, 4, 8)
	if n := strings.Count(log2.String(), "took back delivery"); n != len(pids) {
		t.Errorf("the restarted coordinator took back %d run(s), want %d:\n%s", n, len(pids), &log2)
	}
	if strings.Contains(log2.String(), "unknown run attempt") {
		t.Errorf("the restarted coordinator stopped a delivery:\n%s", &log2)
	}
	// the plugin that trained each run when the coordinator died finished it
	for id, pid := range runPids(t, db, "") {
		if pid != pids[id] {
			t.Errorf("run %d: recorded plugin pid %d, was %d before the restart: it was trained again\n%s", id, pid, pids[id], &log2)
		}
	}
	// resumed (in the record) from the state of before the crash; training
	// time counts the downtime
	rows, err := openRO(t, db).Query(`SELECT r.id, r.resumes, r.resumed_from, r.train_seconds, p.value_num FROM runs r
		JOIN params p ON p.run_id = r.id AND p.key = 'sleep_ms'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var resumes, from int
		var secs, sleepMS float64
		if err := rows.Scan(&id, &resumes, &from, &secs, &sleepMS); err != nil {
			t.Fatal(err)
		}
		if resumes != 1 || from < 1 {
			t.Errorf("run %d: %d resume(s) after epoch %d; want 1 after the epoch recorded before the crash", id, resumes, from)
		}
		if want := 8 * sleepMS / 1000; secs < 0.9*want {
			t.Errorf("run %d: %.1f s of training recorded, want at least %.1f s (its epochs sleep that long)", id, secs, 0.9*want)
		}
	}
	sameAsLocal(t, restartSpec, db)
}

// TestCoordinatorRestartFallback: a delivery the restarted coordinator
// cannot take back — its worker died during the downtime, or one of its
// events is gone from the stream — is stopped, and its run is queued again
// from the newest recorded state and done once.
func TestCoordinatorRestartFallback(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	a, b := startWorkerProc(t, url), startWorkerProc(t, url)
	dir := t.TempDir()
	spec := strings.Replace(fmt.Sprintf(testSpec, "restart-fallback", "0.01", 500), "epochs = 3\nseeds = [0, 1]", "epochs = 6", 1)
	if err := os.WriteFile(filepath.Join(dir, "s.toml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "aexp.db")
	first, log1 := startCoord(t, dir, url)
	pids := killCoordWhen(t, first, log1, db, 2, 2)
	// worker a dies while nobody coordinates
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// an event worker b publishes now is taken from the coordinator's
	// consumer and acked by someone else: a gap in b's delivery
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(context.Background(), cluster.EventsStream, "coord-"+cluster.CoordinatorID(db, "restart-fallback"))
	if err != nil {
		t.Fatal(err)
	}
	gap := false
	for deadline := time.Now().Add(20 * time.Second); !gap && time.Now().Before(deadline); {
		batch, err := cons.Fetch(20, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			var ev cluster.EventMsg
			if json.Unmarshal(m.Data(), &ev) == nil && ev.Worker == b.id && ev.Epoch != nil && !gap {
				if err := m.DoubleAck(context.Background()); err != nil {
					t.Fatal(err)
				}
				gap = true
			}
		}
	}
	if !gap {
		t.Fatalf("worker %s published no epoch while the coordinator was down:\n%s", b.id, b.log)
	}
	second, log2 := startCoord(t, dir, url)
	if err := second.Wait(); err != nil {
		t.Fatalf("restarted coordinator: %v\n%s\nworker:\n%s", err, log2, b.log)
	}
	epochsOnce(t, db, 2, 6)
	for _, want := range []string{"cannot take it back (worker " + a.id, "cannot take it back (the events right after epoch"} {
		if !strings.Contains(log2.String(), want) {
			t.Errorf("the restarted coordinator does not say %q:\n%s", want, log2)
		}
	}
	if strings.Contains(log2.String(), "took back delivery") {
		t.Errorf("a delivery was taken back:\n%s", log2)
	}
	for id, pid := range runPids(t, db, "") {
		if pid == pids[id] {
			t.Errorf("run %d: still recorded with plugin pid %d of before the restart", id, pid)
		}
	}
	sameAsLocal(t, spec, db)
}

// TestInterruptCoordinator: Ctrl-C on aexp sweep --nats cancels the runs on
// the workers (their plugins exit) and the sweep exits 130; a second
// Ctrl-C right after kills them at once, with the same result.
func TestInterruptCoordinator(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	var wlog buildtest.SyncBuffer
	startWorker(t, url, 2, &wlog)
	for _, twice := range []bool{false, true} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "s.toml"), []byte(fmt.Sprintf(testSpec, fmt.Sprint("int", twice), "0.01", 3000)), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd, log := startCoord(t, dir, url)
		deadline := time.Now().Add(60 * time.Second)
		for strings.Count(log.String(), "started") < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("no run started:\n%s", log)
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		if twice {
			time.Sleep(50 * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGINT)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Fatalf("twice=%v: exit %v, want 130\n%s", twice, err, log)
		}
		noPlugins(t)
	}
}
