package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/viz"
)

const showUsage = `Usage: aexp show [flags] RUN

Show one run: what it is (sweep, variant, plugin, host, attempt), its
params, the objective with a sparkline, the per-epoch curves as a table,
its final metrics (the latest value of every metric, test-set ones
included), its artifacts and, for a run that failed, the error and the
tail of the plugin's stderr. --html and --png write the run's pictures
instead.

Examples:
  aexp show 17
  aexp show 17 --all-epochs         # every epoch, not a sample of 20
  aexp show 17 --json | jq .final_metrics
  aexp show 17 --html run17.html        # one page: curves, reconstructions, samples, latent plot
  aexp show 17 --png pictures/          # the same pictures as PNG files
  aexp export 17 -o model.safetensors   # the checkpoint listed under artifacts

Exit codes: 0 ok, 1 error (e.g. no such run, no database), 2 bad flags.

Flags:
`

// maxCurveRows is how many epochs show prints without --all-epochs.
const maxCurveRows = 20

// runShow implements `aexp show`.
func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("show", showUsage, stderr)
	db := dbPath(fs)
	asJSON := fs.Bool("json", false, "print JSON: run, params, metric summary, history, artifacts")
	allEpochs := fs.Bool("all-epochs", false, "print every epoch of the curves")
	htmlOut := fs.String("html", "", "write a self-contained HTML report of the run (curves, reconstructions, samples) to this file")
	pngDir := fs.String("png", "", "write each picture of the run as a PNG file into this directory")
	pluginDir := fs.String("plugin-dir", "", "plugins, to sample a generative run that stored no samples\n(default: $AEXP_PLUGIN_DIR, next to aexp, $PATH)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("show", "want exactly one RUN id, got %d arguments", fs.NArg())
	}
	id, err := parseRunID(fs.Arg(0))
	if err != nil {
		return usageErr("show", "%v", err)
	}
	st, err := openReadOnly(db())
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := loadRunView(ctx, st, id)
	if err != nil {
		return err
	}
	if *htmlOut != "" || *pngDir != "" {
		return runPictures(ctx, st, id, *htmlOut, *pngDir, *pluginDir, stderr)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return writeRunText(stdout, v, *allEpochs)
}

// parseRunID reads a run id as printed by `aexp runs` (17, or #17).
func parseRunID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("RUN must be a run id such as 17 (see 'aexp runs'), got %q", s)
	}
	return id, nil
}

// runView is everything show prints; its JSON form is `aexp show --json`.
type runView struct {
	Run          runJSON                  `json:"run"`
	Sweep        sweepJSON                `json:"sweep"`
	Params       map[string]any           `json:"params"`
	Summary      []store.Summary          `json:"metric_summary"`
	FinalMetrics map[string]*float64      `json:"final_metrics"`
	History      map[string][]pointJSON   `json:"history"`
	Artifacts    []store.ArtifactInfo     `json:"artifacts"`
	Tags         map[string]string        `json:"tags"`
	curves       map[string][]store.Point // for the text form
}

type runJSON struct {
	ID            int64             `json:"id"`
	SweepID       int64             `json:"sweep_id"`
	Key           string            `json:"run_key"`
	Variant       string            `json:"variant"`
	Dataset       string            `json:"dataset"`
	Seed          uint64            `json:"seed"`
	Source        string            `json:"source"` // how the configuration was chosen: grid, random, startup, model
	Status        string            `json:"status"`
	Error         string            `json:"error"`
	StderrTail    string            `json:"stderr_tail"`
	Attempt       int               `json:"attempt"`
	MaxAttempts   int               `json:"max_attempts"`
	PluginVersion string            `json:"plugin_version"`
	PluginHash    string            `json:"plugin_hash"`
	Host          string            `json:"host"`
	BLAS          string            `json:"blas"`
	Threads       int               `json:"threads"`
	Pid           int               `json:"pid"`
	Epochs        int               `json:"epochs"`
	ResumedFrom   int               `json:"resumed_from"` // epoch the latest attempt resumed from; 0: none
	Resumes       int               `json:"resumes"`
	TrainSeconds  float64           `json:"train_seconds"` // training time of all attempts
	Meta          map[string]string `json:"meta"`
	Created       time.Time         `json:"created"`
	Started       *time.Time        `json:"started"`
	Finished      *time.Time        `json:"finished"`
	Heartbeat     *time.Time        `json:"heartbeat"`
	DurationS     *float64          `json:"duration_s"`
}

