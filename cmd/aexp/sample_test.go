package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/viz"
)

// realPlugins builds the dense and vae plugins into a temporary folder.
func realPlugins(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"dense", "vae"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = buildtest.Build("plugins/"+name, filepath.Join(dir, variant.BinaryPrefix+name))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("building plugins: %v", err)
		}
	}
	return dir
}

// trainedDB trains a tiny dense run (id 1) and a tiny 2-D vae run (id 2) on
// an MNIST subset with the real plugins, recording every event through the
// store's write API, and returns the database path and the plugin folder.
func trainedDB(t *testing.T) (dbPath, plugins string) {
	t.Helper()
	mnist, err := dataset.MNISTDir()
	if err != nil {
		t.Fatalf("needs MNIST (run `make mnist`): %v", err)
	}
	plugins = realPlugins(t)
	ctx := context.Background()
	dbPath = filepath.Join(t.TempDir(), "aexp.db")
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sw, _, err := db.EnsureSweepSpec(ctx, store.SweepSpec{Name: "tiny", Spec: `name = "tiny"`, SpecHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	specs := []store.RunSpec{
		{Key: "dense", Variant: "dense", Dataset: "mnist", Params: map[string]any{"hidden": []int64{64, 16}}},
		{Key: "vae", Variant: "vae", Dataset: "mnist", Params: map[string]any{"hidden": []int64{64}, "latent": int64(2)}},
	}
	runs, err := db.EnsureRuns(ctx, sw.ID, specs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range runs {
		p, err := variant.Launch(ctx, filepath.Join(plugins, variant.BinaryPrefix+specs[i].Variant), variant.LaunchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		info, err := p.Describe(ctx)
		if err != nil {
			p.Kill()
			t.Fatal(err)
		}
		params, err := variant.Validate(info.Params, specs[i].Params)
		if err != nil {
			p.Kill()
			t.Fatal(err)
		}
		if err := db.StartRun(ctx, r.ID, store.RunStart{PluginVersion: info.Version, Threads: 1}); err != nil {
			t.Fatal(err)
		}
		var final *variant.FinalReport
		err = p.Train(ctx, variant.TrainRequest{RunKey: r.Key, Params: params, Dataset: "mnist", DataDir: mnist,
			Epochs: 2, BatchSize: 128, TrainLimit: 1024, TestLimit: 256, Threads: 1, Keep: store.KeepLast},
			func(e variant.Event) error {
				switch {
				case e.Epoch != nil:
					return db.RecordEpoch(ctx, r.ID, e.Epoch.Epoch, e.Epoch.Metrics)
				case e.Artifact != nil && e.Artifact.Kind == variant.KindState:
					return db.SaveState(ctx, r.ID, *e.Artifact, "", 0)
				case e.Artifact != nil:
					return db.SaveArtifact(ctx, r.ID, *e.Artifact, store.KeepLast, math.NaN())
				case e.Final != nil:
					final = e.Final
				}
				return nil
			})
		p.Kill()
		if err != nil {
			t.Fatalf("training %s: %v\n%s", specs[i].Variant, err, p.StderrTail())
		}
		if final == nil {
			t.Fatalf("%s: no final report", specs[i].Variant)
		}
		if err := db.FinishRun(ctx, r.ID, store.RunFinish{Status: store.StatusDone, Metrics: final.Metrics, Meta: final.Meta}); err != nil {
			t.Fatal(err)
		}
	}
	return dbPath, plugins
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func gray(img image.Image, x, y int) uint8 {
	r, _, _, _ := img.At(x, y).RGBA()
	return uint8(r >> 8)
}

// storedReconstruction reads run id's stored reconstruction tensors.
func storedReconstruction(t *testing.T, dbPath string, id int64) (in, out viz.Tensor, raw []byte) {
	t.Helper()
	db, err := store.OpenReadOnly(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := loadVizRuns(context.Background(), db, []int64{id}, true)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := viz.Latest(runs[0], variant.KindReconstruction)
	if !ok {
		t.Fatalf("run %d stored no reconstruction", id)
	}
	in, out, err = viz.Reconstruction(a)
	if err != nil {
		t.Fatal(err)
	}
	return in, out, a.Data
}

func TestSampleAndReconstructWithRealPlugins(t *testing.T) {
	db, plugins := trainedDB(t)
	dir := t.TempDir()
	keep := os.Getenv("VIZ_KEEP")

	t.Run("sample vae", func(t *testing.T) {
		out := filepath.Join(dir, "samples.png")
		_, stderr, err := aexp(t, "sample", "--db", db, "--plugin-dir", plugins, "2", "-n", "16", "-o", out)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		img := readPNG(t, out)
		// 4×4 samples of 28 px ×2 with 2 px gaps: 4*56 + 5*2 = 234.
		if s := img.Bounds().Size(); s.X != 234 || s.Y != 234 {
			t.Errorf("samples.png is %v, want 234×234", s)
		}
		if keep != "" {
			b, _ := os.ReadFile(out)
			os.WriteFile(filepath.Join(keep, "cli-samples.png"), b, 0o644)
		}
		// The same seed gives the same samples; another seed, others.
		raw1, raw2, raw3 := filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors"), filepath.Join(dir, "c.safetensors")
		for _, args := range [][]string{{"-o", raw1}, {"-o", raw2}, {"-o", raw3, "--seed", "9"}} {
			if _, stderr, err := aexp(t, append([]string{"sample", "--db", db, "--plugin-dir", plugins, "2", "-n", "8"}, args...)...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
		}
		b1, _ := os.ReadFile(raw1)
		b2, _ := os.ReadFile(raw2)
		b3, _ := os.ReadFile(raw3)
		if !bytes.Equal(b1, b2) || bytes.Equal(b1, b3) {
			t.Errorf("samples: same seed equal %v (want true), other seed equal %v (want false)", bytes.Equal(b1, b2), bytes.Equal(b1, b3))
		}
	})

	t.Run("sample dense is refused", func(t *testing.T) {
		_, _, err := aexp(t, "sample", "--db", db, "--plugin-dir", plugins, "1", "-o", filepath.Join(dir, "no.png"))
		if err == nil || !strings.Contains(err.Error(), "not a generative variant") {
			t.Fatalf("error %v, want one saying dense is not generative", err)
		}
		if _, statErr := os.Stat(filepath.Join(dir, "no.png")); statErr == nil {
			t.Error("a picture was written anyway")
		}
	})

	t.Run("reconstruct from stored", func(t *testing.T) {
		in, out, raw := storedReconstruction(t, db, 1)
		if in.Len() != 16 {
			t.Fatalf("stored %d reconstructions, want 16", in.Len())
		}
		path := filepath.Join(dir, "recon.png")
		_, stderr, err := aexp(t, "reconstruct", "--db", db, "1", "-o", path, "--scale", "1", "--cols", "8")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		img := readPNG(t, path)
		// 8 per row, 2 row pairs: 8*28 + 9*2 = 242 wide; 4*28 + 5*2 + 6 = 128 high.
		if s := img.Bounds().Size(); s.X != 242 || s.Y != 128 {
			t.Fatalf("recon.png is %v, want 242×128", s)
		}
		l := viz.Layout{H: 28, W: 28, Scale: 1, Rows: 4, Cols: 8, Paired: true}
		for i := 0; i < 16; i++ {
			for row, src := range []viz.Tensor{in, out} {
				o := l.Origin(2*(i/8)+row, i%8)
				v := src.Row(i)
				for p := 0; p < 784; p++ {
					if got, want := gray(img, o.X+p%28, o.Y+p/28), viz.Pixel(v[p]); got != want {
						t.Fatalf("example %d, %s row, pixel %d: %d, want %d", i, []string{"original", "reconstruction"}[row], p, got, want)
					}
				}
			}
		}
		// -o .safetensors gives the stored bytes.
		st := filepath.Join(dir, "recon.safetensors")
		if _, stderr, err := aexp(t, "reconstruct", "--db", db, "1", "-o", st); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if b, _ := os.ReadFile(st); !bytes.Equal(b, raw) {
			t.Error("recon.safetensors differs from the stored artifact")
		}
		if keep != "" {
			os.WriteFile(filepath.Join(keep, "cli-recon.png"), mustRead(path), 0o644)
		}
	})

	t.Run("reconstruct more through the plugin", func(t *testing.T) {
		in, out, _ := storedReconstruction(t, db, 2)
		path := filepath.Join(dir, "recon20.png")
		_, stderr, err := aexp(t, "reconstruct", "--db", db, "--plugin-dir", plugins, "2", "-n", "20", "-o", path, "--scale", "1")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if !strings.Contains(stderr, "asking its plugin for 20") {
			t.Errorf("stderr does not say the plugin was asked: %s", stderr)
		}
		img := readPNG(t, path)
		// 10 per row, 2 row pairs: 10*28 + 11*2 = 302; 128 high.
		if s := img.Bounds().Size(); s.X != 302 || s.Y != 128 {
			t.Fatalf("recon20.png is %v, want 302×128", s)
		}
		// The first 16 are the stored ones: the same test images exactly,
		// and the same reconstructions from the same (last) checkpoint.
		l := viz.Layout{H: 28, W: 28, Scale: 1, Rows: 4, Cols: 10, Paired: true}
		for i := 0; i < 16; i++ {
			for row, src := range []viz.Tensor{in, out} {
				o := l.Origin(2*(i/10)+row, i%10)
				v := src.Row(i)
				for p := 0; p < 784; p++ {
					got, want := int(gray(img, o.X+p%28, o.Y+p/28)), int(viz.Pixel(v[p]))
					if d := got - want; d > 1 || d < -1 {
						t.Fatalf("example %d row %d pixel %d: %d, stored %d", i, row, p, got, want)
					}
				}
			}
		}
		if keep != "" {
			os.WriteFile(filepath.Join(keep, "cli-recon20.png"), mustRead(path), 0o644)
		}
	})

	t.Run("show-style report of real runs", func(t *testing.T) {
		html := filepath.Join(dir, "real.html")
		pngs := filepath.Join(dir, "real")
		if _, stderr, err := aexp(t, "compare", "--db", db, "--plugin-dir", plugins, "1", "2", "--html", html, "--png", pngs); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if keep != "" {
			os.WriteFile(filepath.Join(keep, "real.html"), mustRead(html), 0o644)
			ents, _ := os.ReadDir(pngs)
			for _, e := range ents {
				os.WriteFile(filepath.Join(keep, "real-"+e.Name()), mustRead(filepath.Join(pngs, e.Name())), 0o644)
			}
		}
		for _, name := range []string{"loss-dense.png", "loss-vae.png", "recon-compare.png", "samples-run-2.png", "latent-run-2.png"} {
			readPNG(t, filepath.Join(pngs, name))
		}

	})
}

func mustRead(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

func TestSampleAndReconstructErrors(t *testing.T) {
	db := compareDB(t) // synthetic runs: no checkpoints
	checkErrors(t, []errorCase{
		{"sample no run", []string{"sample", "--db", db}, exitUsage, "exactly one run"},
		{"sample two runs", []string{"sample", "--db", db, "1", "2"}, exitUsage, "exactly one run"},
		{"sample bad n", []string{"sample", "--db", db, "4", "-n", "0"}, exitUsage, "-n 0"},
		{"sample missing run", []string{"sample", "--db", db, "77"}, exitError, "run 77 not found"},
		{"sample no checkpoint", []string{"sample", "--db", db, "4"}, exitError, "no stored checkpoint"},
		{"reconstruct bad id", []string{"reconstruct", "--db", db, "x"}, exitUsage, `"x" is not a run id`},
		{"reconstruct failed run", []string{"reconstruct", "--db", db, "5", "-o", filepath.Join(t.TempDir(), "r.png")}, exitError, "it is failed"},
	})
}

func TestReconstructStoredSyntheticRun(t *testing.T) {
	// From the stored artifact alone: no plugin, no checkpoint needed.
	db := compareDB(t)
	path := filepath.Join(t.TempDir(), "r.png")
	_, stderr, err := aexp(t, "reconstruct", "--db", db, "3", "-n", "5", "-o", path)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	// 5 images ×2: 5*56 + 6*2 = 292; one pair: 2*56 + 3*2 = 118.
	if s := readPNG(t, path).Bounds().Size(); s.X != 292 || s.Y != 118 {
		t.Fatalf("size %v, want 292×118", s)
	}
}
