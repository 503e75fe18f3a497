-- 0002: indexes for listing and comparing thousands of runs, and views for people.

CREATE INDEX runs_sweep_status ON runs (sweep_id, status);
CREATE INDEX runs_variant_status ON runs (variant, status);
CREATE INDEX runs_status_heartbeat ON runs (status, heartbeat);
CREATE INDEX params_key_value ON params (key, value_num, value);
CREATE INDEX metric_summary_key_best ON metric_summary (key, best);
CREATE INDEX artifacts_run_kind ON artifacts (run_id, kind, epoch);

-- One row per run. objective/goal come from the sweep; final_objective is the
-- latest value of the objective metric, best_objective the best one (by goal).
-- A run with no objective value yet sorts last: +Inf when minimizing, -Inf
-- when maximizing, so ORDER BY best_objective (DESC when maximizing) ranks.
CREATE VIEW run_summary AS
SELECT
	r.id                 AS run_id,
	s.name               AS sweep,
	r.sweep_id           AS sweep_id,
	r.variant            AS variant,
	r.status             AS status,
	r.params_json        AS params,
	s.objective_metric   AS objective,
	s.objective_goal     AS goal,
	coalesce(o.latest, CASE s.objective_goal WHEN 'maximize' THEN -9e999 ELSE 9e999 END)
	                     AS final_objective,
	coalesce(o.best, CASE s.objective_goal WHEN 'maximize' THEN -9e999 ELSE 9e999 END)
	                     AS best_objective,
	o.best_epoch         AS best_epoch,
	r.epochs             AS epochs,
	round((julianday(coalesce(r.finished, r.heartbeat)) - julianday(r.started)) * 86400.0, 3)
	                     AS duration_s,
	tm.latest            AS test_mse,
	pm.latest            AS pca_mse,
	r.seed               AS seed,
	r.dataset            AS dataset,
	r.attempt            AS attempt,
	r.error              AS error,
	r.run_key            AS run_key,
	r.plugin_version     AS plugin_version,
	r.host               AS host,
	r.threads            AS threads,
	r.blas               AS blas,
	r.created            AS created,
	r.started            AS started,
	r.finished           AS finished,
	r.heartbeat          AS heartbeat
FROM runs r
JOIN sweeps s ON s.id = r.sweep_id
LEFT JOIN metric_summary o  ON o.run_id = r.id  AND o.key = s.objective_metric
LEFT JOIN metric_summary tm ON tm.run_id = r.id AND tm.key = 'test_mse'
LEFT JOIN metric_summary pm ON pm.run_id = r.id AND pm.key = 'pca_mse';

-- One row per run and parameter, with the run's context: easy GROUP BY key.
CREATE VIEW run_params AS
SELECT
	p.run_id    AS run_id,
	s.name      AS sweep,
	r.variant   AS variant,
	r.status    AS status,
	p.key       AS key,
	p.type      AS type,
	p.value     AS value,
	p.value_num AS value_num
FROM params p
JOIN runs r   ON r.id = p.run_id
JOIN sweeps s ON s.id = r.sweep_id;
