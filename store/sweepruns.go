package store

import (
	"context"
	"database/sql"
	"fmt"
)

// SweepRun is one run as a sweep's overview shows it: less than
// RunSummary (no times, host or key), read in one pass without the view's
// joins, for sweeps of many thousands of runs.
type SweepRun struct {
	ID      int64
	Status  string
	Variant string
	Dataset string
	Seed    uint64
	Params  map[string]any
	// ParamsJSON is the canonical JSON of Params (keys sorted): equal
	// texts are equal params.
	ParamsJSON string
	Epochs     int
	Error      string
	Final      *float64 // the objective's latest value; nil: none
	Best       *float64 // its best value by the sweep's goal
	BestEpoch  *int
	TestMSE    *float64
	PCAMSE     *float64
}

// SweepRuns returns every run of a sweep, by id, with its params and
// objective (objective names the sweep's objective metric).
func (db *DB) SweepRuns(ctx context.Context, sweepID int64, objective string) ([]SweepRun, error) {
	var out []SweepRun
	err := db.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
SELECT r.id, r.status, r.variant, r.dataset, r.seed, r.params_json, r.epochs, r.error,
	o.latest, o.best, o.best_epoch, tm.latest, pm.latest
FROM runs r
LEFT JOIN metric_summary o  ON o.run_id = r.id  AND o.key = ?
LEFT JOIN metric_summary tm ON tm.run_id = r.id AND tm.key = 'test_mse'
LEFT JOIN metric_summary pm ON pm.run_id = r.id AND pm.key = 'pca_mse'
WHERE r.sweep_id = ?
ORDER BY r.id`, objective, sweepID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r SweepRun
			var seed int64
			var params string
			var final, best, test, pca sql.NullFloat64
			var bestEpoch sql.NullInt64
			if err := rows.Scan(&r.ID, &r.Status, &r.Variant, &r.Dataset, &seed, &params, &r.Epochs, &r.Error,
				&final, &best, &bestEpoch, &test, &pca); err != nil {
				return err
			}
			r.Seed = uint64(seed)
			r.Params, _ = decodeParams(params)
			r.ParamsJSON = params
			r.Final, r.TestMSE, r.PCAMSE = nullFloat(final), nullFloat(test), nullFloat(pca)
			if best.Valid && bestEpoch.Valid {
				r.Best = &best.Float64
				e := int(bestEpoch.Int64)
				r.BestEpoch = &e
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("runs of sweep %d: %w", sweepID, err)
	}
	return out, nil
}
