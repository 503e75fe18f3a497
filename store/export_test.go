package store

import (
	"context"
	"database/sql"
)

// OpenAt opens path for writing and migrates it only up to version target,
// so tests can build databases of every older schema version.
func OpenAt(path string, target int) (*DB, error) { return open(path, target) }

// Bulk runs fn in one write transaction on the writer, for building large
// benchmark databases fast.
func (db *DB) Bulk(fn func(tx *Tx) error) error {
	return db.write(context.Background(), fn)
}

// QueryRowForTest runs a query on the read pool (tests check tables the
// API does not expose row by row).
func (db *DB) QueryRowForTest(q string, args ...any) *sql.Row { return db.r.QueryRow(q, args...) }
