package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/viz"
	"github.com/aexp/aexp/viz/viztest"
)

// The -update flag rewrites golden files. Another test file of this
// package may define it too; then that one is used.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "compare", name)
	if updating() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/aexp -run Compare -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (-update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// fixtureRun is one run to record through the store's write API.
type fixtureRun struct {
	variant    string
	seed       uint64
	params     map[string]any
	status     string // "queued": never started
	epochs     int
	start, end float64 // train loss decays from start towards end
	final      map[string]float64
	meta       map[string]string
	errText    string
	artifacts  []variant.Artifact
}

// compareDB records a small realistic sweep into a real SQLite file and
// returns its path. Runs 1 and 2 differ only by seed; run 5 failed at its
// second epoch; run 6 never started.
func compareDB(t *testing.T) string {
	t.Helper()
	recon, _, _ := viztest.Reconstruction(t, 10, 4)
	reconVAE, _, _ := viztest.Reconstruction(t, 10, 4)
	sample, _ := viztest.Sample(t, 36, 0)
	dense := func(lr float64, code int64) map[string]any {
		return map[string]any{"lr": lr, "code": code, "hidden": []int64{300, 150}, "activation": "relu"}
	}
	runs := []fixtureRun{
		{variant: "dense", seed: 0, params: dense(0.001, 32), status: "done", epochs: 4, start: 0.09, end: 0.011,
			final: map[string]float64{"test_mse": 0.0118, "pca_mse": 0.0182}, meta: map[string]string{"params": "535818"},
			artifacts: []variant.Artifact{recon}},
		{variant: "dense", seed: 1, params: dense(0.001, 32), status: "done", epochs: 4, start: 0.091, end: 0.0114,
			final: map[string]float64{"test_mse": 0.0122, "pca_mse": 0.0182}, meta: map[string]string{"params": "535818"},
			artifacts: []variant.Artifact{recon}},
		{variant: "dense", seed: 0, params: dense(0.001, 8), status: "done", epochs: 4, start: 0.1, end: 0.025,
			final: map[string]float64{"test_mse": 0.0261, "pca_mse": 0.0373}, meta: map[string]string{"params": "526538"},
			artifacts: []variant.Artifact{recon}},
		{variant: "vae", seed: 0, params: map[string]any{"lr": 0.001, "latent": int64(2), "beta": 1.0, "hidden": []int64{512, 256}},
			status: "done", epochs: 4, start: 0.2, end: 0.04,
			final: map[string]float64{"test_mse": 0.0392, "pca_mse": 0.0557, "test_neg_elbo": 143.7}, meta: map[string]string{"params": "1068820"},
			artifacts: []variant.Artifact{reconVAE, sample, viztest.Latent(t, 400)}},
		{variant: "dense", seed: 0, params: dense(0.1, 32), status: "failed", epochs: 1, start: 0.3, end: 0.3,
			errText: "plugin exited: panic: boom"},
		{variant: "dense", seed: 0, params: dense(0.01, 32), status: "queued"},
	}
	path := filepath.Join(t.TempDir(), "aexp.db")
	recordFixture(t, path, "dense-vs-vae", runs)
	return path
}

func recordFixture(t *testing.T, path, sweep string, runs []fixtureRun) {
	t.Helper()
	recordFixtureObjective(t, path, sweep, "val_loss", runs)
}

// recordFixtureObjective is recordFixture for a sweep with another objective.
func recordFixtureObjective(t *testing.T, path, sweep, objective string, runs []fixtureRun) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sw, _, err := db.EnsureSweepSpec(ctx, store.SweepSpec{Name: sweep, Spec: "name = \"" + sweep + "\"", SpecHash: "h-" + sweep,
		Objective: objective, Goal: store.Minimize})
	if err != nil {
		t.Fatal(err)
	}
	specs := make([]store.RunSpec, len(runs))
	for i, r := range runs {
		specs[i] = store.RunSpec{Key: fmt.Sprintf("%s-%d", sweep, i), Variant: r.variant, Dataset: "mnist", Seed: r.seed, Params: r.params}
	}
	recorded, err := db.EnsureRuns(ctx, sw.ID, specs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range runs {
		id := recorded[i].ID
		if r.status == store.StatusQueued {
			continue
		}
		if err := db.StartRun(ctx, id, store.RunStart{PluginVersion: "0.1.0", BLAS: "gonum", Threads: 1}); err != nil {
			t.Fatal(err)
		}
		train, val := viztest.Losses(r.epochs, r.start, r.end)
		for e := 1; e <= r.epochs; e++ {
			m := map[string]float64{"train_loss": train[e-1], "val_loss": val[e-1],
				"epoch_seconds": 2.5 + 0.25*float64(e%2), "samples_per_second": 20000 + 1000*float64(e%3)}
			if err := db.RecordEpoch(ctx, id, e, m); err != nil {
				t.Fatal(err)
			}
		}
		for _, a := range r.artifacts {
			if err := db.SaveArtifact(ctx, id, a, store.KeepLast, val[len(val)-1]); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.FinishRun(ctx, id, store.RunFinish{Status: r.status, Error: r.errText, Metrics: r.final, Meta: r.meta}); err != nil {
			t.Fatal(err)
		}
	}
}

// aexp runs the CLI in-process.
func aexp(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), err
}

func TestCompareGolden(t *testing.T) {
	db := compareDB(t)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"runs.txt", []string{"compare", "--db", db, "1", "2", "3", "4", "5"}},
		{"runs.json", []string{"compare", "--db", db, "1", "2", "3", "4", "5", "--json"}},
		{"sweep.csv", []string{"compare", "--db", db, "--sweep", "dense-vs-vae", "--csv"}},
		{"best2.md", []string{"compare", "--db", db, "--sweep", "1", "--best", "2", "--md"}},
		{"one.txt", []string{"compare", "--db", db, "4"}},
		{"maximize.txt", []string{"compare", "--db", db, "--objective", "test_mse", "--goal", "maximize", "1", "3", "4"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, stderr, err := aexp(t, tc.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			goldenFile(t, tc.golden, []byte(out))
		})
	}
}