type sweepJSON struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Objective string `json:"objective"`
	Goal      string `json:"goal"`
}

type pointJSON struct {
	Epoch int      `json:"epoch"`
	Value *float64 `json:"value"` // null for NaN
}

func loadRunView(ctx context.Context, st *store.DB, id int64) (*runView, error) {
	r, err := st.GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no run %d in %s (list runs with 'aexp runs')", id, st.Path())
	}
	if err != nil {
		return nil, err
	}
	sw, err := st.GetSweep(ctx, strconv.FormatInt(r.SweepID, 10))
	if err != nil {
		return nil, err
	}
	sum, err := st.Summaries(ctx, id)
	if err != nil {
		return nil, err
	}
	hist, err := st.MetricHistory(ctx, id)
	if err != nil {
		return nil, err
	}
	arts, err := st.Artifacts(ctx, id, "")
	if err != nil {
		return nil, err
	}
	tags, err := st.Tags(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	v := &runView{
		Run: runJSON{ID: r.ID, SweepID: r.SweepID, Key: r.Key, Variant: r.Variant, Dataset: r.Dataset,
			Seed: r.Seed, Source: r.Source, Status: r.Status, Error: r.Error, StderrTail: r.StderrTail, Attempt: r.Attempt,
			MaxAttempts: r.MaxAttempts, PluginVersion: r.PluginVersion, PluginHash: r.PluginHash, Host: r.Host,
			BLAS: r.BLAS, Threads: r.Threads, Pid: r.Pid, Epochs: r.Epochs, ResumedFrom: r.ResumedFrom,
			Resumes: r.Resumes, TrainSeconds: r.TrainSeconds, Meta: r.Meta, Created: r.Created,
			Started: r.Started, Finished: r.Finished, Heartbeat: r.Heartbeat},
		Sweep:        sweepJSON{ID: sw.ID, Name: sw.Name, Objective: sw.Objective, Goal: sw.Goal},
		Params:       r.Params,
		Summary:      sum,
		FinalMetrics: map[string]*float64{},
		History:      map[string][]pointJSON{},
		Artifacts:    arts,
		Tags:         tags[id],
		curves:       hist,
	}
	if v.Tags == nil {
		v.Tags = map[string]string{}
	}
	if v.Summary == nil {
		v.Summary = []store.Summary{}
	}
	if v.Artifacts == nil {
		v.Artifacts = []store.ArtifactInfo{}
	}
	if end := coalesceTime(r.Finished, r.Heartbeat); r.Started != nil && end != nil {
		d := end.Sub(*r.Started).Seconds()
		v.Run.DurationS = &d
	}
	for _, s := range sum {
		v.FinalMetrics[s.Key] = s.Latest
	}
	for k, pts := range hist {
		out := make([]pointJSON, len(pts))
		for i, p := range pts {
			out[i].Epoch = p.Epoch
			if !math.IsNaN(p.Value) {
				x := p.Value
				out[i].Value = &x
			}
		}
		v.History[k] = out
	}
	return v, nil
}

func coalesceTime(ts ...*time.Time) *time.Time {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}

