package buildtest

import (
	"database/sql"
	"testing"
)

// QueryMap runs a two-column query and returns its rows as a map from the
// first column to the second (a test fails on any error).
func QueryMap[K comparable, V any](t testing.TB, db *sql.DB, query string, args ...any) map[K]V {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	out := map[K]V{}
	for rows.Next() {
		var k K
		var v V
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}
