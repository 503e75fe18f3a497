package viz_test

import (
	"bytes"
	"encoding/base64"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/viz"
	"github.com/aexp/aexp/viz/viztest"
)

// sampleRuns are four realistic runs: two dense runs that differ only by
// seed, a 2-D VAE with samples and latent codes, and a recurrent run on
// sine series.
func sampleRuns(t *testing.T) []viz.Run {
	t.Helper()
	hist := func(epochs int, start, end float64) map[string][]viz.Point {
		tr, va := viztest.Losses(epochs, start, end)
		h := map[string][]viz.Point{}
		for i := range tr {
			h["train_loss"] = append(h["train_loss"], viz.Point{Epoch: i + 1, Value: tr[i]})
			h["val_loss"] = append(h["val_loss"], viz.Point{Epoch: i + 1, Value: va[i]})
			h["epoch_seconds"] = append(h["epoch_seconds"], viz.Point{Epoch: i + 1, Value: 2.5 + float64(i%2)*0.25})
		}
		return h
	}
	final := func(h map[string][]viz.Point, extra map[string]float64) map[string]float64 {
		f := map[string]float64{}
		for k, s := range h {
			f[k] = s[len(s)-1].Value
		}
		for k, v := range extra {
			f[k] = v
		}
		return f
	}
	recon, _, _ := viztest.Reconstruction(t, 10, 5)
	recon2, _, _ := viztest.Reconstruction(t, 12, 5)
	old, _, _ := viztest.Reconstruction(t, 3, 1) // an earlier epoch: must not be drawn
	sample, _ := viztest.Sample(t, 64, 0)
	lat := viztest.Latent(t, 600)
	seq := viztest.Sequences(t, 8, 80)
	h1, h2, h3, h4 := hist(5, 0.09, 0.012), hist(5, 0.092, 0.0125), hist(5, 0.2, 0.04), hist(5, 0.5, 0.02)
	return []viz.Run{
		{ID: 1, SweepID: 1, Variant: "dense", Dataset: "mnist", Status: "done", Seed: 0,
			Params:  map[string]any{"lr": 0.001, "hidden": []any{int64(300), int64(150)}, "code": int64(32), "activation": "relu"},
			History: h1, Final: final(h1, map[string]float64{"test_mse": 0.0121, "pca_mse": 0.0185}),
			Meta:      map[string]string{"params": "535818", "blas": "openblas"},
			Artifacts: []viz.Artifact{artifact(old), artifact(recon)}},
		{ID: 2, SweepID: 1, Variant: "dense", Dataset: "mnist", Status: "done", Seed: 1,
			Params:  map[string]any{"lr": 0.001, "hidden": []any{int64(300), int64(150)}, "code": int64(32), "activation": "relu"},
			History: h2, Final: final(h2, map[string]float64{"test_mse": 0.0127, "pca_mse": 0.0185}),
			Meta:      map[string]string{"params": "535818"},
			Artifacts: []viz.Artifact{artifact(recon2)}},
		{ID: 3, SweepID: 1, Variant: "vae", Dataset: "mnist", Status: "done", Seed: 0,
			Params:  map[string]any{"lr": 0.001, "hidden": []any{int64(512), int64(256)}, "latent": int64(2), "beta": 1.0},
			History: h3, Final: final(h3, map[string]float64{"test_mse": 0.039, "pca_mse": 0.0557, "test_neg_elbo": 143.2}),
			Meta:      map[string]string{"params": "1068820"},
			Artifacts: []viz.Artifact{artifact(recon), artifact(sample), artifact(lat)}},
		{ID: 4, SweepID: 1, Variant: "rnn", Dataset: "sines", Status: "done", Seed: 0,
			Params:  map[string]any{"lr": 0.003, "cell": "gru", "hidden": []any{int64(64)}, "code": int64(16)},
			History: h4, Final: final(h4, map[string]float64{"test_mse": 0.021, "pca_mse": 0.034}),
			Meta:      map[string]string{"params": "38017"},
			Artifacts: []viz.Artifact{artifact(seq)}},
	}
}

