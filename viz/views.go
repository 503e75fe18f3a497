package viz

import (
	"bytes"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Assets are the files pages load: the vendored ECharts (with its license),
// aexp.js, sweep.js and aexp.css. The dashboard serves them; a static
// report inlines them.
//
//go:embed assets
var Assets embed.FS

//go:embed templates/*.html
var templateFS embed.FS

// Mode says how a page is delivered: as one self-contained file (the
// report) or by the dashboard.
type Mode struct {
	// Static is the URL prefix the assets are served under ("/static/");
	// empty inlines them into the page, so it fetches nothing.
	Static string
	// Live is the server-sent-events URL a dashboard page follows to
	// update itself; empty for a page that never changes.
	Live string
	// Links makes run ids link to the dashboard's run pages.
	Links bool
}

// Script is a <script> element loading the asset name.
func (m Mode) Script(name string) template.HTML {
	if m.Static != "" {
		return template.HTML(`<script src="` + template.HTMLEscapeString(m.Static+name) + `"></script>`)
	}
	b, err := Assets.ReadFile("assets/" + name)
	if err != nil {
		panic(err) // a missing embedded asset is a build error
	}
	// The vendored and our own scripts hold no "</script": checked by TestAssetsInline.
	return template.HTML("<script>" + string(b) + "</script>")
}

// Style is a <style> or <link> element for the stylesheet name.
func (m Mode) Style(name string) template.HTML {
	if m.Static != "" {
		return template.HTML(`<link rel="stylesheet" href="` + template.HTMLEscapeString(m.Static+name) + `">`)
	}
	b, err := Assets.ReadFile("assets/" + name)
	if err != nil {
		panic(err)
	}
	return template.HTML("<style>\n" + string(b) + "</style>")
}

var views = func() map[string]*template.Template {
	funcs := template.FuncMap{
		"num":              func(t *Table, i int) bool { return t.Numeric[i] },
		"importanceMethod": func() string { return ImportanceMethod },
		// wbr lets a long header break after its underscores (best_val_loss).
		"wbr": func(s string) template.HTML {
			return template.HTML(strings.ReplaceAll(template.HTMLEscapeString(s), "_", "_<wbr>"))
		},
		// runlinks turns "1,2" into links to the runs' pages.
		"runlinks": func(ids string) template.HTML {
			var parts []string
			for _, s := range strings.Split(ids, ",") {
				if _, err := strconv.ParseInt(s, 10, 64); err != nil {
					return template.HTML(template.HTMLEscapeString(ids))
				}
				parts = append(parts, `<a href="/runs/`+s+`">`+s+`</a>`)
			}
			return template.HTML(strings.Join(parts, ","))
		},
	}
	out := map[string]*template.Template{}
	for _, name := range []string{"compare", "sweeps", "sweep", "notfound"} {
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/common.html", "templates/"+name+".html"))
	}
	return out
}()

func render(w io.Writer, name string, data any) error {
	var b bytes.Buffer
	if err := views[name].ExecuteTemplate(&b, name+".html", data); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// RunFacts are the run page's extra facts (the dashboard's /runs/ID).
type RunFacts struct {
	Facts          []KV   // plugin version and binary hash, host, times, ...
	Error          string // why the run failed
	Log            string // the tail of the plugin's stderr
	Checkpoint     string // URL of the kept checkpoint; "" for none
	CheckpointNote string
}

// KV is one labelled value of a page.
type KV struct{ K, V string }

// Page is the content of the comparison page: `aexp compare --html`,
// `aexp show --html`, the dashboard's /compare and /runs/ID.
type Page struct {
	Mode       Mode
	Title      string
	Intro      string      // one line under the title, e.g. the command that made it
	Comparison *Comparison // the comparison table; nil for none
	Objective  Objective   // the curves' first metric when Comparison is nil
	Runs       []Run       // per-run details: params, final metrics, facts, histories
	Figures    []Figure
	Warnings   []string
	Labels     map[int64]string // run labels, as in FigureOptions
	// Charts are the sweep plots (parallel coordinates, slices,
	// importance) of the runs; nil leaves them out.
	Charts *SweepCharts
	Run    *RunFacts // the run page's facts; nil for none
}

// pageData is the JSON the page's script draws from.
type pageData struct {
	Curves []CurveSet   `json:"curves"`
	Sweep  *SweepCharts `json:"sweep,omitempty"`
}

// WriteHTML writes p. With a zero Mode the page is one self-contained file:
// styles, scripts (ECharts and aexp.js) and data inline, every picture a
// data: URI, nothing fetched from the network. Learning curves of the
// objective first and then of every other per-epoch metric are drawn by the
// script, folded by seed and labelled by the params that differ; the PNG
// loss charts of Figures are for --png only.
func WriteHTML(w io.Writer, p Page) error {
	type fig struct {
		Figure
		Src template.URL
	}
	type section struct {
		Name    string
		Figures []fig
	}
	type runView struct {
		Title  string
		Params []KV
		Final  []KV
		Facts  []KV
		Tags   []KV
	}
	type view struct {
		Page
		Table    *Table
		Summary  string
		Sections []section
		RunViews []runView
		Open     bool
		Data     pageData
	}
	v := view{Page: p, Open: len(p.Runs) == 1}
	c := Compare(p.Runs, p.Objective)
	if p.Comparison != nil {
		t := p.Comparison.Table()
		v.Table = &t
		v.Summary = p.Comparison.Summary()
		c = *p.Comparison
	}
	v.Data = pageData{Curves: CurveSets(p.Runs, c), Sweep: p.Charts}
	for _, name := range sectionOrder {
		if name == SectionCurves {
			continue
		}
		var s section
		s.Name = name
		for _, f := range p.Figures {
			if f.Section == name {
				s.Figures = append(s.Figures, fig{f, template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(f.PNG))})
			}
		}
		if len(s.Figures) > 0 {
			v.Sections = append(v.Sections, s)
		}
	}
	o := FigureOptions{Labels: p.Labels}
	for _, r := range p.Runs {
		rv := runView{Title: fmt.Sprintf("run %d: %s — %s on %s, seed %d, %s", r.ID, o.label(r), r.Variant, r.Dataset, r.Seed, r.Status)}
		if _, ok := p.Labels[r.ID]; !ok {
			rv.Title = fmt.Sprintf("run %d — %s on %s, seed %d, %s", r.ID, r.Variant, r.Dataset, r.Seed, r.Status)
		}
		for _, k := range slices.Sorted(maps.Keys(r.Params)) {
			rv.Params = append(rv.Params, KV{k, FormatValue(r.Params[k])})
		}
		for _, k := range slices.Sorted(maps.Keys(r.Final)) {
			rv.Final = append(rv.Final, KV{k, strconv.FormatFloat(r.Final[k], 'g', 6, 64)})
		}
		for _, k := range slices.Sorted(maps.Keys(r.Meta)) {
			rv.Facts = append(rv.Facts, KV{k, r.Meta[k]})
		}
		for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
			rv.Tags = append(rv.Tags, KV{k, r.Tags[k]})
		}
		v.RunViews = append(v.RunViews, rv)
	}
	return render(w, "compare", v)
}

