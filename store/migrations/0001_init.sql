-- 0001: the tables. Times are RFC 3339 UTC text with milliseconds
-- ('2026-11-27T09:30:00.123Z'); SQLite's julianday()/unixepoch() read them.

CREATE TABLE sweeps (
	id               INTEGER PRIMARY KEY,
	name             TEXT NOT NULL UNIQUE,
	description      TEXT NOT NULL DEFAULT '',
	spec             TEXT NOT NULL,            -- the TOML spec as written
	spec_hash        TEXT NOT NULL,
	objective_metric TEXT NOT NULL DEFAULT 'val_loss',
	objective_goal   TEXT NOT NULL DEFAULT 'minimize'
	                 CHECK (objective_goal IN ('minimize', 'maximize')),
	status           TEXT NOT NULL DEFAULT 'running'
	                 CHECK (status IN ('running', 'done', 'failed', 'canceled')),
	created          TEXT NOT NULL,
	updated          TEXT NOT NULL,
	finished         TEXT
);

CREATE TABLE runs (
	id             INTEGER PRIMARY KEY,
	sweep_id       INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
	run_key        TEXT NOT NULL,               -- hash of variant, canonical params, seed, data
	variant        TEXT NOT NULL,
	dataset        TEXT NOT NULL DEFAULT '',
	seed           INTEGER NOT NULL DEFAULT 0,
	params_json    TEXT NOT NULL DEFAULT '{}',  -- canonical JSON object (keys sorted)
	status         TEXT NOT NULL DEFAULT 'queued'
	               CHECK (status IN ('queued', 'running', 'done', 'failed', 'diverged',
	                                 'pruned', 'canceled', 'timed_out')),
	error          TEXT NOT NULL DEFAULT '',
	attempt        INTEGER NOT NULL DEFAULT 0,  -- 0 until first started; 1, 2, ... after
	max_attempts   INTEGER NOT NULL DEFAULT 1,
	plugin_version TEXT NOT NULL DEFAULT '',
	plugin_hash    TEXT NOT NULL DEFAULT '',    -- sha256 of the plugin binary
	host           TEXT NOT NULL DEFAULT '',
	threads        INTEGER NOT NULL DEFAULT 0,
	blas           TEXT NOT NULL DEFAULT '',
	pid            INTEGER,
	epochs         INTEGER NOT NULL DEFAULT 0,  -- epochs reached (recorded)
	meta_json      TEXT NOT NULL DEFAULT '{}',  -- facts from the plugin's final report
	created        TEXT NOT NULL,
	started        TEXT,
	finished       TEXT,
	heartbeat      TEXT,
	stderr_tail    TEXT NOT NULL DEFAULT '',   -- last: long tails never slow a scan of the other columns
	UNIQUE (sweep_id, run_key)
);

CREATE TABLE params (
	run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	key       TEXT NOT NULL,
	type      TEXT NOT NULL
	          CHECK (type IN ('int', 'float', 'string', 'bool', 'int_list', 'float_list', 'json')),
	value     TEXT NOT NULL,   -- text form: 0.001, relu, true, [512,256]
	value_num REAL,            -- numeric form for int, float and bool (1/0); NULL otherwise
	PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE TABLE metrics (
	run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	key    TEXT NOT NULL,
	epoch  INTEGER NOT NULL,   -- 1-based; final (test-set) metrics carry the last epoch
	value  REAL,               -- NaN is stored as NULL
	time   TEXT NOT NULL,
	PRIMARY KEY (run_id, key, epoch)
) WITHOUT ROWID;

CREATE TABLE metric_summary (
	run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	key          TEXT NOT NULL,
	latest       REAL,
	latest_epoch INTEGER NOT NULL,
	best         REAL,
	best_epoch   INTEGER,
	goal         TEXT NOT NULL CHECK (goal IN ('minimize', 'maximize')), -- how best was chosen
	count        INTEGER NOT NULL,
	time         TEXT NOT NULL,
	PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE TABLE artifacts (
	id        INTEGER PRIMARY KEY,
	run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	kind      TEXT NOT NULL
	          CHECK (kind IN ('checkpoint', 'reconstruction', 'sample', 'latent', 'plot')),
	name      TEXT NOT NULL,
	epoch     INTEGER NOT NULL DEFAULT 0,
	format    TEXT NOT NULL DEFAULT '',
	size      INTEGER NOT NULL,
	sha256    TEXT NOT NULL,
	objective REAL,            -- the run's objective at this epoch (checkpoints, keep=best)
	meta      TEXT NOT NULL DEFAULT '{}',
	created   TEXT NOT NULL,
	bytes     BLOB NOT NULL    -- last, so listing never reads the blob's pages
);
