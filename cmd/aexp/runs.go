package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/aexp/aexp/store"
)

const runsUsage = `Usage: aexp runs [flags]

List recorded runs, one line each: id, sweep, variant, status, epochs
reached, the sweep's objective (best and final value), duration, and the
params that differ between the listed runs. A run with no objective value
yet shows "-". Results go to stdout; --json and --csv are for scripts.

Examples:
  aexp runs                                  # every run in ./aexp.db
  aexp runs --sweep vae-latent --sort objective --limit 5
  aexp runs --sweep 3 --status failed,timed_out
  aexp runs --variant vae --json | jq '.[] | select(.best_objective < 0.03) | .run_id'
  aexp runs --csv > runs.csv                 # params as param.<name> columns
  aexp runs --tag keep=yes                   # runs tagged with aexp tag RUN keep=yes
  AEXP_DB=results/aexp.db aexp runs --status running

Exit codes: 0 ok, 1 error (e.g. no database, no such sweep), 2 bad flags.

Flags:
`

// runRuns implements `aexp runs`.
func runRuns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// A listing of 10,000 runs allocates ~35 MB of short-lived rows; in a
	// process that exits right after, collecting less often saves a third
	// of the CPU time.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	fs := newFlags("runs", runsUsage, stderr)
	db := dbPath(fs)
	sweep := fs.String("sweep", "", "only runs of this sweep (id or name)")
	variant := fs.String("variant", "", "only runs of this variant (e.g. vae)")
	status := fs.String("status", "", "only runs with these statuses, comma-separated:\n"+strings.Join(store.Statuses, ","))
	sortBy := fs.String("sort", "id", "order: id, or objective (best first, by each sweep's goal)")
	limit := fs.Int("limit", 0, "print at most N runs (0: all)")
	var tagFilters setFlags
	fs.Var(&tagFilters, "tag", "only runs with this tag: KEY=VALUE, or KEY for any value (repeatable: all must match)")
	asJSON := fs.Bool("json", false, "print a JSON array, one object per run (the run_summary view's columns)")
	asCSV := fs.Bool("csv", false, "print CSV with a header row")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("runs", "unexpected argument %q (for one run use 'aexp show %s')", fs.Arg(0), fs.Arg(0))
	}
	if *asJSON && *asCSV {
		return usageErr("runs", "--json and --csv are exclusive")
	}
	if *sortBy != "id" && *sortBy != "objective" {
		return usageErr("runs", "--sort %q: want id or objective", *sortBy)
	}
	if *limit < 0 {
		return usageErr("runs", "--limit %d: want 0 (all) or more", *limit)
	}
	f := store.RunFilter{Variant: *variant, OrderBy: *sortBy, Limit: *limit}
	if *status != "" {
		for _, s := range strings.Split(*status, ",") {
			s = strings.TrimSpace(s)
			if !store.ValidStatus(s) {
				return usageErr("runs", "--status %q: want one or more of %s", s, strings.Join(store.Statuses, ","))
			}
			f.Statuses = append(f.Statuses, s)
		}
	}

	st, err := openReadOnly(db())
	if err != nil {
		return err
	}
	defer st.Close()
	if *sweep != "" {
		sw, err := st.GetSweep(ctx, *sweep)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("runs: no sweep %q in %s%s", *sweep, st.Path(), knownSweeps(ctx, st))
		}
		if err != nil {
			return err
		}
		f.SweepID = sw.ID
	}
	if len(tagFilters) > 0 {
		f.Limit = 0 // the limit counts runs that have the tags
	}
	rs, err := st.ListRuns(ctx, f)
	if err != nil {
		return err
	}
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.RunID
	}
	tags, err := st.Tags(ctx, ids)
	if err != nil {
		return err
	}
	if len(tagFilters) > 0 {
		rs = slices.DeleteFunc(rs, func(r store.RunSummary) bool { return !hasTags(tags[r.RunID], tagFilters) })
		if *limit > 0 && len(rs) > *limit {
			rs = rs[:*limit]
		}
	}
	switch {
	case *asJSON:
		out := make([]taggedRun, len(rs))
		for i, r := range rs {
			out[i] = taggedRun{r, tags[r.RunID]}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case *asCSV:
		return writeRunsCSV(stdout, rs, tags)
	}
	if len(rs) == 0 {
		fmt.Fprintln(stderr, "no runs match")
		return nil
	}
	return writeRunsTable(stdout, rs, tags)
}

// hasTags reports whether tags match every filter: KEY=VALUE, or KEY for
// any value.
func hasTags(tags map[string]string, filters []string) bool {
	for _, f := range filters {
		k, v, withValue := strings.Cut(f, "=")
		got, ok := tags[k]
		if !ok || withValue && got != v {
			return false
		}
	}
	return true
}

// taggedRun is a run of `aexp runs --json`: the run_summary columns and
// the run's tags.
type taggedRun struct {
	store.RunSummary
	Tags map[string]string `json:"tags,omitempty"`
}

