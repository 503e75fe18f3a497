package store

import (
	"context"
	"database/sql"
	"fmt"
)

// StatusCounts returns, per sweep, how many of its runs have each status.
func (db *DB) StatusCounts(ctx context.Context) (map[int64]map[string]int, error) {
	out := map[int64]map[string]int{}
	err := db.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT sweep_id, status, count(*) FROM runs GROUP BY sweep_id, status`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var status string
			var n int
			if err := rows.Scan(&id, &status, &n); err != nil {
				return err
			}
			if out[id] == nil {
				out[id] = map[string]int{}
			}
			out[id][status] = n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("status counts: %w", err)
	}
	return out, nil
}

// ChangeStamp is a short text that changes whenever something a viewer of
// the sweep sees changes: a run is added, starts, records an epoch or a
// heartbeat, finishes, is tagged; the sweep's own row changes. (Removing
// one tag while setting another in the same second may go unnoticed until
// the next change.) sweepID 0 watches every
// sweep. It reads only the runs and sweeps tables (indexed), so polling it
// is cheap even on large stores.
func (db *DB) ChangeStamp(ctx context.Context, sweepID int64) (string, error) {
	var stamp string
	err := db.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
SELECT (SELECT count(*) || '/' || coalesce(max(updated), '') FROM sweeps WHERE ?1 = 0 OR id = ?1) || '|' ||
	(SELECT count(*) || '/' || coalesce(sum(epochs), 0) || '/' || coalesce(max(heartbeat), '') || '/' ||
	        coalesce(max(finished), '') || '/' || coalesce(max(started), '') || '/' || coalesce(sum(attempt), 0) || '/' ||
	        coalesce(sum(status = 'running'), 0) || '/' || coalesce(sum(status = 'queued'), 0)
	 FROM runs WHERE ?1 = 0 OR sweep_id = ?1) || '|' ||
	(SELECT count(*) || '/' || coalesce(max(t.time), '') FROM tags t JOIN runs r ON r.id = t.run_id
	 WHERE ?1 = 0 OR r.sweep_id = ?1)`, sweepID).Scan(&stamp)
	})
	if err != nil {
		return "", fmt.Errorf("change stamp: %w", err)
	}
	return stamp, nil
}

// MetricKeys returns the names of the metrics any run of the sweep recorded,
// sorted.
func (db *DB) MetricKeys(ctx context.Context, sweepID int64) ([]string, error) {
	var out []string
	err := db.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT m.key FROM metric_summary m JOIN runs r ON r.id = m.run_id
WHERE r.sweep_id = ? ORDER BY m.key`, sweepID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return err
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("metric keys of sweep %d: %w", sweepID, err)
	}
	return out, nil
}
