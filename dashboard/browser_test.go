package dashboard_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/aexp/aexp/dashboard"
	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/viz/viztest"
)

// toySpec is a small real sweep of the test plugin: random search with a
// log-scaled lr, two seeds, the median rule pruning some runs.
const toySpec = `name = "toy"
description = "test plugin sweep <script>alert('spec')</script>"
variant = "test"
dataset = "sines"

[objective]
metric = "train_loss"
goal = "minimize"

[search]
method = "random"
seed = 3
run_cap = 12

[budget]
epochs = 6
parallel = 2
seeds = [0, 1]

[params]
lr = { distribution = "log_uniform", min = 0.01, max = 1.0 }
mode = ["toy", "fancy"]

[early_stop]
method = "median"
grace_epochs = 2
`

// realSweep runs toySpec with the real aexp binary and test plugin
// processes into a fresh store and returns its path.
func realSweep(t *testing.T) string {
	t.Helper()
	bin := buildtest.Binaries(t, map[string]string{"cmd/aexp": "aexp", "internal/testplugin": "aexp-variant-test"})
	dir := t.TempDir()
	spec := filepath.Join(dir, "toy.toml")
	if err := os.WriteFile(spec, []byte(toySpec), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "aexp.db")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "aexp"), "sweep", "--db", db, "--plugin-dir", bin, spec).CombinedOutput()
	if err != nil {
		t.Fatalf("aexp sweep: %v\n%s", err, out)
	}
	return db
}

