// Package vizstore reads what package viz draws from the store: runs with
// their params, histories, final metrics, facts and pictures' artifacts,
// and the sweep plots' trials. The CLI's reports and the dashboard both use
// it, so they show the same data the same way.
package vizstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/viz"
)

// Runs reads what viz needs of each run, in the order of ids: params,
// metric histories, final metrics, facts and, when withArtifacts, the
// reconstruction, sample and latent artifacts (not checkpoints). A missing
// run is an error wrapping store.ErrNotFound.
func Runs(ctx context.Context, db *store.DB, ids []int64, withArtifacts bool) ([]viz.Run, error) {
	hist, err := db.Histories(ctx, ids)
	if err != nil {
		return nil, err
	}
	finals, err := db.FinalMetricsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	tags, err := db.Tags(ctx, ids)
	if err != nil {
		return nil, err
	}
	runs := make([]viz.Run, 0, len(ids))
	for _, id := range ids {
		r, err := db.GetRun(ctx, id)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("run %d not found in %s (aexp runs lists the runs): %w", id, db.Path(), store.ErrNotFound)
			}
			return nil, err
		}
		vr := Run(r, hist[id], finals[id])
		vr.Tags = tags[id]
		runs = append(runs, vr)
	}
	if withArtifacts {
		if err := AddArtifacts(ctx, db, runs); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// Run converts a stored run with its histories and final metrics.
func Run(r store.Run, hist map[string][]store.Point, final map[string]float64) viz.Run {
	if final == nil {
		final = map[string]float64{}
	}
	vr := viz.Run{ID: r.ID, SweepID: r.SweepID, Variant: r.Variant, Dataset: r.Dataset, Status: r.Status,
		Seed: r.Seed, Params: r.Params, Final: final, Meta: r.Meta, History: map[string][]viz.Point{}}
	for k, ps := range hist {
		pts := make([]viz.Point, len(ps))
		for i, p := range ps {
			pts[i] = viz.Point{Epoch: p.Epoch, Value: p.Value}
		}
		vr.History[k] = pts
	}
	return vr
}

// AddArtifacts reads each run's reconstruction, sample and latent artifacts
// (not checkpoints) into its Artifacts.
func AddArtifacts(ctx context.Context, db *store.DB, runs []viz.Run) error {
	for i := range runs {
		r := &runs[i]
		infos, err := db.Artifacts(ctx, r.ID, "")
		if err != nil {
			return err
		}
		for _, a := range infos {
			if a.Kind != variant.KindReconstruction && a.Kind != variant.KindSample && a.Kind != variant.KindLatent {
				continue
			}
			data, err := db.ArtifactData(ctx, a.ID)
			if err != nil {
				return err
			}
			r.Artifacts = append(r.Artifacts, viz.Artifact{Kind: a.Kind, Name: a.Name, Epoch: a.Epoch, Meta: a.Meta, Data: data})
		}
	}
	return nil
}

// Trials are a sweep's runs as the sweep plots see them: params and best
// objective value.
func Trials(rows []store.SweepRun) []viz.Trial {
	out := make([]viz.Trial, len(rows))
	for i, r := range rows {
		out[i] = viz.Trial{ID: r.ID, Status: r.Status, Variant: r.Variant, Params: r.Params, Objective: r.Best}
	}
	return out
}

// LogParams are the log-scaled params of the runs' sweeps' specs
// (viz.LogParams of each).
func LogParams(ctx context.Context, db *store.DB, runs []viz.Run) (map[string]bool, error) {
	sweeps, err := sweepsOf(ctx, db, runs)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, sw := range sweeps {
		maps.Copy(out, viz.LogParams(sw.Spec))
	}
	return out, nil
}

// sweepsOf reads the sweeps the runs belong to, each once, in order of
// first appearance.
func sweepsOf(ctx context.Context, db *store.DB, runs []viz.Run) ([]store.Sweep, error) {
	var out []store.Sweep
	seen := map[int64]bool{}
	for _, r := range runs {
		if seen[r.SweepID] {
			continue
		}
		seen[r.SweepID] = true
		sw, err := db.GetSweep(ctx, strconv.FormatInt(r.SweepID, 10))
		if err != nil {
			return nil, err
		}
		out = append(out, sw)
	}
	return out, nil
}

// Objective is the objective the runs' sweeps share, else val_loss
// minimized, with a note saying why when the sweeps disagree.
func Objective(ctx context.Context, db *store.DB, runs []viz.Run) (viz.Objective, string, error) {
	sweeps, err := sweepsOf(ctx, db, runs)
	if err != nil {
		return viz.Objective{}, "", err
	}
	var objs []viz.Objective
	for _, sw := range sweeps {
		o := viz.Objective{Metric: sw.Objective, Goal: sw.Goal}
		if !slices.Contains(objs, o) {
			objs = append(objs, o)
		}
	}
	def := viz.Objective{Metric: "val_loss", Goal: store.Minimize}
	switch {
	case len(objs) == 1:
		return objs[0], "", nil
	case len(objs) > 1:
		names := make([]string, len(objs))
		for i, x := range objs {
			names[i] = x.Metric + " (" + x.Goal + ")"
		}
		return def, fmt.Sprintf("the runs' sweeps rank by different objectives (%s); ranking by val_loss (use --objective to choose)", strings.Join(names, ", ")), nil
	}
	return def, "", nil
}
