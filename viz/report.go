package viz

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Artifact kinds, as in package variant (viz does not import the SDK).
const (
	kindReconstruction = "reconstruction"
	kindSample         = "sample"
	kindLatent         = "latent"
)

// Sections of a report, in page order.
const (
	SectionCurves  = "Loss curves"
	SectionRecon   = "Reconstructions"
	SectionSeq     = "Sequence reconstructions"
	SectionSamples = "Samples from N(0, I)"
	SectionLatent  = "Latent space"
)

var sectionOrder = []string{SectionCurves, SectionRecon, SectionSeq, SectionSamples, SectionLatent}

// Figure is one picture of a report.
type Figure struct {
	File    string // a file name for --png DIR, e.g. "recon-run-3.png"
	Section string
	Title   string
	Caption string
	PNG     []byte
	// Pixelated marks a grid of raw pixels: browsers must scale it without smoothing.
	Pixelated bool
}

// FigureOptions tune Figures. Zero values pick defaults.
type FigureOptions struct {
	N       int              // reconstructions shown per run (default 10)
	Samples int              // samples shown per run (default 64)
	Scale   int              // pixel scale of image grids (default 2)
	Labels  map[int64]string // run labels; default "run <id>"
}

func (o FigureOptions) label(r Run) string {
	if l, ok := o.Labels[r.ID]; ok && l != "" {
		return l
	}
	return "run " + strconv.FormatInt(r.ID, 10)
}

// Latest returns the artifact of kind with the highest epoch (the last one
// stored among equals), or false.
func Latest(r Run, kind string) (Artifact, bool) {
	var best Artifact
	found := false
	for _, a := range r.Artifacts {
		if a.Kind == kind && (!found || a.Epoch >= best.Epoch) {
			best, found = a, true
		}
	}
	return best, found
}

// Reconstruction decodes a reconstruction artifact into its inputs and outputs.
func Reconstruction(a Artifact) (in, out Tensor, err error) {
	ts, _, err := ReadSafetensors(a.Data)
	if err != nil {
		return in, out, err
	}
	in, ok1 := ts["input"]
	out, ok2 := ts["output"]
	if !ok1 || !ok2 {
		return in, out, fmt.Errorf("reconstruction artifact %q lacks the tensors \"input\" and \"output\" (has %s)", a.Name, tensorNames(ts))
	}
	if in.Len() != out.Len() || len(in.Data) != len(out.Data) {
		return in, out, fmt.Errorf("reconstruction artifact %q: input %v and output %v differ in shape", a.Name, in.Shape, out.Shape)
	}
	return in, out, nil
}