func writeRunText(w io.Writer, v *runView, allEpochs bool) error {
	r := v.Run
	p := &printer{w: w}
	p.f("run %d: %s on %s, %s", r.ID, r.Variant, orDash(r.Dataset), r.Status)
	if r.Attempt > 0 {
		p.f(" (attempt %d of %d)", r.Attempt, max(r.MaxAttempts, r.Attempt))
	}
	if r.ResumedFrom > 0 {
		p.f(", resumed after epoch %d", r.ResumedFrom)
	}
	p.f("\n")
	p.f("  sweep      %s (#%d)\n", v.Sweep.Name, v.Sweep.ID)
	p.f("  run key    %s   seed %d\n", r.Key, r.Seed)
	if src := sourceText[r.Source]; src != "" {
		p.f("  chosen by  %s\n", src)
	}
	if r.PluginVersion != "" || r.Host != "" {
		hash := r.PluginHash
		if len(hash) > 12 {
			hash = hash[:12]
		}
		p.f("  plugin     aexp-variant-%s %s", r.Variant, orDash(r.PluginVersion))
		if hash != "" {
			p.f(" (sha256 %s…)", hash)
		}
		p.f("\n  host       %s   threads %d   blas %s   pid %d\n", orDash(r.Host), r.Threads, orDash(r.BLAS), r.Pid)
	}
	if r.Started != nil {
		p.f("  started    %s", r.Started.UTC().Format(time.RFC3339))
		if r.Finished != nil {
			p.f("   finished %s", r.Finished.UTC().Format(time.RFC3339))
		}
		p.f("   duration %s\n", durationText(r.DurationS))
	}
	p.f("  epochs     %d\n", r.Epochs)
	if len(r.Meta) > 0 {
		keys := slices.Sorted(maps.Keys(r.Meta))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + r.Meta[k]
		}
		p.f("  meta       %s\n", strings.Join(parts, " "))
	}
	if len(v.Tags) > 0 {
		p.f("  tags       %s\n", tagsText(v.Tags))
	}
	if r.Error != "" {
		p.f("  error      %s\n", r.Error)
	}

	// The objective.
	obj := v.Sweep.Objective
	for _, s := range v.Summary {
		if s.Key != obj {
			continue
		}
		p.f("\nobjective %s (%s): best %s", obj, v.Sweep.Goal, optMetricText(s.Best))
		if s.Best != nil {
			p.f(" at epoch %d", s.BestEpoch)
		}
		p.f(", final %s", optMetricText(s.Latest))
		if sl := sparkline(v.curves[obj]); sl != "" {
			p.f("   %s", sl)
		}
		p.f("\n")
	}

	// Params.
	p.f("\nparams\n")
	if len(v.Params) == 0 {
		p.f("  (none)\n")
	}
	tw, flush := alignedTable(w)
	for _, k := range slices.Sorted(maps.Keys(v.Params)) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, paramText(v.Params[k]))
	}
	flush()

	// Curves: the metrics recorded at more than one epoch (or all, for a
	// one-epoch run), sampled to maxCurveRows rows unless allEpochs.
	curveKeys, epochs := curveColumns(v.curves, r.Epochs, obj)
	if len(epochs) > 0 {
		rows := epochs
		note := ""
		if !allEpochs && len(epochs) > maxCurveRows {
			rows = sampleEpochs(epochs, maxCurveRows, bestEpoch(v.Summary, obj))
			note = fmt.Sprintf(" (%d of %d epochs; --all-epochs for every one)", len(rows), len(epochs))
		}
		p.f("\ncurves%s\n", note)
		tw, flush := alignedTable(w)
		fmt.Fprintf(tw, "  epoch\t%s\n", strings.Join(curveKeys, "\t"))
		byKey := map[string]map[int]float64{}
		for _, k := range curveKeys {
			byKey[k] = map[int]float64{}
			for _, pt := range v.curves[k] {
				byKey[k][pt.Epoch] = pt.Value
			}
		}
		for _, e := range rows {
			cells := make([]string, len(curveKeys))
			for i, k := range curveKeys {
				if x, ok := byKey[k][e]; ok {
					cells[i] = metricText(x)
				} else {
					cells[i] = "-"
				}
			}
			fmt.Fprintf(tw, "  %d\t%s\n", e, strings.Join(cells, "\t"))
		}
		flush()
	}

	// Final metrics.
	if len(v.Summary) > 0 {
		p.f("\nfinal metrics (latest value; best by goal)\n")
		tw, flush := alignedTable(w)
		for _, s := range v.Summary {
			best := ""
			if s.Count > 1 && s.Best != nil {
				best = fmt.Sprintf("best %s at epoch %d", metricText(*s.Best), s.BestEpoch)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Key, optMetricText(s.Latest), best)
		}
		flush()
	}

	// Artifacts.
	p.f("\nartifacts\n")
	if len(v.Artifacts) == 0 {
		p.f("  (none)\n")
	} else {
		tw, flush := alignedTable(w)
		fmt.Fprintf(tw, "  ID\tKIND\tNAME\tEPOCH\tFORMAT\tSIZE\n")
		for _, a := range v.Artifacts {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%d\t%s\t%s\n", a.ID, a.Kind, a.Name, a.Epoch, orDash(a.Format), viz.FormatBytes(a.Size))
		}
		flush()
	}

	if r.StderrTail != "" && r.Status != store.StatusDone {
		lines := strings.Split(strings.TrimRight(r.StderrTail, "\n"), "\n")
		if len(lines) > 20 {
			lines = lines[len(lines)-20:]
		}
		p.f("\nplugin stderr (last %d lines)\n", len(lines))
		for _, l := range lines {
			p.f("  %s\n", l)
		}
	}
	return p.err
}