// CurveSets are the learning curves of every per-epoch metric the runs
// recorded, the objective's first: what the page's metric picker offers.
func CurveSets(runs []Run, c Comparison) []CurveSet {
	seen := map[string]bool{}
	for _, r := range runs {
		for k, h := range r.History {
			if len(h) > 1 || (len(h) == 1 && !isFinalOnly(r, k)) {
				seen[k] = true
			}
		}
	}
	delete(seen, "epoch_seconds")
	names := slices.Sorted(maps.Keys(seen))
	if i := slices.Index(names, c.Objective.Metric); i > 0 {
		names = append(append([]string{names[i]}, names[:i]...), names[i+1:]...)
	}
	out := []CurveSet{}
	for _, m := range names {
		out = append(out, Curves(runs, c, m))
	}
	return out
}

// isFinalOnly reports whether metric k of r is a final (test-set) metric:
// recorded once, at the last epoch, and not a per-epoch loss.
func isFinalOnly(r Run, k string) bool {
	return strings.HasPrefix(k, "test_") || strings.HasPrefix(k, "pca_") || k == "samples_per_second"
}

// SweepRow is one line of the dashboard's sweeps page.
type SweepRow struct {
	ID          int64
	Name        string
	Description string
	Status      string
	Objective   string
	Goal        string
	Total       int
	Counts      []StatusCount
	Best        *int64
	BestValue   string
	Created     string
	Finished    string
}

// StatusCount is how many runs have a status.
type StatusCount struct {
	Status string
	N      int
}

// SweepsPage is the dashboard's page listing every sweep.
type SweepsPage struct {
	Mode   Mode
	Title  string
	Intro  string
	Sweeps []SweepRow
}

// WriteSweeps writes the sweeps page.
func WriteSweeps(w io.Writer, p SweepsPage) error { return render(w, "sweeps", p) }

// SweepPage is the dashboard's page of one sweep: a shell its script fills
// from API (the sweep's JSON endpoint).
type SweepPage struct {
	Mode  Mode
	Title string
	Intro string
	API   string
}

// WriteSweep writes a sweep page.
func WriteSweep(w io.Writer, p SweepPage) error { return render(w, "sweep", p) }

// MessagePage is a page with a title and one line (not found, bad request).
type MessagePage struct {
	Mode  Mode
	Title string
	Intro string
}

// WriteMessage writes a message page.
func WriteMessage(w io.Writer, p MessagePage) error { return render(w, "notfound", p) }
