package orchestrator

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/aexp/aexp/store"
)

// LeaderboardRows is how many runs the leaderboard lists.
const LeaderboardRows = 25

// WriteLeaderboard prints the plan's runs sorted by the objective (best
// first; runs without a value last): run id, status, the params that vary,
// the objective (best value and its epoch), epochs and the test metrics.
// Failed runs are listed below with their reason.
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
	var runs []store.RunSummary
	for _, r := range rows {
		if byKey[r.RunKey] != nil {
			runs = append(runs, r)
		}
	}
	obj := func(r store.RunSummary) (float64, bool) {
		if r.BestObjective != nil && !math.IsNaN(*r.BestObjective) {
			return *r.BestObjective, true
		}
		return 0, false
	}
	sort.SliceStable(runs, func(i, j int) bool {
		a, aok := obj(runs[i])
		b, bok := obj(runs[j])
		switch {
		case aok && bok && a != b:
			return s.Objective.better(a, b)
		case aok != bok:
			return aok
		}
		return runs[i].RunID < runs[j].RunID
	})

	// columns: the params that vary anywhere in the plan, in spec order
	vary := pl.VaryingAll()
	multiVariant := len(s.Blocks) > 1
	multiSeed := len(s.Budget.Seeds) > 1

	// test metrics: the shared ones, then any other final test_* metric
	testCols := []string{"test_mse", "pca_mse"}
	extra := map[string]bool{}
	shown := runs
	if len(shown) > LeaderboardRows {
		shown = shown[:LeaderboardRows]
	}
	shownIDs := make([]int64, len(shown))
	for i, r := range shown {
		shownIDs[i] = r.RunID
	}
	finals, err := db.FinalMetricsOf(ctx, shownIDs)
	if err != nil {
		return err
	}
	for _, m := range finals {
		for k := range m {
			if strings.HasPrefix(k, "test_") && k != "test_mse" && k != s.Objective.Metric {
				extra[k] = true
			}
		}
	}
	testCols = append(testCols, sortStrings(mapKeys(extra))...)

	fmt.Fprintf(w, "\nsweep %s: %s (%s %s)\n", s.Name, countLine(runs), s.Objective.Goal, s.Objective.Metric)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"RUN", "STATUS"}
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
	for _, r := range shown {
		pr := byKey[r.RunKey]
		cells := []string{fmt.Sprint(r.RunID), r.Status}
		if multiVariant {
			cells = append(cells, r.Variant)
		}
		for _, n := range vary {
			if v, ok := pr.Params[n]; ok {
				cells = append(cells, formatValue(v))
			} else {
				cells = append(cells, "-")
			}
		}
		if multiSeed {
			cells = append(cells, fmt.Sprint(r.Seed))
		}
		if v, ok := obj(r); ok {
			c := fmt.Sprintf("%.5g", v)
			if r.BestEpoch != nil && *r.BestEpoch > 0 && !isFinalMetric(s.Objective.Metric) {
				c += fmt.Sprintf(" @%d", *r.BestEpoch)
			}
			cells = append(cells, c)
		} else {
			cells = append(cells, "-")
		}
		cells = append(cells, fmt.Sprint(r.Epochs))
		for _, c := range testCols {
			if c == s.Objective.Metric {
				continue
			}
			if v, ok := finals[r.RunID][c]; ok && r.Status == store.StatusDone {
				cells = append(cells, fmt.Sprintf("%.5g", v))
			} else {
				cells = append(cells, "-")
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(runs) > len(shown) {
		fmt.Fprintf(w, "... and %d more runs: aexp runs --sweep %s\n", len(runs)-len(shown), s.Name)
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
