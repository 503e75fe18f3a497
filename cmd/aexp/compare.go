package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/viz"
	"github.com/aexp/aexp/viz/vizstore"
)

const compareUsage = `Usage: aexp compare [flags] RUN...
       aexp compare [flags] --sweep SWEEP [--best K]
       aexp compare [flags] --best K

Show runs side by side: the params that differ, the objective's final and
best value, the other final metrics, epochs, training time and parameter
count. Runs that differ only by seed form one row with mean ± std. Rows are
sorted by the objective (the sweep's, unless --objective says otherwise).

Examples:
  aexp compare 17 18 21
  aexp compare --sweep vae-latent --best 5
  aexp compare --sweep 3 --md > results.md
  aexp compare --sweep families --objective test_mse   # rank different families on one scale
  aexp compare 17 18 21 --csv > runs.csv               # one line per run, for your own aggregation
  aexp compare 17 18 21 --html report.html     # one self-contained page with pictures
  aexp compare 17 18 21 --png pictures/        # each picture as a PNG file

Flags:
`

// runCompare implements `aexp compare`.
func runCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", compareUsage, stderr)
	dbFile := dbPath(fs)
	sweep := fs.String("sweep", "", "compare the runs of this sweep (id or name)")
	best := fs.Int("best", 0, "keep only the K best configurations (seed groups count once)")
	objective := fs.String("objective", "", "rank by this metric (default: the sweep's objective, else val_loss)")
	goal := fs.String("goal", "", "minimize or maximize the --objective (default minimize)")
	asJSON := fs.Bool("json", false, "print JSON (groups with their runs)")
	asCSV := fs.Bool("csv", false, "print CSV, one row per run")
	asMD := fs.Bool("md", false, "print a Markdown table")
	htmlOut := fs.String("html", "", "write a self-contained HTML report to this file")
	pngDir := fs.String("png", "", "write each picture as a PNG file into this directory")
	n := fs.Int("n", 10, "test images per run in the reconstruction pictures")
	pluginDir := fs.String("plugin-dir", "", "plugins for drawing samples of generative runs (default: $AEXP_PLUGIN_DIR, next to aexp, $PATH)")
	noSample := fs.Bool("no-sample", false, "pictures: do not start plugins to sample generative runs")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	formats := 0
	for _, b := range []bool{*asJSON, *asCSV, *asMD} {
		if b {
			formats++
		}
	}
	if formats > 1 {
		return usageErr("compare", "choose one of --json, --csv, --md")
	}
	if *goal != "" && *goal != store.Minimize && *goal != store.Maximize {
		return usageErr("compare", "--goal %q: want minimize or maximize", *goal)
	}
	if *best < 0 || *n < 1 {
		return usageErr("compare", "--best and -n must be positive")
	}
	var ids []int64
	for _, a := range fs.Args() {
		id, err := runIDArg("compare", a)
		if err != nil {
			return err
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	typed := slices.Clone(ids) // as the user typed them, for the report's title
	if len(ids) == 0 && *sweep == "" && *best == 0 {
		return usageErr("compare", "name runs, or use --sweep or --best")
	}
	if len(ids) > 0 && *sweep != "" {
		return usageErr("compare", "give run ids or --sweep, not both")
	}

	db, err := openReadOnly(dbFile())
	if err != nil {
		return err
	}
	defer db.Close()

	if len(ids) == 0 {
		f := store.RunFilter{Sweep: *sweep}
		if *sweep != "" {
			if _, err := db.GetSweep(ctx, *sweep); err != nil {
				return err
			}
		}
		rs, err := db.ListRuns(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Status != store.StatusQueued {
				ids = append(ids, r.RunID)
			}
		}
		if len(ids) == 0 {
			return fmt.Errorf("compare: no runs have started yet%s", ifSweep(*sweep))
		}
	}
	runs, err := loadVizRuns(ctx, db, ids, false)
	if err != nil {
		return err
	}
	obj, note, err := compareObjective(ctx, db, runs, *objective, *goal)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(stderr, "aexp compare:", note)
	}
	if *objective == "" && (obj.Metric == "val_loss" || obj.Metric == "train_loss") {
		variants := map[string]bool{}
		for _, r := range runs {
			variants[r.Variant] = true
		}
		if len(variants) > 1 {
			fmt.Fprintf(stderr, "aexp compare: note: %s is each variant's own training loss (a vae's is in nats), so it ranks runs of one family; across families rank by --objective test_mse\n", obj.Metric)
		}
	}
	c := viz.Compare(runs, obj)
	if *best > 0 && len(c.Groups) > *best {
		c = viz.Compare(keepGroups(runs, c.Groups[:*best]), obj)
		runs = keepGroups(runs, c.Groups)
	}

	switch {
	case *asJSON:
		err = c.WriteJSON(stdout)
	case *asCSV:
		err = c.WriteCSV(stdout)
	case *asMD:
		err = c.WriteMarkdown(stdout)
	default:
		if err = c.WriteText(stdout); err == nil {
			err = writeCompareTags(ctx, stdout, db, c)
		}
	}
	if err != nil {
		return err
	}
	if *htmlOut == "" && *pngDir == "" {
		return nil
	}
	// Pictures of the runs kept, in the table's order (the best first),
	// now with their artifacts (the rest was read above).
	runs = orderLike(runs, c)
	if err := vizstore.AddArtifacts(ctx, db, runs); err != nil {
		return err
	}
	if !*noSample {
		addSamples(ctx, db, runs, *pluginDir, stderr)
	}
	opts := viz.FigureOptions{N: *n, Labels: c.RunLabels()}
	figs, warns := viz.Figures(runs, opts) // drawn once, for the PNGs and the page
	if *pngDir != "" {
		if err := writeFigures(*pngDir, figs, warns, stderr); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
	}
	if *htmlOut != "" {
		// The title is the command as typed: run ids in the user's order.
		title := "aexp compare " + strings.Join(runIDStrings(typed), " ")
		if *sweep != "" {
			title = "aexp compare --sweep " + *sweep
		} else if len(typed) == 0 {
			title = fmt.Sprintf("aexp compare --best %d", *best)
		}
		intro := fmt.Sprintf("%d runs from %s", len(runs), db.Path())
		if len(runs) == 1 {
			intro = "1 run from " + db.Path()
		}
		logs, err := vizstore.LogParams(ctx, db, runs)
		if err != nil {
			return err
		}
		page := viz.Page{Title: title, Intro: intro, Comparison: &c, Runs: runs, Figures: figs, Warnings: warns,
			Labels: opts.Labels, Charts: viz.ChartsOf(runs, c, logs)}
		if err := writeFileAtomically(*htmlOut, func(w io.Writer) error { return viz.WriteHTML(w, page) }); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		fmt.Fprintln(stderr, "wrote", *htmlOut)
	}
	return nil
}

