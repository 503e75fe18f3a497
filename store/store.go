// Package store keeps aexp's results in one SQLite file: sweeps, runs, typed
// params, the metric history with a per-run summary, and artifacts
// (safetensors checkpoints, reconstructions, samples).
//
// The aexp process is the only writer. [Open] returns a DB with one write
// connection (WAL, busy timeout, immediate transactions) and a pool of
// read-only connections; [OpenReadOnly] returns only the readers, for the
// CLI's list/show/compare and anything else that must never block a sweep.
//
// The schema is public (see the README's "Querying with sqlite3"): it is
// created and upgraded by the ordered migrations embedded from migrations/,
// one transaction each, recorded in schema_migrations and PRAGMA user_version.
//
// Times are stored as RFC 3339 UTC text with milliseconds, fixed width, so
// they sort as text and SQLite's julianday() and unixepoch() read them.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// BusyTimeout is how long a connection waits for a lock before failing.
// With one writer and WAL readers it is only ever reached by a second aexp
// process writing the same file.
const BusyTimeout = 10 * time.Second

// TimeFormat is how every time is stored: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// DB is an open aexp database.
type DB struct {
	path string
	w    *sql.DB // the single write connection; nil when read-only
	r    *sql.DB // read-only pool

	// Now returns the current time; tests replace it.
	Now func() time.Time
}

// migration is one embedded schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order. File names are
// NNNN_description.sql; versions must be 1, 2, 3, ... without gaps.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var ms []migration
	for i, n := range names {
		base := filepath.Base(n)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d", base, i+1)
		}
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	return ms, nil
}

// SchemaVersion is the schema version this build of aexp writes.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		panic(err) // embedded files are checked by the tests
	}
	return len(ms)
}

// dsn builds a mattn/go-sqlite3 DSN. Pragmas go in the DSN so every pooled
// connection gets them.
func dsn(path string, readOnly bool) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	q := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=on&_stmt_cache_size=64", BusyTimeout.Milliseconds())
	if readOnly {
		return "file:" + esc + "?mode=ro&" + q
	}
	return "file:" + esc + "?_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate&" + q
}

// Open opens (creating it if needed) the database at path for writing,
// applies pending migrations and checks that WAL is in effect. It refuses a
// database written by a newer aexp.
func Open(path string) (*DB, error) {
	return open(path, 0)
}

// open migrates up to version target (0: all). Tests use target to build
// databases of older versions.
func open(path string, target int) (*DB, error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open store %q: %w", path, err)
		}
	}
	if err := checkForeign(path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	db := &DB{path: path, w: w, Now: time.Now}
	var mode string
	if err := w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %q: %w", path, formatError(err))
	}
	if !strings.EqualFold(mode, "wal") {
		w.Close()
		return nil, fmt.Errorf("open store %q: enable wal failed, journal_mode=%q (is it on a network file system?)", path, mode)
	}
	if err := db.migrate(context.Background(), target); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	r, err := sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	db.r = r
	return db, nil
}

