package cluster_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
// the dense plugin on an MNIST subset. One worker is SIGKILLed mid-run.
// Every run is done exactly once, no plugin process is left, and the store
// holds what the same sweep run locally records (run keys, params,
// per-epoch metrics at equal threads, artifacts).
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
	coord := sweepCmd("--db", "remote.db", "--nats", url, "--ack-wait", ackWait.String(), "dense.toml")
	var clog buildtest.SyncBuffer
	coord.Stdout, coord.Stderr = &clog, &clog
	if err := coord.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- coord.Wait() }()
	victim := holding(t, url, a, b)
	// mid-run, once the state of its first epoch is recorded (it comes
	// before the second epoch's report)
	afterEpoch(t, url, victim, &clog, 2)
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("coordinator: %v\n%s", err, &clog)
		}
	case <-time.After(5 * time.Minute):
		_ = coord.Process.Kill()
		t.Fatalf("the sweep did not finish:\n%s", &clog)
	}
	if !strings.Contains(clog.String(), "presumed dead") {
		t.Errorf("the run of the killed worker was not given to the other:\n%s", &clog)
	}
	if !strings.Contains(clog.String(), "resumed after epoch") {
		t.Errorf("the redelivered run did not resume from its training state:\n%s", &clog)
	}
	epochsOnce(t, filepath.Join(dir, "remote.db"), 4, 4)

	local := sweepCmd("--db", "local.db", "dense.toml")
	if out, err := local.CombinedOutput(); err != nil {
		t.Fatalf("local sweep: %v\n%s", err, out)
	}
	if d := diff(content(t, filepath.Join(dir, "local.db")), content(t, filepath.Join(dir, "remote.db"))); d != "" {
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

// TestCoordinatorRestart: the coordinator (aexp sweep --nats) SIGKILLed
// mid-sweep and started again finishes the sweep: the workers' runs of the
// dead coordinator are stopped, and every run ends done with each epoch
// recorded once.
func TestCoordinatorRestart(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	var wlog buildtest.SyncBuffer
	startWorker(t, url, 2, &wlog)
	startWorker(t, url, 2, &wlog)
	bin := plugins(t)
	dir := t.TempDir()
	spec := strings.Replace(fmt.Sprintf(testSpec, "restart-coord", "0.01", 400), "epochs = 3", "epochs = 4", 1)
	if err := os.WriteFile(filepath.Join(dir, "s.toml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	coord := func() (*exec.Cmd, *buildtest.SyncBuffer) {
		cmd := exec.Command(filepath.Join(bin, "aexp"), "sweep", "--plugin-dir", bin, "--plain", "--db", "aexp.db",
			"--nats", url, "--ack-wait", ackWait.String(), "s.toml")
		cmd.Dir = dir
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME"), "AEXP_PLUGIN_DIR=", "AEXP_DB="}
		var log buildtest.SyncBuffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &log
	}
	first, log1 := coord()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(log1.String(), "epoch 2/4") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no epochs:\n%s", log1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = first.Process.Kill()
	_ = first.Wait()
	time.Sleep(time.Second) // the workers keep training for nobody meanwhile
	second, log2 := coord()
	if err := second.Wait(); err != nil {
		t.Fatalf("restarted coordinator: %v\n%s\nworkers:\n%s", err, log2, &wlog)
	}
	epochsOnce(t, filepath.Join(dir, "aexp.db"), 4, 4)
	var resumed int
	if err := openRO(t, filepath.Join(dir, "aexp.db")).QueryRow(`SELECT count(*) FROM runs WHERE resumes > 0`).Scan(&resumed); err != nil || resumed == 0 {
		t.Errorf("no run resumed from the state recorded before the crash (%v):\n%s", err, log2)
	}
	noPlugins(t)
}

// TestInterruptCoordinator: Ctrl-C on aexp sweep --nats cancels the runs on
// the workers (their plugins exit) and the sweep exits 130; a second
// Ctrl-C right after kills them at once, with the same result.
func TestInterruptCoordinator(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	var wlog buildtest.SyncBuffer
	startWorker(t, url, 2, &wlog)
	bin := plugins(t)
	for _, twice := range []bool{false, true} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "s.toml"), []byte(fmt.Sprintf(testSpec, fmt.Sprint("int", twice), "0.01", 3000)), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(bin, "aexp"), "sweep", "--plugin-dir", bin, "--plain", "--db", "aexp.db", "--nats", url, "s.toml")
		cmd.Dir = dir
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME"), "AEXP_PLUGIN_DIR=", "AEXP_DB="}
		var log buildtest.SyncBuffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for strings.Count(log.String(), "started") < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("no run started:\n%s", &log)
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
			t.Fatalf("twice=%v: exit %v, want 130\n%s", twice, err, &log)
		}
		noPlugins(t)
	}
}
