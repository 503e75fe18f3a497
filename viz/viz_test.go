package viz_test

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/viz"
	"github.com/aexp/aexp/viz/viztest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./viz -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func artifact(a variant.Artifact) viz.Artifact {
	return viz.Artifact{Kind: a.Kind, Name: a.Name, Epoch: a.Epoch, Meta: a.Meta, Data: a.Data}
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return img
}

func variance(img image.Image) float64 { return viztest.Variance(img) }

func TestReconGridMatchesStoredReconstructions(t *testing.T) {
	a, _, _ := viztest.Reconstruction(t, 16, 3)
	in, out, err := viz.Reconstruction(artifact(a))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		o            viz.GridOptions
		wantW, wantH int
	}{
		// 10 columns of 28 px with 2 px gaps: 10*28 + 11*2 = 302; 2 row pairs: 4*28 + 5*2 + 6 = 128.
		{"defaults", viz.GridOptions{}, 302, 128},
		// 8 per row, scaled ×2: 8*56 + 9*2 = 466; 2 pairs: 4*56 + 5*2 + 6 = 240.
		{"8 cols x2", viz.GridOptions{Cols: 8, Scale: 2}, 466, 240},
		// 5 images, one pair: 5*28 + 6*2 = 152; 2*28 + 3*2 = 62.
		{"first 5", viz.GridOptions{N: 5}, 152, 62},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, l, err := viz.ReconGrid(in, out, 28, 28, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			// Through PNG and back, as a user's file would be.
			b, err := viz.EncodePNG(img)
			if err != nil {
				t.Fatal(err)
			}
			got := decodePNG(t, b)
			if s := got.Bounds().Size(); s.X != tc.wantW || s.Y != tc.wantH {
				t.Fatalf("size %v, want %dx%d", s, tc.wantW, tc.wantH)
			}
			if s := l.Size(); s != got.Bounds().Size() {
				t.Fatalf("layout size %v, image %v", s, got.Bounds().Size())
			}
			n := tc.o.N
			if n == 0 {
				n = 16
			}
			cols := l.Cols
			scale := l.Scale
			for i := 0; i < n; i++ {
				b, c := i/cols, i%cols
				for row, src := range []viz.Tensor{in, out} {
					o := l.Origin(2*b+row, c)
					v := src.Row(i)
					for y := 0; y < 28*scale; y++ {
						for x := 0; x < 28*scale; x++ {
							want := viz.Pixel(v[(y/scale)*28+x/scale])
							r, _, _, _ := got.At(o.X+x, o.Y+y).RGBA()
							if uint8(r>>8) != want {
								t.Fatalf("image %d row %d pixel (%d,%d): %d, want %d", i, row, x, y, r>>8, want)
							}
						}
					}
				}
			}
		})
	}
}