// TestSweepPageInChromium loads the sweep page of a real sweep in headless
// Chromium, checks that every chart drew its data, records a new epoch into
// the store and waits for it to appear on the open page, and fails on any
// JavaScript error. Screenshots go to a temp dir (or $VIZ_KEEP).
func TestSweepPageInChromium(t *testing.T) {
	path := realSweep(t)
	ro, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	dash := dashboard.New(ro, dashboard.Options{Poll: 200 * time.Millisecond})
	srv := httptest.NewServer(dash)
	defer srv.Close()
	defer dash.Close() // first: the open page's event stream must end for Close

	b := viztest.NewBrowser(t)
	b.Run(t, chromedp.Navigate(srv.URL+"/sweeps/1"))
	if !b.WaitJS(t, `(+document.body.dataset.loaded || 0) >= 1 && +document.getElementById('curves').dataset.points > 0`, 30*time.Second) {
		b.Screenshot(t, "sweep-not-loaded.png")
		t.Fatalf("the sweep page did not draw its curves; console errors: %q", b.Errors())
	}
	type stats struct {
		Rows, Lines, Points, MaxEpoch, Parallel, Slices, SliceCharts, Importance, SVGPaths, Pruned int
		MetricLabels                                                                               int // texts naming the objective in the curves chart
		Title                                                                                      string
	}
	st := viztest.Eval[stats](t, b, `(function () {
		var c = document.getElementById('curves').dataset, q = function (id) { return +document.getElementById(id).dataset.points || 0; };
		return {
			Rows: document.querySelectorAll('#runs tbody tr').length,
			Lines: +c.lines, Points: +c.points, MaxEpoch: +c.maxEpoch,
			Parallel: q('parallel'), Slices: q('slices'), Importance: q('importance'),
			SliceCharts: document.querySelectorAll('#slices .chart svg').length,
			SVGPaths: document.querySelectorAll('#curves svg path').length,
			Pruned: document.querySelectorAll('#runs .status-pruned').length,
			MetricLabels: Array.from(document.querySelectorAll('#curves svg text')).filter(function (e) { return /^train_loss/.test(e.textContent); }).length,
			Title: document.title
		};
	})()`)
	b.Screenshot(t, "sweep.png")
	t.Logf("sweep page: %+v", st)
	switch {
	case st.Rows != 12:
		t.Errorf("runs table: %d rows, want 12", st.Rows)
	case st.Lines < 1 || st.Points < 6 || st.SVGPaths < st.Lines:
		t.Errorf("learning curves: %d lines, %d points, %d SVG paths", st.Lines, st.Points, st.SVGPaths)
	case st.Parallel < 3 || st.Slices < 2*st.Parallel || st.SliceCharts != 2 || st.Importance != 2:
		t.Errorf("sweep plots: parallel %d lines, slices %d points in %d charts, importance %d bars", st.Parallel, st.Slices, st.SliceCharts, st.Importance)
	case st.Title != "Sweep toy":
		t.Errorf("title %q", st.Title)
	case st.MetricLabels != 1:
		t.Errorf("the curves chart names train_loss %d times, want once (its title)", st.MetricLabels)
	}

	// A new epoch of the best run (selected by default) reaches the open page.
	w, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	best := viztest.Eval[int64](t, b, `+document.querySelector('#counts a').textContent`)
	next := st.MaxEpoch + 1
	start := time.Now()
	if err := w.RecordEpoch(context.Background(), best, next, map[string]float64{"train_loss": 0.5, "val_loss": 0.6}); err != nil {
		t.Fatal(err)
	}
	if !b.WaitJS(t, fmt.Sprintf(`+document.getElementById('curves').dataset.maxEpoch === %d`, next), 10*time.Second) {
		b.Screenshot(t, "sweep-no-update.png")
		t.Fatalf("epoch %d of run %d did not appear on the page within 10 s; console errors: %q", next, best, b.Errors())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Logf("note: the new epoch took %v to appear (the bar is 2 s; the machine may be loaded)", d)
	} else {
		t.Logf("the new epoch appeared after %v", d)
	}
	b.Screenshot(t, "sweep-updated.png")

	// lr is sampled log_uniform: its slice and parallel axes are logarithmic.
	axes := viztest.Eval[string](t, b, `aexp.charts['slice-lr'].getOption().xAxis[0].type + ',' +
		aexp.charts['parallel'].getOption().parallelAxis.filter(function (a) { return a.name === 'lr'; })[0].type`)
	if axes != "log,log" {
		t.Errorf("lr's slice and parallel axes: %s, want log,log", axes)
	}

	// The spec's description holds a <script> tag: shown as text, never run.
	shown := viztest.Eval[bool](t, b, `document.querySelector('.intro').textContent.indexOf("<script>alert('spec')</script>") >= 0`)
	inline := viztest.Eval[int](t, b, `document.querySelectorAll('script:not([src])').length`)
	if !shown || inline != 0 {
		t.Errorf("the description's <script> tag: shown as text %v, inline scripts on the page %d (want true, 0)", shown, inline)
	}

	// Sorting by clicking a header and filtering by status work.
	order := viztest.Eval[string](t, b, `(function () {
		var th = Array.from(document.querySelectorAll('#runs th')).find(function (h) { return h.textContent.indexOf('run') === 0; });
		th.click(); var a = document.querySelector('#runs tbody tr').dataset.id;
		th = Array.from(document.querySelectorAll('#runs th')).find(function (h) { return h.textContent.indexOf('run') === 0; });
		th.click(); var b = document.querySelector('#runs tbody tr').dataset.id;
		return a + ',' + b;
	})()`)
	if order != "1,12" {
		t.Errorf("first row after sorting by run up then down: %s, want 1,12", order)
	}
	viztest.Eval[int](t, b, `document.getElementById('status').value = 'pruned'; document.getElementById('status').onchange(); 0`)
	pruned := viztest.Eval[int](t, b, `document.querySelectorAll('#runs tbody tr').length`)
	if pruned != st.Pruned || pruned == 0 {
		t.Errorf("filtered to pruned: %d rows, want %d (>0)", pruned, st.Pruned)
	}

	// The run page and the compare page draw too.
	b.Run(t, chromedp.Navigate(fmt.Sprintf("%s/runs/%d", srv.URL, best)))
	if !b.WaitJS(t, `+document.getElementById('curves').dataset.points > 0`, 20*time.Second) {
		t.Errorf("the run page drew no curves")
	}
	b.Screenshot(t, "run.png")
	b.Run(t, chromedp.Navigate(srv.URL+"/compare?runs=1,2,3,4,5,6"))
	if !b.WaitJS(t, `+document.getElementById('curves').dataset.points > 0 && +document.getElementById('parallel').dataset.points > 0`, 20*time.Second) {
		t.Errorf("the compare page drew no curves or parallel plot")
	}
	b.Screenshot(t, "compare.png")

	// The sweeps page follows the store too: a run that starts shows up.
	b.Run(t, chromedp.Navigate(srv.URL+"/"))
	if !b.WaitJS(t, `document.querySelector('#live-sweeps a') !== null`, 20*time.Second) {
		t.Fatalf("the sweeps page lists no sweep")
	}
	time.Sleep(300 * time.Millisecond) // let the event stream connect
	sw, err := w.GetSweep(context.Background(), "toy")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := w.EnsureRuns(context.Background(), sw.ID, []store.RunSpec{{Key: "late", Variant: "test", Dataset: "sines", Params: map[string]any{"lr": 0.5, "mode": "toy"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.StartRun(context.Background(), rs[0].ID, store.RunStart{}); err != nil {
		t.Fatal(err)
	}
	if !b.WaitJS(t, `document.getElementById('live-sweeps').textContent.indexOf('running 1') >= 0`, 10*time.Second) {
		b.Screenshot(t, "sweeps-no-update.png")
		t.Errorf("the sweeps page did not show the started run; console errors: %q", b.Errors())
	}
	b.Screenshot(t, "sweeps.png")
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("JavaScript errors: %q", errs)
	}
	t.Logf("screenshots in %s", b.Shots)
}

// TestRunPageInChromium: the pictures of a run (reconstructions against
// originals) load under the dashboard's Content-Security-Policy, and the
// compare page shows the side-by-side grid, with no script errors.
func TestRunPageInChromium(t *testing.T) {
	path, w := fixture(t)
	srv := serve(t, path, dashboard.Options{})
	b := viztest.NewBrowser(t)
	for _, page := range []struct {
		url  string
		imgs int
	}{{"/runs/1", 1}, {"/compare?runs=1,2,3", 4}, {"/runs/5", 0}} {
		b.Run(t, chromedp.Navigate(srv.URL+page.url))
		if !b.WaitJS(t, `document.readyState === 'complete' && Array.from(document.images).every(function (i) { return i.complete; })`, 20*time.Second) {
			t.Fatalf("%s did not load", page.url)
		}
		ok := viztest.Eval[int](t, b, `Array.from(document.images).filter(function (i) { return i.naturalWidth > 0; }).length`)
		all := viztest.Eval[int](t, b, `document.images.length`)
		if ok != page.imgs || all != page.imgs {
			t.Errorf("%s: %d of %d pictures drawn, want %d", page.url, ok, all, page.imgs)
		}
	}
	b.Screenshot(t, "failed-run.png")

	// A running run's page follows its epochs.
	ctx := context.Background()
	if err := w.StartRun(ctx, 6, store.RunStart{}); err != nil {
		t.Fatal(err)
	}
	b.Run(t, chromedp.Navigate(srv.URL+"/runs/6"))
	if !b.WaitJS(t, `document.readyState === 'complete'`, 20*time.Second) {
		t.Fatal("/runs/6 did not load")
	}
	time.Sleep(300 * time.Millisecond) // let the event stream connect
	for e := 1; e <= 2; e++ {
		if err := w.RecordEpoch(ctx, 6, e, map[string]float64{"val_loss": 0.3 / float64(e), "train_loss": 0.25 / float64(e)}); err != nil {
			t.Fatal(err)
		}
		if !b.WaitJS(t, fmt.Sprintf(`+document.getElementById('curves').dataset.maxEpoch === %d && !document.getElementById('sec-curves').hidden`, e), 10*time.Second) {
			b.Screenshot(t, "running-run-stale.png")
			t.Fatalf("epoch %d of the running run did not appear on its page; console errors: %q", e, b.Errors())
		}
	}
	b.Screenshot(t, "running-run.png")
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("JavaScript errors: %q", errs)
	}
}