func TestCompareErrors(t *testing.T) {
	db := compareDB(t)
	checkErrors(t, []errorCase{
		{"no runs", []string{"compare", "--db", db}, exitUsage, "name runs"},
		{"two formats", []string{"compare", "--db", db, "--json", "--csv", "1"}, exitUsage, "one of --json"},
		{"bad id", []string{"compare", "--db", db, "one"}, exitUsage, `"one" is not a run id`},
		{"bad goal", []string{"compare", "--db", db, "--goal", "up", "1"}, exitUsage, "--goal"},
		{"missing run", []string{"compare", "--db", db, "1", "99"}, exitError, "run 99 not found"},
		{"missing sweep", []string{"compare", "--db", db, "--sweep", "nope"}, exitError, "nope"},
		{"missing db", []string{"compare", "--db", filepath.Join(t.TempDir(), "none.db"), "1"}, exitError, "none.db"},
	})
}

// errorCase is a command line that must fail with exit code code and an
// error that contains contains.
type errorCase struct {
	name     string
	args     []string
	code     int
	contains string
}

// checkErrors runs each case as a subtest.
func checkErrors(t *testing.T, cases []errorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := aexp(t, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if code := codeOf(err); code != tc.code {
				t.Errorf("exit code %d, want %d (%v)", code, tc.code, err)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not mention %q", err, tc.contains)
			}
		})
	}
}

func codeOf(err error) int {
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitError
}

func TestCompareHTMLAndPNG(t *testing.T) {
	db := compareDB(t)
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	pngs := filepath.Join(dir, "pictures")
	_, stderr, err := aexp(t, "compare", "--db", db, "--sweep", "dense-vs-vae", "--html", html, "--png", pngs)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	// loss, the side-by-side grid, four reconstruction grids, samples, latent.
	want := []string{"latent-run-4.png", "loss.png", "recon-compare.png", "recon-run-1.png", "recon-run-2.png",
		"recon-run-3.png", "recon-run-4.png", "samples-run-4.png"}
	entries, err := os.ReadDir(pngs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
		b, _ := os.ReadFile(filepath.Join(pngs, e.Name()))
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("pictures %v, want %v", got, want)
	}
	if strings.Contains(stderr, "warning") {
		t.Errorf("warnings: %s", stderr)
	}
	// Every picture but loss.png, which the page draws as a chart.
	shot := viztest.CheckInChromium(t, html, len(want)-1)
	if d := os.Getenv("VIZ_KEEP"); d != "" {
		os.WriteFile(filepath.Join(d, "compare-screenshot.png"), shot, 0o644)
		b, _ := os.ReadFile(html)
		os.WriteFile(filepath.Join(d, "compare.html"), b, 0o644)
	}
}

