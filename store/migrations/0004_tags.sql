-- 0004: tags on runs (aexp tag RUN key=value), free-form notes included.

CREATE TABLE tags (
	run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	key    TEXT NOT NULL CHECK (key <> ''),
	value  TEXT NOT NULL,
	time   TEXT NOT NULL,          -- when it was set
	PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

-- One row per run and tag, with the run's context (like run_params).
CREATE VIEW run_tags AS
SELECT
	t.run_id  AS run_id,
	s.name    AS sweep,
	r.variant AS variant,
	r.status  AS status,
	t.key     AS key,
	t.value   AS value,
	t.time    AS time
FROM tags t
JOIN runs r   ON r.id = t.run_id
JOIN sweeps s ON s.id = r.sweep_id;