func tensorNames(ts map[string]Tensor) string {
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, strconv.Quote(n))
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Figures draws every picture the runs' data allows: one loss-curve chart
// for all runs, a reconstruction grid per run (the same first N test images
// for every run) plus one side-by-side grid when the runs reconstructed the
// same images, sequence line plots for recurrent runs, sample grids for
// generative runs and a latent scatter for 2-D codes. A run whose artifact
// cannot be drawn costs only that picture: the reason is returned in
// warnings.
func Figures(runs []Run, o FigureOptions) (figs []Figure, warnings []string) {
	if o.N <= 0 {
		o.N = 10
	}
	if o.Samples <= 0 {
		o.Samples = 64
	}
	if o.Scale <= 0 {
		o.Scale = 2
	}
	warn := func(r Run, format string, args ...any) {
		warnings = append(warnings, o.label(r)+": "+fmt.Sprintf(format, args...))
	}
	add := func(f Figure, err error) bool {
		if err != nil {
			warnings = append(warnings, f.Title+": "+err.Error())
			return false
		}
		figs = append(figs, f)
		return true
	}

	// Loss curves: one chart, or one per variant when the variants' losses
	// are different quantities (a VAE's nats beside an MSE).
	for _, part := range curveGroups(runs, o) {
		png, err := LossCurves(part.title, part.curves)
		add(Figure{File: part.file, Section: SectionCurves, Title: part.caption,
			Caption: "One colour per run: training loss dashed with open markers, validation loss solid.",
			PNG:     png}, err)
	}

	// Reconstructions: decode first, so every run shows the same number of images.
	type recon struct {
		run     Run
		in, out Tensor
		meta    map[string]string
	}
	var recons []recon
	for _, r := range runs {
		a, ok := Latest(r, kindReconstruction)
		if !ok {
			continue
		}
		in, out, err := Reconstruction(a)
		if err != nil {
			warn(r, "%v", err)
			continue
		}
		recons = append(recons, recon{r, in, out, a.Meta})
	}
	// The same test images for every run: as many as the run with the fewest stored.
	n := o.N
	for _, rc := range recons {
		if _, _, isImage := ImageShape(rc.in, rc.meta); isImage {
			n = min(n, rc.in.Len())
		}
	}
	var rows []Tensor
	var labels []string
	same := true
	for _, rc := range recons {
		r := rc.run
		h, w, isImage := ImageShape(rc.in, rc.meta)
		if isImage {
			img, _, err := ReconGrid(rc.in, rc.out, h, w, GridOptions{N: n, Scale: o.Scale})
			var png []byte
			if err == nil {
				png, err = EncodePNG(img)
			}
			ok := add(Figure{File: fmt.Sprintf("recon-run-%d.png", r.ID), Section: SectionRecon,
				Title:   o.label(r),
				Caption: fmt.Sprintf("The first %d test images (top) and their reconstructions (below).", n),
				PNG:     png, Pixelated: true}, err)
			if ok {
				if len(rows) == 0 {
					rows = append(rows, head(rc.in, n))
					labels = append(labels, "originals")
				} else if !sameData(rows[0], head(rc.in, n)) || len(rows[0].Data) != n*h*w {
					same = false
				}
				rows = append(rows, head(rc.out, n))
				labels = append(labels, o.label(r))
			}
		}
		if r.Variant == "rnn" || !isImage {
			dims := ExampleDims(rc.in, rc.meta)
			png, err := SequencePlot("", rc.in, rc.out, dims, 4)
			add(Figure{File: fmt.Sprintf("sequence-run-%d.png", r.ID), Section: SectionSeq,
				Title:   o.label(r),
				Caption: "Test sequences (solid) and their reconstructions (dashed); with many features, the three that vary most.",
				PNG:     png}, err)
		}
	}
	if len(rows) > 2 {
		if same {
			h, w, _ := ImageShape(recons[0].in, recons[0].meta)
			img, _, err := LabeledRows(rows, labels, h, w, GridOptions{N: n, Scale: o.Scale})
			var png []byte
			if err == nil {
				png, err = EncodePNG(img)
			}
			if err == nil {
				// Side by side goes first in its section.
				f := Figure{File: "recon-compare.png", Section: SectionRecon, Title: "All runs, same test images",
					Caption: "Top row: the test images; below, one row per run.", PNG: png, Pixelated: true}
				figs = slices.Insert(figs, firstIn(figs, SectionRecon), f)
			} else {
				warnings = append(warnings, "side-by-side reconstructions: "+err.Error())
			}
		} else {
			warnings = append(warnings, "the runs reconstructed different test images (different datasets?), so there is no side-by-side grid")
		}
	}

	// Samples.
	for _, r := range runs {
		a, ok := Latest(r, kindSample)
		if !ok {
			continue
		}
		ts, _, err := ReadSafetensors(a.Data)
		if err != nil {
			warn(r, "sample artifact: %v", err)
			continue
		}
		s, ok := ts["sample"]
		if !ok {
			warn(r, "sample artifact %q lacks the tensor \"sample\" (has %s)", a.Name, tensorNames(ts))
			continue
		}
		h, w, isImage := ImageShape(s, a.Meta)
		if !isImage {
			warn(r, "samples of shape %v are not images; not drawn", s.Shape)
			continue
		}
		ns := min(o.Samples, s.Len())
		img, _, err := SampleGrid(s, h, w, GridOptions{N: ns, Cols: SquareCols(ns), Scale: o.Scale})
		var png []byte
		if err == nil {
			png, err = EncodePNG(img)
		}
		add(Figure{File: fmt.Sprintf("samples-run-%d.png", r.ID), Section: SectionSamples, Title: o.label(r),
			Caption: fmt.Sprintf("%d codes drawn from N(0, I), decoded.", ns), PNG: png, Pixelated: true}, err)
	}

	// Latent scatter.
	for _, r := range runs {
		a, ok := Latest(r, kindLatent)
		if !ok {
			continue
		}
		ts, _, err := ReadSafetensors(a.Data)
		if err != nil {
			warn(r, "latent artifact: %v", err)
			continue
		}
		code, ok1 := ts["code"]
		label, ok2 := ts["label"]
		if !ok1 || !ok2 {
			warn(r, "latent artifact %q lacks the tensors \"code\" and \"label\" (has %s)", a.Name, tensorNames(ts))
			continue
		}
		if len(code.Shape) != 2 || code.Shape[1] != 2 {
			warn(r, "latent codes of shape %v are not 2-D; no scatter", code.Shape)
			continue
		}
		png, err := LatentScatter(fmt.Sprintf("%s: test codes by digit", o.label(r)), code, label)
		add(Figure{File: fmt.Sprintf("latent-run-%d.png", r.ID), Section: SectionLatent, Title: o.label(r),
			Caption: fmt.Sprintf("The 2-D codes (means) of %d test images, coloured by their digit.", code.Len()),
			PNG:     png}, err)
	}
	return figs, warnings
}

type curveGroup struct {
	file, title, caption string
	curves               []Curve
}

