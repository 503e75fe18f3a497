package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sweep statuses.
const (
	SweepRunning  = "running"
	SweepDone     = "done"
	SweepFailed   = "failed" // finished, but some runs failed
	SweepCanceled = "canceled"
)

// Objective goals.
const (
	Minimize = "minimize"
	Maximize = "maximize"
)

// Sweep is one row of the sweeps table.
type Sweep struct {
	ID          int64
	Name        string
	Description string
	Spec        string // the TOML text
	SpecHash    string
	Objective   string // metric name, e.g. "val_loss"
	Goal        string // Minimize or Maximize
	Status      string
	Created     time.Time
	Updated     time.Time
	Finished    *time.Time
}

// SweepSpec describes a sweep for EnsureSweepSpec.
type SweepSpec struct {
	Name, Description string
	Spec, SpecHash    string
	Objective         string // default "val_loss"
	Goal              string // default Minimize
}

// EnsureSweep is EnsureSweepSpec with the default objective (val_loss,
// minimize).
func (db *DB) EnsureSweep(ctx context.Context, name, specText, specHash string) (Sweep, bool, error) {
	return db.EnsureSweepSpec(ctx, SweepSpec{Name: name, Spec: specText, SpecHash: specHash})
}

// EnsureSweepSpec returns the sweep named s.Name, creating it when missing
// (created is then true). An existing sweep is resumed: its spec text, hash,
// description and objective are updated to s and its status set to running.
func (db *DB) EnsureSweepSpec(ctx context.Context, s SweepSpec) (sw Sweep, created bool, err error) {
	if s.Name == "" {
		return Sweep{}, false, fmt.Errorf("ensure sweep: empty name: %w", ErrInvalid)
	}
	if s.Objective == "" {
		s.Objective = "val_loss"
	}
	if s.Goal == "" {
		s.Goal = Minimize
	}
	if s.Goal != Minimize && s.Goal != Maximize {
		return Sweep{}, false, fmt.Errorf("ensure sweep %q: objective goal %q: want %q or %q: %w", s.Name, s.Goal, Minimize, Maximize, ErrInvalid)
	}
	err = db.write(ctx, func(tx *Tx) error {
		now := fmtTime(tx.now)
		res, err := tx.ExecContext(ctx, `
INSERT INTO sweeps (name, description, spec, spec_hash, objective_metric, objective_goal, status, created, updated)
VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)
ON CONFLICT (name) DO NOTHING`,
			s.Name, s.Description, s.Spec, s.SpecHash, s.Objective, s.Goal, now, now)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		created = n == 1
		if !created {
			if _, err := tx.ExecContext(ctx, `
UPDATE sweeps SET description = ?, spec = ?, spec_hash = ?, objective_metric = ?, objective_goal = ?,
	status = 'running', updated = ?, finished = NULL
WHERE name = ?`, s.Description, s.Spec, s.SpecHash, s.Objective, s.Goal, now, s.Name); err != nil {
				return err
			}
		}
		sw, err = findSweep(ctx, tx, `name = ?`, s.Name)
		return err
	})
	if err != nil {
		return Sweep{}, false, fmt.Errorf("ensure sweep %q: %w", s.Name, err)
	}
	return sw, created, nil
}

// FinishSweep sets a sweep's final status: done, failed (some runs failed)
// or canceled.
func (db *DB) FinishSweep(ctx context.Context, sweepID int64, status string) error {
	switch status {
	case SweepDone, SweepFailed, SweepCanceled, SweepRunning:
	default:
		return fmt.Errorf("finish sweep %d: status %q: want done, failed or canceled: %w", sweepID, status, ErrInvalid)
	}
	return db.write(ctx, func(tx *Tx) error {
		var fin any = fmtTime(tx.now)
		if status == SweepRunning {
			fin = nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE sweeps SET status = ?, updated = ?, finished = ? WHERE id = ?`,
			status, fmtTime(tx.now), fin, sweepID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("finish sweep %d: %w", sweepID, ErrNotFound)
		}
		return nil
	})
}

// GetSweep finds a sweep by id (all digits) or by name.
func (db *DB) GetSweep(ctx context.Context, idOrName string) (Sweep, error) {
	var sw Sweep
	err := db.read(ctx, func(tx *sql.Tx) error {
		var err error
		if id, perr := strconv.ParseInt(idOrName, 10, 64); perr == nil {
			sw, err = findSweep(ctx, tx, `id = ?`, id)
			if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		sw, err = findSweep(ctx, tx, `name = ?`, idOrName)
		return err
	})
	if err != nil {
		return Sweep{}, fmt.Errorf("sweep %q: %w", idOrName, err)
	}
	return sw, nil
}

// ListSweeps returns every sweep, oldest first.
func (db *DB) ListSweeps(ctx context.Context) ([]Sweep, error) {
	var out []Sweep
	err := db.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, sweepSelect+` ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			s, err := scanSweep(rows)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	return out, err
}

const sweepSelect = `SELECT id, name, description, spec, spec_hash, objective_metric, objective_goal,
	status, created, updated, finished FROM sweeps`

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type scanner interface{ Scan(dest ...any) error }

func findSweep(ctx context.Context, q queryer, where string, arg any) (Sweep, error) {
	s, err := scanSweep(q.QueryRowContext(ctx, sweepSelect+` WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return Sweep{}, ErrNotFound
	}
	return s, err
}

func scanSweep(sc scanner) (Sweep, error) {
	var s Sweep
	var created, updated, finished sql.NullString
	err := sc.Scan(&s.ID, &s.Name, &s.Description, &s.Spec, &s.SpecHash, &s.Objective, &s.Goal,
		&s.Status, &created, &updated, &finished)
	if err != nil {
		return Sweep{}, err
	}
	if t := parseTime(created); t != nil {
		s.Created = *t
	}
	if t := parseTime(updated); t != nil {
		s.Updated = *t
	}
	s.Finished = parseTime(finished)
	return s, nil
}
