package orchestrator

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/viz"
)

// LeaderboardRows is how many runs the leaderboard lists.
const LeaderboardRows = 25

// WriteLeaderboard prints the plan's runs sorted by the objective (best
// first; runs without a value last): run id, status, the params that vary,
// the objective (best value and its epoch), epochs and the test metrics.
// Runs that differ only by seed are folded into one row of mean ± std, by
// the same grouping as `aexp compare` (viz.Compare). Failed runs are listed
// below with their reason.
func WriteLeaderboard(ctx context.Context, w io.Writer, db *store.DB, pl *Plan, sweepID int64) error {
	s := pl.Spec
	rows, err := db.ListRuns(ctx, store.RunFilter{SweepID: sweepID})
	if err != nil {
		return err
	}
	byKey := map[string]*Run{}
	for _, r := range pl.Runs {
		byKey[r.Key] = r
	}
	if pl.tpe != nil {
		// the runs the model proposed are not in the plan
		for _, r := range rows {
			if byKey[r.RunKey] == nil {
				if run := pl.tpe.recordedRun(s, r.Variant, r.Params, r.Seed, r.RunKey, ""); run != nil {
					byKey[r.RunKey] = run
				}
			}
		}
	}
	var runs []store.RunSummary
	summary := map[int64]store.RunSummary{}
	var ids []int64
	for _, r := range rows {
		if byKey[r.RunKey] != nil {
			runs = append(runs, r)
			summary[r.RunID] = r
			ids = append(ids, r.RunID)
		}
	}
	hist, err := db.Histories(ctx, ids)
	if err != nil {
		return err
	}
	finals, err := db.FinalMetricsOf(ctx, ids)
	if err != nil {
		return err
	}
	obj := viz.Objective{Metric: s.Objective.Metric, Goal: s.Objective.Goal}
	groups := foldSeeds(runs, byKey, hist, finals, obj)
	folded := len(groups) < len(runs)

	// columns: the params that vary anywhere in the plan, in spec order
	vary := pl.VaryingAll()
	multiVariant := len(s.Blocks) > 1
	multiSeed := len(s.Budget.Seeds) > 1 && !folded

	shown := groups
	if len(shown) > LeaderboardRows {
		shown = shown[:LeaderboardRows]
	}
	// test metrics: the shared ones, then any other final test_* metric
	testCols := []string{"test_mse", "pca_mse"}
	extra := map[string]bool{}
	for _, g := range shown {
		for _, rr := range g.Runs {
			for k := range finals[rr.ID] {
				if strings.HasPrefix(k, "test_") && k != "test_mse" && k != s.Objective.Metric {
					extra[k] = true
				}
			}
		}
	}
	testCols = append(testCols, sortStrings(mapKeys(extra))...)

	fmt.Fprintf(w, "\nsweep %s: %s (%s %s)\n", s.Name, countLine(runs), s.Objective.Goal, s.Objective.Metric)
	if folded {
		fmt.Fprintf(w, "%d runs in %d rows: runs with the same params and different seeds are one row, mean ± std (as aexp compare)\n", len(runs), len(groups))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"RUN", "STATUS"}
	if folded {
		head = []string{"RUNS", "N", "STATUS"}
	}
	if multiVariant {
		head = append(head, "VARIANT")
	}
	head = append(head, vary...)
	if multiSeed {
		head = append(head, "seed")
	}
	head = append(head, s.Objective.Metric, "EPOCHS")
	for _, c := range testCols {
		if c != s.Objective.Metric {
			head = append(head, c)
		}
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, g := range shown {
		first := summary[g.Runs[0].ID]
		pr := byKey[first.RunKey]
		cells := []string{fmt.Sprint(first.RunID), first.Status}
		if folded {
			ids := make([]string, len(g.Runs))
			for i, rr := range g.Runs {
				ids[i] = fmt.Sprint(rr.ID)
			}
			cells = []string{strings.Join(ids, ","), fmt.Sprint(len(g.Runs)), g.Status()}
		}
		if multiVariant {
			cells = append(cells, first.Variant)
		}
		for _, n := range vary {
			if v, ok := pr.Params[n]; ok {
				cells = append(cells, formatValue(v))
			} else {
				cells = append(cells, "-")
			}
		}
		if multiSeed {
			cells = append(cells, fmt.Sprint(first.Seed))
		}
		c := fmtStat(g.Best)
		if len(g.Runs) == 1 && g.Best != nil && first.BestEpoch != nil && *first.BestEpoch > 0 && !isFinalMetric(s.Objective.Metric) {
			c += fmt.Sprintf(" @%d", *first.BestEpoch)
		}
		cells = append(cells, c, fmtEpochs(g))
		for _, col := range testCols {
			if col != s.Objective.Metric {
				cells = append(cells, fmtStat(g.Metrics[col]))
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(groups) > len(shown) {
		fmt.Fprintf(w, "... and %d more rows: aexp compare --sweep %s\n", len(groups)-len(shown), s.Name)
	}
	var bad []store.RunSummary
	for _, r := range runs {
		switch r.Status {
		case store.StatusFailed, store.StatusTimedOut, store.StatusDiverged, store.StatusCanceled:
			bad = append(bad, r)
		}
	}
	sort.Slice(bad, func(i, j int) bool { return bad[i].RunID < bad[j].RunID })
	for i, r := range bad {
		if i == 10 {
			fmt.Fprintf(w, "... %d more; aexp show <run> has the details\n", len(bad)-i)
			break
		}
		if i == 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "run %d %s: %s\n", r.RunID, r.Status, firstLine(r.Error))
	}
	return nil
}

// foldSeeds groups the runs as `aexp compare` does (viz.Compare: same
// variant, dataset and params), with the plan's params as written, and
// sorts the groups by their mean best objective (groups without one last).
// Test metrics count for done runs only.
func foldSeeds(runs []store.RunSummary, byKey map[string]*Run, hist map[int64]map[string][]store.Point,
	finals map[int64]map[string]float64, obj viz.Objective) []viz.Group {
	vr := make([]viz.Run, len(runs))
	for i, r := range runs {
		final := map[string]float64{}
		if r.Status == store.StatusDone {
			final = finals[r.RunID]
		}
		h := map[string][]viz.Point{}
		for k, ps := range hist[r.RunID] {
			for _, p := range ps {
				h[k] = append(h[k], viz.Point{Epoch: p.Epoch, Value: p.Value})
			}
		}
		pr := byKey[r.RunKey]
		vr[i] = viz.Run{ID: r.RunID, Variant: r.Variant, Dataset: pr.Dataset, Status: r.Status, Seed: r.Seed,
			Params: pr.Params, Final: final, History: h}
	}
	groups := viz.Compare(vr, obj).Groups
	better := Objective{Goal: obj.Goal}.better
	slices.SortStableFunc(groups, func(a, b viz.Group) int {
		switch {
		case a.Best == nil && b.Best == nil:
		case a.Best == nil:
			return 1
		case b.Best == nil:
			return -1
		case better(a.Best.Mean, b.Best.Mean):
			return -1
		case better(b.Best.Mean, a.Best.Mean):
			return 1
		}
		return cmp.Compare(a.Runs[0].ID, b.Runs[0].ID)
	})
	return groups
}

// fmtStat prints a value, or mean ± std over several seeds, or "-".
func fmtStat(st *viz.Stat) string {
	switch {
	case st == nil:
		return "-"
	case st.N > 1:
		return fmt.Sprintf("%.5g ± %.2g", st.Mean, st.Std)
	}
	return fmt.Sprintf("%.5g", st.Mean)
}

func fmtEpochs(g viz.Group) string {
	if g.Epochs == nil {
		return "0"
	}
	if g.Epochs.N > 1 && g.Epochs.Std != 0 {
		return fmtStat(g.Epochs)
	}
	return fmt.Sprint(int(math.Round(g.Epochs.Mean)))
}

func countLine(runs []store.RunSummary) string {
	counts := map[string]int{}
	for _, r := range runs {
		counts[r.Status]++
	}
	var parts []string
	for _, st := range store.Statuses {
		if n := counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	return strings.Join(parts, ", ")
}

func mapKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
