package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// SetTags sets the tags in set and removes the keys in remove on each of
// the runs, in one transaction. A run that does not exist is an error
// wrapping ErrNotFound, and then nothing changes.
func (db *DB) SetTags(ctx context.Context, runIDs []int64, set map[string]string, remove []string) error {
	return db.write(ctx, func(tx *Tx) error {
		for _, id := range runIDs {
			if err := tx.runExists(ctx, id); err != nil {
				return err
			}
			for _, k := range remove {
				if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE run_id = ? AND key = ?`, id, k); err != nil {
					return err
				}
			}
			for _, k := range slices.Sorted(maps.Keys(set)) {
				if _, err := tx.ExecContext(ctx, `INSERT INTO tags (run_id, key, value, time) VALUES (?, ?, ?, ?)
ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, time = excluded.time`, id, k, set[k], fmtTime(tx.now)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Tags returns the tags of each of the runs (runs without tags are absent).
func (db *DB) Tags(ctx context.Context, runIDs []int64) (map[int64]map[string]string, error) {
	out := map[int64]map[string]string{}
	ids, _ := json.Marshal(runIDs)
	err := db.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT run_id, key, value FROM tags
WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, key`, string(ids))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var k, v string
			if err := rows.Scan(&id, &k, &v); err != nil {
				return err
			}
			if out[id] == nil {
				out[id] = map[string]string{}
			}
			out[id][k] = v
		}
		return rows.Err()
	})
	return out, err
}

// runExists returns an error wrapping ErrNotFound when there is no run id.
func (tx *Tx) runExists(ctx context.Context, id int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	return err
}