// curveGroups splits the runs' loss curves by variant when the variants'
// final validation losses differ by more than a factor of 30; otherwise all
// curves share one chart.
func curveGroups(runs []Run, o FigureOptions) []curveGroup {
	var order []string
	byVariant := map[string][]Curve{}
	level := map[string]float64{}
	for _, r := range runs {
		c := Curve{Label: o.label(r), Train: r.History["train_loss"], Val: r.History["val_loss"]}
		if len(c.Train)+len(c.Val) == 0 {
			continue
		}
		if _, ok := byVariant[r.Variant]; !ok {
			order = append(order, r.Variant)
		}
		byVariant[r.Variant] = append(byVariant[r.Variant], c)
		last := c.Val
		if len(last) == 0 {
			last = c.Train
		}
		if v := math.Abs(last[len(last)-1].Value); v > 0 && !math.IsInf(v, 0) && (level[r.Variant] == 0 || v < level[r.Variant]) {
			level[r.Variant] = v
		}
	}
	if len(order) == 0 {
		return nil
	}
	lo, hi := math.Inf(1), 0.0
	for _, v := range level {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if len(order) == 1 || hi/lo <= 30 {
		var all []Curve
		for _, v := range order {
			all = append(all, byVariant[v]...)
		}
		return []curveGroup{{file: "loss.png", title: "Training (dashed) and validation (solid) loss", caption: "Loss per epoch", curves: all}}
	}
	var out []curveGroup
	for _, v := range order {
		out = append(out, curveGroup{file: "loss-" + v + ".png", title: v + ": training (dashed) and validation (solid) loss",
			caption: "Loss per epoch, " + v + " runs (its own units)", curves: byVariant[v]})
	}
	return out
}

func firstIn(figs []Figure, section string) int {
	for i, f := range figs {
		if f.Section == section {
			return i
		}
	}
	return len(figs)
}

// SquareCols is the columns of a near-square grid of n cells: 64 → 8, 10 → 5, 3 → 3.
func SquareCols(n int) int {
	c := 1
	for c*c < n {
		c++
	}
	return c
}

func head(t Tensor, n int) Tensor {
	n = min(n, t.Len())
	per := len(t.Data) / max(t.Len(), 1)
	shape := append([]int{n}, t.Shape[1:]...)
	return Tensor{Shape: shape, Data: t.Data[:n*per]}
}

func sameData(a, b Tensor) bool {
	return len(a.Data) == len(b.Data) && slices.Equal(a.Data, b.Data)
}

// RunReport writes the HTML report of one run (`aexp show RUN --html`):
// its params, final metrics and facts, loss curves, reconstructions,
// samples and latent scatter, as one self-contained page. obj is the run's
// sweep objective (zero: val_loss, minimized).
func RunReport(w io.Writer, r Run, obj Objective) error {
	figs, warns := Figures([]Run{r}, FigureOptions{})
	return RunReportWith(w, r, obj, figs, warns)
}

// RunReportWith is RunReport with the figures and warnings of
// Figures([]Run{r}, FigureOptions{}) already drawn (for a caller that also
// writes them as PNG files).
func RunReportWith(w io.Writer, r Run, obj Objective, figs []Figure, warns []string) error {
	// No one-row table: the run's params and final metrics are in its details.
	return WriteHTML(w, Page{
		Title:     fmt.Sprintf("aexp run %d — %s", r.ID, r.Variant),
		Intro:     fmt.Sprintf("%s on %s, seed %d, status %s", r.Variant, r.Dataset, r.Seed, r.Status),
		Objective: obj,
		Runs:      []Run{r},
		Figures:   figs,
		Warnings:  warns,
	})
}

// CompareReport writes the HTML report of several runs (`aexp compare
// --html`): the comparison table, learning curves, the sweep plots
// (parallel coordinates, slices, importance), the pictures of Figures, then
// each run's details.
func CompareReport(w io.Writer, title, intro string, c Comparison, runs []Run, o FigureOptions) error {
	figs, warns := Figures(runs, o)
	return WriteHTML(w, Page{Title: title, Intro: intro, Comparison: &c, Runs: runs, Figures: figs, Warnings: warns,
		Labels: o.Labels, Charts: ChartsOf(runs, c, nil)})
}

// TrialsOf are the runs as the sweep plots see them, with their best
// objective value from c.
func TrialsOf(runs []Run, c Comparison) []Trial {
	best := map[int64]*float64{}
	for _, g := range c.Groups {
		for _, r := range g.Runs {
			best[r.ID] = r.Best
		}
	}
	out := make([]Trial, len(runs))
	for i, r := range runs {
		out[i] = Trial{ID: r.ID, Status: r.Status, Variant: r.Variant, Params: r.Params, Objective: best[r.ID]}
	}
	return out
}

// ChartsOf is Charts of the runs, ranked by c's objective; nil when fewer
// than three runs finished (nothing to see in such plots).
func ChartsOf(runs []Run, c Comparison, logParams map[string]bool) *SweepCharts {
	sc := Charts(TrialsOf(runs, c), c.Objective, logParams)
	if len(sc.Trials) < 3 || len(sc.Dims) == 0 {
		return nil
	}
	return &sc
}
