package variant_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/variant"
)

// testPlugin builds internal/testplugin once per test process and returns
// the path of aexp-variant-test.
func testPlugin(t testing.TB) string {
	dir := buildtest.Binaries(t, map[string]string{"internal/testplugin": "aexp-variant-test"})
	return filepath.Join(dir, "aexp-variant-test")
}

// copyPlugin copies the test plugin into dir under aexp-variant-<name>.
func copyPlugin(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(testPlugin(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, variant.BinaryPrefix+name)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func launch(t *testing.T, env ...string) (*variant.Plugin, *buildtest.SyncBuffer) {
	t.Helper()
	var stderr buildtest.SyncBuffer
	p, err := variant.Launch(context.Background(), testPlugin(t), variant.LaunchOptions{
		Stderr: &stderr, StartTimeout: 10 * time.Second, Env: env,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p, &stderr
}

// collect runs Train and gathers its events.
func collect(ctx context.Context, p *variant.Plugin, req variant.TrainRequest) ([]variant.Event, error) {
	var evs []variant.Event
	err := p.Train(ctx, req, func(e variant.Event) error {
		evs = append(evs, e)
		return nil
	})
	return evs, err
}

func TestDescribe(t *testing.T) {
	p, _ := launch(t)
	info, err := p.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "test" || info.Version != "0.1.0" {
		t.Errorf("info = %+v", info)
	}
	if len(info.Capabilities) != 3 {
		t.Errorf("capabilities = %v", info.Capabilities)
	}
	byName := map[string]variant.Param{}
	for _, q := range info.Params {
		byName[q.Name] = q
	}
	lr := byName["lr"]
	if lr.Type != variant.Float || lr.Default != 0.5 || lr.Min == nil || *lr.Min != 0 || *lr.Max != 10 || lr.Doc == "" {
		t.Errorf("lr = %+v", lr)
	}
	if m := byName["mode"]; m.Type != variant.String || m.Default != "toy" || len(m.Choices) != 2 {
		t.Errorf("mode = %+v", m)
	}
	if s := byName["sleep_ms"]; s.Type != variant.Int || s.Default != int64(0) {
		t.Errorf("sleep_ms = %+v (%T)", s, s.Default)
	}
	if _, err := variant.Validate(info.Params, map[string]any{"lr": 0.1}); err != nil {
		t.Error(err)
	}
}

func TestTrainRoundTrip40MB(t *testing.T) {
	testPlugin(t) // build first: time the launch alone
	t0 := time.Now()
	p, stderr := launch(t)
	t.Logf("Launch (handshake, mTLS): %v", time.Since(t0))
	ctx := context.Background()
	t0 = time.Now()
	evs, err := collect(ctx, p, variant.TrainRequest{
		Params: map[string]any{"lr": 0.3, "artifact_mb": 40.0}, Seed: 1, Epochs: 3,
	})
	t.Logf("Train with a 40 MiB checkpoint (generated and streamed): %v", time.Since(t0))
	if err != nil {
		t.Fatalf("Train: %v\nstderr: %s", err, stderr)
	}
	var epochs, logs, finals int
	var ckpt *variant.Artifact
	for _, e := range evs {
		switch {
		case e.Epoch != nil:
			epochs++
			if e.Epoch.Epoch != epochs || e.Epoch.Metrics["train_loss"] <= 0 {
				t.Errorf("epoch event %+v", e.Epoch)
			}
		case e.Log != nil:
			logs++
		case e.Artifact != nil:
			ckpt = e.Artifact
		case e.Final != nil:
			finals++
			if e.Final.Metrics["test_mse"] <= 0 || e.Final.Meta["blas"] != "none" {
				t.Errorf("final %+v", e.Final)
			}
		}
	}
	if epochs != 3 || logs != 3 || finals != 1 || evs[len(evs)-1].Final == nil {
		t.Fatalf("epochs %d logs %d finals %d", epochs, logs, finals)
	}
	if ckpt == nil {
		t.Fatal("no checkpoint")
	}
	const want = 40 << 20
	if len(ckpt.Data) < want || ckpt.Kind != variant.KindCheckpoint || ckpt.Epoch != 3 || ckpt.Meta["epoch"] != "3" {
		t.Fatalf("checkpoint: %d bytes, %q epoch %d meta %v", len(ckpt.Data), ckpt.Kind, ckpt.Epoch, ckpt.Meta)
	}

	// The 40 MB checkpoint goes back to the plugin (host -> plugin direction).
	t0 = time.Now()
	rec, err := p.Reconstruct(ctx, variant.ReconstructRequest{Checkpoint: ckpt.Data, N: 5, Dataset: "mnist"})
	t.Logf("Reconstruct sending the 40 MiB checkpoint to the plugin: %v", time.Since(t0))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Kind != variant.KindReconstruction || len(rec.Data) < 5*4*4*2 {
		t.Errorf("reconstruction %q %d bytes", rec.Kind, len(rec.Data))
	}
	s, err := p.Sample(ctx, variant.SampleRequest{Checkpoint: ckpt.Data, N: 7, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != variant.KindSample || len(s.Data) < 7*4*4 {
		t.Errorf("sample %q %d bytes", s.Kind, len(s.Data))
	}
	// A broken checkpoint is the variant's error, not a crash.
	_, err = p.Sample(ctx, variant.SampleRequest{Checkpoint: []byte("nope"), N: 1})
	if err == nil || !strings.Contains(err.Error(), "checkpoint too short") {
		t.Errorf("bad checkpoint: %v", err)
	}
}

func TestCancelStopsPromptly(t *testing.T) {
	p, _ := launch(t)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- p.Train(ctx, variant.TrainRequest{Params: map[string]any{"sleep_ms": 200}, Epochs: 1000},
			func(e variant.Event) error {
				select {
				case started <- struct{}{}:
				default:
				}
				return nil
			})
	}()
	<-started
	t0 := time.Now()
	cancel()
	err := <-errc
	d := time.Since(t0)
	t.Logf("Train returned %v after cancel", d)
	if d > time.Second {
		t.Errorf("Train returned %v after cancel", d)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	// The plugin is still usable, and after Kill its group is gone.
	if _, err := p.Describe(context.Background()); err != nil {
		t.Errorf("Describe after cancel: %v", err)
	}
	pid := p.Pid()
	t0 = time.Now()
	p.Kill()
	d = time.Since(t0)
	t.Logf("Kill took %v", d)
	if d > 5*time.Second {
		t.Errorf("Kill took %v", d)
	}
	waitGroupGone(t, pid)
}

func TestEmitErrorCancelsStream(t *testing.T) {
	p, _ := launch(t)
	stop := errors.New("pruned")
	n := 0
	err := p.Train(context.Background(), variant.TrainRequest{Params: map[string]any{"sleep_ms": 50}, Epochs: 100},
		func(e variant.Event) error {
			if e.Epoch != nil {
				n++
				if n == 2 {
					return stop
				}
			}
			return nil
		})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("err %v after %d epochs", err, n)
	}
}

func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second) // generous: CI machines can be loaded
	for {
		m := buildtest.GroupMembers(pgid)
		if len(m) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has %v", pgid, m)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKillKillsWholeGroup(t *testing.T) {
	p, stderr := launch(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	child := make(chan struct{})
	go p.Train(ctx, variant.TrainRequest{
		Params: map[string]any{"spawn_child": true, "sleep_ms": 100, "ignore_cancel": true}, Epochs: 1000,
	}, func(e variant.Event) error {
		if e.Log != nil && strings.HasPrefix(e.Log.Text, "child pid") {
			close(child)
		}
		return nil
	})
	select {
	case <-child:
	case <-time.After(5 * time.Second):
		t.Fatalf("no child; stderr: %s", stderr)
	}
	pid := p.Pid()
	if m := buildtest.GroupMembers(pid); len(m) < 2 {
		t.Fatalf("group %d has %v, want the plugin and its child", pid, m)
	}
	p.Kill()
	waitGroupGone(t, pid)
	if err := syscall.Kill(pid, 0); err == nil {
		// a zombie would be reaped by Kill's wait; a live process is a bug
		if len(buildtest.GroupMembers(pid)) > 0 {
			t.Errorf("plugin %d still alive", pid)
		}
	}
}

func TestPanicReportsStderrTail(t *testing.T) {
	p, _ := launch(t)
	_, err := collect(context.Background(), p, variant.TrainRequest{Params: map[string]any{"panic_at": 2}, Epochs: 5})
	if err == nil || !strings.Contains(err.Error(), "panic: testplugin: panic at epoch 2") {
		t.Fatalf("err = %v", err)
	}
	var ce *variant.CrashError
	if !errors.As(err, &ce) || !strings.Contains(ce.StderrTail, "goroutine") || ce.ExitStatus == "" {
		t.Fatalf("crash error = %#v", ce)
	}
	if !p.Exited() {
		t.Error("plugin still running after panic")
	}
}

// A training state of several MiB reaches the plugin in chunks (PutState),
// and the plugin continues after its epoch.
func TestResumeSendsStateInChunks(t *testing.T) {
	p, _ := launch(t)
	pad := strings.Repeat("x", 3<<20)
	st := &variant.Artifact{Kind: variant.KindState, Name: "state.json", Epoch: 2,
		Data: []byte(`{"epoch":2,"pad":"` + pad + `"}`)}
	evs, err := collect(context.Background(), p, variant.TrainRequest{Params: map[string]any{"log_every": 0}, Epochs: 4, Resume: st})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		switch {
		case e.Resumed != nil:
			got = append(got, fmt.Sprintf("resumed %d", e.Resumed.Epoch))
		case e.Epoch != nil:
			got = append(got, fmt.Sprintf("epoch %d", e.Epoch.Epoch))
		case e.Artifact != nil && e.Artifact.Kind == variant.KindState:
			got = append(got, fmt.Sprintf("state %d", e.Artifact.Epoch))
		}
	}
	want := []string{"resumed 2", "epoch 3", "state 3", "epoch 4", "state 4"}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	// a state that is not one is refused before training
	_, err = collect(context.Background(), p, variant.TrainRequest{Epochs: 4, Resume: &variant.Artifact{Kind: variant.KindCheckpoint}})
	if err == nil || !strings.Contains(err.Error(), "want \"state\"") {
		t.Errorf("a checkpoint as state: %v", err)
	}
}

func TestExitMidRun(t *testing.T) {
	p, _ := launch(t)
	_, err := collect(context.Background(), p, variant.TrainRequest{Params: map[string]any{"exit_at": 2}, Epochs: 5})
	var ce *variant.CrashError
	if !errors.As(err, &ce) || ce.ExitStatus != "exit status 3" || !strings.Contains(err.Error(), "exiting with status 3 at epoch 2") {
		t.Fatalf("err = %v", err)
	}
}

func TestDivergedAndFailures(t *testing.T) {
	p, _ := launch(t)
	ctx := context.Background()
	evs, err := collect(ctx, p, variant.TrainRequest{Params: map[string]any{"nan_at": 3}, Epochs: 5})
	var de *variant.DivergedError
	if !errors.As(err, &de) || de.Epoch != 3 {
		t.Fatalf("err = %v", err)
	}
	if n := len(evs); n != 6 { // 2 epochs + 2 logs + 2 training states
		t.Errorf("%d events before divergence", n)
	}
	_, err = collect(ctx, p, variant.TrainRequest{Params: map[string]any{"fail_at": 1}, Epochs: 5})
	if err == nil || !strings.Contains(err.Error(), "testplugin: failing at epoch 1") {
		t.Errorf("fail_at: %v", err)
	}
	var ce *variant.CrashError
	if errors.As(err, &ce) {
		t.Errorf("an ordinary error reported as a crash: %v", err)
	}
	for _, params := range []map[string]any{
		{"bogus": 1},
		{"lr": 100.0},
		{"mode": "weird"},
		{"sleep_ms": "fast"},
		{"sleep_ms": 1.5},
	} {
		_, err := collect(ctx, p, variant.TrainRequest{Params: params, Epochs: 1})
		if !errors.Is(err, variant.ErrInvalidParams) {
			t.Errorf("%v: err = %v, want ErrInvalidParams", params, err)
			continue
		}
		for k := range params {
			if !strings.Contains(err.Error(), strconv.Quote(k)) {
				t.Errorf("%v: error %q does not name the key", params, err)
			}
		}
	}
	// Still alive after all that.
	if _, err := p.Describe(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestStartFailures(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "aexp-variant-script")
	os.WriteFile(script, []byte("#!/bin/sh\necho not a plugin\n"), 0o755)
	silent := filepath.Join(dir, "aexp-variant-silent")
	os.WriteFile(silent, []byte("#!/bin/sh\necho oops >&2\nexit 4\n"), 0o755)
	sleeper := filepath.Join(dir, "aexp-variant-sleeper")
	os.WriteFile(sleeper, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755)
	noexec := filepath.Join(dir, "aexp-variant-noexec")
	os.WriteFile(noexec, []byte("data"), 0o644)

	cases := []struct {
		name, path string
		env        []string
		want       []string
	}{
		{"stdout before handshake", testPlugin(t), []string{"AEXP_TESTPLUGIN_MODE=stdout"},
			[]string{"hello from a plugin that logs to stdout", "must never write to stdout"}},
		{"never handshakes", testPlugin(t), []string{"AEXP_TESTPLUGIN_MODE=hang"},
			[]string{"did not complete the plugin handshake within 1s", "hanging before the handshake"}},
		{"crash before handshake", testPlugin(t), []string{"AEXP_TESTPLUGIN_MODE=crash"},
			[]string{"exited before completing the plugin handshake (exit status 1)", "crashing before the handshake"}},
		{"version mismatch", testPlugin(t), []string{"AEXP_TESTPLUGIN_MODE=version2"},
			[]string{"protocol version 2", "this aexp speaks version 1"}},
		{"shell script", script, nil, []string{`wrote "not a plugin" to stdout`}},
		{"exits silently", silent, nil, []string{"exit status 4", "oops"}},
		{"sleeps", sleeper, nil, []string{"did not complete the plugin handshake within 1s"}},
		{"not executable", noexec, nil, []string{"not executable"}},
		{"missing", filepath.Join(dir, "nope"), nil, []string{"no such file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t0 := time.Now()
			timeout := 20 * time.Second // cases that fail fast must not wait for it
			if strings.Contains(c.want[0], "within") {
				timeout = time.Second
			}
			p, err := variant.Launch(context.Background(), c.path, variant.LaunchOptions{
				StartTimeout: timeout, Env: c.env,
			})
			if err == nil {
				p.Kill()
				t.Fatal("no error")
			}
			if d := time.Since(t0); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestLaunchContextCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := variant.Launch(ctx, testPlugin(t), variant.LaunchOptions{
		StartTimeout: 10 * time.Second, Env: []string{"AEXP_TESTPLUGIN_MODE=hang"},
	})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 2*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(t0))
	}
}

func TestDiscover(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	pa := copyPlugin(t, a, "one")
	copyPlugin(t, b, "two")
	os.WriteFile(filepath.Join(a, "README"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(a, "aexp-variant-data"), []byte("x"), 0o644) // not executable: skipped
	os.Symlink(pa, filepath.Join(b, "aexp-variant-one"))                    // same file twice: fine
	got, err := variant.Discover(a, b, filepath.Join(a, "missing"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["one"] != pa || got["two"] != filepath.Join(b, "aexp-variant-two") {
		t.Fatalf("got %v", got)
	}
	c := t.TempDir()
	pc := copyPlugin(t, c, "one")
	_, err = variant.Discover(a, c)
	if err == nil || !strings.Contains(err.Error(), pa) || !strings.Contains(err.Error(), pc) {
		t.Fatalf("duplicate: %v", err)
	}
	// The name a binary gets is the name it describes.
	p, err := variant.Launch(context.Background(), got["two"], variant.LaunchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	info, err := p.Describe(context.Background())
	if err != nil || info.Name != "two" {
		t.Fatalf("%v %v", info.Name, err)
	}
}

func TestSearchDirs(t *testing.T) {
	t.Setenv("AEXP_PLUGIN_DIR", "/env/a"+string(os.PathListSeparator)+"/env/b")
	t.Setenv("PATH", "/usr/bin"+string(os.PathListSeparator)+"/env/a")
	d := variant.SearchDirs("/flag")
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	want := []string{"/flag", "/env/a", "/env/b", filepath.Dir(exe), "/usr/bin"}
	if fmt.Sprint(d) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", d, want)
	}
}

// TestHelperHost is not a test: TestPluginDiesWithHost runs the test binary
// with it as a host process that launches a plugin and waits to be killed.
func TestHelperHost(t *testing.T) {
	if os.Getenv("AEXP_HELPER_HOST") == "" {
		t.Skip("helper process for TestPluginDiesWithHost")
	}
	p, err := variant.Launch(context.Background(), os.Getenv("AEXP_HELPER_PLUGIN"), variant.LaunchOptions{})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("PID", p.Pid())
	time.Sleep(time.Minute)
}

// A host killed with SIGKILL runs no cleanup; Pdeathsig must still take the
// plugin down.
func TestPluginDiesWithHost(t *testing.T) {
	plugin := testPlugin(t)
	host := exec.Command(os.Args[0], "-test.run=^TestHelperHost$", "-test.v")
	host.Env = append(os.Environ(), "AEXP_HELPER_HOST=1", "AEXP_HELPER_PLUGIN="+plugin)
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	defer host.Process.Kill()
	pid := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "PID %d", &pid); err == nil {
			break
		}
		if strings.HasPrefix(sc.Text(), "ERROR") {
			t.Fatal(sc.Text())
		}
	}
	if pid == 0 {
		t.Fatal("the helper host printed no plugin pid")
	}
	if len(buildtest.GroupMembers(pid)) == 0 {
		t.Fatalf("plugin %d not running", pid)
	}
	host.Process.Signal(syscall.SIGKILL)
	host.Wait()
	waitGroupGone(t, pid)
}