// writeFigures writes each figure as a PNG file into dir and says so on stderr.
func writeFigures(dir string, figs []viz.Figure, warns []string, stderr io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range figs {
		p := filepath.Join(dir, f.File)
		if err := os.WriteFile(p, f.PNG, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "wrote", p)
	}
	for _, w := range warns {
		fmt.Fprintln(stderr, "aexp: warning:", w)
	}
	return nil
}

// runPictures is `aexp show RUN --html FILE --png DIR` for show.go: the
// one-run HTML report (params, final metrics, loss curves, reconstructions,
// samples of a generative run, latent scatter of a 2-D code, sequence
// plots) and/or each picture as a PNG. Either path may be empty.
// pluginDir is the --plugin-dir flag (plugins sample generative runs).
func runPictures(ctx context.Context, db *store.DB, id int64, htmlPath, pngDir, pluginDir string, stderr io.Writer) error {
	runs, err := loadVizRuns(ctx, db, []int64{id}, true)
	if err != nil {
		return err
	}
	addSamples(ctx, db, runs, pluginDir, stderr)
	r := runs[0]
	figs, warns := viz.Figures(runs, viz.FigureOptions{}) // drawn once, for the PNGs and the page
	if pngDir != "" {
		if err := writeFigures(pngDir, figs, warns, stderr); err != nil {
			return err
		}
	}
	if htmlPath != "" {
		obj := viz.Objective{}
		if sw, err := db.GetSweep(ctx, strconv.FormatInt(r.SweepID, 10)); err == nil {
			obj = viz.Objective{Metric: sw.Objective, Goal: sw.Goal}
		}
		if err := writeFileAtomically(htmlPath, func(w io.Writer) error { return viz.RunReportWith(w, r, obj, figs, warns) }); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "wrote", htmlPath)
	}
	return nil
}

func ifSweep(s string) string {
	if s == "" {
		return ""
	}
	return " in sweep " + s
}

// loadVizRuns reads what viz needs of each run (vizstore.Runs).
// `aexp show --html` and `aexp reconstruct` use it too.
func loadVizRuns(ctx context.Context, db *store.DB, ids []int64, withArtifacts bool) ([]viz.Run, error) {
	return vizstore.Runs(ctx, db, ids, withArtifacts)
}

// reportSamples is how many samples a report shows per generative run.
const reportSamples = 64

