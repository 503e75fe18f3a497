package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// Errors the store returns; test with errors.Is.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrInvalid     = errors.New("invalid")
	ErrReadOnly    = errors.New("store opened read-only")
	ErrNewerSchema = errors.New("database from a newer aexp")
	ErrBusy        = errors.New("database is locked by another writer")
)

// storeError keeps the driver's message and adds a domain error for errors.Is.
type storeError struct {
	kind error
	msg  string
	err  error
}

func (e *storeError) Error() string        { return e.msg }
func (e *storeError) Unwrap() []error      { return []error{e.kind, e.err} }
func (e *storeError) Is(target error) bool { return target == e.kind }

// formatError maps driver errors to the store's errors. It is the only
// place that knows about sqlite3 error codes.
func formatError(err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case se.Code == sqlite3.ErrConstraint && (se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey):
		return &storeError{ErrConflict, "conflict: " + strings.TrimPrefix(se.Error(), "UNIQUE constraint failed: "), err}
	case se.Code == sqlite3.ErrConstraint:
		return &storeError{ErrInvalid, "invalid: " + se.Error(), err}
	case se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked:
		return &storeError{ErrBusy, fmt.Sprintf("%v (another aexp process is writing this file?)", se), err}
	case se.Code == sqlite3.ErrReadonly:
		return &storeError{ErrReadOnly, se.Error(), err}
	case se.Code == sqlite3.ErrNotADB:
		return &storeError{ErrInvalid, "not an SQLite database: " + se.Error(), err}
	}
	return err
}
