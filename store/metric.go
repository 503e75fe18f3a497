package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Point is one value of a metric's history. Value is NaN where the run
// reported NaN (stored as NULL).
type Point struct {
	Epoch int
	Value float64
}

// MetricGoal is how the summary picks a metric's best value when the metric
// is not the sweep's objective: maximize for throughputs and accuracies
// (names ending in _per_second, or containing accuracy), minimize otherwise.
func MetricGoal(key string) string {
	if strings.HasSuffix(key, "_per_second") || strings.Contains(key, "accuracy") {
		return Maximize
	}
	return Minimize
}

// RecordEpoch records the metrics of one finished epoch, the run's summary
// (latest and best per metric), its epochs reached and heartbeat, in one
// immediate transaction: a crash keeps whole epochs only.
func (db *DB) RecordEpoch(ctx context.Context, runID int64, epoch int, metrics map[string]float64) error {
	err := db.write(ctx, func(tx *Tx) error {
		if err := recordMetrics(ctx, tx, runID, epoch, metrics); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE runs SET epochs = max(epochs, ?), heartbeat = ? WHERE id = ?`,
			epoch, fmtTime(tx.now), runID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record epoch %d of run %d: %w", epoch, runID, err)
	}
	return nil
}

type summaryRow struct {
	latest      sql.NullFloat64
	latestEpoch int
	best        sql.NullFloat64
	bestEpoch   sql.NullInt64
	goal        string
	count       int
}

// recordMetrics writes metrics at epoch and keeps metric_summary current.
// Appending (epoch after the latest) updates the summary incrementally;
// rewriting an epoch recomputes that metric's summary from its history.
func recordMetrics(ctx context.Context, tx *Tx, runID int64, epoch int, metrics map[string]float64) error {
	if len(metrics) == 0 {
		return nil
	}
	var objective, goal string
	err := tx.QueryRowContext(ctx, `SELECT s.objective_metric, s.objective_goal FROM runs r JOIN sweeps s ON s.id = r.sweep_id WHERE r.id = ?`,
		runID).Scan(&objective, &goal)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	old := map[string]summaryRow{}
	rows, err := tx.QueryContext(ctx, `SELECT key, latest, latest_epoch, best, best_epoch, goal, count FROM metric_summary WHERE run_id = ?`, runID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k string
		var s summaryRow
		if err := rows.Scan(&k, &s.latest, &s.latestEpoch, &s.best, &s.bestEpoch, &s.goal, &s.count); err != nil {
			rows.Close()
			return err
		}
		old[k] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	keys := make([]string, 0, len(metrics))
	for k := range metrics {
		if k == "" {
			return fmt.Errorf("empty metric name: %w", ErrInvalid)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	now := fmtTime(tx.now)
	// All values in one statement.
	var q strings.Builder
	args := make([]any, 0, 5*len(keys))
	q.WriteString(`INSERT INTO metrics (run_id, key, epoch, value, time) VALUES `)
	for i, k := range keys {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?, ?, ?, ?, ?)")
		var val any = metrics[k]
		if math.IsNaN(metrics[k]) {
			val = nil
		}
		args = append(args, runID, k, epoch, val, now)
	}
	q.WriteString(` ON CONFLICT (run_id, key, epoch) DO UPDATE SET value = excluded.value, time = excluded.time`)
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	// Summaries: appended epochs update incrementally, in one statement;
	// a rewritten epoch (or a changed goal) recomputes from the history.
	q.Reset()
	args = args[:0]
	for _, k := range keys {
		v := metrics[k]
		g := MetricGoal(k)
		if k == objective {
			g = goal
		}
		s, ok := old[k]
		if ok && (epoch <= s.latestEpoch || s.goal != g) {
			if err := resummarize(ctx, tx, runID, k, g); err != nil {
				return fmt.Errorf("metric %q: %w", k, err)
			}
			continue
		}
		if !ok {
			s = summaryRow{goal: g}
		}
		s.latestEpoch, s.count = epoch, s.count+1
		s.latest = sql.NullFloat64{Float64: v, Valid: !math.IsNaN(v)}
		if !math.IsNaN(v) && (!s.best.Valid || better(g, v, s.best.Float64)) {
			s.best = sql.NullFloat64{Float64: v, Valid: true}
			s.bestEpoch = sql.NullInt64{Int64: int64(epoch), Valid: true}
		}
		if len(args) == 0 {
			q.WriteString(`INSERT OR REPLACE INTO metric_summary (run_id, key, latest, latest_epoch, best, best_epoch, goal, count, time) VALUES `)
		} else {
			q.WriteByte(',')
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, runID, k, s.latest, s.latestEpoch, s.best, s.bestEpoch, s.goal, s.count, now)
	}
	if len(args) > 0 {
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("metric summary: %w", err)
		}
	}
	return nil
}

func better(goal string, v, than float64) bool {
	if goal == Maximize {
		return v > than
	}
	return v < than
}

// resummarize recomputes one metric's summary from its history.
func resummarize(ctx context.Context, tx *Tx, runID int64, key, goal string) error {
	order := "value ASC"
	if goal == Maximize {
		order = "value DESC"
	}
	_, err := tx.ExecContext(ctx, `
INSERT OR REPLACE INTO metric_summary (run_id, key, latest, latest_epoch, best, best_epoch, goal, count, time)
SELECT ?1, ?2,
	(SELECT value FROM metrics WHERE run_id = ?1 AND key = ?2 ORDER BY epoch DESC LIMIT 1),
	(SELECT max(epoch) FROM metrics WHERE run_id = ?1 AND key = ?2),
	(SELECT value FROM metrics WHERE run_id = ?1 AND key = ?2 AND value IS NOT NULL ORDER BY `+order+`, epoch LIMIT 1),
	(SELECT epoch FROM metrics WHERE run_id = ?1 AND key = ?2 AND value IS NOT NULL ORDER BY `+order+`, epoch LIMIT 1),
	?3,
	(SELECT count(*) FROM metrics WHERE run_id = ?1 AND key = ?2),
	?4`, runID, key, goal, fmtTime(tx.now))
	return err
}

// MetricHistory returns every recorded value of every metric of a run, by
// metric name, in epoch order.
func (db *DB) MetricHistory(ctx context.Context, runID int64) (map[string][]Point, error) {
	h, err := db.Histories(ctx, []int64{runID})
	if err != nil {
		return nil, err
	}
	if h[runID] == nil {
		return map[string][]Point{}, nil
	}
	return h[runID], nil
}

// Histories returns the metric histories of several runs in one read
// (for compare): run id -> metric -> points in epoch order.
func (db *DB) Histories(ctx context.Context, runIDs []int64) (map[int64]map[string][]Point, error) {
	out := make(map[int64]map[string][]Point, len(runIDs))
	ids, _ := json.Marshal(runIDs)
	err := db.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT run_id, key, epoch, value FROM metrics
WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, key, epoch`, string(ids))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var k string
			var e int
			var v sql.NullFloat64
			if err := rows.Scan(&id, &k, &e, &v); err != nil {
				return err
			}
			m := out[id]
			if m == nil {
				m = map[string][]Point{}
				out[id] = m
			}
			p := Point{Epoch: e, Value: math.NaN()}
			if v.Valid {
				p.Value = v.Float64
			}
			m[k] = append(m[k], p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("metric history: %w", err)
	}
	return out, nil
}

// Summary is one row of metric_summary.
type Summary struct {
	Key         string   `json:"key"`
	Latest      *float64 `json:"latest"` // nil when the latest value was NaN
	LatestEpoch int      `json:"latest_epoch"`
	Best        *float64 `json:"best"` // nil when every value was NaN
	BestEpoch   int      `json:"best_epoch"`
	Goal        string   `json:"goal"`
	Count       int      `json:"count"`
}

// Summaries returns a run's metric summary rows, sorted by key.
func (db *DB) Summaries(ctx context.Context, runID int64) ([]Summary, error) {
	var out []Summary
	err := db.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT key, latest, latest_epoch, best, best_epoch, goal, count
FROM metric_summary WHERE run_id = ? ORDER BY key`, runID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s Summary
			var latest, best sql.NullFloat64
			var bestEpoch sql.NullInt64
			if err := rows.Scan(&s.Key, &latest, &s.LatestEpoch, &best, &bestEpoch, &s.Goal, &s.Count); err != nil {
				return err
			}
			s.Latest = nullFloat(latest)
			s.Best = nullFloat(best)
			s.BestEpoch = int(bestEpoch.Int64)
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("metric summary of run %d: %w", runID, err)
	}
	return out, nil
}

// FinalMetrics returns the latest value of every metric of a run: the last
// epoch's values and the final test-set metrics.
func (db *DB) FinalMetrics(ctx context.Context, runID int64) (map[string]float64, error) {
	fm, err := db.FinalMetricsOf(ctx, []int64{runID})
	if err != nil {
		return nil, err
	}
	if fm[runID] == nil {
		return map[string]float64{}, nil
	}
	return fm[runID], nil
}

// FinalMetricsOf returns FinalMetrics of several runs in one read: run id ->
// metric -> latest value (NaN when the latest value was NaN). Runs without
// metrics are absent.
func (db *DB) FinalMetricsOf(ctx context.Context, runIDs []int64) (map[int64]map[string]float64, error) {
	out := make(map[int64]map[string]float64, len(runIDs))
	ids, _ := json.Marshal(runIDs)
	err := db.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT run_id, key, latest FROM metric_summary
WHERE run_id IN (SELECT value FROM json_each(?))`, string(ids))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var k string
			var latest sql.NullFloat64
			if err := rows.Scan(&id, &k, &latest); err != nil {
				return err
			}
			m := out[id]
			if m == nil {
				m = map[string]float64{}
				out[id] = m
			}
			m[k] = math.NaN()
			if latest.Valid {
				m[k] = latest.Float64
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("final metrics: %w", err)
	}
	return out, nil
}