// alignedTable aligns columns always: show is a report for people (its
// machine form is --json).
func alignedTable(w io.Writer) (io.Writer, func() error) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	return tw, tw.Flush
}

// printer writes formatted text and remembers the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// curveColumns picks the per-epoch metrics (objective first, then the
// shared ones, then the rest by name) and the epochs they cover.
func curveColumns(h map[string][]store.Point, epochs int, objective string) ([]string, []int) {
	seen := map[int]bool{}
	var keys []string
	for k, pts := range h {
		if len(pts) > 1 || epochs <= 1 {
			keys = append(keys, k)
			for _, p := range pts {
				seen[p.Epoch] = true
			}
		}
	}
	rank := func(k string) int {
		switch k {
		case objective:
			return 0
		case "train_loss":
			return 1
		case "val_loss":
			return 2
		case "epoch_seconds", "samples_per_second":
			return 4
		}
		return 3
	}
	sort.Slice(keys, func(i, j int) bool {
		if ri, rj := rank(keys[i]), rank(keys[j]); ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	var eps []int
	for e := range seen {
		eps = append(eps, e)
	}
	sort.Ints(eps)
	return keys, eps
}

func bestEpoch(sum []store.Summary, key string) int {
	for _, s := range sum {
		if s.Key == key && s.Best != nil {
			return s.BestEpoch
		}
	}
	return -1
}

// sampleEpochs picks about n epochs evenly, always with the first, the
// last and the best one.
func sampleEpochs(epochs []int, n, best int) []int {
	pick := map[int]bool{epochs[0]: true, epochs[len(epochs)-1]: true}
	if best >= 0 {
		pick[best] = true
	}
	for i := 0; i < n-2; i++ {
		pick[epochs[i*(len(epochs)-1)/(n-2)]] = true
	}
	var out []int
	for _, e := range epochs {
		if pick[e] {
			out = append(out, e)
		}
	}
	return out
}

// sparkline draws a curve's shape with block characters (NaN as a space).
func sparkline(pts []store.Point) string {
	if len(pts) < 2 {
		return ""
	}
	if len(pts) > 40 {
		step := float64(len(pts)-1) / 39
		s := make([]store.Point, 40)
		for i := range s {
			s[i] = pts[int(math.Round(float64(i)*step))]
		}
		pts = s
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		if !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) {
			lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
		}
	}
	if math.IsInf(lo, 0) {
		return ""
	}
	bars := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	for _, p := range pts {
		switch {
		case math.IsNaN(p.Value) || math.IsInf(p.Value, 0):
			b.WriteRune(' ')
		case hi == lo:
			b.WriteRune(bars[3])
		default:
			b.WriteRune(bars[int((p.Value-lo)/(hi-lo)*float64(len(bars)-1)+0.5)])
		}
	}
	return b.String()
}

// sourceText says how a run's configuration was chosen (runs.source).
var sourceText = map[string]string{
	"grid":    "grid search",
	"random":  "random search",
	"startup": "tpe, startup (random, before the model)",
	"model":   "tpe, proposed by the model from the results before it",
}
