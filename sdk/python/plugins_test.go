package python_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aexp/aexp/internal/buildtest"
)

// torchdense is the PyTorch example plugin, run from the checkout.
func torchdense(t *testing.T) string {
	t.Helper()
	root, err := buildtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "plugins", "torchdense", "aexp-variant-torchdense")
}

// torchvae is the PyTorch VAE example plugin, run from the checkout.
func torchvae(t *testing.T) string {
	return filepath.Join(filepath.Dir(filepath.Dir(torchdense(t))), "torchvae", "aexp-variant-torchvae")
}

// env is a test's aexp: the binary and Go plugins built once, the Python
// plugins in their own folder, a database and a data cache of its own.
type env struct {
	t                     *testing.T
	bin, plugins, db, dir string
}

func newEnv(t *testing.T, goPlugins ...string) *env {
	needPython(t, "torch")
	bins := map[string]string{"cmd/aexp": "aexp"}
	for _, p := range goPlugins {
		bins["plugins/"+p] = "aexp-variant-" + p
	}
	e := &env{t: t, bin: buildtest.Binaries(t, bins), plugins: t.TempDir(), dir: t.TempDir()}
	e.db = filepath.Join(e.dir, "aexp.db")
	for _, p := range []string{torchdense(t), torchvae(t)} {
		if err := os.Symlink(p, filepath.Join(e.plugins, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(e.bin, "aexp"), args...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "AEXP_DB="+e.db, "AEXP_PLUGIN_DIR="+e.plugins, "AEXP_DATA_CACHE="+filepath.Join(e.dir, "cache"))
	return cmd
}

// run runs aexp and returns stdout, stderr and the exit code.
func (e *env) run(args ...string) (string, string, int) {
	e.t.Helper()
	cmd := e.cmd(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

func (e *env) must(args ...string) string {
	e.t.Helper()
	out, errOut, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("aexp %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

type runRow struct {
	RunID   int64    `json:"run_id"`
	Variant string   `json:"variant"`
	Status  string   `json:"status"`
	Epochs  int      `json:"epochs"`
	TestMSE *float64 `json:"test_mse"`
	Final   *float64 `json:"final_objective"`
	PCAMSE  *float64 `json:"pca_mse"`
	Error   string   `json:"error"`
}

// tryRuns is runs for polling: nil while there is no database yet.
func (e *env) tryRuns() []runRow {
	out, _, code := e.run("runs", "--json")
	var rs []runRow
	if code != 0 || json.Unmarshal([]byte(out), &rs) != nil {
		return nil
	}
	return rs
}

func (e *env) runs() []runRow {
	e.t.Helper()
	var rs []runRow
	if err := json.Unmarshal([]byte(e.must("runs", "--json")), &rs); err != nil {
		e.t.Fatal(err)
	}
	return rs
}

func (e *env) spec(text string) string {
	p := filepath.Join(e.dir, "spec.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// The PyTorch example passes every check of `aexp conform`.
func TestConformTorchdense(t *testing.T) {
	e := newEnv(t)
	out := e.must("conform", "--dataset", "mnist", "--train-limit", "300", "--test-limit", "50",
		"--params", `{"hidden": [32, 8]}`, torchdense(t))
	if !strings.Contains(out, "9 checks: 9 passed, 0 failed") {
		t.Errorf("%s", out)
	}
}

// A deliberately broken Python plugin fails exactly the checks it breaks,
// each with its reason.
func TestConformBrokenPython(t *testing.T) {
	needPython(t)
	e := &env{t: t, bin: buildtest.Binaries(t, map[string]string{"cmd/aexp": "aexp"}), dir: t.TempDir()}
	broken, _ := filepath.Abs("testdata/aexp-variant-broken")
	out, _, code := e.run("conform", broken)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"PASS  Describe",
		"FAIL  RejectsBadParams\n      Train accepted an unknown parameter for \"aexp_conformance_unknown\"",
		`Train accepted an out-of-range value for "lr": 2`,
		"PASS  Train",
		`FAIL  Metrics` + "\n" + `      metric "val_secret" is reported but not documented by Describe`,
		`metric "never_reported" is documented by Describe but the run never reported it`,
		"FAIL  SameSeedSameTrajectory\n      epoch 1: train_loss is ",
		"FAIL  Cancel\n      the plugin's Train kept running for more than 1s after its context was cancelled",
		"FAIL  Checkpoint\n      Train sent no checkpoint artifact (kind \"checkpoint\")",
		"FAIL  Resume\n      Train sent training states (kind \"state\", 2 of them) but Describe does not declare the \"resume\" capability",
		`FAIL  NoStdout` + "\n" + `      the plugin wrote to stdout (log to stderr instead): "a stray line on stdout\n`,
		"9 checks: 2 passed, 7 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("aexp conform:\n%s", out)
	}
}

// One sweep trains the PyTorch variant beside the Go dense and vae on the
// same MNIST examples into one store; compare, export and reconstruct work
// on the Python run, and its checkpoint loads back into PyTorch.
func TestMixedSweep(t *testing.T) {
	e := newEnv(t, "dense", "vae")
	spec := e.spec(`name = "mixed"
dataset = "mnist"

[objective]
metric = "test_mse"
goal = "minimize"

[budget]
epochs = 1
batch_size = 64
parallel = 2
seeds = [0]
train_limit = 2000
test_limit = 300

[params]
lr = 1e-3

[[variants]]
name = "dense"
params = { hidden = [[64, 16]], activation = "relu" }

[[variants]]
name = "torchdense"
params = { hidden = [[64, 16]], activation = "relu" }

[[variants]]
name = "vae"
params = { hidden = [[64]], latent = 16 }
`)
	e.must("sweep", "--plain", spec)
	byVariant := map[string]runRow{}
	for _, r := range e.runs() {
		if r.Status != "done" {
			t.Fatalf("run %d (%s) is %s: %s", r.RunID, r.Variant, r.Status, r.Error)
		}
		byVariant[r.Variant] = r
	}
	torch, dense := byVariant["torchdense"], byVariant["dense"]
	if len(byVariant) != 3 || torch.PCAMSE == nil || dense.PCAMSE == nil || torch.TestMSE == nil {
		t.Fatalf("runs: %+v", byVariant)
	}
	// The same examples and code size: the same PCA baseline, computed in
	// numpy and in Go.
	if d := math.Abs(*torch.PCAMSE-*dense.PCAMSE) / *dense.PCAMSE; d > 1e-4 {
		t.Errorf("pca_mse: torchdense %.6g, dense %.6g (relative difference %.2g)", *torch.PCAMSE, *dense.PCAMSE, d)
	}
	if !(*torch.TestMSE < 0.2) {
		t.Errorf("torchdense test_mse %v after one epoch", *torch.TestMSE)
	}
	id := strconv.FormatInt(torch.RunID, 10)
	if out := e.must("compare", strconv.FormatInt(dense.RunID, 10), id); !strings.Contains(out, "torchdense") {
		t.Errorf("compare does not show the torchdense run:\n%s", out)
	}
	ckpt := filepath.Join(e.dir, "model.safetensors")
	e.must("export", id, "-o", ckpt)
	png := filepath.Join(e.dir, "recon.png")
	e.must("reconstruct", id, "-n", "20", "-o", png) // 20 > the 16 stored: the plugin reconstructs from the checkpoint
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		t.Errorf("reconstruct wrote no picture: %v", err)
	}
	// The exported checkpoint is the model's state_dict: it loads into the
	// plugin's own PyTorch model.
	load := fmt.Sprintf(`
import importlib.machinery, importlib.util, sys, torch
from aexp_variant import safetensors_loads
loader = importlib.machinery.SourceFileLoader("torchdense", %q)
spec = importlib.util.spec_from_loader("torchdense", loader)
m = importlib.util.module_from_spec(spec); loader.exec_module(m)
tensors, meta = safetensors_loads(open(%q, "rb").read())
model = m.build(m.Config(hidden=[64, 16], activation="relu"), 784)
model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
print(meta["shape"], tuple(model(torch.zeros(2, 784)).shape))
`, torchdense(t), ckpt)
	cmd := exec.Command(python, "-c", load)
	cmd.Env = append(os.Environ(), "PYTHONPATH=.")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "28,28 (2, 784)" {
		t.Errorf("loading the checkpoint into PyTorch: %v\n%s", err, out)
	}
}

// pluginPids lists the live processes running the plugin file path.
func pluginPids(path string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i < 0 || bytes.HasPrefix(bytes.TrimSpace(stat[i+1:]), []byte("Z")) {
			continue
		}
		if bytes.Contains(cmdline, []byte(path)) {
			out = append(out, pid)
		}
	}
	return out
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
	}
}

const lifecycleSpec = `name = "%s"
variant = "torchdense"
dataset = "sines"

[objective]
metric = "val_loss"
goal = "minimize"

[budget]
epochs = 100000
batch_size = 32
parallel = 2
attempts = 1
seeds = [0]
train_limit = 256
test_limit = 32
%s

[params]
hidden = [[16, 4]]
lr = %s
`

// A Python run that outlives its timeout is recorded as timed_out; one
// whose process is SIGKILLed fails with the reason; SIGINT to aexp cancels
// the rest. No plugin process survives any of it.
func TestPythonLifecycle(t *testing.T) {
	e := newEnv(t)
	plugin := filepath.Join(e.plugins, "aexp-variant-torchdense") // as aexp runs it
	if _, errOut, code := e.run("sweep", "--plain", e.spec(fmt.Sprintf(lifecycleSpec, "timeout", `timeout = "12s"`, "1e-3"))); code != 3 {
		t.Fatalf("sweep with a timed-out run: exit %d, want 3\n%s", code, errOut)
	}
	rs := e.runs()
	if len(rs) != 1 || rs[0].Status != "timed_out" {
		t.Fatalf("after the timeout: %+v", rs)
	}
	waitFor(t, "no torchdense process after the timeout", 5*time.Second, func() bool { return len(pluginPids(plugin)) == 0 })

	// Two runs; SIGKILL the plugin of one, then SIGINT aexp.
	cmd := e.cmd("sweep", "--plain", e.spec(fmt.Sprintf(lifecycleSpec, "kill", "", "[1e-3, 2e-3]")))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "two torchdense runs training", 60*time.Second, func() bool {
		n := 0
		for _, r := range e.tryRuns() {
			if r.Status == "running" && r.Epochs >= 1 {
				n++
			}
		}
		return n == 2
	})
	pids := pluginPids(plugin)
	if len(pids) != 2 {
		t.Fatalf("torchdense processes %v, want 2", pids)
	}
	for _, p := range pids {
		if g, _ := syscall.Getpgid(p); g != p {
			t.Errorf("plugin %d is in process group %d, not its own", p, g)
		}
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the killed run recorded as failed", 20*time.Second, func() bool {
		for _, r := range e.runs() {
			if r.Status == "failed" {
				return true
			}
		}
		return false
	})
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("aexp sweep: %v, want exit 130\n%s", err, errb.String())
	}
	waitFor(t, "no torchdense process after SIGINT", 5*time.Second, func() bool { return len(pluginPids(plugin)) == 0 })
	for _, p := range pids {
		if m := buildtest.GroupMembers(p); len(m) > 0 {
			t.Errorf("process group %d still has %v", p, m)
		}
	}
	got := map[string]int{}
	for _, r := range e.runs() {
		got[r.Status]++
		if r.Status == "failed" && !strings.Contains(r.Error, "signal: killed") {
			t.Errorf("the killed run's error does not say so: %q", r.Error)
		}
	}
	if got["timed_out"] != 1 || got["failed"] != 1 || got["canceled"] != 1 {
		t.Errorf("statuses %v, want one timed_out, one failed, one canceled", got)
	}
}

// A torchdense run whose aexp is SIGKILLed resumes from its last epoch when
// the sweep runs again, and ends exactly where an uninterrupted run ends.
func TestPythonResume(t *testing.T) {
	e := newEnv(t)
	spec := `name = "resume"
variant = "torchdense"
dataset = "sines"

[objective]
metric = "val_loss"
goal = "minimize"

[budget]
epochs = 6
batch_size = 16
parallel = 1
threads = 1
seeds = [0]
train_limit = 4000
test_limit = 200

[params]
hidden = [[16, 4]]
`
	path := e.spec(spec)
	cmd := e.cmd("sweep", "--plain", path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two epochs recorded", 90*time.Second, func() bool {
		rs := e.tryRuns()
		return len(rs) == 1 && rs[0].Epochs >= 2
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	rs := e.runs()
	if rs[0].Status == "done" {
		t.Skip("the run finished before aexp was killed (a very fast machine)")
	}
	waitFor(t, "the plugin to die with aexp", 5*time.Second, func() bool {
		return len(pluginPids(filepath.Join(e.plugins, "aexp-variant-torchdense"))) == 0
	})
	_, errOut, code := e.run("sweep", "--plain", "-v", path)
	if code != 0 || !strings.Contains(errOut, "resumed after epoch") {
		t.Fatalf("second sweep: exit %d\n%s", code, errOut)
	}
	resumed := e.runs()[0]

	fresh := newEnv(t)
	fresh.must("sweep", "--plain", fresh.spec(spec))
	want := fresh.runs()[0]
	if resumed.Status != "done" || resumed.TestMSE == nil || want.TestMSE == nil || *resumed.TestMSE != *want.TestMSE {
		t.Errorf("resumed run: %s, test_mse %v; uninterrupted: %v", resumed.Status, val(resumed.TestMSE), val(want.TestMSE))
	}
}

func val(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
