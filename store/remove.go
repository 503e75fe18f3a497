package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Removal is what deleting runs removes (or would remove).
type Removal struct {
	Runs      int
	Artifacts int
	Bytes     int64 // the artifacts' size
}

// Removal says what deleting the runs would remove, and refuses like
// DeleteRuns does: a missing run wraps ErrNotFound, a run in progress
// ErrConflict.
func (db *DB) Removal(ctx context.Context, runIDs []int64, activeWithin time.Duration) (Removal, error) {
	var r Removal
	err := db.read(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = removal(ctx, tx, runIDs, db.Now().UTC().Add(-activeWithin))
		return err
	})
	return r, err
}

// DeleteRuns deletes the runs with everything recorded about them —
// params, metrics, summaries, tags, artifacts — in one transaction. It
// refuses, and deletes nothing, when a run does not exist (ErrNotFound) or
// is in progress: running with a heartbeat within activeWithin
// (ErrConflict). A run left running by an aexp process that died has no
// recent heartbeat and may be deleted. The sweeps stay.
func (db *DB) DeleteRuns(ctx context.Context, runIDs []int64, activeWithin time.Duration) (Removal, error) {
	var r Removal
	err := db.write(ctx, func(tx *Tx) error {
		var err error
		if r, err = removal(ctx, tx.Tx, runIDs, tx.now.Add(-activeWithin)); err != nil {
			return err
		}
		ids, _ := json.Marshal(runIDs)
		_, err = tx.ExecContext(ctx, `DELETE FROM runs WHERE id IN (SELECT value FROM json_each(?))`, string(ids))
		return err
	})
	return r, err
}

// DeleteSweep deletes a sweep, its stored spec and all its runs (as
// DeleteRuns), refusing while one of its runs is in progress.
func (db *DB) DeleteSweep(ctx context.Context, sweepID int64, activeWithin time.Duration) (Removal, error) {
	var r Removal
	err := db.write(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM runs WHERE sweep_id = ?`, sweepID)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if r, err = removal(ctx, tx.Tx, ids, tx.now.Add(-activeWithin)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sweeps WHERE id = ?`, sweepID) // runs and all below cascade
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("sweep %d: %w", sweepID, ErrNotFound)
		}
		return nil
	})
	return r, err
}

// removal checks the runs and counts what deleting them removes; a run
// running with a heartbeat after cutoff is in progress.
func removal(ctx context.Context, tx *sql.Tx, runIDs []int64, cutoff time.Time) (Removal, error) {
	r := Removal{Runs: len(runIDs)}
	var busy []string
	for _, id := range runIDs {
		var status string
		var beat sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT status, coalesce(heartbeat, started, created) FROM runs WHERE id = ?`, id).Scan(&status, &beat)
		if errors.Is(err, sql.ErrNoRows) {
			return r, fmt.Errorf("run %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return r, err
		}
		if status == StatusRunning && beat.String >= fmtTime(cutoff) {
			busy = append(busy, fmt.Sprint(id))
		}
	}
	if len(busy) > 0 {
		return r, &storeError{ErrConflict, fmt.Sprintf("run(s) %s in progress (running, with a recent heartbeat): stop the sweep first (Ctrl-C in its aexp sweep)", strings.Join(busy, ", ")), nil}
	}
	ids, _ := json.Marshal(runIDs)
	err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM artifacts WHERE run_id IN (SELECT value FROM json_each(?))`, string(ids)).Scan(&r.Artifacts, &r.Bytes)
	return r, err
}