// TestRunPictures covers the helper behind `aexp show RUN --html/--png`.
func TestRunPictures(t *testing.T) {
	path := compareDB(t)
	db, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	html, pngs := filepath.Join(dir, "run4.html"), filepath.Join(dir, "run4")
	var stderr bytes.Buffer
	if err := runPictures(context.Background(), db, 4, html, pngs, dir, &stderr); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"aexp run 4", "test_neg_elbo", "Samples from N(0, I)", "Latent space", "data:image/png;base64,"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(page, `<img src="data:image/png`); n != 3 {
		t.Errorf("%d images, want 3 (reconstructions, samples, latent; the loss curves are a chart)", n)
	}
	entries, _ := os.ReadDir(pngs)
	if len(entries) != 4 {
		t.Errorf("%d PNG files, want 4", len(entries))
	}
	if _, _, err := aexp(t, "compare", "--db", path, "99", "--html", html); err == nil {
		t.Error("a missing run made a report")
	}
}

// Runs of sweeps with different objectives: the note names them in words,
// not as a printed Go struct.
func TestCompareMixedObjectivesNote(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aexp.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, obj := range []string{"val_neg_elbo", "test_mse"} {
		sw, _, err := db.EnsureSweepSpec(ctx, store.SweepSpec{Name: obj, Spec: "x", SpecHash: obj, Objective: obj, Goal: store.Minimize})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := db.EnsureRuns(ctx, sw.ID, []store.RunSpec{{Key: obj, Variant: "vae", Dataset: "mnist", Params: map[string]any{"lr": 1e-3 * float64(i+1)}}})
		if err != nil {
			t.Fatal(err)
		}
		db.StartRun(ctx, rs[0].ID, store.RunStart{})
		db.RecordEpoch(ctx, rs[0].ID, 1, map[string]float64{"train_loss": 0.1, "val_loss": 0.1})
		db.FinishRun(ctx, rs[0].ID, store.RunFinish{Status: store.StatusDone})
	}
	db.Close()
	_, stderr, err := cli(t, "compare", "--db", path, "1", "2")
	if err != nil {
		t.Fatal(err)
	}
	want := "different objectives (val_neg_elbo (minimize), test_mse (minimize)); ranking by val_loss"
	if !strings.Contains(stderr, want) || strings.Contains(stderr, "{") {
		t.Errorf("stderr:\n%s\nwant %q and no Go struct", stderr, want)
	}
}

// TestCompareReportFixes checks what the report got wrong before: it plots
// the sweep's objective (here train_loss, not val_loss), labels lines by
// the params that differ, folds seeds into one line, and keeps the run ids
// in the order they were typed.
func TestCompareReportFixes(t *testing.T) {
	dense := func(code int64) map[string]any { return map[string]any{"lr": 0.001, "code": code} }
	path := filepath.Join(t.TempDir(), "aexp.db")
	recordFixtureObjective(t, path, "by-train", "train_loss", []fixtureRun{
		{variant: "dense", seed: 0, params: dense(32), status: "done", epochs: 3, start: 0.09, end: 0.02},
		{variant: "dense", seed: 1, params: dense(32), status: "done", epochs: 3, start: 0.1, end: 0.021},
		{variant: "dense", seed: 0, params: dense(8), status: "done", epochs: 3, start: 0.2, end: 0.05},
	})
	html := filepath.Join(t.TempDir(), "r.html")
	if _, stderr, err := aexp(t, "compare", "--db", path, "3", "1", "2", "--html", html, "--no-sample"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.Contains(page, "<title>aexp compare 3 1 2</title>") {
		t.Errorf("the title does not keep the typed order 3 1 2")
	}
	i := strings.LastIndex(page, `<script type="application/json" id="aexp-data">`)
	if i < 0 {
		t.Fatal("no chart data in the report")
	}
	data := page[i+len(`<script type="application/json" id="aexp-data">`):]
	data = data[:strings.Index(data, "</script>")]
	var d struct {
		Curves []viz.CurveSet `json:"curves"`
	}
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Curves) == 0 || d.Curves[0].Metric != "train_loss" {
		t.Fatalf("first chart %+v, want the objective train_loss", d.Curves)
	}
	var labels []string
	for _, l := range d.Curves[0].Lines {
		labels = append(labels, fmt.Sprintf("%s %v", l.Label, l.Runs))
	}
	if got, want := strings.Join(labels, "; "), "code=32 [1 2]; code=8 [3]"; got != want {
		t.Errorf("lines %q, want %q", got, want)
	}
	if p := d.Curves[0].Lines[0].Points[0]; p[4] != 2 || p[2] >= p[3] {
		t.Errorf("epoch 1 of the seed group: %v, want n=2 and a band", p)
	}
}