// OpenReadOnly opens an existing database for queries only. It never takes
// a write lock, so it never blocks a running sweep. A database of an older
// schema is first upgraded (a short write); one from a newer aexp is refused.
func OpenReadOnly(path string) (*DB, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no aexp database at %s: %w", path, ErrNotFound)
		}
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("open store %q: is a directory", path)
	}
	r, err := sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	v, err := userVersion(context.Background(), r)
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrCantOpen {
		// A WAL database in a directory we cannot write (a read-only
		// mount, a colleague's results) has no -shm file to share; no
		// one can be writing it either, so read it as immutable.
		r.Close()
		if r, err = sql.Open("sqlite3", dsn(path, true)+"&immutable=1"); err != nil {
			return nil, fmt.Errorf("open store %q: %w", path, err)
		}
		v, err = userVersion(context.Background(), r)
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("open store %q: %w", path, formatError(err))
	}
	want := SchemaVersion()
	switch {
	case v > want:
		r.Close()
		return nil, newerError(path, v, want)
	case v == 0:
		// Not an aexp database (or an empty file): refuse rather than create.
		var n int
		if err := r.QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil {
			r.Close()
			return nil, fmt.Errorf("open store %q: not an SQLite database: %w", path, formatError(err))
		}
		r.Close()
		if n > 0 {
			return nil, fmt.Errorf("open store %q: not an aexp database (no schema version)", path)
		}
		return nil, fmt.Errorf("open store %q: empty database, no runs recorded yet", path)
	case v < want:
		// Upgrade once through a writer, then read.
		r.Close()
		w, err := Open(path)
		if err != nil {
			return nil, fmt.Errorf("upgrade schema %d -> %d: %w", v, want, err)
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		if r, err = sql.Open("sqlite3", dsn(path, true)); err != nil {
			return nil, fmt.Errorf("open store %q: %w", path, err)
		}
	}
	return &DB{path: path, r: r, Now: time.Now}, nil
}

// ApplicationID marks aexp stores (PRAGMA application_id, "aexp" in ASCII;
// set by migration 3).
const ApplicationID = 0x61657870

// checkForeign refuses a file that is not an aexp store before anything
// writes to it (opening it for writing would already switch it to WAL): a
// database with another application id, or with tables but neither aexp's
// application id nor aexp's schema (older aexp stores have no application
// id). A missing or empty file is fine.
func checkForeign(path string) error {
	st, err := os.Stat(path)
	if err != nil || st.Size() == 0 {
		return nil // created by Open, or an error Open reports better
	}
	if st.IsDir() {
		return fmt.Errorf("open store %q: is a directory", path)
	}
	r, err := sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		return fmt.Errorf("open store %q: %w", path, err)
	}
	defer r.Close()
	var app, version, tables, ours int
	err = r.QueryRow(`SELECT (SELECT application_id FROM pragma_application_id), (SELECT user_version FROM pragma_user_version),
	(SELECT count(*) FROM sqlite_schema), (SELECT count(*) FROM sqlite_schema WHERE name IN ('schema_migrations', 'runs'))`).
		Scan(&app, &version, &tables, &ours)
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrCantOpen {
		return nil // a WAL store in a read-only folder: Open says why it cannot write
	}
	if err != nil {
		return fmt.Errorf("open store %q: not an SQLite database: %w", path, formatError(err))
	}
	switch {
	case app == ApplicationID:
		return nil
	case app != 0:
		return fmt.Errorf("open store %q: not an aexp database (it belongs to another program: application_id %#x); use another --db", path, app)
	case tables > 0 && (version == 0 || ours < 2):
		return fmt.Errorf("open store %q: not an aexp database (it has %d tables and views but no aexp schema); aexp will not add its tables to it: use another --db", path, tables)
	}
	return nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close closes the database.
//
// The last connection to close a WAL database normally checkpoints it and
// deletes the WAL under an exclusive lock: a reader starting meanwhile (the
// sqlite3 shell has no busy timeout) gets "database is locked". So the
// writer checkpoints passively first (that never blocks readers) and closes
// while one of the read-only connections is still open, which makes it
// skip the exclusive step; read-only connections never take it. The WAL
// file stays, emptied into the database, for the next writer to reuse.
func (db *DB) Close() error {
	var errs []error
	if db.w != nil {
		ctx := context.Background()
		_, _ = db.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		var hold *sql.Conn
		if db.r != nil {
			if c, err := db.r.Conn(ctx); err == nil {
				var n int
				if c.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n) == nil {
					hold = c // it has the database open
				} else {
					c.Close()
				}
			}
		}
		errs = append(errs, db.w.Close())
		if hold != nil {
			hold.Close()
		}
	}
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	return errors.Join(errs...)
}

func newerError(path string, have, want int) error {
	return fmt.Errorf("database %s has schema version %d, written by a newer aexp; this aexp understands versions up to %d: upgrade aexp (or use another --db): %w",
		path, have, want, ErrNewerSchema)
}

func userVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v)
	return v, err
}

// migrate applies the migrations after the database's version, each in its
// own immediate transaction that re-reads the version first, so two aexp
// processes opening one file at once do not race.
func (db *DB) migrate(ctx context.Context, target int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if target == 0 || target > len(ms) {
		target = len(ms)
	}
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name    TEXT NOT NULL,
	applied TEXT NOT NULL
)`); err != nil {
		return fmt.Errorf("migrate: %w", formatError(err))
	}
	v, err := userVersion(ctx, db.w)
	if err != nil {
		return fmt.Errorf("migrate: %w", formatError(err))
	}
	if v > len(ms) {
		return newerError(db.path, v, len(ms))
	}
	for _, m := range ms[:target] {
		if m.version <= v {
			continue
		}
		if err := db.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, m migration) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", m.name, formatError(err))
	}
	defer tx.Rollback()
	v, err := userVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", m.name, formatError(err))
	}
	if v >= m.version {
		return nil // another process got there first
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migrate %s: %w", m.name, formatError(err))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`,
		m.version, m.name, fmtTime(db.Now())); err != nil {
		return fmt.Errorf("migrate %s: %w", m.name, formatError(err))
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, m.version)); err != nil {
		return fmt.Errorf("migrate %s: %w", m.name, formatError(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: %w", m.name, formatError(err))
	}
	return nil
}

// Tx is a write transaction; every row written in it gets the same time.
type Tx struct {
	*sql.Tx
	db  *DB
	now time.Time
}

// begin starts an immediate write transaction on the single writer.
func (db *DB) begin(ctx context.Context) (*Tx, error) {
	if db.w == nil {
		return nil, ErrReadOnly
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, formatError(err)
	}
	return &Tx{Tx: tx, db: db, now: db.Now().UTC()}, nil
}

// write runs fn in one immediate transaction and commits it.
func (db *DB) write(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return formatError(err)
	}
	return formatError(tx.Commit())
}

// read runs fn in one read transaction on the read-only pool, so its
// queries see one snapshot.
func (db *DB) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return formatError(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return formatError(err)
	}
	return formatError(tx.Commit())
}

func fmtTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// nullTime formats t for a nullable column.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return fmtTime(*t)
}

// parseTime reads a stored time; empty or NULL gives nil.
func parseTime(s sql.NullString) *time.Time {
	if !s.Valid || s.String == "" {
		return nil
	}
	return parseTimeBytes([]byte(s.String))
}

// parseTimeBytes reads a stored time, fast for the store's own fixed
// format, through RFC 3339 for anything else (a hand-edited row).
func parseTimeBytes(b []byte) *time.Time {
	if len(b) == 0 {
		return nil
	}
	if len(b) == len(TimeFormat) && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' &&
		b[16] == ':' && b[19] == '.' && b[23] == 'Z' {
		d := func(i, n int) (int, bool) {
			v := 0
			for _, c := range b[i : i+n] {
				if c < '0' || c > '9' {
					return 0, false
				}
				v = v*10 + int(c-'0')
			}
			return v, true
		}
		y, ok1 := d(0, 4)
		mo, ok2 := d(5, 2)
		dd, ok3 := d(8, 2)
		h, ok4 := d(11, 2)
		mi, ok5 := d(14, 2)
		se, ok6 := d(17, 2)
		ms, ok7 := d(20, 3)
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 {
			t := time.Date(y, time.Month(mo), dd, h, mi, se, ms*1e6, time.UTC)
			return &t
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return nil
	}
	return &t
}

// FormatTime formats t the way the store keeps times.
func FormatTime(t time.Time) string { return fmtTime(t) }

// ParseTime reads a time as the store keeps it (RFC 3339); nil if empty or
// malformed.
func ParseTime(s string) *time.Time { return parseTimeBytes([]byte(s)) }
