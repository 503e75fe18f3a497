package cluster_test

// Fault tests: worker processes SIGKILLed and SIGSTOPped, cancels and
// timeouts reaching workers, the server restarted, messages that do not
// parse.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aexp/aexp/cluster"
	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/store"
)

// proc is an `aexp worker` process.
type proc struct {
	cmd *exec.Cmd
	id  string
	log *buildtest.SyncBuffer
}

// startWorkerProc runs `aexp worker` with the test plugin and waits for
// its id (printed once it is connected).
func startWorkerProc(t testing.TB, url string, extra ...string) *proc {
	t.Helper()
	bin := plugins(t)
	args := append([]string{"worker", "--nats", url, "--plugin-dir", bin, "--parallel", "1", "--threads", "1",
		"--ack-wait", ackWait.String(), "--cache-dir", t.TempDir()}, extra...)
	cmd := exec.Command(filepath.Join(bin, "aexp"), args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME"), "AEXP_PLUGIN_DIR=", "GOMODCACHE=" + gomodcache()}
	p := &proc{cmd: cmd, log: &buildtest.SyncBuffer{}}
	cmd.Stderr = p.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("worker did not start: %v\n%s", err, p.log)
	}
	p.id = strings.TrimSpace(line)
	return p
}

func gomodcache() string {
	out, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	return strings.TrimSpace(string(out))
}