// addSamples gives every finished run of a generative variant that stored
// no samples a fresh sample artifact: 64 codes from N(0, I) (seed 0)
// decoded by the run's checkpoint, through one plugin process per variant.
// Anything that fails costs only the pictures and is said on stderr.
// `aexp show --html` can use it too.
func addSamples(ctx context.Context, db *store.DB, runs []viz.Run, pluginDir string, stderr io.Writer) {
	byVariant := map[string][]int{}
	var order []string
	for i, r := range runs {
		if _, ok := viz.Latest(r, variant.KindSample); ok || r.Status != store.StatusDone {
			continue
		}
		if _, ok := byVariant[r.Variant]; !ok {
			order = append(order, r.Variant)
		}
		byVariant[r.Variant] = append(byVariant[r.Variant], i)
	}
	if len(order) == 0 {
		return
	}
	found, err := variant.DiscoverDefault(pluginDir)
	if err != nil {
		fmt.Fprintln(stderr, "aexp: no samples drawn:", err)
		return
	}
	for _, name := range order {
		path, ok := found[name]
		if !ok {
			continue // only generative variants matter, and we cannot tell without the plugin
		}
		func() {
			p, err := variant.Launch(ctx, path, variant.LaunchOptions{})
			if err != nil {
				fmt.Fprintf(stderr, "aexp: no samples of %s runs: %v\n", name, err)
				return
			}
			defer p.Kill()
			info, err := p.Describe(ctx)
			if err != nil || !slices.Contains(info.Capabilities, variant.CapSample) {
				return
			}
			for _, i := range byVariant[name] {
				r := &runs[i]
				_, ckpt, err := db.Checkpoint(ctx, r.ID, 0)
				if err != nil {
					continue
				}
				params, err := variant.Validate(info.Params, r.Params)
				if err != nil {
					fmt.Fprintf(stderr, "aexp: no samples of run %d: %v\n", r.ID, err)
					continue
				}
				a, err := p.Sample(ctx, variant.SampleRequest{Params: params, Checkpoint: ckpt, N: reportSamples})
				if err != nil {
					fmt.Fprintf(stderr, "aexp: no samples of run %d: %v\n", r.ID, err)
					continue
				}
				r.Artifacts = append(r.Artifacts, viz.Artifact{Kind: a.Kind, Name: a.Name, Meta: a.Meta, Data: a.Data})
			}
		}()
	}
}

// writeCompareTags lists the tags of the compared runs under the table, in
// the table's order (nothing when none has tags).
func writeCompareTags(ctx context.Context, w io.Writer, db *store.DB, c viz.Comparison) error {
	var ids []int64
	for _, g := range c.Groups {
		for _, r := range g.Runs {
			ids = append(ids, r.ID)
		}
	}
	tags, err := db.Tags(ctx, ids)
	if err != nil || len(tags) == 0 {
		return err
	}
	fmt.Fprintln(w, "\ntags")
	for _, id := range ids {
		if t := tags[id]; len(t) > 0 {
			fmt.Fprintf(w, "  run %d  %s\n", id, tagsText(t))
		}
	}
	return nil
}

// compareObjective is --objective/--goal when given, else the objective the
// runs' sweeps share, else val_loss minimized (with a note saying so).
func compareObjective(ctx context.Context, db *store.DB, runs []viz.Run, metric, goal string) (viz.Objective, string, error) {
	if metric != "" {
		if goal == "" {
			goal = store.Minimize
		}
		return viz.Objective{Metric: metric, Goal: goal}, "", nil
	}
	o, note, err := vizstore.Objective(ctx, db, runs)
	if err == nil && goal != "" && note == "" {
		o.Goal = goal
	}
	return o, note, err
}

// keepGroups returns the runs that belong to groups, in the runs' order.
func keepGroups(runs []viz.Run, groups []viz.Group) []viz.Run {
	keep := map[int64]bool{}
	for _, g := range groups {
		for _, r := range g.Runs {
			keep[r.ID] = true
		}
	}
	var out []viz.Run
	for _, r := range runs {
		if keep[r.ID] {
			out = append(out, r)
		}
	}
	return out
}

// orderLike sorts runs as the comparison's rows are sorted.
func orderLike(runs []viz.Run, c viz.Comparison) []viz.Run {
	rank := map[int64]int{}
	i := 0
	for _, g := range c.Groups {
		for _, r := range g.Runs {
			rank[r.ID] = i
			i++
		}
	}
	out := slices.Clone(runs)
	slices.SortStableFunc(out, func(a, b viz.Run) int { return rank[a.ID] - rank[b.ID] })
	return out
}

func runIDStrings(ids []int64) []string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return s
}

// writeFileAtomically writes path through a temporary file in the same
// directory, so a failed write never leaves half a file.
func writeFileAtomically(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
