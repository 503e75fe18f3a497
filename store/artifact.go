package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/aexp/aexp/variant"
)

// Checkpoint keep policies (the spec's [checkpoints] keep).
const (
	KeepAll  = "all"
	KeepBest = "best"
	KeepLast = "last"
)

// KindPlot is an artifact kind the host makes (pictures), beside the SDK's.
const KindPlot = "plot"

// ArtifactInfo describes a stored artifact without its bytes.
type ArtifactInfo struct {
	ID        int64             `json:"id"`
	RunID     int64             `json:"run_id"`
	Kind      string            `json:"kind"`
	Name      string            `json:"name"`
	Epoch     int               `json:"epoch"`
	Format    string            `json:"format"`
	Size      int64             `json:"size"`
	SHA256    string            `json:"sha256"`
	Objective *float64          `json:"objective"`
	Meta      map[string]string `json:"meta"`
	Created   time.Time         `json:"created"`
}

// SaveArtifact stores an artifact of a run in one transaction. Checkpoints
// follow keep: "all" keeps every one; "last" (the default) keeps only the
// newest; "best" keeps the one whose objective is best by the sweep's goal
// and drops a new one that is not better. objective is the run's objective
// at the checkpoint's epoch; pass NaN to have the store look it up in the
// recorded metrics. Other kinds replace an artifact of the same run, kind,
// name and epoch.
func (db *DB) SaveArtifact(ctx context.Context, runID int64, a variant.Artifact, keep string, objective float64) error {
	if keep == "" {
		keep = KeepLast
	}
	switch keep {
	case KeepAll, KeepBest, KeepLast:
	default:
		return fmt.Errorf("save artifact of run %d: keep %q: want all, best or last: %w", runID, keep, ErrInvalid)
	}
	switch a.Kind {
	case variant.KindCheckpoint, variant.KindReconstruction, variant.KindSample, variant.KindLatent, KindPlot:
	default:
		return fmt.Errorf("save artifact of run %d: kind %q: want checkpoint, reconstruction, sample, latent or plot: %w", runID, a.Kind, ErrInvalid)
	}
	sum := sha256.Sum256(a.Data)
	meta := "{}"
	if len(a.Meta) > 0 {
		b, err := json.Marshal(a.Meta)
		if err != nil {
			return fmt.Errorf("save artifact of run %d: meta: %w", runID, err)
		}
		meta = string(b)
	}
	data := a.Data
	if data == nil {
		data = []byte{}
	}
	err := db.write(ctx, func(tx *Tx) error {
		var metric, goal string
		err := tx.QueryRowContext(ctx, `SELECT s.objective_metric, s.objective_goal FROM runs r JOIN sweeps s ON s.id = r.sweep_id WHERE r.id = ?`,
			runID).Scan(&metric, &goal)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		obj := sql.NullFloat64{Float64: objective, Valid: !math.IsNaN(objective)}
		if !obj.Valid && a.Epoch > 0 {
			if err := tx.QueryRowContext(ctx, `SELECT value FROM metrics WHERE run_id = ? AND key = ? AND epoch = ?`,
				runID, metric, a.Epoch).Scan(&obj); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if a.Kind == variant.KindCheckpoint {
			switch keep {
			case KeepLast:
				if _, err := tx.ExecContext(ctx, `DELETE FROM artifacts WHERE run_id = ? AND kind = 'checkpoint'`, runID); err != nil {
					return err
				}
			case KeepBest:
				var prevID int64
				var prev sql.NullFloat64
				err := tx.QueryRowContext(ctx, `SELECT id, objective FROM artifacts WHERE run_id = ? AND kind = 'checkpoint'
ORDER BY epoch DESC LIMIT 1`, runID).Scan(&prevID, &prev)
				switch {
				case errors.Is(err, sql.ErrNoRows):
				case err != nil:
					return err
				case prev.Valid && (!obj.Valid || !better(goal, obj.Float64, prev.Float64)):
					return nil // the stored checkpoint is at least as good
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM artifacts WHERE run_id = ? AND kind = 'checkpoint'`, runID); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM artifacts WHERE run_id = ? AND kind = ? AND name = ? AND epoch = ?`,
			runID, a.Kind, a.Name, a.Epoch); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO artifacts (run_id, kind, name, epoch, format, size, sha256, objective, meta, created, bytes)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, runID, a.Kind, a.Name, a.Epoch, a.Format, len(data),
			hex.EncodeToString(sum[:]), obj, meta, fmtTime(tx.now), data)
		return err
	})
	if err != nil {
		return fmt.Errorf("save %s artifact %q of run %d: %w", a.Kind, a.Name, runID, err)
	}
	return nil
}

// Artifacts lists a run's artifacts of one kind ("" for all), by kind,
// epoch and name.
func (db *DB) Artifacts(ctx context.Context, runID int64, kind string) ([]ArtifactInfo, error) {
	var out []ArtifactInfo
	err := db.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, run_id, kind, name, epoch, format, size, sha256, objective, meta, created
FROM artifacts WHERE run_id = ? AND (? = '' OR kind = ?) ORDER BY kind, epoch, name, id`, runID, kind, kind)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a ArtifactInfo
			var obj sql.NullFloat64
			var meta string
			var created sql.NullString
			if err := rows.Scan(&a.ID, &a.RunID, &a.Kind, &a.Name, &a.Epoch, &a.Format, &a.Size, &a.SHA256,
				&obj, &meta, &created); err != nil {
				return err
			}
			a.Objective = nullFloat(obj)
			if meta != "" && meta != "{}" {
				_ = json.Unmarshal([]byte(meta), &a.Meta)
			}
			if t := parseTime(created); t != nil {
				a.Created = *t
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("artifacts of run %d: %w", runID, err)
	}
	return out, nil
}

// ArtifactData returns an artifact's bytes, checked against its sha256.
func (db *DB) ArtifactData(ctx context.Context, artifactID int64) ([]byte, error) {
	var data []byte
	var want string
	err := db.read(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT bytes, sha256 FROM artifacts WHERE id = ?`, artifactID).Scan(&data, &want)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("artifact %d: %w", artifactID, err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != want {
		return nil, fmt.Errorf("artifact %d: sha256 %s does not match the recorded %s: the stored bytes are damaged", artifactID, got, want)
	}
	return data, nil
}

// Checkpoint returns a run's stored checkpoint: the one at epoch, or when
// epoch is 0 the newest kept one (with keep=best that is the best one).
func (db *DB) Checkpoint(ctx context.Context, runID int64, epoch int) (ArtifactInfo, []byte, error) {
	as, err := db.Artifacts(ctx, runID, variant.KindCheckpoint)
	if err != nil {
		return ArtifactInfo{}, nil, err
	}
	if len(as) == 0 {
		return ArtifactInfo{}, nil, fmt.Errorf("run %d has no checkpoint: %w", runID, ErrNotFound)
	}
	pick := as[len(as)-1]
	if epoch > 0 {
		found := false
		for _, a := range as {
			if a.Epoch == epoch {
				pick, found = a, true
			}
		}
		if !found {
			eps := make([]int, len(as))
			for i, a := range as {
				eps[i] = a.Epoch
			}
			return ArtifactInfo{}, nil, fmt.Errorf("run %d has no checkpoint at epoch %d (stored: epochs %v): %w", runID, epoch, eps, ErrNotFound)
		}
	}
	data, err := db.ArtifactData(ctx, pick.ID)
	if err != nil {
		return ArtifactInfo{}, nil, err
	}
	return pick, data, nil
}