func TestReconGridRejectsMismatch(t *testing.T) {
	in := viz.Tensor{Shape: []int{2, 784}, Data: make([]float32, 2*784)}
	for _, tc := range []struct {
		name string
		out  viz.Tensor
		h, w int
	}{
		{"count", viz.Tensor{Shape: []int{3, 784}, Data: make([]float32, 3*784)}, 28, 28},
		{"shape", in, 20, 20},
		{"empty", viz.Tensor{}, 28, 28},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := viz.ReconGrid(in, tc.out, tc.h, tc.w, viz.GridOptions{}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestSampleGrid(t *testing.T) {
	a, pix := viztest.Sample(t, 64, 1)
	ts, _, err := viz.ReadSafetensors(a.Data)
	if err != nil {
		t.Fatal(err)
	}
	img, l, err := viz.SampleGrid(ts["sample"], 28, 28, viz.GridOptions{Cols: 8})
	if err != nil {
		t.Fatal(err)
	}
	if s := img.Bounds().Size(); s.X != 8*28+9*2 || s.Y != 8*28+9*2 {
		t.Fatalf("size %v", s)
	}
	o := l.Origin(7, 7) // the last sample
	if got, want := img.GrayAt(o.X+14, o.Y+14).Y, viz.Pixel(pix[63*784+14*28+14]); got != want {
		t.Fatalf("centre of sample 63: %d, want %d", got, want)
	}
}

func TestImageShape(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape []int
		meta  map[string]string
		h, w  int
		ok    bool
	}{
		{"meta", []int{4, 784}, map[string]string{"shape": "28,28"}, 28, 28, true},
		{"tensor dims", []int{4, 28, 28}, nil, 28, 28, true},
		{"square features", []int{4, 784}, nil, 28, 28, true},
		{"rectangular meta", []int{4, 600}, map[string]string{"shape": "20,30"}, 20, 30, true},
		{"meta disagrees", []int{4, 784}, map[string]string{"shape": "10,10"}, 28, 28, true},
		{"sequence", []int{4, 50, 1}, map[string]string{"shape": "50,1"}, 0, 0, false},
		{"flat series", []int{4, 50}, nil, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 1
			for _, d := range tc.shape {
				n *= d
			}
			h, w, ok := viz.ImageShape(viz.Tensor{Shape: tc.shape, Data: make([]float32, n)}, tc.meta)
			if h != tc.h || w != tc.w || ok != tc.ok {
				t.Fatalf("got %d×%d %v, want %d×%d %v", h, w, ok, tc.h, tc.w, tc.ok)
			}
		})
	}
}

func TestPixel(t *testing.T) {
	for v, want := range map[float32]uint8{-1: 0, 0: 0, 0.5: 128, 1: 255, 7: 255, float32(math.NaN()): 0} {
		if got := viz.Pixel(v); got != want {
			t.Errorf("Pixel(%v) = %d, want %d", v, got, want)
		}
	}
}

func TestCharts(t *testing.T) {
	tr1, va1 := viztest.Losses(8, 0.1, 0.02)
	tr2, va2 := viztest.Losses(8, 0.12, 0.03)
	pts := func(xs []float64) []viz.Point {
		var p []viz.Point
		for i, x := range xs {
			p = append(p, viz.Point{Epoch: i + 1, Value: x})
		}
		return p
	}
	seq := viztest.Sequences(t, 6, 60)
	sin, sout, err := viz.Reconstruction(artifact(seq))
	if err != nil {
		t.Fatal(err)
	}
	lat := viztest.Latent(t, 500)
	lts, _, err := viz.ReadSafetensors(lat.Data)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		draw func() ([]byte, error)
		w, h int
	}{
		{"loss", func() ([]byte, error) {
			return viz.LossCurves("loss", []viz.Curve{{Label: "run 1", Train: pts(tr1), Val: pts(va1)}, {Label: "run 2", Train: pts(tr2), Val: pts(va2)}})
		}, 816, 480},
		{"loss one epoch", func() ([]byte, error) {
			return viz.LossCurves("", []viz.Curve{{Label: "run 1", Train: pts(tr1[:1]), Val: pts(va1[:1])}})
		}, 816, 480},
		{"latent", func() ([]byte, error) { return viz.LatentScatter("codes", lts["code"], lts["label"]) }, 576, 528},
		{"sequence", func() ([]byte, error) { return viz.SequencePlot("series", sin, sout, []int{60, 1}, 4) }, 1152, 269},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.draw()
			if err != nil {
				t.Fatal(err)
			}
			img := decodePNG(t, b)
			if s := img.Bounds().Size(); s.X != tc.w || s.Y != tc.h {
				t.Errorf("size %v, want %dx%d", s, tc.w, tc.h)
			}
			if v := variance(img); v < 1e-3 {
				t.Errorf("picture looks blank (variance %g)", v)
			}
			if os.Getenv("VIZ_KEEP") != "" {
				os.WriteFile(filepath.Join(os.Getenv("VIZ_KEEP"), tc.name+".png"), b, 0o644)
			}
		})
	}
}

func TestLatentScatterRejectsBadShapes(t *testing.T) {
	code := viz.Tensor{Shape: []int{3, 3}, Data: make([]float32, 9)}
	label := viz.Tensor{Shape: []int{3}, Data: make([]float32, 3)}
	if _, err := viz.LatentScatter("", code, label); err == nil {
		t.Fatal("3-D codes accepted")
	}
	code = viz.Tensor{Shape: []int{3, 2}, Data: make([]float32, 6)}
	if _, err := viz.LatentScatter("", code, viz.Tensor{Shape: []int{2}, Data: make([]float32, 2)}); err == nil {
		t.Fatal("label count mismatch accepted")
	}
}

