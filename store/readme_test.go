package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
)

// sqlExample is one ```sql block of the README's sql section.
type sqlExample struct {
	query      string
	mayBeEmpty bool // the prose before it says "empty when ..."
}

// readmeExamples extracts the sql blocks between the README's sql markers.
func readmeExamples(t *testing.T) []sqlExample {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, "<!-- sql:begin -->"), strings.Index(s, "<!-- sql:end -->")
	if i < 0 || j < i {
		t.Fatal("README.md: sql markers missing")
	}
	s = s[i:j]
	re := regexp.MustCompile("(?s)```sql\n(.*?)```")
	var out []sqlExample
	prev := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		prose := s[prev:m[0]]
		if k := strings.LastIndex(prose, "```"); k >= 0 {
			prose = prose[k:]
		}
		out = append(out, sqlExample{query: s[m[2]:m[3]], mayBeEmpty: strings.Contains(prose, "empty when")})
		prev = m[1]
	}
	if len(out) < 8 {
		t.Fatalf("found %d sql examples in the README, want at least 8", len(out))
	}
	return out
}

// TestREADMEExamples runs every SQL example of the README against a
// database like the one `make demo` creates — made by a real sweep of the
// demo's spec, sweeps/vae.toml, on a slice of MNIST — and checks that each
// returns rows and that they answer something sensible. The examples that
// say "empty when ..." must be empty there and return rows on a copy where
// that case holds (a failed run, a running one). Without MNIST, or with
// -short, the database is built through the store API instead.
func TestREADMEExamples(t *testing.T) {
	examples := readmeExamples(t)
	path, real := readmeDB(t)
	raw := openRO(t, path)
	troubled := troubledCopy(t, path)
	for i, ex := range examples {
		name := fmt.Sprintf("%02d_%s", i+1, firstWords(ex.query))
		t.Run(name, func(t *testing.T) {
			cols, rows := query(t, raw, ex.query)
			if ex.mayBeEmpty {
				if len(rows) != 0 && real {
					t.Fatalf("%d rows on a database where every run finished:\n%s", len(rows), ex.query)
				}
				cols, rows = query(t, troubled, ex.query)
			}
			if len(rows) == 0 {
				t.Fatalf("no rows:\n%s", ex.query)
			}
			// Sane: no column entirely NULL (a misspelt key or JSON path),
			// no NaN or Inf in a database where every run finished.
			for c, col := range cols {
				allNull := true
				for _, r := range rows {
					if r[c] != nil {
						allNull = false
					}
					if f, ok := r[c].(float64); ok && real && !ex.mayBeEmpty && (math.IsNaN(f) || math.IsInf(f, 0)) {
						t.Errorf("column %s has %v", col, f)
					}
				}
				if allNull {
					t.Errorf("column %s is NULL in every row:\n%s", col, ex.query)
				}
			}
			checkExample(t, ex.query, cols, rows)
			t.Logf("%d rows, columns %v", len(rows), cols)
		})
	}
	t.Run("writefile", func(t *testing.T) { checkWritefile(t, path, raw) })
}

