package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Run statuses (runs.status).
const (
	StatusQueued   = "queued"
	StatusRunning  = "running"
	StatusDone     = "done"
	StatusFailed   = "failed"
	StatusDiverged = "diverged"
	StatusPruned   = "pruned"
	StatusCanceled = "canceled"
	StatusTimedOut = "timed_out"
)

// Statuses lists every run status in lifecycle order.
var Statuses = []string{StatusQueued, StatusRunning, StatusDone, StatusFailed,
	StatusDiverged, StatusPruned, StatusCanceled, StatusTimedOut}

// ValidStatus reports whether s is a run status.
func ValidStatus(s string) bool {
	for _, x := range Statuses {
		if s == x {
			return true
		}
	}
	return false
}

// MaxStderrTail is how much of a plugin's stderr a run keeps (the end).
const MaxStderrTail = 64 << 10

// RunSpec is a run to be recorded, as the sweep expands it.
type RunSpec struct {
	Key      string // deterministic: hash of variant, canonical params, seed, data
	Variant  string
	Dataset  string
	Seed     uint64
	Params   map[string]any
	Attempts int    // how many attempts the run may take (max_attempts); 0 means 1
	Source   string // how the configuration was chosen (grid, random, startup, model)
}

// Run is one row of the runs table with its params.
type Run struct {
	ID, SweepID   int64
	Key           string
	Variant       string
	Dataset       string
	Status        string
	Error         string
	StderrTail    string
	Seed          uint64
	Source        string // how the configuration was chosen (grid, random, startup, model; "" before schema 5)
	Attempt       int    // attempts started so far
	MaxAttempts   int
	Params        map[string]any
	PluginVersion string
	PluginHash    string
	Host          string
	BLAS          string
	Threads       int
	Pid           int
	Epochs        int // epochs recorded
	ResumedFrom   int // the epoch the latest attempt resumed from; 0: it started at epoch 1
	Resumes       int // attempts that resumed
	TrainSeconds  float64
	Meta          map[string]string
	Created       time.Time
	Started       *time.Time
	Finished      *time.Time
	Heartbeat     *time.Time
}

// RunStart describes the attempt that starts a run.
type RunStart struct {
	Attempt       int // 0: one more than the run's previous attempt
	PluginVersion string
	PluginHash    string
	Host          string // default: os.Hostname()
	BLAS          string
	Threads       int
	Pid           int
	// ResumeFrom keeps what the run recorded up to this epoch (and its
	// training state) for an attempt that resumes from it; 0 starts over.
	ResumeFrom int
}

// RunFinish is how a run ended.
type RunFinish struct {
	Status     string // done, failed, diverged, pruned, canceled, timed_out (or queued: not run)
	Error      string
	StderrTail string
	Metrics    map[string]float64 // final metrics (test_mse, pca_mse, ...), recorded at the last epoch
	Meta       map[string]string  // facts from the plugin's final report; "blas" fills runs.blas when StartRun had none
	// TrainSeconds is the run's training time across its attempts so far
	// (0 leaves it as it is).
	TrainSeconds float64
	// Refund gives back the attempt that ends here: it failed through no
	// fault of the run (its data could not be read, the disk was full).
	Refund bool
}

