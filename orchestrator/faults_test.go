package orchestrator_test

// The fault matrix: one test per fault. Each ends the same way: nothing
// recorded is lost, no run is left `running`, no plugin process outlives
// its run, PRAGMA integrity_check is ok, and running the sweep again does
// exactly the missing work (every epoch of every run recorded once, runs
// resumed from their last epoch rather than started over).

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/store"
)

// faultSpec is a sweep of the test plugin: runs of 6 slow epochs, so a
// fault lands mid-run.
func faultSpec(name, budget, params string) string {
	if !strings.Contains(params, "sleep_ms") {
		params = "sleep_ms = 150\n" + params
	}
	return fmt.Sprintf(header, name) + "[budget]\nepochs = 6\n" + budget + "\n[params]\n" + params + "\n"
}

// waitStateOf waits until some run has a training state of at least epoch
// and returns its id and plugin process group.
func waitStateOf(t testing.TB, dir string, epoch int) (id int64, pgid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, "aexp.db")); err == nil {
			db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "aexp.db")+"?mode=ro&_busy_timeout=5000")
			if err == nil {
				err = db.QueryRow(`SELECT r.id, r.pid FROM run_state s JOIN runs r ON r.id = s.run_id
WHERE s.epoch >= ? AND r.status = 'running' AND r.pid IS NOT NULL ORDER BY r.id LIMIT 1`, epoch).Scan(&id, &pgid)
				db.Close()
				if err == nil {
					return id, pgid
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no run reached epoch %d", epoch)
	return 0, 0
}

// settled checks what every fault must leave behind: no run running, the
// plugin process groups gone, a sound file.
func settled(t testing.TB, dir string, pgids ...int) {
	t.Helper()
	waitGone(t, pgids, 5*time.Second)
	db := openDB(t, dir)
	if n := queryString(t, db, `SELECT count(*) FROM runs WHERE status = 'running'`); n != "0" {
		t.Errorf("%s run(s) left running", n)
	}
	integrityOK(t, dir)
}

// complete checks that every run is done with each of its epochs recorded
// exactly once and its training state dropped.
func complete(t testing.TB, dir string, runs, epochs int) {
	t.Helper()
	db := openDB(t, dir)
	st := statuses(t, db)
	if len(st) != runs || count(st, "done") != runs {
		t.Fatalf("statuses %v, want %d done", st, runs)
	}
	rows, err := db.Query(`SELECT r.id, r.epochs, count(m.epoch), count(DISTINCT m.epoch), coalesce(max(m.epoch), 0)
FROM runs r LEFT JOIN metrics m ON m.run_id = r.id AND m.key = 'train_loss' GROUP BY r.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var recorded, n, distinct, last int
		rows.Scan(&id, &recorded, &n, &distinct, &last)
		if recorded != epochs || n != epochs || distinct != epochs || last != epochs {
			t.Errorf("run %d: epochs %d, %d train_loss rows (%d distinct, last %d), want %d", id, recorded, n, distinct, last, epochs)
		}
	}
	if n := queryString(t, db, `SELECT count(*) FROM run_state`); n != "0" {
		t.Errorf("%s training states left after every run finished", n)
	}
}

// snapshot is what a finished run recorded; a later sweep must not change it.
func snapshot(t testing.TB, dir string) map[int64]string {
	t.Helper()
	return buildtest.QueryMap[int64, string](t, openDB(t, dir), `SELECT r.id, r.finished || ' ' || group_concat(m.key || '@' || m.epoch || '=' || quote(m.value), ' ')
FROM runs r JOIN metrics m ON m.run_id = r.id WHERE r.status = 'done' GROUP BY r.id`)
}

func keptSnapshot(t testing.TB, dir string, before map[int64]string) {
	t.Helper()
	after := snapshot(t, dir)
	for id, s := range before {
		if after[id] != s {
			t.Errorf("run %d, done before the fault, changed", id)
		}
	}
}

func start(t testing.TB, cmd *exec.Cmd) *bytes.Buffer {
	t.Helper()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return &errb
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func resumedFrom(t testing.TB, dir string, id int64) int {
	t.Helper()
	var n int
	openDB(t, dir).QueryRow(`SELECT resumed_from FROM runs WHERE id = ?`, id).Scan(&n)
	return n
}

func TestFaultPluginSIGKILL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", faultSpec("f-kill9", "parallel = 2\nattempts = 2", "lr = [0.3, 0.6, 0.9]"))
	cmd := aexp(t, dir, "sweep", spec)
	errb := start(t, cmd)
	id, pgid := waitStateOf(t, dir, 2)
	syscall.Kill(-pgid, syscall.SIGKILL)
	if err := cmd.Wait(); exitCode(err) != 0 {
		t.Fatalf("exit %v\n%s", err, errb)
	}
	settled(t, dir, pgid)
	complete(t, dir, 3, 6)
	if from := resumedFrom(t, dir, id); from < 2 {
		t.Errorf("the killed run was retried from epoch %d, not resumed", from)
	}
	if a := queryString(t, openDB(t, dir), `SELECT attempt FROM runs WHERE id = ?`, id); a != "2" {
		t.Errorf("killed run: attempt %s, want 2", a)
	}
}

func TestFaultPluginPanic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", faultSpec("f-panic", "parallel = 2\nattempts = 2", "lr = [0.3, 0.6]\npanic_at = 4"))
	cmd := aexp(t, dir, "sweep", spec)
	cmd.Env = append(cmd.Env, "AEXP_TESTPLUGIN_ONCE="+t.TempDir()) // the panic is transient
	errb := start(t, cmd)
	if err := cmd.Wait(); exitCode(err) != 0 {
		t.Fatalf("exit %v\n%s", err, errb)
	}
	settled(t, dir)
	complete(t, dir, 2, 6)
	for _, id := range []int64{1, 2} {
		// the state of epoch 3 may die with the process, still in its buffers
		if from := resumedFrom(t, dir, id); from != 3 && from != 2 {
			t.Errorf("run %d resumed from epoch %d, want 3 or 2 (it panicked in epoch 4)", id, from)
		}
	}
	if !strings.Contains(errb.String(), "panic: testplugin: panic at epoch 4") {
		t.Errorf("the panic is not reported:\n%s", errb)
	}
	// a retried attempt is not a finished run: the counter ends at 2/2
	if !strings.Contains(errb.String(), "] retrying: failed: ") || !strings.Contains(errb.String(), "(2/2 finished)") ||
		strings.Contains(errb.String(), "(3/2 finished)") {
		t.Errorf("progress lines:\n%s", errb)
	}
}

// A plugin that never completes its handshake fails its run within the
// start timeout, leaves no process, and the run is retried.
func TestFaultPluginHangsAtHandshake(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := bins(t)
	path := filepath.Join(dir, "s.toml")
	writeSpec(t, dir, "s.toml", faultSpec("f-hang", "parallel = 2\nattempts = 2", "lr = [0.3, 0.6]\nsleep_ms = 10"))
	c, err := orchestrator.Load(context.Background(), path, nil, map[string]string{"test": filepath.Join(bin, "aexp-variant-test")})
	if err != nil {
		t.Fatal(err)
	}
	// the first launch of each run hangs before its handshake
	hangDir := t.TempDir()
	wrapper := filepath.Join(dir, "aexp-variant-test")
	script := fmt.Sprintf("#!/bin/sh\nn=$(ls %s | wc -l)\nif [ \"$n\" -lt 2 ]; then touch %s/$$; export AEXP_TESTPLUGIN_MODE=hang; fi\nexec %s\n",
		hangDir, hangDir, filepath.Join(bin, "aexp-variant-test"))
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c.Plugins["test"].Path = wrapper
	db, err := store.Open(filepath.Join(dir, "aexp.db"))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	res, err := orchestrator.NewEngine(c, db, orchestrator.Options{StartTimeout: 2 * time.Second, Log: &log}).Run(context.Background())
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts["done"] != 2 {
		t.Fatalf("counts %v\n%s", res.Counts, log.String())
	}
	if !strings.Contains(log.String(), "did not complete the plugin handshake within 2s") {
		t.Errorf("the hang is not reported:\n%s", log.String())
	}
	// the hanging processes were killed
	out, _ := exec.Command("pgrep", "-f", filepath.Join(bin, "aexp-variant-test")).Output()
	for _, pid := range strings.Fields(string(out)) {
		if b, _ := os.ReadFile("/proc/" + pid + "/environ"); bytes.Contains(b, []byte(hangDir)) {
			t.Errorf("hanging plugin %s still alive", pid)
		}
	}
	settled(t, dir)
	complete(t, dir, 2, 6)
}

func TestFaultAexpSIGINT(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", faultSpec("f-sigint", "parallel = 2", "lr = [0.3, 0.6, 0.9]"))
	cmd := aexp(t, dir, "sweep", spec)
	errb := start(t, cmd)
	id, pgid := waitStateOf(t, dir, 2)
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); exitCode(err) != 130 {
		t.Fatalf("exit %v, want 130\n%s", err, errb)
	}
	settled(t, dir, pgid)
	if st := statuses(t, openDB(t, dir)); st[id] != "canceled" {
		t.Fatalf("statuses %v", st)
	}
	before := snapshot(t, dir)
	if r := run(t, dir, "sweep", spec); r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	settled(t, dir)
	complete(t, dir, 3, 6)
	keptSnapshot(t, dir, before)
	if from := resumedFrom(t, dir, id); from < 2 {
		t.Errorf("the canceled run started over (resumed_from %d)", from)
	}
}

func TestFaultAexpSIGKILL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", faultSpec("f-sigkill", "parallel = 2", "lr = [0.3, 0.6, 0.9]"))
	cmd := aexp(t, dir, "sweep", spec)
	start(t, cmd)
	id, pgid := waitStateOf(t, dir, 2)
	cmd.Process.Kill()
	cmd.Wait()
	waitGone(t, []int{pgid}, 5*time.Second)
	integrityOK(t, dir)
	before := snapshot(t, dir)
	r := run(t, dir, "sweep", spec)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	settled(t, dir)
	complete(t, dir, 3, 6)
	keptSnapshot(t, dir, before)
	from := resumedFrom(t, dir, id)
	if from < 2 {
		t.Errorf("run %d started over after aexp was killed (resumed_from %d)\n%s", id, from, r.stderr)
	}
	if show := run(t, dir, "show", fmt.Sprint(id)); !strings.Contains(show.stdout, fmt.Sprintf("resumed after epoch %d", from)) {
		t.Errorf("aexp show does not say the run resumed:\n%s", show.stdout)
	}
}

// A run that times out is not retried (its time is up) but keeps its
// epochs; with a larger budget.timeout it resumes, and the timeout counts
// the time of both attempts.
func TestFaultRunTimeout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := faultSpec("f-timeout", "parallel = 1\nattempts = 3\ntimeout = \"%s\"", "sleep_ms = 400")
	name := writeSpec(t, dir, "s.toml", fmt.Sprintf(spec, "2s"))
	r := run(t, dir, "sweep", name)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
	}
	settled(t, dir)
	db := openDB(t, dir)
	var status string
	var attempt, epochs int
	var secs float64
	db.QueryRow(`SELECT status, attempt, epochs, train_seconds FROM runs WHERE id = 1`).Scan(&status, &attempt, &epochs, &secs)
	if status != "timed_out" || attempt != 1 || epochs < 1 || epochs >= 6 || secs < 2 {
		t.Fatalf("after the timeout: %s, attempt %d, %d epochs, %.1fs of training", status, attempt, epochs, secs)
	}
	// the same budget: nothing more to do
	if r := run(t, dir, "sweep", name); r.code != 3 || !strings.Contains(r.stderr, "used up budget.timeout") {
		t.Fatalf("rerun with the same timeout: exit %d\n%s", r.code, r.stderr)
	}
	writeSpec(t, dir, "s.toml", fmt.Sprintf(spec, "60s"))
	if r := run(t, dir, "sweep", name); r.code != 0 {
		t.Fatalf("rerun with a larger timeout: exit %d\n%s", r.code, r.stderr)
	}
	settled(t, dir)
	complete(t, dir, 1, 6)
	if from := resumedFrom(t, dir, 1); from != epochs {
		t.Errorf("resumed from epoch %d, want %d", from, epochs)
	}
	var total float64
	openDB(t, dir).QueryRow(`SELECT train_seconds FROM runs WHERE id = 1`).Scan(&total)
	if total < secs+0.4*float64(6-epochs) {
		t.Errorf("train_seconds %.2f does not add the second attempt to the first's %.2f", total, secs)
	}
}

func TestFaultNaNLoss(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", faultSpec("f-nan", "parallel = 2\nattempts = 2", "sleep_ms = 10\n[[include]]\nnan_at = 3\n[[include]]\nlr = 0.7"))
	if r := run(t, dir, "sweep", spec); r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
	}
	settled(t, dir)
	db := openDB(t, dir)
	st := statuses(t, db)
	if count(st, "diverged") != 1 || count(st, "done") != len(st)-1 {
		t.Fatalf("statuses %v", st)
	}
	if n := queryString(t, db, `SELECT count(*) FROM run_state`); n != "0" {
		t.Errorf("a diverged run keeps %s training state(s)", n)
	}
	before := snapshot(t, dir)
	r := run(t, dir, "sweep", spec)
	if r.code != 3 || !strings.Contains(r.stderr, fmt.Sprintf("0 to run, %d done before", len(st))) {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	keptSnapshot(t, dir, before)
}

// The store's file system fills up (RLIMIT_FSIZE on aexp: writes past the
// limit fail with EFBIG, as on a full disk). The sweep stops with exit 1
// without spending attempts; once there is room, the next run finishes it.
func TestFaultDiskFullThenFreed(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("no prlimit (util-linux)")
	}
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", faultSpec("f-full", "parallel = 2\nattempts = 1", "lr = [0.3, 0.6, 0.9]\nartifact_mb = 0.25\nsleep_ms = 50\n[checkpoints]\nkeep = \"all\""))
	full := aexp(t, dir, "sweep", spec)
	full.Args = append([]string{prlimit, "--fsize=2000000", full.Path}, full.Args[1:]...)
	full.Path = prlimit
	var errb bytes.Buffer
	full.Stderr = &errb
	if err := full.Run(); exitCode(err) != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "the store cannot be written") || !strings.Contains(errb.String(), "keep their attempts") {
		t.Errorf("the message does not say what happened:\n%s", errb.String())
	}
	integrityOK(t, dir)
	r := run(t, dir, "sweep", spec)
	if r.code != 0 {
		t.Fatalf("after freeing: exit %d\n%s", r.code, r.stderr)
	}
	settled(t, dir)
	complete(t, dir, 3, 6)
	if n := queryString(t, openDB(t, dir), `SELECT count(*) FROM runs WHERE resumed_from > 0`); n == "0" {
		t.Errorf("no run resumed after the disk was freed:\n%s", r.stderr)
	}
}

// A corrupt dataset stops the sweep (exit 1) without spending attempts;
// after the file is fixed the same command runs everything.
func TestFaultCorruptDatasetThenFixed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data.csv")
	os.WriteFile(data, []byte("0.1,0.2,0.3,0.4\n0.5,x,0.1,0.2\n0.3,0.3,0.3,0.3\n"), 0o644)
	spec := writeSpec(t, dir, "s.toml", strings.Replace(faultSpec("f-data", "parallel = 2\nattempts = 1", "lr = [0.3, 0.6, 0.9]\nsleep_ms = 10"),
		`dataset = "sines"`, `dataset = "csv:data.csv"`, 1))
	r := run(t, dir, "sweep", spec)
	if r.code != 1 || !strings.Contains(r.stderr, `line 2, column 2: "x" is not a number`) {
		t.Fatalf("exit %d, want 1 naming the bad value\n%s", r.code, r.stderr)
	}
	settled(t, dir)
	db := openDB(t, dir)
	if n := queryString(t, db, `SELECT count(*) FROM runs WHERE attempt > 0`); n != "0" {
		t.Errorf("%s run(s) spent an attempt on the corrupt dataset", n)
	}
	os.WriteFile(data, []byte("0.1,0.2,0.3,0.4\n0.5,0.5,0.1,0.2\n0.3,0.3,0.3,0.3\n"), 0o644)
	if r := run(t, dir, "sweep", spec); r.code != 0 {
		t.Fatalf("after the fix: exit %d\n%s", r.code, r.stderr)
	}
	settled(t, dir)
	complete(t, dir, 3, 6)
}

// sqlite3 -readonly in a loop, as a user watching a sweep: it never sees
// "database is locked", also not while aexp closes the store.
//
// SQLite's own start-up is kept out of it: the first process to open a WAL
// store that no process has open initialises the shared-memory index under
// a brief exclusive lock, and a reader with no busy timeout starting in that
// instant sees "locked" (1 read in 544 did, on a loaded machine). While each
// sweep starts, the test holds a read-only connection, so the index is open;
// it lets go once the sweep trains, so aexp's close is the last one.
func TestFaultReaderLoopingOnTheStore(t *testing.T) {
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("no sqlite3 shell")
	}
	t.Parallel()
	dir := t.TempDir()
	spec := faultSpec("f-reader%d", "parallel = 2", "lr = [0.3, 0.6, 0.9]\nsleep_ms = 100")
	writeSpec(t, dir, "s0.toml", fmt.Sprintf(spec, 0))
	if r := run(t, dir, "sweep", "s0.toml"); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads, locked atomic.Int64
	var sample atomic.Value
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			out, _ := exec.Command(sqlite3, "-readonly", filepath.Join(dir, "aexp.db"), "SELECT count(*) FROM runs").CombinedOutput()
			reads.Add(1)
			if bytes.Contains(out, []byte("locked")) {
				locked.Add(1)
				sample.Store(string(out))
			}
		}
	}()
	for i := 1; i <= 4; i++ {
		name := writeSpec(t, dir, fmt.Sprintf("s%d.toml", i), fmt.Sprintf(spec, i))
		hold := openDB(t, dir)
		if n := queryString(t, hold, `SELECT count(*) FROM runs`); n == "" {
			t.Fatal("no count")
		}
		cmd := aexp(t, dir, "sweep", name)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			n := queryString(t, hold, `SELECT count(*) FROM runs r JOIN sweeps s ON s.id = r.sweep_id WHERE s.name = ? AND r.status <> 'queued'`, fmt.Sprintf("f-reader%d", i))
			if n != "0" || time.Now().After(deadline) {
				break
			}
		}
		hold.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("sweep %d: %v\n%s", i, err, errb.String())
		}
	}
	stop.Store(true)
	wg.Wait()
	if locked.Load() > 0 {
		t.Errorf("%d of %d reads saw %q", locked.Load(), reads.Load(), sample.Load())
	}
	settled(t, dir)
}

// Two sweeps share a store; one is SIGKILLed. Running it again while the
// other still runs reclaims its runs at once (its lock is gone) and
// finishes them, resumed.
func TestFaultTwoSweepsOneKilled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	long := writeSpec(t, dir, "long.toml", strings.Replace(faultSpec("f-long", "parallel = 1", "lr = [0.3, 0.6]\nsleep_ms = 300"), "epochs = 6", "epochs = 12", 1))
	victim := writeSpec(t, dir, "victim.toml", faultSpec("f-victim", "parallel = 2", "lr = [0.3, 0.6]"))
	other := aexp(t, dir, "sweep", long)
	otherErr := start(t, other)
	defer func() { other.Process.Kill(); other.Wait() }()
	runningPids(t, dir, 1, 20*time.Second)
	cmd := aexp(t, dir, "sweep", victim)
	start(t, cmd)
	deadline := time.Now().Add(30 * time.Second)
	var pgids []int
	for {
		db := openDB(t, dir)
		rows, _ := db.Query(`SELECT r.pid FROM runs r JOIN sweeps s ON s.id = r.sweep_id JOIN run_state st ON st.run_id = r.id
WHERE s.name = 'f-victim' AND r.status = 'running' AND st.epoch >= 2`)
		pgids = pgids[:0]
		for rows != nil && rows.Next() {
			var p int
			rows.Scan(&p)
			pgids = append(pgids, p)
		}
		if rows != nil {
			rows.Close()
		}
		if len(pgids) >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	waitGone(t, pgids, 5*time.Second)
	if n := queryString(t, openDB(t, dir), `SELECT count(*) FROM runs r JOIN sweeps s ON s.id = r.sweep_id
WHERE s.name = 'f-long' AND r.status IN ('running', 'queued')`); n == "0" {
		t.Fatal("the other sweep ended too soon for the test to mean anything")
	}
	r := run(t, dir, "sweep", victim)
	if r.code != 0 || !strings.Contains(r.stderr, "reclaimed") {
		t.Fatalf("rerun of the killed sweep: exit %d\n%s", r.code, r.stderr)
	}
	db := openDB(t, dir)
	if n := queryString(t, db, `SELECT count(*) FROM runs r JOIN sweeps s ON s.id = r.sweep_id WHERE s.name = 'f-victim' AND r.status = 'done' AND r.resumed_from > 0`); n == "0" {
		t.Errorf("no run of the killed sweep resumed\n%s", r.stderr)
	}
	if err := other.Wait(); exitCode(err) != 0 {
		t.Fatalf("the other sweep: exit %v\n%s", err, otherErr)
	}
	settled(t, dir)
	if n := queryString(t, db, `SELECT count(*) FROM runs WHERE status <> 'done'`); n != "0" {
		t.Errorf("%s run(s) not done", n)
	}
}

// --retry-failed gives runs that used up their attempts a fresh set; they
// resume from their last epoch.
func TestRetryFailed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", faultSpec("f-retry", "parallel = 2\nattempts = 1", "lr = [0.3, 0.6]\nsleep_ms = 10\nfail_at = 4"))
	once := "AEXP_TESTPLUGIN_ONCE=" + t.TempDir()
	sweep := func(args ...string) result {
		cmd := aexp(t, dir, append([]string{"sweep"}, args...)...)
		cmd.Env = append(cmd.Env, once)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		code := exitCode(cmd.Run())
		return result{out.String(), errb.String(), code}
	}
	if r := sweep(spec); r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
	}
	if r := sweep(spec); r.code != 3 || !strings.Contains(r.stderr, "0 to run, 0 done before, 2 failed with no attempts left") {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	r := sweep("--retry-failed", spec)
	if r.code != 0 || !strings.Contains(r.stderr, "2 failed or timed-out run(s) get a fresh set of attempts") {
		t.Fatalf("--retry-failed: exit %d\n%s", r.code, r.stderr)
	}
	settled(t, dir)
	complete(t, dir, 2, 6)
	for _, id := range []int64{1, 2} {
		if from := resumedFrom(t, dir, id); from != 3 {
			t.Errorf("run %d resumed from epoch %d, want 3 (it failed in epoch 4)", id, from)
		}
	}
}