func openRO(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// troubledCopy copies the database and marks its first run failed and its
// second running, the cases the "empty when ..." examples look for.
func troubledCopy(t *testing.T, path string) *sql.DB {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "troubled.db")
	if err := os.WriteFile(cp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+cp)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`UPDATE runs SET status = 'failed', error = 'plugin process exited during Train (exit status 2)', stderr_tail = 'panic: boom' WHERE id = (SELECT min(id) FROM runs)`,
		`UPDATE runs SET status = 'running', finished = NULL, heartbeat = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = (SELECT min(id) + 1 FROM runs)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	return openRO(t, cp)
}

// checkWritefile runs the README's `sqlite3 ... writefile(...)` line with
// the real sqlite3 shell and checks that it wrote the run's checkpoint.
func checkWritefile(t *testing.T, path string, db *sql.DB) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`sqlite3 -readonly aexp\.db "(SELECT writefile\('([^']+)', bytes\) FROM artifacts WHERE kind = 'checkpoint' AND run_id = (\d+))"`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("README.md: the writefile example is missing")
	}
	sqlite, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("no sqlite3 shell (apt-get install sqlite3; CI has it)")
	}
	dir := t.TempDir()
	cmd := exec.Command(sqlite, "-readonly", path, m[1])
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, m[2]))
	if err != nil {
		t.Fatalf("the README's writefile example wrote nothing: %v", err)
	}
	var want []byte
	if err := db.QueryRow(`SELECT bytes FROM artifacts WHERE kind = 'checkpoint' AND run_id = ?`, m[3]).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || string(got) != string(want) {
		t.Errorf("%s: %d bytes, want run %s's checkpoint (%d bytes)", m[2], len(got), m[3], len(want))
	}
}

// checkExample checks what particular examples promise.
func checkExample(t *testing.T, q string, cols []string, rows [][]any) {
	col := func(name string) int {
		for i, c := range cols {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %q in %v", name, cols)
		return -1
	}
	num := func(v any) float64 {
		switch x := v.(type) {
		case float64:
			return x
		case int64:
			return float64(x)
		}
		t.Fatalf("%v (%T) is not a number", v, v)
		return 0
	}
	switch {
	case strings.Contains(q, "variant = 'vae' ORDER BY best_objective LIMIT 5"):
		if len(rows) > 5 {
			t.Errorf("%d rows, want at most 5", len(rows))
		}
		v, b := col("variant"), col("best_objective")
		for i, r := range rows {
			if r[v] != "vae" {
				t.Errorf("row %d: variant %v", i, r[v])
			}
			if i > 0 && num(r[b]) < num(rows[i-1][b]) {
				t.Errorf("not sorted by best_objective: %v after %v", r[b], rows[i-1][b])
			}
		}
	case strings.Contains(q, "vs_pca"):
		for _, r := range rows {
			if x := num(r[col("vs_pca")]); x <= 0 {
				t.Errorf("vs_pca %v", x)
			}
		}
	case strings.Contains(q, "value_num < 1"):
		for _, r := range rows {
			if x := num(r[col("beta")]); x >= 1 {
				t.Errorf("beta %v", x)
			}
		}
	case strings.Contains(q, "train_loss"):
		e := col("epoch")
		for i, r := range rows {
			if num(r[e]) != float64(i+1) {
				t.Errorf("row %d: epoch %v", i, r[e])
			}
			if r[col("val_loss")] == nil {
				t.Errorf("epoch %v: no val_loss", r[e])
			}
		}
	case strings.Contains(q, "FROM metric_summary"):
		keys := map[any]bool{}
		for _, r := range rows {
			keys[r[col("key")]] = true
		}
		for _, k := range []string{"train_loss", "val_loss", "test_mse", "pca_mse"} {
			if !keys[k] {
				t.Errorf("no %s in the best run's summary", k)
			}
		}
	}
}

func firstWords(q string) string {
	f := strings.Fields(q)
	s := strings.Join(f[:min(4, len(f))], "_")
	return regexp.MustCompile(`[^A-Za-z0-9_]+`).ReplaceAllString(s, "")
}

func query(t *testing.T, db *sql.DB, q string) ([]string, [][]any) {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols, out
}

// readmeSpec is the demo's spec (sweeps/vae.toml) on fewer images and
// epochs, so the database has the demo's shape: six VAE runs, keep = "best".
func readmeSpec(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join("..", "sweeps", "vae.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for key, v := range map[string]string{"epochs": "2", "train_limit": "600", "test_limit": "200"} {
		re := regexp.MustCompile(`(?m)^` + key + ` = \d+`)
		if !re.MatchString(s) {
			t.Fatalf("sweeps/vae.toml: no %s line to shrink", key)
		}
		s = re.ReplaceAllString(s, key+" = "+v)
	}
	return s
}

// readmeDB returns a database for the README examples and whether a real
// sweep made it.
func readmeDB(t *testing.T) (string, bool) {
	dir := t.TempDir()
	path := filepath.Join(dir, "aexp.db")
	_, mnistErr := dataset.MNISTDir()
	switch {
	case testing.Short():
		t.Log("-short: the README examples run against a database built through the store API")
	case mnistErr != nil:
		t.Logf("MNIST not found (%v): the README examples run against a database built through the store API", mnistErr)
	default:
		bin := t.TempDir()
		for pkg, out := range map[string]string{"cmd/aexp": "aexp", "plugins/vae": "aexp-variant-vae"} {
			if err := buildtest.Build(pkg, filepath.Join(bin, out)); err != nil {
				t.Fatal(err)
			}
		}
		spec := filepath.Join(dir, "vae.toml")
		if err := os.WriteFile(spec, []byte(readmeSpec(t)), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(bin, "aexp"), "sweep", "--db", path, spec)
		cmd.Env = append(os.Environ(), "AEXP_PLUGIN_DIR="+bin, "AEXP_DB=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aexp sweep: %v\n%s", err, out)
		}
		return path, true
	}
	buildReadmeFixture(t, path)
	return path, false
}

// buildReadmeFixture records, through the store API, what the demo's sweep
// records: 6 vae runs (latent 2/10/20 × beta 0.5/1) with per-epoch and
// final metrics, meta and the best checkpoint of each.
func buildReadmeFixture(t *testing.T, path string) {
	ctx := context.Background()
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sw, _, err := db.EnsureSweepSpec(ctx, store.SweepSpec{Name: "vae-latent", Spec: readmeSpec(t), SpecHash: "fixture", Objective: "val_neg_elbo", Goal: store.Minimize})
	if err != nil {
		t.Fatal(err)
	}
	var specs []store.RunSpec
	for _, latent := range []int64{2, 10, 20} {
		for _, beta := range []float64{0.5, 1} {
			specs = append(specs, store.RunSpec{Key: fmt.Sprintf("vae-%d-%v", latent, beta), Variant: "vae", Dataset: "mnist",
				Params: map[string]any{"lr": 1e-3, "hidden": []int64{512, 256}, "latent": latent, "beta": beta, "activation": "relu"}})
		}
	}
	runs, err := db.EnsureRuns(ctx, sw.ID, specs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range runs {
		if err := db.StartRun(ctx, r.ID, store.RunStart{PluginVersion: "0.1.0", PluginHash: "fixture", Threads: 1, Pid: 1000 + i}); err != nil {
			t.Fatal(err)
		}
		for e := 1; e <= 2; e++ {
			val := 200 * (1 + float64(i%3)/10) / float64(e)
			m := map[string]float64{"train_loss": val * 1.1, "val_loss": val, "val_neg_elbo": val * 1.05,
				"epoch_seconds": 0.1, "samples_per_second": 5000 + float64(i)}
			if err := db.RecordEpoch(ctx, r.ID, e, m); err != nil {
				t.Fatal(err)
			}
			ck := variant.Artifact{Kind: variant.KindCheckpoint, Name: fmt.Sprintf("model-epoch%d.safetensors", e), Epoch: e, Format: "safetensors", Data: []byte("weights")}
			if err := db.SaveArtifact(ctx, r.ID, ck, store.KeepBest, m["val_neg_elbo"]); err != nil {
				t.Fatal(err)
			}
		}
		final := map[string]float64{"test_mse": 0.03 + float64(i)/100, "pca_mse": 0.04, "test_neg_elbo": 150}
		if err := db.FinishRun(ctx, r.ID, store.RunFinish{Status: store.StatusDone, Metrics: final,
			Meta: map[string]string{"blas": "gonum", "params": "1068820"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.FinishSweep(ctx, sw.ID, store.SweepDone); err != nil {
		t.Fatal(err)
	}
}