func TestCompareGolden(t *testing.T) {
	runs := sampleRuns(t)
	// A failed run without metrics: listed, sorted last.
	runs = append(runs, viz.Run{ID: 5, SweepID: 1, Variant: "dense", Dataset: "mnist", Status: "failed", Seed: 0,
		Params: map[string]any{"lr": 0.1, "hidden": []any{int64(300), int64(150)}, "code": int64(32), "activation": "relu"}})
	// A diverged run: NaN at its second epoch. Its best value still counts.
	nan := math.NaN()
	runs = append(runs, viz.Run{ID: 6, SweepID: 1, Variant: "dense", Dataset: "mnist", Status: "diverged", Seed: 0,
		Params: map[string]any{"lr": 1.0, "hidden": []any{int64(300), int64(150)}, "code": int64(32), "activation": "relu"},
		History: map[string][]viz.Point{"val_loss": {{Epoch: 1, Value: 0.5}, {Epoch: 2, Value: nan}},
			"train_loss": {{Epoch: 1, Value: 0.6}, {Epoch: 2, Value: nan}}},
		Final: map[string]float64{"val_loss": nan, "train_loss": nan}})
	c := viz.Compare(runs, viz.Objective{Metric: "val_loss", Goal: "minimize"})
	for _, f := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"compare.txt", func(b *bytes.Buffer) error { return c.WriteText(b) }},
		{"compare.json", func(b *bytes.Buffer) error { return c.WriteJSON(b) }},
		{"compare.csv", func(b *bytes.Buffer) error { return c.WriteCSV(b) }},
		{"compare.md", func(b *bytes.Buffer) error { return c.WriteMarkdown(b) }},
	} {
		t.Run(f.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := f.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, f.file, b.Bytes())
		})
	}
}

func TestCompareGroupsAndSorts(t *testing.T) {
	mk := func(id int64, seed uint64, lr, val float64) viz.Run {
		return viz.Run{ID: id, Variant: "dense", Status: "done", Seed: seed,
			Params:  map[string]any{"lr": lr, "code": int64(8)},
			Final:   map[string]float64{"val_loss": val},
			History: map[string][]viz.Point{"val_loss": {{Epoch: 1, Value: val * 2}, {Epoch: 2, Value: val * 0.9}, {Epoch: 3, Value: val}}}}
	}
	runs := []viz.Run{mk(1, 0, 0.1, 0.5), mk(2, 1, 0.1, 0.7), mk(3, 0, 0.01, 0.2), mk(4, 1, 0.01, 0.4)}
	for _, tc := range []struct {
		goal      string
		wantFirst int64
	}{{"minimize", 3}, {"maximize", 1}} {
		t.Run(tc.goal, func(t *testing.T) {
			c := viz.Compare(runs, viz.Objective{Metric: "val_loss", Goal: tc.goal})
			if len(c.Groups) != 2 {
				t.Fatalf("%d groups, want 2", len(c.Groups))
			}
			g := c.Groups[0]
			if g.Runs[0].ID != tc.wantFirst {
				t.Fatalf("first group starts with run %d, want %d", g.Runs[0].ID, tc.wantFirst)
			}
			if strings.Join(c.Differ, ",") != "lr" {
				t.Errorf("params that differ: %v, want [lr]", c.Differ)
			}
			if g.Final.N != 2 || math.Abs(g.Final.Std-math.Sqrt2*0.1) > 1e-12 {
				t.Errorf("final stat %+v", *g.Final)
			}
			// Best over epochs: 0.9×final when minimizing, 2×final when maximizing.
			f := 0.9
			if tc.goal == "maximize" {
				f = 2
			}
			if want := g.Final.Mean * f; math.Abs(g.Best.Mean-want) > 1e-12 {
				t.Errorf("best %g, want %g", g.Best.Mean, want)
			}
		})
	}
}