// knownSweeps lists sweep names for an error message.
func knownSweeps(ctx context.Context, st *store.DB) string {
	sws, err := st.ListSweeps(ctx)
	if err != nil || len(sws) == 0 {
		return " (it holds no sweeps)"
	}
	names := make([]string, 0, len(sws))
	for _, s := range sws {
		names = append(names, fmt.Sprintf("%d %s", s.ID, s.Name))
	}
	if len(names) > 10 {
		names = append(names[:10], "...")
	}
	return " (sweeps: " + strings.Join(names, ", ") + ")"
}

// isTTY reports whether w is a terminal.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// tableWriter returns a writer for a table: aligned columns on a terminal,
// plain tab-separated values otherwise (easy to cut, awk and sort).
func tableWriter(w io.Writer) (io.Writer, func() error) {
	if !isTTY(w) {
		return w, func() error { return nil }
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	return tw, tw.Flush
}

func writeRunsTable(w io.Writer, rs []store.RunSummary, tags map[int64]map[string]string) error {
	varying := varyingParams(rs)
	objective := rs[0].Objective
	for _, r := range rs {
		if r.Objective != objective {
			objective = ""
		}
	}
	best, final := "BEST", "FINAL"
	if objective != "" {
		best, final = "BEST_"+strings.ToUpper(objective), "FINAL_"+strings.ToUpper(objective)
	}
	tw, flush := tableWriter(w)
	tagCol := "" // a TAGS column when a listed run has tags
	if len(tags) > 0 {
		tagCol = "\tTAGS"
	}
	fmt.Fprintf(tw, "RUN\tSWEEP\tVARIANT\tSTATUS\tEPOCHS\t%s\t%s\tDURATION\tPARAMS%s\n", best, final, tagCol)
	for _, r := range rs {
		b, fin := optMetricText(r.BestObjective), optMetricText(r.FinalObjective)
		if objective == "" && r.BestObjective != nil {
			b = r.Objective + "=" + b
		}
		t := ""
		if tagCol != "" {
			t = "\t" + tagsText(tags[r.RunID])
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s%s\n", r.RunID, r.Sweep, r.Variant, r.Status, r.Epochs,
			b, fin, durationText(r.DurationS), paramsText(r.Params, varying), t)
	}
	return flush()
}

// varyingParams returns the param names whose values differ between the
// runs that have them (all names when there is one run), sorted.
func varyingParams(rs []store.RunSummary) []string {
	vals := map[string]map[string]bool{}
	for _, r := range rs {
		for k, v := range r.Params {
			if vals[k] == nil {
				vals[k] = map[string]bool{}
			}
			vals[k][paramText(v)] = true
		}
	}
	var keys []string
	for k, vs := range vals {
		if len(rs) == 1 || len(vs) > 1 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// paramsText formats the named params of a run as "k=v k=v".
func paramsText(p map[string]any, keys []string) string {
	var parts []string
	for _, k := range keys {
		if v, ok := p[k]; ok {
			parts = append(parts, k+"="+paramText(v))
		}
	}
	return strings.Join(parts, " ")
}

// paramText formats a param value compactly: 0.001, relu, [512,256].
func paramText(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// metricText formats a metric value with 4 significant digits.
func metricText(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func optMetricText(v *float64) string {
	if v == nil {
		return "-"
	}
	return metricText(*v)
}

func durationText(s *float64) string {
	if s == nil {
		return "-"
	}
	d := time.Duration(*s * float64(time.Second))
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

func writeRunsCSV(w io.Writer, rs []store.RunSummary, tags map[int64]map[string]string) error {
	keySet := map[string]bool{}
	for _, r := range rs {
		for k := range r.Params {
			keySet[k] = true
		}
	}
	keys := make([]string, 0, len(keySet))
	for k := range keySet {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cw := csv.NewWriter(w)
	head := []string{"run_id", "sweep_id", "sweep", "variant", "status", "epochs", "objective", "goal",
		"best_objective", "best_epoch", "final_objective", "test_mse", "pca_mse", "duration_s", "seed",
		"dataset", "attempt", "started", "finished", "error"}
	for _, k := range keys {
		head = append(head, "param."+k)
	}
	tagSet := map[string]bool{}
	for _, t := range tags {
		for k := range t {
			tagSet[k] = true
		}
	}
	tagKeys := slices.Sorted(maps.Keys(tagSet))
	for _, k := range tagKeys {
		head = append(head, "tag."+k)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'g', -1, 64)
	}
	tm := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(store.TimeFormat)
	}
	for _, r := range rs {
		be := ""
		if r.BestEpoch != nil {
			be = strconv.Itoa(*r.BestEpoch)
		}
		row := []string{strconv.FormatInt(r.RunID, 10), strconv.FormatInt(r.SweepID, 10), r.Sweep, r.Variant,
			r.Status, strconv.Itoa(r.Epochs), r.Objective, r.Goal, opt(r.BestObjective), be, opt(r.FinalObjective),
			opt(r.TestMSE), opt(r.PCAMSE), opt(r.DurationS), strconv.FormatUint(r.Seed, 10), r.Dataset,
			strconv.Itoa(r.Attempt), tm(r.Started), tm(r.Finished), r.Error}
		for _, k := range keys {
			v, ok := r.Params[k]
			if !ok {
				row = append(row, "")
				continue
			}
			row = append(row, paramText(v))
		}
		for _, k := range tagKeys {
			row = append(row, tags[r.RunID][k])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