func TestFigures(t *testing.T) {
	runs := sampleRuns(t)
	figs, warns := viz.Figures(runs, viz.FigureOptions{})
	var names []string
	for _, f := range figs {
		names = append(names, f.File)
		img := decodePNG(t, f.PNG)
		if v := variance(img); v < 1e-3 {
			t.Errorf("%s looks blank (variance %g)", f.File, v)
		}
		if dir := os.Getenv("VIZ_KEEP"); dir != "" {
			os.WriteFile(filepath.Join(dir, f.File), f.PNG, 0o644)
		}
	}
	want := "loss.png recon-compare.png recon-run-1.png recon-run-2.png recon-run-3.png sequence-run-4.png samples-run-3.png latent-run-3.png"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("figures:\n got %s\nwant %s", got, want)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
	// Every run shows the same 10 test images (run 2 stored 12): 10 columns.
	for _, f := range figs {
		if strings.HasPrefix(f.File, "recon-run-") {
			if w := decodePNG(t, f.PNG).Bounds().Dx(); w != 10*56+11*2 {
				t.Errorf("%s is %d px wide, want 10 images ×2", f.File, w)
			}
		}
	}
}

func TestFiguresWarnOnBrokenArtifacts(t *testing.T) {
	runs := []viz.Run{{ID: 9, Variant: "dense", Status: "done", Artifacts: []viz.Artifact{
		{Kind: variant.KindReconstruction, Name: "r", Data: []byte("not safetensors")},
		{Kind: variant.KindSample, Name: "s", Data: viztest.Safetensors(t, nil)},
	}}}
	figs, warns := viz.Figures(runs, viz.FigureOptions{})
	if len(figs) != 0 || len(warns) != 2 {
		t.Fatalf("figures %d, warnings %q", len(figs), warns)
	}
	if !strings.Contains(warns[1], `lacks the tensor "sample"`) {
		t.Errorf("warning %q does not say what is missing", warns[1])
	}
}

var (
	imgSrc    = regexp.MustCompile(`<img src="([^"]*)"`)
	scriptsRE = regexp.MustCompile(`(?s)<script>.*?</script>`)
)

// withoutScripts drops the inline scripts (ECharts holds "<img src=" strings).
func withoutScripts(page string) string { return scriptsRE.ReplaceAllString(page, "") }

func writeReport(t *testing.T) (path string, nImages int) {
	t.Helper()
	runs := sampleRuns(t)
	c := viz.Compare(runs, viz.Objective{Metric: "val_loss", Goal: "minimize"})
	var b bytes.Buffer
	if err := viz.CompareReport(&b, "aexp compare 1 2 3 4", "4 runs of sweep 1", c, runs, viz.FigureOptions{}); err != nil {
		t.Fatal(err)
	}
	page := withoutScripts(b.String())
	srcs := imgSrc.FindAllStringSubmatch(page, -1)
	for _, m := range srcs {
		data, ok := strings.CutPrefix(html.UnescapeString(m[1]), "data:image/png;base64,")
		if !ok {
			t.Fatalf("image source %.40q is not an inline PNG", m[1])
		}
		png, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Fatal(err)
		}
		decodePNG(t, png)
	}
	for _, bad := range []string{`src="http`, `href="http`, `<link rel="stylesheet"`, "<script src"} {
		if strings.Contains(b.String(), bad) {
			t.Errorf("report contains %q: it must be self-contained", bad)
		}
	}
	path = filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("VIZ_KEEP"); dir != "" {
		os.WriteFile(filepath.Join(dir, "report.html"), b.Bytes(), 0o644)
	}
	return path, len(srcs)
}

func TestHTMLReportSelfContained(t *testing.T) {
	_, n := writeReport(t)
	if n != 7 {
		t.Errorf("%d images, want 7 (the loss curves are a chart, not a picture)", n)
	}
}

