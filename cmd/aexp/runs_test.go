package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
)

// storeFixture builds a small database through the store API: two sweeps,
// a vae sweep with done, failed and queued runs and checkpoints kept "all",
// and a dense sweep.
func storeFixture(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aexp.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	vae, _, err := db.EnsureSweepSpec(ctx, store.SweepSpec{Name: "vae-latent", Spec: "name = \"vae-latent\"", SpecHash: "h1", Objective: "val_loss", Goal: store.Minimize})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := db.EnsureRuns(ctx, vae.ID, []store.RunSpec{
		{Key: "v1", Variant: "vae", Dataset: "mnist", Seed: 0, Params: map[string]any{"lr": 1e-3, "latent": int64(2), "beta": 1.0, "hidden": []int64{512, 256}}},
		{Key: "v2", Variant: "vae", Dataset: "mnist", Seed: 0, Params: map[string]any{"lr": 1e-3, "latent": int64(10), "beta": 1.0, "hidden": []int64{512, 256}}},
		{Key: "v3", Variant: "vae", Dataset: "mnist", Seed: 0, Params: map[string]any{"lr": 1e-3, "latent": int64(20), "beta": 1.0, "hidden": []int64{512, 256}}},
		{Key: "v4", Variant: "vae", Dataset: "mnist", Seed: 0, Params: map[string]any{"lr": 1e-3, "latent": int64(30), "beta": 1.0, "hidden": []int64{512, 256}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	curves := [][]float64{{0.06, 0.05, 0.045}, {0.05, 0.04, 0.035}}
	for i, c := range curves {
		id := runs[i].ID
		if err := db.StartRun(ctx, id, store.RunStart{PluginVersion: "0.1.0", PluginHash: "abcdef0123456789", Host: "box", BLAS: "gonum", Threads: 1, Pid: 100 + i}); err != nil {
			t.Fatal(err)
		}
		for e, l := range c {
			if err := db.RecordEpoch(ctx, id, e+1, map[string]float64{"train_loss": l + 0.01, "val_loss": l, "epoch_seconds": 1.5, "samples_per_second": 4000}); err != nil {
				t.Fatal(err)
			}
			ck := variant.Artifact{Kind: variant.KindCheckpoint, Name: "model.safetensors", Epoch: e + 1, Format: "safetensors", Data: []byte(fmt.Sprintf("ckpt run %d epoch %d", i, e+1))}
			if err := db.SaveArtifact(ctx, id, ck, store.KeepAll, l); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.FinishRun(ctx, id, store.RunFinish{Status: store.StatusDone, Metrics: map[string]float64{"test_mse": c[2] / 2, "pca_mse": 0.056}, Meta: map[string]string{"params": "12345"}}); err != nil {
			t.Fatal(err)
		}
	}
	db.StartRun(ctx, runs[2].ID, store.RunStart{PluginVersion: "0.1.0"})
	db.RecordEpoch(ctx, runs[2].ID, 1, map[string]float64{"train_loss": 0.1, "val_loss": math.NaN()})
	db.FinishRun(ctx, runs[2].ID, store.RunFinish{Status: store.StatusDiverged, Error: "diverged at epoch 1: val_loss is NaN", StderrTail: "line 1\nline 2\n"})

	dense, _, _ := db.EnsureSweepSpec(ctx, store.SweepSpec{Name: "dense-depth", Spec: "x", SpecHash: "h2"})
	druns, _ := db.EnsureRuns(ctx, dense.ID, []store.RunSpec{{Key: "d1", Variant: "dense", Dataset: "mnist", Params: map[string]any{"hidden": []int64{300, 150}, "activation": "relu"}}})
	db.StartRun(ctx, druns[0].ID, store.RunStart{})
	db.RecordEpoch(ctx, druns[0].ID, 1, map[string]float64{"train_loss": 0.03, "val_loss": 0.031})
	db.FinishRun(ctx, druns[0].ID, store.RunFinish{Status: store.StatusDone, Metrics: map[string]float64{"test_mse": 0.03, "pca_mse": 0.04}})
	return path
}

// cli runs the aexp command line in-process.
func cli(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func exitOf(err error) int {
	if err == nil {
		return 0
	}
	return exitCodeQuiet(err)
}

// exitCodeQuiet is exitCode without printing.
func exitCodeQuiet(err error) int {
	if ce, ok := err.(*codeError); ok {
		return ce.code
	}
	return exitError
}

func TestRunsCommand(t *testing.T) {
	db := storeFixture(t)
	t.Run("Table", func(t *testing.T) {
		out, _, err := cli(t, "runs", "--db", db)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 6 || !strings.HasPrefix(lines[0], "RUN\tSWEEP\tVARIANT\tSTATUS\tEPOCHS\tBEST_VAL_LOSS") {
			t.Fatalf("table:\n%s", out)
		}
		// Only the varying params are shown.
		if !strings.Contains(lines[1], "latent=2") || strings.Contains(lines[1], "lr=") {
			t.Fatalf("params column: %q", lines[1])
		}
		if !strings.Contains(lines[3], "diverged") || !strings.Contains(lines[4], "queued\t0\t-\t-\t-") {
			t.Fatalf("rows:\n%s", out)
		}
	})
	t.Run("FiltersAndSort", func(t *testing.T) {
		t.Setenv("AEXP_DB", db)
		out, _, err := cli(t, "runs", "--sweep", "vae-latent", "--status", "done,diverged", "--sort", "objective", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var rs []store.RunSummary
		if err := json.Unmarshal([]byte(out), &rs); err != nil {
			t.Fatal(err)
		}
		if len(rs) != 3 || rs[0].RunID != 2 || rs[1].RunID != 1 || rs[2].BestObjective != nil {
			t.Fatalf("%+v", rs)
		}
		out, _, err = cli(t, "runs", "--variant", "dense", "--json")
		if err != nil || !strings.Contains(out, `"variant": "dense"`) || strings.Contains(out, `"vae"`) {
			t.Fatalf("%v\n%s", err, out)
		}
		out, stderr, err := cli(t, "runs", "--variant", "nope")
		if err != nil || out != "" || !strings.Contains(stderr, "no runs match") {
			t.Fatalf("%v %q %q", err, out, stderr)
		}
		out, _, _ = cli(t, "runs", "--variant", "nope", "--json")
		if strings.TrimSpace(out) != "[]" {
			t.Fatalf("empty json: %q", out)
		}
	})
	t.Run("CSV", func(t *testing.T) {
		out, _, err := cli(t, "runs", "--db", db, "--csv")
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 6 || recs[0][0] != "run_id" || recs[0][len(recs[0])-1] != "param.lr" || recs[1][len(recs[1])-1] != "0.001" {
			t.Fatalf("%v", recs)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			code int
			msg  string
		}{
			{[]string{"runs", "--db", db, "--status", "bogus"}, exitUsage, "want one or more of"},
			{[]string{"runs", "--db", db, "--json", "--csv"}, exitUsage, "exclusive"},
			{[]string{"runs", "--db", db, "--sort", "x"}, exitUsage, "--sort"},
			{[]string{"runs", "--db", db, "17"}, exitUsage, "aexp show 17"},
			{[]string{"runs", "--db", db, "--sweep", "nope"}, exitError, `no sweep "nope"`},
			{[]string{"runs", "--db", filepath.Join(t.TempDir(), "missing.db")}, exitError, "no aexp database at"},
			{[]string{"runs", "--bogus"}, exitUsage, ""},
		} {
			_, _, err := cli(t, tc.args...)
			if exitOf(err) != tc.code || (tc.msg != "" && !strings.Contains(err.Error(), tc.msg)) {
				t.Errorf("%v: exit %d, err %v; want exit %d with %q", tc.args, exitOf(err), err, tc.code, tc.msg)
			}
		}
		if _, stderr, err := cli(t, "runs", "-h"); err != nil && exitOf(err) != 0 || !strings.Contains(stderr, "Examples:") {
			t.Errorf("-h: %v %q", err, stderr)
		}
	})
}

func TestShowCommand(t *testing.T) {
	db := storeFixture(t)
	out, _, err := cli(t, "show", "2", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"run 2: vae on mnist, done (attempt 1 of 1)", "sweep      vae-latent (#1)",
		"objective val_loss (minimize): best 0.035 at epoch 3, final 0.035", "latent  10", "epoch  val_loss  train_loss",
		"3      0.035     0.045", "test_mse            0.0175", "checkpoint  model.safetensors  3      safetensors"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = cli(t, "show", "--db", db, "3")
	if err != nil || !strings.Contains(out, "error      diverged at epoch 1") || !strings.Contains(out, "plugin stderr (last 2 lines)") {
		t.Fatalf("%v\n%s", err, out)
	}
	out, _, err = cli(t, "show", "--db", db, "--json", "3")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if v["final_metrics"].(map[string]any)["val_loss"] != nil {
		t.Fatalf("NaN should be null: %v", v["final_metrics"])
	}
	html := filepath.Join(t.TempDir(), "run.html")
	if _, stderr, err := cli(t, "show", "--db", db, "2", "--html", html); err != nil || !strings.Contains(stderr, "wrote") {
		t.Fatalf("--html: %v %s", err, stderr)
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "<html") {
		t.Fatalf("html report: %v %.200s", err, b)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"show", "--db", db, "99"}, exitError},
		{[]string{"show", "--db", db, "99", "--html", html}, exitError},
		{[]string{"show", "--db", db, "abc"}, exitUsage},
		{[]string{"show", "--db", db}, exitUsage},
		{[]string{"show", "--db", db, "1", "2"}, exitUsage},
	} {
		if _, _, err := cli(t, tc.args...); exitOf(err) != tc.code {
			t.Errorf("%v: exit %d (%v), want %d", tc.args, exitOf(err), err, tc.code)
		}
	}
}

func TestExportCommand(t *testing.T) {
	db := storeFixture(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "model.safetensors")
	_, stderr, err := cli(t, "export", "2", "-o", out, "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "ckpt run 1 epoch 3" || !strings.Contains(stderr, "epoch 3") {
		t.Fatalf("%q %q", b, stderr)
	}
	if _, _, err := cli(t, "export", "--db", db, "--epoch", "2", "-o", out, "2"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "ckpt run 1 epoch 2" {
		t.Fatalf("%q", b)
	}
	stdout, _, err := cli(t, "export", "--db", db, "1", "-o", "-")
	if err != nil || stdout != "ckpt run 0 epoch 3" {
		t.Fatalf("%v %q", err, stdout)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"export", "--db", db, "2"}, exitUsage, "-o FILE is required"},
		{[]string{"export", "--db", db, "-o", out}, exitUsage, "RUN"},
		{[]string{"export", "--db", db, "-o", out, "99"}, exitError, "no run 99"},
		{[]string{"export", "--db", db, "-o", out, "3"}, exitError, "no stored checkpoint"},
		{[]string{"export", "--db", db, "-o", out, "--epoch", "7", "2"}, exitError, "no checkpoint at epoch 7"},
	} {
		_, _, err := cli(t, tc.args...)
		if exitOf(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: exit %d, err %v; want %d with %q", tc.args, exitOf(err), err, tc.code, tc.msg)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
}
