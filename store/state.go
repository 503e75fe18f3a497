package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aexp/aexp/variant"
)

// State is a run's latest training state: the plugin's own bytes after
// its last completed epoch, sent back to it when the run resumes.
type State struct {
	Epoch      int
	PluginHash string // the plugin binary that wrote it
	Artifact   variant.Artifact
}

// SaveState keeps a run's training state (a KindState artifact), replacing
// the one before, and records the run's training time so far across its
// attempts (trainSeconds). The plugin sends the state of an epoch after
// everything else of that epoch, so once it is saved the epoch is whole.
func (db *DB) SaveState(ctx context.Context, runID int64, a variant.Artifact, pluginHash string, trainSeconds float64) error {
	if a.Kind != variant.KindState || a.Epoch < 1 {
		return fmt.Errorf("save state of run %d: kind %q epoch %d: want a state artifact of an epoch: %w", runID, a.Kind, a.Epoch, ErrInvalid)
	}
	sum := sha256.Sum256(a.Data)
	meta, _ := json.Marshal(a.Meta)
	if a.Meta == nil {
		meta = []byte("{}")
	}
	data := a.Data
	if data == nil {
		data = []byte{}
	}
	err := db.write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET train_seconds = max(train_seconds, ?), heartbeat = ? WHERE id = ?`,
			trainSeconds, fmtTime(tx.now), runID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO run_state (run_id, epoch, plugin_hash, name, format, meta, size, sha256, created, bytes)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, runID, a.Epoch, pluginHash, a.Name, a.Format, string(meta), len(data),
			hex.EncodeToString(sum[:]), fmtTime(tx.now), data)
		return err
	})
	if err != nil {
		return fmt.Errorf("save state of run %d at epoch %d: %w", runID, a.Epoch, err)
	}
	return nil
}

// LatestState returns a run's training state, or nil when it has none. A
// state whose bytes do not match their sha256 is an error.
func (db *DB) LatestState(ctx context.Context, runID int64) (*State, error) {
	var st State
	var meta, sum string
	err := db.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT epoch, plugin_hash, name, format, meta, sha256, bytes FROM run_state WHERE run_id = ?`, runID).
			Scan(&st.Epoch, &st.PluginHash, &st.Artifact.Name, &st.Artifact.Format, &meta, &sum, &st.Artifact.Data)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state of run %d: %w", runID, err)
	}
	if got := sha256.Sum256(st.Artifact.Data); hex.EncodeToString(got[:]) != sum {
		return nil, fmt.Errorf("state of run %d: the stored bytes do not match their sha256", runID)
	}
	st.Artifact.Kind, st.Artifact.Epoch = variant.KindState, st.Epoch
	if meta != "" && meta != "{}" {
		_ = json.Unmarshal([]byte(meta), &st.Artifact.Meta)
	}
	return &st, nil
}

// MarkResumed records that the run's current attempt continues from epoch.
func (db *DB) MarkResumed(ctx context.Context, runID int64, epoch int) error {
	err := db.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE runs SET resumed_from = ?, resumes = resumes + 1 WHERE id = ?`, epoch, runID)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark run %d resumed: %w", runID, err)
	}
	return nil
}

// TruncateRun drops what a run recorded after epoch (metrics, checkpoints,
// and the end-of-run artifacts), recomputes its metric summary, and with
// epoch 0 also its training state: the run continues (or starts over)
// from there.
func (db *DB) TruncateRun(ctx context.Context, runID int64, epoch int) error {
	if err := db.write(ctx, func(tx *Tx) error { return truncate(ctx, tx, runID, epoch) }); err != nil {
		return fmt.Errorf("truncate run %d after epoch %d: %w", runID, epoch, err)
	}
	return nil
}

func truncate(ctx context.Context, tx *Tx, runID int64, epoch int) error {
	if epoch <= 0 {
		for _, t := range []string{"metrics", "metric_summary", "artifacts", "run_state"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE run_id = ?`, runID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE runs SET epochs = 0 WHERE id = ?`, runID)
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM metrics WHERE run_id = ? AND epoch > ?`, runID, epoch); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM artifacts WHERE run_id = ? AND (epoch > ? OR kind <> 'checkpoint')`, runID, epoch); err != nil {
		return err
	}
	goals := map[string]string{}
	rows, err := tx.QueryContext(ctx, `SELECT key, goal FROM metric_summary WHERE run_id = ?`, runID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k, g string
		if err := rows.Scan(&k, &g); err != nil {
			rows.Close()
			return err
		}
		goals[k] = g
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM metric_summary WHERE run_id = ?`, runID); err != nil {
		return err
	}
	for k, g := range goals {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM metrics WHERE run_id = ? AND key = ?`, runID, k).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			if err := resummarize(ctx, tx, runID, k, g); err != nil {
				return err
			}
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE runs SET epochs = ? WHERE id = ?`, epoch, runID)
	return err
}
