package store_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aexp/aexp/store"
)

// aexp never writes into another program's SQLite database, and marks its
// own with PRAGMA application_id.
func TestRefuseForeignDatabase(t *testing.T) {
	for name, setup := range map[string]string{
		"tables":         `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)`,
		"application_id": `PRAGMA application_id = 42`,
		"user_version":   `CREATE TABLE notes (id INTEGER); PRAGMA user_version = 7`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "other.db")
			raw, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(setup); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			if _, err := store.Open(path); err == nil || !strings.Contains(err.Error(), "not an aexp database") {
				t.Fatalf("Open: %v", err)
			}
			raw, _ = sql.Open("sqlite3", "file:"+path+"?mode=ro")
			defer raw.Close()
			var mode string
			var n int
			raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
			raw.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'runs'`).Scan(&n)
			if mode != "delete" || n != 0 {
				t.Errorf("the foreign file was changed: journal_mode %s, %d runs tables", mode, n)
			}
		})
	}
	db, path := mustOpen(t)
	db.Close()
	raw, _ := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	defer raw.Close()
	var app int
	raw.QueryRow(`PRAGMA application_id`).Scan(&app)
	if app != store.ApplicationID {
		t.Errorf("application_id %#x, want %#x", app, store.ApplicationID)
	}
}