func TestRunReport(t *testing.T) {
	r := sampleRuns(t)[2]
	var b bytes.Buffer
	if err := viz.RunReport(&b, r, viz.Objective{}); err != nil {
		t.Fatal(err)
	}
	html := withoutScripts(b.String())
	for _, want := range []string{"aexp run 3", "test_neg_elbo", "Samples from N(0, I)", "Latent space", "<details open>"} {
		if !strings.Contains(html, want) {
			t.Errorf("run report lacks %q", want)
		}
	}
	if n := len(imgSrc.FindAllString(html, -1)); n != 3 {
		t.Errorf("%d images, want 3 (reconstruction, samples, latent)", n)
	}
}

// TestHTMLReportInChromium opens the report in headless Chromium, lets a
// small script check every image, and inspects a screenshot.
func TestHTMLReportInChromium(t *testing.T) {
	path, n := writeReport(t)
	shot := viztest.CheckInChromium(t, path, n)
	if d := os.Getenv("VIZ_KEEP"); d != "" {
		os.WriteFile(filepath.Join(d, "screenshot.png"), shot, 0o644)
	}
	// Its charts draw from the inline data, in the page's font, with no
	// script error, and the summary table fits the page (no hidden columns).
	b := viztest.NewBrowser(t)
	b.Run(t, chromedp.EmulateViewport(1280, 900), chromedp.Navigate("file://"+path))
	if !b.WaitJS(t, `+document.getElementById('curves').dataset.points > 0 && +document.getElementById('parallel').dataset.points > 0`, 20*time.Second) {
		t.Fatalf("the report's charts did not draw; console errors: %q", b.Errors())
	}
	type facts struct {
		Lines, Parallel, Importance int
		Fits                        bool
		ChartFont, PageFont         string
	}
	f := viztest.Eval[facts](t, b, `(function () {
		var s = document.querySelector('.scroll'), c = aexp.charts.curves.getOption();
		return { Lines: +document.getElementById('curves').dataset.lines, Parallel: +document.getElementById('parallel').dataset.points,
			Importance: +document.getElementById('importance').dataset.points, Fits: s.scrollWidth <= s.clientWidth,
			ChartFont: c.textStyle[0] ? c.textStyle[0].fontFamily : c.textStyle.fontFamily, PageFont: getComputedStyle(document.body).fontFamily };
	})()`)
	if f.Lines != 3 || f.Parallel != 4 || f.Importance == 0 || !f.Fits || f.ChartFont != f.PageFont {
		t.Errorf("report in Chromium: %+v; want 3 lines (seeds folded), 4 runs in parallel coordinates, importance bars, a table that fits, the page's font in charts", f)
	}
	b.Screenshot(t, "report-full.png")
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("JavaScript errors: %q", errs)
	}
}

func TestLossChartsSplitByUnits(t *testing.T) {
	pts := func(xs []float64) []viz.Point {
		var p []viz.Point
		for i, x := range xs {
			p = append(p, viz.Point{Epoch: i + 1, Value: x})
		}
		return p
	}
	tr, va := viztest.Losses(3, 0.09, 0.02)
	ntr, nva := viztest.Losses(3, 400, 210) // a VAE's loss in nats
	runs := []viz.Run{
		{ID: 1, Variant: "dense", History: map[string][]viz.Point{"train_loss": pts(tr), "val_loss": pts(va)}},
		{ID: 2, Variant: "vae", History: map[string][]viz.Point{"train_loss": pts(ntr), "val_loss": pts(nva)}},
		{ID: 3, Variant: "dense", History: map[string][]viz.Point{"train_loss": pts(tr), "val_loss": pts(va)}},
	}
	figs, _ := viz.Figures(runs, viz.FigureOptions{})
	var names []string
	for _, f := range figs {
		names = append(names, f.File)
	}
	if got := strings.Join(names, " "); got != "loss-dense.png loss-vae.png" {
		t.Errorf("figures %q, want one loss chart per variant", got)
	}
	// Comparable losses share one chart.
	runs[1].History = map[string][]viz.Point{"train_loss": pts(tr), "val_loss": pts(va)}
	figs, _ = viz.Figures(runs, viz.FigureOptions{})
	if len(figs) != 1 || figs[0].File != "loss.png" {
		t.Errorf("comparable losses: %d figures, first %q", len(figs), figs[0].File)
	}
}