// holding waits until one of the workers has a run in flight and returns it.
func holding(t testing.TB, url string, ps ...*proc) *proc {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ws, err := cluster.Workers(context.Background(), cluster.ConnOptions{URL: url})
		if err == nil {
			for _, w := range ws {
				if len(w.Runs) == 0 {
					continue
				}
				for _, p := range ps {
					if p.id == w.ID {
						return p
					}
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no worker took a run")
	return nil
}

// afterEpoch waits until the run p holds has reported epoch k.
func afterEpoch(t testing.TB, url string, p *proc, log *buildtest.SyncBuffer, k int) {
	t.Helper()
	ws, err := cluster.Workers(context.Background(), cluster.ConnOptions{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	var run string
	for _, w := range ws {
		if w.ID == p.id && len(w.Runs) > 0 {
			if f := strings.Fields(w.Runs[0]); len(f) >= 2 {
				run = f[0] + " " + f[1] // "run 3"
			}
		}
	}
	if run == "" {
		t.Fatalf("worker %s holds no run: %+v", p.id, ws)
	}
	want := fmt.Sprintf("[%s] epoch %d/", run, k)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", want, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// epochsOnce asserts every run is done with each epoch recorded once.
func epochsOnce(t testing.TB, dbPath string, runs, epochs int) {
	t.Helper()
	db := openRO(t, dbPath)
	var n, bad int
	if err := db.QueryRow(`SELECT count(*) FROM runs WHERE status = 'done' AND epochs = ?`, epochs).Scan(&n); err != nil || n != runs {
		t.Fatalf("%d of %d runs done with %d epochs (%v): %v", n, runs, epochs, err, statusCounts(t, dbPath))
	}
	if err := db.QueryRow(`SELECT count(*) FROM (SELECT run_id, epoch, count(*) c FROM metrics WHERE key = 'train_loss' GROUP BY run_id, epoch) WHERE c != 1`).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("%d epochs recorded more than once (%v)", bad, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM metrics WHERE key = 'train_loss'`).Scan(&n); err != nil || n != runs*epochs {
		t.Fatalf("%d train_loss rows, want %d (%v)", n, runs*epochs, err)
	}
}

// TestWorkerKilled: a worker SIGKILLed mid-run loses its run to the other
// worker after the ack wait; every run ends done with each epoch once, the
// same as a local sweep, and the dead worker's plugin is gone too.
func TestWorkerKilled(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	a, b := startWorkerProc(t, url), startWorkerProc(t, url)
	spec := fmt.Sprintf(testSpec, "killed", "0.01", 600)
	var clog buildtest.SyncBuffer
	type out struct {
		db string
	}
	done := make(chan out)
	go func() {
		_, db := sweep(t, context.Background(), url, t.TempDir(), spec, &clog)
		done <- out{db}
	}()
	victim := holding(t, url, a, b)
	// kill it in its last epoch: the state of the first is recorded (it
	// comes before the second epoch's report)
	afterEpoch(t, url, victim, &clog, 2)
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	o := <-done
	epochsOnce(t, o.db, 4, 3)
	if !strings.Contains(clog.String(), "presumed dead") {
		t.Errorf("coordinator log does not tell of the redelivery:\n%s", &clog)
	}
	if !strings.Contains(clog.String(), "resumed after epoch") {
		t.Errorf("the redelivered run did not resume from its training state:\n%s", &clog)
	}
	// the store records the move: the run resumed after the epoch of its last state
	var resumes, from int
	if err := openRO(t, o.db).QueryRow(`SELECT coalesce(sum(resumes), 0), coalesce(max(resumed_from), 0) FROM runs`).Scan(&resumes, &from); err != nil {
		t.Fatal(err)
	}
	if resumes != 1 || from < 1 {
		t.Errorf("runs record %d resume(s), the latest after epoch %d; want 1 after epoch >= 1", resumes, from)
	}
	var llog buildtest.SyncBuffer
	_, local := sweep(t, context.Background(), "", t.TempDir(), spec, &llog)
	if d := diff(content(t, local), content(t, o.db)); d != "" {
		t.Fatalf("stores differ:\n%s", d)
	}
	noPlugins(t)
}

// noPlugins asserts no test plugin process is left (a killed worker's
// plugin dies with it: Pdeathsig).
func noPlugins(t testing.TB) {
	t.Helper()
	noProcs(t, filepath.Join(plugins(t), "aexp-variant-test"))
}

// TestFencingPausedWorker: a worker paused (SIGSTOP) past the ack wait
// loses its run to the other worker; resumed (SIGCONT), its late events are
// dropped and it stops the run without acking it. Each epoch is recorded
// once and the store equals a local sweep's.
func TestFencingPausedWorker(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	a, b := startWorkerProc(t, url), startWorkerProc(t, url)
	spec := fmt.Sprintf(testSpec, "paused", "0.01", 400)
	var clog buildtest.SyncBuffer
	done := make(chan string)
	go func() {
		_, db := sweep(t, context.Background(), url, t.TempDir(), spec, &clog)
		done <- db
	}()
	victim := holding(t, url, a, b)
	if err := victim.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(clog.String(), "presumed dead") {
		if time.Now().After(deadline) {
			t.Fatalf("the run was not given to another worker:\n%s", &clog)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // its plugin went on meanwhile
	if err := victim.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	db := <-done
	epochsOnce(t, db, 4, 3)
	// the fence holds on the coordinator (late events dropped) or, when the
	// stop reached the worker first, on the worker (nothing published)
	if !strings.Contains(clog.String(), "dropped a late event") && !strings.Contains(victim.log.String(), "was given to another worker") {
		t.Errorf("neither did the coordinator drop a late event nor did the paused worker stop its run:\ncoordinator:\n%s\nworker:\n%s", &clog, victim.log)
	}
	var llog buildtest.SyncBuffer
	_, local := sweep(t, context.Background(), "", t.TempDir(), spec, &llog)
	if d := diff(content(t, local), content(t, db)); d != "" {
		t.Fatalf("stores differ:\n%s\ncoordinator:\n%s", d, &clog)
	}
	noPlugins(t)
}

// TestCancelReachesWorkers: stopping the sweep (Ctrl-C) and a run's timeout
// kill the plugin processes on the workers.
func TestCancelReachesWorkers(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	var wlog buildtest.SyncBuffer
	startWorker(t, url, 2, &wlog)
	t.Run("interrupt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var clog buildtest.SyncBuffer
		done := make(chan string)
		go func() {
			_, db := sweep(t, ctx, url, t.TempDir(), fmt.Sprintf(testSpec, "interrupt", "0.01", 2000), &clog)
			done <- db
		}()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ws, _ := cluster.Workers(context.Background(), cluster.ConnOptions{URL: url})
			if len(ws) == 1 && len(ws[0].Runs) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("workers: %+v", ws)
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		cancel()
		db := <-done
		if c := statusCounts(t, db); c[store.StatusCanceled] != 2 || c[store.StatusQueued] != 2 {
			t.Fatalf("statuses %v\n%s", c, &clog)
		}
		noPlugins(t)
	})
	t.Run("timeout", func(t *testing.T) {
		var clog buildtest.SyncBuffer
		spec := fmt.Sprintf(testSpec, "timeout", "0.01", 3000) + "\n"
		spec = strings.Replace(spec, "threads = 1\n", "threads = 1\ntimeout = \"1s\"\nattempts = 1\n", 1)
		res, db := sweep(t, context.Background(), url, t.TempDir(), spec, &clog)
		if res.Counts[store.StatusTimedOut] != 4 {
			t.Fatalf("counts %v\n%s", statusCounts(t, db), &clog)
		}
		noPlugins(t)
	})
}

// TestBadMessages: messages that do not parse or name unknown runs are
// logged and dropped; neither the coordinator nor a worker crashes, and
// the store gets nothing from them.
func TestBadMessages(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	var wlog, clog buildtest.SyncBuffer
	stop := startWorker(t, url, 1, &wlog)
	dir := t.TempDir()
	ctx := context.Background()
	coord := cluster.CoordinatorID(filepath.Join(dir, "aexp.db"), "bad")
	rem, err := cluster.NewRemote(ctx, cluster.RemoteOptions{Conn: cluster.ConnOptions{URL: url}, ID: coord, Log: &clog})
	if err != nil {
		t.Fatal(err)
	}
	if err := rem.Listen(ctx); err != nil { // Train would
		t.Fatal(err)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	// the worker registers itself shortly after it starts
	var ws []cluster.WorkerInfo
	for deadline := time.Now().Add(20 * time.Second); len(ws) != 1; time.Sleep(100 * time.Millisecond) {
		if ws, _ = cluster.Workers(ctx, cluster.ConnOptions{URL: url}); len(ws) != 1 && time.Now().After(deadline) {
			t.Fatalf("workers %v", ws)
		}
	}
	hash := ws[0].Variants[0].Hash
	garbage := [][]byte{nil, []byte("{"), []byte(`{"v":1}`), []byte(`{"v":2,"token":"x"}`), []byte("\xff\x00"),
		[]byte(`{"v":1,"token":"1-1-deadbeef","delivery":1,"seq":1,"worker":"w","epoch":{"epoch":1,"metrics":{"train_loss":1}}}`),
		[]byte(`{"v":1,"token":"1-1-deadbeef","delivery":1,"seq":1,"worker":"w","end":{"kind":"ok"}}`),
		[]byte(`{"v":1,"coord":"` + coord + `","token":"9-1-ab","run":9,"variant":"test","hash":"` + hash + `"}`)}
	for _, g := range garbage {
		for _, subj := range []string{"aexp.ev." + coord, "aexp.start." + coord, "aexp.hb." + coord, "aexp.ctl." + ws[0].ID} {
			if strings.HasPrefix(subj, "aexp.ev.") {
				if _, err := js.Publish(subj, g); err != nil {
					t.Fatal(err)
				}
				continue
			}
			_ = nc.Publish(subj, g)
		}
		if _, err := js.Publish(cluster.RunSubject("test", hash), g); err != nil {
			t.Fatal(err)
		}
	}
	_ = nc.Flush()
	time.Sleep(2 * time.Second)
	rem.Close()
	for _, want := range []string{"does not parse", "unknown run attempt"} {
		if !strings.Contains(clog.String()+wlog.String(), want) {
			t.Errorf("logs do not say %q:\ncoordinator:\n%s\nworker:\n%s", want, &clog, &wlog)
		}
	}
	// a whole delivery of run 1 that no coordinator gave out, from a worker
	// that is not registered, waits in the stream: the sweep must not take
	// it back
	for i, ev := range []string{`"started":{"pid":1,"host":"h","threads":1}`,
		`"epoch":{"epoch":1,"metrics":{"train_loss":12345,"val_loss":12345}}`, `"final":{"metrics":{"test_mse":12345}}`, `"end":{"kind":"ok"}`} {
		msg := fmt.Sprintf(`{"v":1,"token":"1-1-abcdef","delivery":1,"seq":%d,"worker":"forger",%s}`, i+1, ev)
		if _, err := js.Publish("aexp.ev."+coord, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	// both still work: a sweep runs through them
	res, db := sweep(t, ctx, url, dir, fmt.Sprintf(testSpec, "bad", "0.01", 0), &clog)
	if res.Counts[store.StatusDone] != 4 {
		t.Fatalf("counts %v\n%s", res.Counts, &clog)
	}
	epochsOnce(t, db, 4, 3)
	var forged int
	if err := openRO(t, db).QueryRow(`SELECT count(*) FROM metrics WHERE value = 12345`).Scan(&forged); err != nil || forged != 0 {
		t.Errorf("%d forged metric(s) recorded (%v):\n%s", forged, err, &clog)
	}
	if !strings.Contains(clog.String(), "cannot take it back (worker forger is gone") {
		t.Errorf("the coordinator does not say why it did not take the forged delivery back:\n%s", &clog)
	}
	stop()
}

// TestServerRestart: the NATS server restarted mid-sweep (same store dir):
// workers stop their runs when the connection drops, everyone reconnects,
// the runs are given out again and the sweep completes with each epoch
// recorded once.
func TestServerRestart(t *testing.T) {
	storeDir := t.TempDir()
	ns := startServer(t, storeDir, 0)
	url := ns.ClientURL()
	port := ns.Addr().(*net.TCPAddr).Port
	var wlog, clog buildtest.SyncBuffer
	startWorker(t, url, 2, &wlog)
	startWorker(t, url, 2, &wlog)
	done := make(chan string)
	go func() {
		_, db := sweep(t, context.Background(), url, t.TempDir(), fmt.Sprintf(testSpec, "restart", "0.01", 500), &clog)
		done <- db
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(clog.String(), "epoch 1/3") {
		if time.Now().After(deadline) {
			t.Fatalf("no epoch:\n%s", &clog)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	time.Sleep(500 * time.Millisecond)
	startServer(t, storeDir, port)
	select {
	case db := <-done:
		epochsOnce(t, db, 4, 3)
	case <-time.After(2 * time.Minute):
		t.Fatalf("the sweep did not complete after the restart:\ncoordinator:\n%s\nworkers:\n%s", &clog, &wlog)
	}
	if !strings.Contains(wlog.String(), "lost the connection") {
		t.Errorf("workers did not stop their runs:\n%s", &wlog)
	}
	noPlugins(t)
}

// TestNoWorkerCanTake: a worker holding another build of the variant (a
// different binary hash) never takes the run, and the sweep says why.
func TestNoWorkerCanTake(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	other := filepath.Join(t.TempDir(), "aexp-variant-test")
	data, err := os.ReadFile(filepath.Join(plugins(t), "aexp-variant-test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, append(data, 0), 0o755); err != nil { // same program, another hash
		t.Fatal(err)
	}
	var wlog, clog buildtest.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := cluster.NewWorker(ctx, cluster.WorkerOptions{Conn: cluster.ConnOptions{URL: url},
		Plugins: map[string]string{"test": other}, Slots: 1, AckWait: ackWait, Log: &wlog})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.Run(ctx) }()
	time.Sleep(time.Second) // registered
	sctx, scancel := context.WithCancel(context.Background())
	done := make(chan string)
	go func() {
		_, db := sweep(t, sctx, url, t.TempDir(), fmt.Sprintf(testSpec, "nowhere", "0.01", 0), &clog)
		done <- db
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(clog.String(), "no live worker can take run") {
		if time.Now().After(deadline) {
			t.Fatalf("the sweep does not say that no worker can take its runs:\n%s", &clog)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(clog.String(), w.ID()+" has test 0.1.0") {
		t.Errorf("the message does not name the worker's build:\n%s", &clog)
	}
	time.Sleep(time.Second)
	scancel()
	db := <-done
	if c := statusCounts(t, db); c[store.StatusQueued] != 4 {
		t.Fatalf("statuses %v", c)
	}
}

// TestDebianServer runs a sweep through the nats-server binary on PATH
// (Debian's package in CI), so interop with a real server is proven.
func TestDebianServer(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/nats-server"); err2 != nil {
			t.Skip("nats-server is not installed (apt-get install nats-server)")
		}
		bin = "/usr/sbin/nats-server"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	srv := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-sd", t.TempDir())
	var slog buildtest.SyncBuffer
	srv.Stdout, srv.Stderr = &slog, &slog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server did not start:\n%s", &slog)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var wlog, clog, llog buildtest.SyncBuffer
	startWorker(t, url, 2, &wlog)
	startWorker(t, url, 2, &wlog)
	spec := fmt.Sprintf(testSpec, "debian", "[0.01, 0.6]", 0)
	res, db := sweep(t, context.Background(), url, t.TempDir(), spec, &clog)
	if res.Counts[store.StatusDone] != 8 {
		t.Fatalf("counts %v\ncoordinator:\n%s\nworkers:\n%s\nserver:\n%s", res.Counts, &clog, &wlog, &slog)
	}
	_, local := sweep(t, context.Background(), "", t.TempDir(), spec, &llog)
	if d := diff(content(t, local), content(t, db)); d != "" {
		t.Fatalf("stores differ:\n%s", d)
	}
}

// TestPruneOnWorkers: an ASHA decision of the coordinator stops the run on
// its worker at the rung, with its checkpoint kept, as a local sweep does.
func TestPruneOnWorkers(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	var wlog, clog buildtest.SyncBuffer
	startWorker(t, ns.ClientURL(), 1, &wlog)
	// parallel = 1 keeps ASHA's decisions deterministic: run 1 (lr 2) sets
	// the bar at epoch 1, run 2 (lr 0.05) is far behind and stops there
	res, db := sweep(t, context.Background(), ns.ClientURL(), t.TempDir(), `name = "asha"
variant = "test"
dataset = "sines"
[budget]
epochs = 4
parallel = 1
[params]
lr = [2.0, 0.05, 1.9]
sleep_ms = 300
[early_stop]
method = "asha"
grace_epochs = 1
reduction = 2
[checkpoints]
keep = "all"
`, &clog)
	if res.Counts[store.StatusPruned] < 1 {
		t.Fatalf("counts %v\n%s", res.Counts, &clog)
	}
	s := openRO(t, db)
	var status, msg string
	var epochs, ckpts int
	if err := s.QueryRow(`SELECT status, epochs, error, (SELECT count(*) FROM artifacts WHERE run_id = 2 AND kind = 'checkpoint') FROM runs WHERE id = 2`).
		Scan(&status, &epochs, &msg, &ckpts); err != nil {
		t.Fatal(err)
	}
	if status != store.StatusPruned || epochs != 1 || !strings.Contains(msg, "pruned at epoch 1 of 4 by asha") || ckpts != 1 {
		t.Fatalf("run 2: %s at epoch %d (%q), %d checkpoints\n%s", status, epochs, msg, ckpts, &clog)
	}
	noPlugins(t)
}

// TestLostDelivery: a worker that acks a run's message at once and then
// goes silent (what a late ack taken for a redelivery's does, nats-server
// issue #4786: JetStream considers the run done) does not lose the run: the
// coordinator hears nothing from it, queues the run again under a new
// token, and a real worker trains it.
func TestLostDelivery(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	ctx := context.Background()
	bin := plugins(t)
	plug, err := orchestrator.LoadPlugin(ctx, filepath.Join(bin, "aexp-variant-test"))
	if err != nil {
		t.Fatal(err)
	}
	// the rogue worker binds the run consumer as a worker would
	c, err := cluster.Connect(ctx, cluster.ConnOptions{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cons, err := c.JS.CreateOrUpdateConsumer(ctx, cluster.RunsStream, jetstream.ConsumerConfig{
		Durable: "run-test-" + plug.Hash[:16], FilterSubject: cluster.RunSubject("test", plug.Hash),
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait, MaxDeliver: -1})
	if err != nil {
		t.Fatal(err)
	}
	var clog, wlog buildtest.SyncBuffer
	done := make(chan string)
	go func() {
		_, db := sweep(t, ctx, url, t.TempDir(), `name = "lost"
variant = "test"
dataset = "sines"
[budget]
epochs = 2
`, &clog)
		done <- db
	}()
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := <-batch.Messages()
	if !ok {
		t.Fatalf("no run queued: %v\n%s", batch.Error(), &clog)
	}
	var rm cluster.RunMsg
	if err := json.Unmarshal(m.Data(), &rm); err != nil {
		t.Fatal(err)
	}
	reply, err := c.NC.Request("aexp.start."+rm.Coord, []byte(fmt.Sprintf(
		`{"v":1,"token":%q,"delivery":1,"worker":"rogue","host":"nowhere"}`, rm.Token)), 10*time.Second)
	if err != nil || !strings.Contains(string(reply.Data), `"ok":true`) {
		t.Fatalf("start: %v %s", err, reply.Data)
	}
	if err := m.DoubleAck(ctx); err != nil { // the message is gone from the queue
		t.Fatal(err)
	}
	startWorker(t, url, 1, &wlog)
	select {
	case db := <-done:
		epochsOnce(t, db, 1, 2)
	case <-time.After(90 * time.Second):
		t.Fatalf("the run was lost:\n%s", &clog)
	}
	if !strings.Contains(clog.String(), "no word from worker rogue") {
		t.Errorf("the coordinator did not notice the silent worker:\n%s", &clog)
	}
}
