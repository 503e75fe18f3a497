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
// database made by a real tiny sweep (dense and vae plugins on a slice of
// MNIST) and checks that each answers something sensible. Without MNIST,
// or with -short, the database is built through the store API instead.
func TestREADMEExamples(t *testing.T) {
	examples := readmeExamples(t)
	path, real := readmeDB(t)
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for i, ex := range examples {
		name := fmt.Sprintf("%02d_%s", i+1, firstWords(ex.query))
		t.Run(name, func(t *testing.T) {
			cols, rows := query(t, raw, ex.query)
			if len(rows) == 0 {
				if !ex.mayBeEmpty {
					t.Fatalf("no rows:\n%s", ex.query)
				}
				return
			}
			// Sane: no column entirely NULL (a misspelt key or JSON path),
			// no NaN or Inf in a database where every run finished.
			for c, col := range cols {
				allNull := true
				for _, r := range rows {
					if r[c] != nil {
						allNull = false
					}
					if f, ok := r[c].(float64); ok && real && (math.IsNaN(f) || math.IsInf(f, 0)) {
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
	case strings.Contains(q, "value_num < 0.002"):
		for _, r := range rows {
			if x := num(r[col("lr")]); x >= 0.002 {
				t.Errorf("lr %v", x)
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

const readmeSpec = `name = "readme"
description = "a tiny MNIST sweep whose database the README's SQL examples query"
dataset = "mnist"

[objective]
metric = "val_loss"
goal = "minimize"

[search]
method = "grid"
seed = 1

[budget]
epochs = 3
batch_size = 64
parallel = 2
seeds = [0]
train_limit = 600
test_limit = 200

[params]
lr = [1e-3, 3e-3]

[[variants]]
name = "dense"
params = { hidden = [[64, 16]], activation = ["relu", "selu"] }

[[variants]]
name = "vae"
params = { hidden = [[64]], latent = 2 }

[checkpoints]
keep = "best"
`

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
		for pkg, out := range map[string]string{"cmd/aexp": "aexp", "plugins/dense": "aexp-variant-dense", "plugins/vae": "aexp-variant-vae"} {
			if err := buildtest.Build(pkg, filepath.Join(bin, out)); err != nil {
				t.Fatal(err)
			}
		}
		spec := filepath.Join(dir, "readme.toml")
		if err := os.WriteFile(spec, []byte(readmeSpec), 0o644); err != nil {
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

// buildReadmeFixture records, through the store API, what the tiny sweep
// records: 4 dense and 2 vae runs with per-epoch and final metrics, meta and
// checkpoints.
func buildReadmeFixture(t *testing.T, path string) {
	ctx := context.Background()
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sw, _, err := db.EnsureSweepSpec(ctx, store.SweepSpec{Name: "readme", Spec: readmeSpec, SpecHash: "fixture", Objective: "val_loss", Goal: store.Minimize})
	if err != nil {
		t.Fatal(err)
	}
	var specs []store.RunSpec
	for _, lr := range []float64{1e-3, 3e-3} {
		for _, act := range []string{"relu", "selu"} {
			specs = append(specs, store.RunSpec{Key: fmt.Sprintf("dense-%v-%s", lr, act), Variant: "dense", Dataset: "mnist",
				Params: map[string]any{"lr": lr, "hidden": []int64{64, 16}, "activation": act, "output": "sigmoid", "tied": false}})
		}
	}
	for _, lr := range []float64{1e-3, 3e-3} {
		specs = append(specs, store.RunSpec{Key: fmt.Sprintf("vae-%v", lr), Variant: "vae", Dataset: "mnist",
			Params: map[string]any{"lr": lr, "hidden": []int64{64}, "latent": int64(2), "beta": 1.0, "activation": "relu"}})
	}
	runs, err := db.EnsureRuns(ctx, sw.ID, specs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range runs {
		if err := db.StartRun(ctx, r.ID, store.RunStart{PluginVersion: "0.1.0", PluginHash: "fixture", Threads: 1, Pid: 1000 + i}); err != nil {
			t.Fatal(err)
		}
		scale := 0.1
		if r.Variant == "vae" {
			scale = 400
		}
		var val float64
		for e := 1; e <= 3; e++ {
			val = scale * (1 + float64(i%4)/10) / float64(e)
			m := map[string]float64{"train_loss": val * 1.1, "val_loss": val, "epoch_seconds": 0.1, "samples_per_second": 5000 + float64(i)}
			if err := db.RecordEpoch(ctx, r.ID, e, m); err != nil {
				t.Fatal(err)
			}
			ck := variant.Artifact{Kind: variant.KindCheckpoint, Name: fmt.Sprintf("model-epoch%d.safetensors", e), Epoch: e, Format: "safetensors", Data: []byte("weights")}
			if err := db.SaveArtifact(ctx, r.ID, ck, store.KeepBest, val); err != nil {
				t.Fatal(err)
			}
		}
		final := map[string]float64{"test_mse": 0.06 + float64(i)/100, "pca_mse": 0.03}
		if err := db.FinishRun(ctx, r.ID, store.RunFinish{Status: store.StatusDone, Metrics: final,
			Meta: map[string]string{"blas": "gonum", "params": "103328"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.FinishSweep(ctx, sw.ID, store.SweepDone); err != nil {
		t.Fatal(err)
	}
}
