package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aexp/aexp/store"
)

func TestMigrations(t *testing.T) {
	latest := store.SchemaVersion()
	if latest < 2 {
		t.Fatalf("SchemaVersion = %d", latest)
	}
	t.Run("FromEmpty", func(t *testing.T) {
		db, path := mustOpen(t)
		db.Close()
		checkSchema(t, path, latest)
		// Opening again is a no-op.
		db2, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		db2.Close()
		checkSchema(t, path, latest)
	})
	for v := 1; v < latest; v++ {
		t.Run(fmt.Sprintf("FromVersion%d", v), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "old.db")
			old, err := store.OpenAt(path, v)
			if err != nil {
				t.Fatal(err)
			}
			// Data written by the old version survives the upgrade.
			ctx := context.Background()
			sw, _, err := old.EnsureSweep(ctx, "old", "spec", "h")
			if err != nil {
				t.Fatal(err)
			}
			old.Close()
			// Rows as version 1 has them, written with SQL: this build's
			// methods use the newest columns.
			raw, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				fmt.Sprintf(`INSERT INTO runs (id, sweep_id, run_key, variant, params_json, created) VALUES (1, %d, 'k', 'dense', '{"lr":0.01}', '2026-01-01T00:00:00.000Z')`, sw.ID),
				`INSERT INTO params (run_id, key, type, value, value_num) VALUES (1, 'lr', 'float', '0.01', 0.01)`,
				`INSERT INTO metrics (run_id, key, epoch, value, time) VALUES (1, 'val_loss', 1, 0.25, '2026-01-01T00:00:00.000Z')`,
				`INSERT INTO metric_summary (run_id, key, latest, latest_epoch, best, best_epoch, goal, count, time) VALUES (1, 'val_loss', 0.25, 1, 0.25, 1, 'minimize', 1, '2026-01-01T00:00:00.000Z')`,
			} {
				if _, err := raw.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			raw.Close()
			if got := rawVersion(t, path); got != v {
				t.Fatalf("old database at version %d, want %d", got, v)
			}
			// A read-only open upgrades too.
			ro, err := store.OpenReadOnly(path)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := ro.ListRuns(ctx, store.RunFilter{})
			ro.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || rs[0].BestObjective == nil || *rs[0].BestObjective != 0.25 {
				t.Fatalf("after upgrade: %+v", rs)
			}
			checkSchema(t, path, latest)
		})
	}
	t.Run("RefuseNewer", func(t *testing.T) {
		db, path := mustOpen(t)
		db.Close()
		raw, err := sql.Open("sqlite3", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(fmt.Sprintf("PRAGMA user_version = %d", latest+1)); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		for name, open := range map[string]func(string) (*store.DB, error){"Open": store.Open, "OpenReadOnly": store.OpenReadOnly} {
			_, err := open(path)
			if !errors.Is(err, store.ErrNewerSchema) {
				t.Fatalf("%s: got %v, want ErrNewerSchema", name, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprint(latest+1)) || !strings.Contains(msg, fmt.Sprint(latest)) || !strings.Contains(msg, "newer aexp") {
				t.Fatalf("%s: error should name both versions: %v", name, err)
			}
		}
	})
	t.Run("ReadOnlyMissingFile", func(t *testing.T) {
		_, err := store.OpenReadOnly(filepath.Join(t.TempDir(), "nope.db"))
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ReadOnlyNotADatabase", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.db")
		raw, _ := sql.Open("sqlite3", path)
		raw.Exec("CREATE TABLE t (x)")
		raw.Close()
		if _, err := store.OpenReadOnly(path); err == nil || !strings.Contains(err.Error(), "not an aexp database") {
			t.Fatalf("got %v", err)
		}
	})
}

func rawVersion(t *testing.T, path string) int {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var v int
	if err := raw.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// checkSchema verifies the version bookkeeping and that every public name
// exists.
func checkSchema(t *testing.T, path string, want int) {
	t.Helper()
	if got := rawVersion(t, path); got != want {
		t.Fatalf("user_version = %d, want %d", got, want)
	}
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n, max int
	if err := raw.QueryRow("SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != want || max != want {
		t.Fatalf("schema_migrations: %d rows, max %d; want %d", n, max, want)
	}
	for _, name := range []string{"sweeps", "runs", "params", "metrics", "metric_summary", "artifacts", "run_summary", "run_params"} {
		var c int
		if err := raw.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name = ?", name).Scan(&c); err != nil || c != 1 {
			t.Fatalf("%s missing (%v)", name, err)
		}
	}
	var ok string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q %v", ok, err)
	}
}
