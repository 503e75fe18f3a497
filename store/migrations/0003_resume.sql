-- 0003: runs resume from their last completed epoch.

-- The latest training state of each unfinished run (internal: the plugin's
-- own bytes, sent back to it when the run resumes). Dropped when the run
-- ends done, pruned or diverged.
CREATE TABLE run_state (
	run_id      INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	epoch       INTEGER NOT NULL,           -- the last completed epoch it holds
	plugin_hash TEXT NOT NULL DEFAULT '',   -- the plugin binary that wrote it
	name        TEXT NOT NULL DEFAULT '',
	format      TEXT NOT NULL DEFAULT '',
	meta        TEXT NOT NULL DEFAULT '{}',
	size        INTEGER NOT NULL,
	sha256      TEXT NOT NULL,
	created     TEXT NOT NULL,
	bytes       BLOB NOT NULL
);

-- resumed_from: the epoch the latest attempt continued from (0: it started
-- at epoch 1); resumes: how many attempts resumed; train_seconds: training
-- time of all attempts, which budget.timeout limits.
ALTER TABLE runs ADD COLUMN resumed_from INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN train_seconds REAL NOT NULL DEFAULT 0;

DROP VIEW run_summary;
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
	r.heartbeat          AS heartbeat,
	r.resumed_from       AS resumed_from,
	r.train_seconds      AS train_seconds
FROM runs r
JOIN sweeps s ON s.id = r.sweep_id
LEFT JOIN metric_summary o  ON o.run_id = r.id  AND o.key = s.objective_metric
LEFT JOIN metric_summary tm ON tm.run_id = r.id AND tm.key = 'test_mse'
LEFT JOIN metric_summary pm ON pm.run_id = r.id AND pm.key = 'pca_mse';

-- Marks the file as an aexp store ("aexp" in ASCII), so aexp never writes
-- into another program's SQLite database.
PRAGMA application_id = 1634039920;
