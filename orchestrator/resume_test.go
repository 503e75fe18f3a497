package orchestrator_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aexp/aexp/internal/buildtest"
)

// realPlugins builds the dense, vae and rnn plugins into one folder.
func realPlugins(t testing.TB) string {
	t.Helper()
	needDense(t)
	return buildtest.Binaries(t, map[string]string{
		"plugins/dense": "aexp-variant-dense", "plugins/vae": "aexp-variant-vae", "plugins/rnn": "aexp-variant-rnn"})
}

// epochRecord is what a run recorded, minus wall-clock metrics.
type epochRecord struct {
	metrics    string // "key@epoch=value" lines, sorted
	checkpoint []byte
	final      string
}

func recorded(t testing.TB, db *sql.DB, id int64) epochRecord {
	t.Helper()
	var r epochRecord
	rows, err := db.Query(`SELECT key, epoch, quote(value) FROM metrics
WHERE run_id = ? AND key NOT IN ('epoch_seconds', 'samples_per_second') ORDER BY key, epoch`, id)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for rows.Next() {
		var k, v string
		var e int
		rows.Scan(&k, &e, &v)
		fmt.Fprintf(&b, "%s@%d=%s\n", k, e, v)
	}
	rows.Close()
	r.metrics = b.String()
	if err := db.QueryRow(`SELECT bytes FROM artifacts WHERE run_id = ? AND kind = 'checkpoint'`, id).Scan(&r.checkpoint); err != nil {
		t.Fatalf("run %d checkpoint: %v", id, err)
	}
	var recon []byte
	db.QueryRow(`SELECT bytes FROM artifacts WHERE run_id = ? AND kind = 'reconstruction'`, id).Scan(&recon)
	r.final = fmt.Sprintf("%x", recon)
	return r
}

// waitState waits until the run has a training state of at least epoch.
func waitState(t testing.TB, dir string, epoch int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, "aexp.db")); err == nil {
			db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "aexp.db")+"?mode=ro&_busy_timeout=5000")
			if err == nil {
				var n int
				err = db.QueryRow(`SELECT count(*) FROM run_state s JOIN runs r ON r.id = s.run_id
WHERE s.epoch >= ? AND r.status = 'running'`, epoch).Scan(&n)
				db.Close()
				if err == nil && n > 0 {
					return
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no training state of epoch %d within %s", epoch, within)
}

// TestResumeAfterSIGKILLIsExact: a run whose aexp is SIGKILLed after an
// epoch, resumed by the next `aexp sweep`, records exactly the epochs,
// weights and reconstructions of the same run uninterrupted (same threads).
func TestResumeAfterSIGKILLIsExact(t *testing.T) {
	plugins := realPlugins(t)
	cases := []struct{ variant, params string }{
		{"dense", "hidden = [[64, 8]]"},
		{"vae", "hidden = [[64]]\nlatent = 4"},
		{"rnn", "hidden = 16\ncode = 8"},
	}
	for _, c := range cases {
		t.Run(c.variant, func(t *testing.T) {
			t.Parallel()
			spec := fmt.Sprintf(`name = "resume-%s"
variant = "%s"
dataset = "mnist"
[budget]
epochs = 6
batch_size = 64
parallel = 1
threads = 1
train_limit = 2000
test_limit = 100
[params]
lr = 3e-3
%s
`, c.variant, c.variant, c.params)
			ref := t.TempDir()
			if r := run(t, ref, "sweep", "--plugin-dir", plugins, writeSpec(t, ref, "s.toml", spec)); r.code != 0 {
				t.Fatalf("uninterrupted: exit %d\n%s", r.code, r.stderr)
			}
			want := recorded(t, openDB(t, ref), 1)

			dir := t.TempDir()
			name := writeSpec(t, dir, "s.toml", spec)
			cmd := aexp(t, dir, "sweep", "--plugin-dir", plugins, name)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitState(t, dir, 2, time.Minute)
			cmd.Process.Kill()
			cmd.Wait()
			db := openDB(t, dir)
			var killedAt int
			db.QueryRow(`SELECT epoch FROM run_state WHERE run_id = 1`).Scan(&killedAt)
			if st := queryString(t, db, `SELECT status FROM runs WHERE id = 1`); st != "running" || killedAt >= 6 {
				t.Fatalf("killed too late: status %s, state of epoch %d", st, killedAt)
			}
			var pgid int
			db.QueryRow(`SELECT pid FROM runs WHERE id = 1`).Scan(&pgid)
			waitGone(t, []int{pgid}, 5*time.Second) // the plugin died with aexp
			integrityOK(t, dir)

			r := run(t, dir, "sweep", "--plugin-dir", plugins, name)
			if r.code != 0 {
				t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
			}
			db = openDB(t, dir)
			from := queryString(t, db, `SELECT resumed_from FROM runs WHERE id = 1`)
			if from == "0" || from == "" {
				t.Fatalf("the run did not resume (resumed_from %s)\n%s", from, r.stderr)
			}
			if n := queryString(t, db, `SELECT count(*) FROM run_state`); n != "0" {
				t.Errorf("%s training states left after the run finished", n)
			}
			got := recorded(t, db, 1)
			if got.metrics != want.metrics {
				t.Errorf("metrics after resuming from epoch %s differ:\n%s\nuninterrupted:\n%s", from, got.metrics, want.metrics)
			}
			if !bytes.Equal(got.checkpoint, want.checkpoint) {
				t.Errorf("final weights after resuming from epoch %s differ from the uninterrupted run's", from)
			}
			if got.final != want.final {
				t.Errorf("reconstructions differ")
			}
			integrityOK(t, dir)
		})
	}
}

// A list parameter's length is checked before anything runs:
// hidden = [[]] is refused by aexp plan, naming the key.
func TestEmptyListRefusedAtPlan(t *testing.T) {
	t.Parallel()
	plugins := needDense(t)
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", `name = "empty"
variant = "dense"
dataset = "mnist"
[params]
hidden = [[], [64, 8]]
`)
	r := run(t, dir, "plan", "--plugin-dir", plugins, spec)
	if r.code != 2 || !strings.Contains(r.stderr, "s.toml:5") || !strings.Contains(r.stderr, "hidden") ||
		!strings.Contains(r.stderr, "want at least 1") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
}

// A plugin that lists the shared metrics among its own (every train-based
// one does) has each named once when the objective is not among them.
func TestUnknownMetricNamesEachOnce(t *testing.T) {
	t.Parallel()
	plugins := needDense(t)
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.toml", "name = \"m\"\nvariant = \"dense\"\ndataset = \"mnist\"\n[objective]\nmetric = \"val_los\"\n")
	r := run(t, dir, "plan", "--plugin-dir", plugins, spec)
	if r.code != 2 || strings.Count(r.stderr, "train_loss") != 1 || !strings.Contains(r.stderr, `did you mean "val_loss"?`) {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
}

// A directory given as the spec is a usage error (exit 2), like a missing
// file.
func TestSpecIsADirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sweeps"), 0o755)
	for _, cmd := range []string{"sweep", "plan"} {
		r := run(t, dir, cmd, "sweeps")
		if r.code != 2 || !strings.Contains(r.stderr, "sweeps: is a directory; give the spec file") {
			t.Errorf("aexp %s DIR: exit %d\n%s", cmd, r.code, r.stderr)
		}
	}
}