// EnsureRuns records the runs of a sweep: runs whose key is new are inserted
// as queued with their params; existing runs keep their status and data
// (their max_attempts follows the spec). It returns the runs in the order of
// specs, in one transaction.
func (db *DB) EnsureRuns(ctx context.Context, sweepID int64, specs []RunSpec) ([]Run, error) {
	out := make([]Run, 0, len(specs))
	err := db.write(ctx, func(tx *Tx) error {
		if _, err := findSweep(ctx, tx, `id = ?`, sweepID); err != nil {
			return fmt.Errorf("sweep %d: %w", sweepID, err)
		}
		ins, err := tx.PrepareContext(ctx, `
INSERT INTO runs (sweep_id, run_key, variant, dataset, seed, params_json, max_attempts, source, created)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (sweep_id, run_key) DO UPDATE SET max_attempts = excluded.max_attempts
RETURNING id, (created = ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		insParam, err := tx.PrepareContext(ctx, `INSERT INTO params (run_id, key, type, value, value_num) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insParam.Close()
		countParams, err := tx.PrepareContext(ctx, `SELECT count(*) FROM params WHERE run_id = ?`)
		if err != nil {
			return err
		}
		defer countParams.Close()
		seen := make(map[string]bool, len(specs))
		now := fmtTime(tx.now)
		ids := make([]int64, 0, len(specs))
		for _, s := range specs {
			if s.Key == "" || s.Variant == "" {
				return fmt.Errorf("run %q: key and variant are required: %w", s.Key, ErrInvalid)
			}
			if seen[s.Key] {
				return fmt.Errorf("run key %q appears twice: %w", s.Key, ErrConflict)
			}
			seen[s.Key] = true
			ps, err := typeParams(s.Params)
			if err != nil {
				return fmt.Errorf("run %q: %w: %w", s.Key, err, ErrInvalid)
			}
			attempts := max(s.Attempts, 1)
			var id int64
			var fresh bool
			if err := ins.QueryRowContext(ctx, sweepID, s.Key, s.Variant, s.Dataset, int64(s.Seed),
				paramsJSON(ps), attempts, s.Source, now, now).Scan(&id, &fresh); err != nil {
				return fmt.Errorf("run %q: %w", s.Key, err)
			}
			ids = append(ids, id)
			// A run created in an earlier transaction has an older created
			// time; one created now has no params yet.
			if fresh {
				var n int
				if err := countParams.QueryRowContext(ctx, id).Scan(&n); err != nil {
					return err
				}
				fresh = n == 0
			}
			if fresh {
				for _, p := range ps {
					if _, err := insParam.ExecContext(ctx, id, p.key, p.typ, p.value, p.num); err != nil {
						return fmt.Errorf("run %q param %q: %w", s.Key, p.key, err)
					}
				}
			}
		}
		out, err = getRuns(ctx, tx, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ensure runs of sweep %d: %w", sweepID, err)
	}
	return out, nil
}

// StartRun marks a run running for a new attempt. A new attempt starts over
// (metrics, summaries, artifacts and the training state of earlier attempts
// are removed in the same transaction), unless s.ResumeFrom keeps them up
// to that epoch.
func (db *DB) StartRun(ctx context.Context, runID int64, s RunStart) error {
	if s.Host == "" {
		s.Host, _ = os.Hostname()
	}
	err := db.write(ctx, func(tx *Tx) error {
		var attempt int
		if err := tx.QueryRowContext(ctx, `SELECT attempt FROM runs WHERE id = ?`, runID).Scan(&attempt); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if s.Attempt <= 0 {
			s.Attempt = attempt + 1
		}
		if err := truncate(ctx, tx, runID, s.ResumeFrom); err != nil {
			return err
		}
		var pid any
		if s.Pid > 0 {
			pid = s.Pid
		}
		now := fmtTime(tx.now)
		_, err := tx.ExecContext(ctx, `
UPDATE runs SET status = 'running', attempt = ?, plugin_version = ?, plugin_hash = ?, host = ?,
	blas = ?, threads = ?, pid = ?, error = '', stderr_tail = '', meta_json = '{}', resumed_from = 0,
	started = ?, heartbeat = ?, finished = NULL
WHERE id = ?`, s.Attempt, s.PluginVersion, s.PluginHash, s.Host, s.BLAS, s.Threads, pid, now, now, runID)
		return err
	})
	if err != nil {
		return fmt.Errorf("start run %d: %w", runID, err)
	}
	return nil
}

// FinishRun records how a run ended: status, error text, the tail of the
// plugin's stderr, final metrics (at the last recorded epoch) and meta, in
// one transaction.
func (db *DB) FinishRun(ctx context.Context, runID int64, f RunFinish) error {
	if !ValidStatus(f.Status) || f.Status == StatusRunning {
		return fmt.Errorf("finish run %d: status %q: want one of %s: %w", runID, f.Status,
			strings.Join(Statuses[2:], ", "), ErrInvalid)
	}
	tail := f.StderrTail
	if len(tail) > MaxStderrTail {
		tail = tail[len(tail)-MaxStderrTail:]
	}
	meta := "{}"
	if len(f.Meta) > 0 {
		b, err := json.Marshal(f.Meta)
		if err != nil {
			return fmt.Errorf("finish run %d: meta: %w", runID, err)
		}
		meta = string(b)
	}
	err := db.write(ctx, func(tx *Tx) error {
		var epochs int
		if err := tx.QueryRowContext(ctx, `SELECT epochs FROM runs WHERE id = ?`, runID).Scan(&epochs); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if len(f.Metrics) > 0 {
			if err := recordMetrics(ctx, tx, runID, epochs, f.Metrics); err != nil {
				return err
			}
		}
		var fin any = fmtTime(tx.now)
		if f.Status == StatusQueued {
			fin = nil
		}
		switch f.Status {
		case StatusDone, StatusPruned, StatusDiverged:
			// the run is over: nothing will resume from its state
			if _, err := tx.ExecContext(ctx, `DELETE FROM run_state WHERE run_id = ?`, runID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `
UPDATE runs SET status = ?, error = ?, stderr_tail = ?, meta_json = ?, finished = ?,
	heartbeat = CASE WHEN started IS NULL THEN heartbeat ELSE ? END,
	blas = CASE WHEN blas = '' THEN ? ELSE blas END,
	train_seconds = max(train_seconds, ?),
	attempt = CASE WHEN ? THEN max(attempt - 1, 0) ELSE attempt END
WHERE id = ?`, f.Status, f.Error, tail, meta, fin, fmtTime(tx.now), f.Meta["blas"], f.TrainSeconds, f.Refund, runID)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish run %d: %w", runID, err)
	}
	return nil
}

// Heartbeat marks running runs as alive now.
func (db *DB) Heartbeat(ctx context.Context, runIDs ...int64) error {
	if len(runIDs) == 0 {
		return nil
	}
	return db.write(ctx, func(tx *Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE runs SET heartbeat = ? WHERE id = ? AND status = 'running'`)
		if err != nil {
			return err
		}
		defer st.Close()
		now := fmtTime(tx.now)
		for _, id := range runIDs {
			if _, err := st.ExecContext(ctx, now, id); err != nil {
				return fmt.Errorf("heartbeat run %d: %w", id, err)
			}
		}
		return nil
	})
}

// ReclaimStale marks running runs whose last heartbeat is older than
// staleAfter as failed, with an error saying the aexp process that ran them
// died; the next `aexp sweep` of their sweep retries them. It returns how
// many runs it reclaimed. Call it before starting a sweep.
func (db *DB) ReclaimStale(ctx context.Context, staleAfter time.Duration) (int, error) {
	var n int64
	err := db.write(ctx, func(tx *Tx) error {
		cutoff := fmtTime(tx.now.Add(-staleAfter))
		res, err := tx.ExecContext(ctx, `
UPDATE runs SET status = 'failed', finished = ?,
	error = 'aexp process died: no heartbeat since ' || coalesce(heartbeat, started, created) ||
	        ' (stale after ' || ? || '); the next aexp sweep retries this run'
WHERE status = 'running' AND coalesce(heartbeat, started, created) < ?`,
			fmtTime(tx.now), staleAfter.String(), cutoff)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reclaim stale runs: %w", err)
	}
	return int(n), nil
}

// ReclaimSweep marks every running run of a sweep as failed because the
// aexp process that ran it died; the caller must know that no live process
// runs the sweep (it holds the sweep's lock). The next attempt retries (and
// resumes) them whatever their attempts. It returns how many it reclaimed.
func (db *DB) ReclaimSweep(ctx context.Context, sweepID int64) (int, error) {
	var n int64
	err := db.write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `
UPDATE runs SET status = 'failed', finished = ?,
	error = 'aexp process died: the process that ran this sweep is gone (last heartbeat ' ||
	        coalesce(heartbeat, started, created) || '); the next aexp sweep retries this run'
WHERE status = 'running' AND sweep_id = ?`, fmtTime(tx.now), sweepID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reclaim runs of sweep %d: %w", sweepID, err)
	}
	return int(n), nil
}

// RetryRuns gives runs a fresh set of attempts and of training time
// (aexp sweep --retry-failed); their recorded epochs and training state
// stay, so they resume.
func (db *DB) RetryRuns(ctx context.Context, runIDs []int64) error {
	ids, _ := json.Marshal(runIDs)
	err := db.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE runs SET attempt = 0, train_seconds = 0
WHERE id IN (SELECT value FROM json_each(?))`, string(ids))
		return err
	})
	if err != nil {
		return fmt.Errorf("retry runs: %w", err)
	}
	return nil
}

// GetRun returns one run with its params, or an error wrapping ErrNotFound.
func (db *DB) GetRun(ctx context.Context, id int64) (Run, error) {
	var r Run
	err := db.read(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = getRun(ctx, tx, id)
		return err
	})
	if err != nil {
		return Run{}, fmt.Errorf("run %d: %w", id, err)
	}
	return r, nil
}

const runSelect = `SELECT id, sweep_id, run_key, variant, dataset, seed, status, error, stderr_tail,
	attempt, max_attempts, plugin_version, plugin_hash, host, blas, threads, pid, epochs, meta_json,
	created, started, finished, heartbeat, resumed_from, resumes, train_seconds, source FROM runs`

func getRun(ctx context.Context, q queryer, id int64) (Run, error) {
	r, err := scanRun(q.QueryRowContext(ctx, runSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, ErrNotFound
	}
	if err != nil {
		return Run{}, err
	}
	r.Params, err = runParams(ctx, q, id)
	return r, err
}

// getRuns reads several runs with their params in two queries, in the order
// of ids.
func getRuns(ctx context.Context, q queryer, ids []int64) ([]Run, error) {
	js, _ := json.Marshal(ids)
	rows, err := q.QueryContext(ctx, runSelect+` WHERE id IN (SELECT value FROM json_each(?))`, string(js))
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*Run, len(ids))
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		r.Params = map[string]any{}
		byID[r.ID] = &r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	prows, err := q.QueryContext(ctx, `SELECT run_id, key, type, value FROM params WHERE run_id IN (SELECT value FROM json_each(?))`, string(js))
	if err != nil {
		return nil, err
	}
	defer prows.Close()
	for prows.Next() {
		var id int64
		var k, typ, v string
		if err := prows.Scan(&id, &k, &typ, &v); err != nil {
			return nil, err
		}
		if r := byID[id]; r != nil {
			r.Params[k] = paramValue(typ, v)
		}
	}
	if err := prows.Err(); err != nil {
		return nil, err
	}
	out := make([]Run, 0, len(ids))
	for _, id := range ids {
		r := byID[id]
		if r == nil {
			return nil, fmt.Errorf("run %d: %w", id, ErrNotFound)
		}
		out = append(out, *r)
	}
	return out, nil
}

// scanRun scans one row of runSelect, without params.
func scanRun(sc scanner) (Run, error) {
	var r Run
	var seed int64
	var pid sql.NullInt64
	var meta string
	var created, started, finished, heartbeat sql.NullString
	err := sc.Scan(&r.ID, &r.SweepID, &r.Key, &r.Variant,
		&r.Dataset, &seed, &r.Status, &r.Error, &r.StderrTail, &r.Attempt, &r.MaxAttempts,
		&r.PluginVersion, &r.PluginHash, &r.Host, &r.BLAS, &r.Threads, &pid, &r.Epochs, &meta,
		&created, &started, &finished, &heartbeat, &r.ResumedFrom, &r.Resumes, &r.TrainSeconds, &r.Source)
	if err != nil {
		return Run{}, err
	}
	r.Seed = uint64(seed)
	r.Pid = int(pid.Int64)
	if meta != "" && meta != "{}" {
		_ = json.Unmarshal([]byte(meta), &r.Meta)
	}
	if t := parseTime(created); t != nil {
		r.Created = *t
	}
	r.Started, r.Finished, r.Heartbeat = parseTime(started), parseTime(finished), parseTime(heartbeat)
	return r, nil
}

// runParams reads a run's typed params back into Go values.
func runParams(ctx context.Context, q queryer, runID int64) (map[string]any, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, type, value FROM params WHERE run_id = ?`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]any{}
	for rows.Next() {
		var k, typ, v string
		if err := rows.Scan(&k, &typ, &v); err != nil {
			return nil, err
		}
		m[k] = paramValue(typ, v)
	}
	return m, rows.Err()
}

func paramValue(typ, v string) any {
	switch typ {
	case TypeInt:
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i
		}
	case TypeFloat:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	case TypeBool:
		return v == "true"
	case TypeString:
		return v
	}
	d := json.NewDecoder(strings.NewReader(v))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return v
	}
	return fromJSON(x)
}

// RunFilter selects runs for ListRuns. Zero fields match everything.
type RunFilter struct {
	Sweep    string   // sweep id or name
	SweepID  int64    // sweep id
	Variant  string   // variant name
	Statuses []string // any of these statuses
	IDs      []int64  // only these runs
	OrderBy  string   // "id" (default) or "objective" (best first, by each sweep's goal)
	Limit    int      // 0: all
	Offset   int
}

// RunSummary is one row of the run_summary view.
type RunSummary struct {
	RunID          int64          `json:"run_id"`
	SweepID        int64          `json:"sweep_id"`
	Sweep          string         `json:"sweep"`
	Variant        string         `json:"variant"`
	Status         string         `json:"status"`
	Params         map[string]any `json:"params"`
	Objective      string         `json:"objective"`
	Goal           string         `json:"goal"`
	FinalObjective *float64       `json:"final_objective"` // nil: no value yet
	BestObjective  *float64       `json:"best_objective"`
	BestEpoch      *int           `json:"best_epoch"`
	Epochs         int            `json:"epochs"`
	DurationS      *float64       `json:"duration_s"`
	TestMSE        *float64       `json:"test_mse"`
	PCAMSE         *float64       `json:"pca_mse"`
	Seed           uint64         `json:"seed"`
	Dataset        string         `json:"dataset"`
	Attempt        int            `json:"attempt"`
	Error          string         `json:"error"`
	RunKey         string         `json:"run_key"`
	PluginVersion  string         `json:"plugin_version"`
	Host           string         `json:"host"`
	Threads        int            `json:"threads"`
	BLAS           string         `json:"blas"`
	Created        time.Time      `json:"created"`
	Started        *time.Time     `json:"started"`
	Finished       *time.Time     `json:"finished"`
	Heartbeat      *time.Time     `json:"heartbeat"`
	ResumedFrom    int            `json:"resumed_from"` // epoch the latest attempt resumed from; 0: none
	TrainSeconds   float64        `json:"train_seconds"`
}

// ListRuns returns rows of run_summary matching f.
func (db *DB) ListRuns(ctx context.Context, f RunFilter) ([]RunSummary, error) {
	var where []string
	var args []any
	if f.Sweep != "" {
		if id, err := strconv.ParseInt(f.Sweep, 10, 64); err == nil {
			where, args = append(where, "(sweep_id = ? OR sweep = ?)"), append(args, id, f.Sweep)
		} else {
			where, args = append(where, "sweep = ?"), append(args, f.Sweep)
		}
	}
	if f.SweepID != 0 {
		where, args = append(where, "sweep_id = ?"), append(args, f.SweepID)
	}
	if f.Variant != "" {
		where, args = append(where, "variant = ?"), append(args, f.Variant)
	}
	if len(f.Statuses) > 0 {
		where = append(where, "status IN ("+placeholders(len(f.Statuses))+")")
		for _, s := range f.Statuses {
			args = append(args, s)
		}
	}
	if len(f.IDs) > 0 {
		where = append(where, "run_id IN (SELECT value FROM json_each(?))")
		b, _ := json.Marshal(f.IDs)
		args = append(args, string(b))
	}
	q := `SELECT run_id, sweep_id, sweep, variant, status, params, objective, goal, final_objective,
	best_objective, best_epoch, epochs, duration_s, test_mse, pca_mse, seed, dataset, attempt, error,
	run_key, plugin_version, host, threads, blas, created, started, finished, heartbeat, resumed_from, train_seconds
FROM run_summary`
	if len(where) > 0 {
		q += "\nWHERE " + strings.Join(where, " AND ")
	}
	switch f.OrderBy {
	case "", "id":
		q += "\nORDER BY run_id"
	case "objective":
		q += "\nORDER BY CASE goal WHEN 'maximize' THEN -best_objective ELSE best_objective END, run_id"
	default:
		return nil, fmt.Errorf("list runs: order by %q: want id or objective: %w", f.OrderBy, ErrInvalid)
	}
	if f.Limit > 0 {
		q += fmt.Sprintf("\nLIMIT %d OFFSET %d", f.Limit, max(f.Offset, 0))
	}
	var out []RunSummary
	err := db.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s RunSummary
			var params string
			var seed int64
			var final, best, dur, test, pca sql.NullFloat64
			var bestEpoch sql.NullInt64
			var created, started, finished, heartbeat sql.RawBytes
			if err := rows.Scan(&s.RunID, &s.SweepID, &s.Sweep, &s.Variant, &s.Status, &params,
				&s.Objective, &s.Goal, &final, &best, &bestEpoch, &s.Epochs, &dur, &test, &pca,
				&seed, &s.Dataset, &s.Attempt, &s.Error, &s.RunKey, &s.PluginVersion, &s.Host,
				&s.Threads, &s.BLAS, &created, &started, &finished, &heartbeat, &s.ResumedFrom, &s.TrainSeconds); err != nil {
				return err
			}
			s.Params, _ = decodeParams(params)
			s.Seed = uint64(seed)
			sentinel := math.Inf(1)
			if s.Goal == Maximize {
				sentinel = math.Inf(-1)
			}
			if final.Valid && final.Float64 != sentinel {
				s.FinalObjective = &final.Float64
			}
			if bestEpoch.Valid && best.Valid {
				s.BestObjective = &best.Float64
				e := int(bestEpoch.Int64)
				s.BestEpoch = &e
			}
			s.DurationS, s.TestMSE, s.PCAMSE = nullFloat(dur), nullFloat(test), nullFloat(pca)
			if t := parseTimeBytes(created); t != nil {
				s.Created = *t
			}
			s.Started, s.Finished, s.Heartbeat = parseTimeBytes(started), parseTimeBytes(finished), parseTimeBytes(heartbeat)
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

func nullFloat(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	v := f.Float64
	return &v
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
