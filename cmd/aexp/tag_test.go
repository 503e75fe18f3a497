package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aexp/aexp/store"
)

func TestTagCommand(t *testing.T) {
	db := storeFixture(t)
	if _, _, err := cli(t, "tag", "--db", db, "1", "2", "note=good run", "keep=yes"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, "tag", "--db", db, "2", "--rm", "note"); err != nil {
		t.Fatal(err)
	}
	out, _, err := cli(t, "tag", "--db", db, "1", "2")
	if err != nil || out != "1\tkeep=yes\n1\tnote=good run\n2\tkeep=yes\n" {
		t.Errorf("aexp tag 1 2: %v\n%q", err, out)
	}
	out, _, _ = cli(t, "runs", "--db", db)
	if !strings.Contains(out, "TAGS") || !strings.Contains(out, "keep=yes note=good run") {
		t.Errorf("runs shows no tags:\n%s", out)
	}
	out, _, _ = cli(t, "runs", "--db", db, "--json")
	var rows []struct {
		RunID int64             `json:"run_id"`
		Tags  map[string]string `json:"tags"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || rows[0].Tags["note"] != "good run" || rows[2].Tags != nil {
		t.Errorf("runs --json: %v %+v", err, rows)
	}
	if out, _, _ = cli(t, "runs", "--db", db, "--csv"); !strings.Contains(strings.SplitN(out, "\n", 2)[0], ",tag.keep,tag.note") {
		t.Errorf("runs --csv header: %s", strings.SplitN(out, "\n", 2)[0])
	}
	if out, _, _ = cli(t, "runs", "--db", db, "--tag", "keep=yes", "--tag", "note"); strings.Count(out, "\n") != 2 || !strings.Contains(out, "note=good run") {
		t.Errorf("runs --tag keep=yes --tag note:\n%s", out)
	}
	if out, _, _ = cli(t, "runs", "--db", db, "--tag", "keep", "--limit", "1"); strings.Count(out, "\n") != 2 {
		t.Errorf("runs --tag keep --limit 1:\n%s", out)
	}
	if out, _, _ = cli(t, "show", "--db", db, "1"); !strings.Contains(out, "  tags       keep=yes note=good run\n") {
		t.Errorf("show:\n%s", out)
	}
	if out, _, _ = cli(t, "compare", "--db", db, "1", "2"); !strings.Contains(out, "tags\n  run 2  keep=yes\n  run 1  keep=yes note=good run\n") &&
		!strings.Contains(out, "tags\n  run 1  keep=yes note=good run\n  run 2  keep=yes\n") {
		t.Errorf("compare:\n%s", out)
	}
	report := filepath.Join(t.TempDir(), "report.html")
	if _, _, err := cli(t, "compare", "--db", db, "--no-sample", "--html", report, "1", "2"); err != nil {
		t.Fatalf("compare --html: %v", err)
	}
	if b, err := os.ReadFile(report); err != nil || !strings.Contains(string(b), "<th>tag</th>") || !strings.Contains(string(b), "<td>note</td><td>good run</td>") {
		t.Errorf("the report does not show run 1's tags (%v)", err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"tag", "--db", db, "99", "x=1"}, exitError, "run 99: not found"},
		{[]string{"tag", "--db", db, "x=1"}, exitUsage, "name one or more runs"},
		{[]string{"tag", "--db", db, "1", "=1"}, exitUsage, "the key is empty"},
		{[]string{"tag", "--db", db, "1", "a=1", "2"}, exitUsage, "run ids come first"},
		{[]string{"tag", "--db", filepath.Join(t.TempDir(), "none.db"), "1", "a=1"}, exitError, "no aexp database"},
	} {
		if _, _, err := cli(t, tc.args...); exitOf(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: exit %d %v, want %d %q", tc.args, exitOf(err), err, tc.code, tc.msg)
		}
	}
}

func TestRmCommand(t *testing.T) {
	db := storeFixture(t)
	answer := func(s string) { stdin = strings.NewReader(s) }
	defer func() { stdin = os.Stdin }()
	runIDs := func() string {
		out, _, err := cli(t, "runs", "--db", db)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			ids = append(ids, strings.Fields(l)[0])
		}
		return strings.Join(ids, ",")
	}
	answer("n\n")
	_, stderr, err := cli(t, "rm", "--db", db, "3")
	if exitOf(err) != exitError || !strings.Contains(stderr, "delete run 3 with 0 artifacts (0 B) from") || runIDs() != "1,2,3,4,5" {
		t.Fatalf("rm answered no: %v %q, runs %s", err, stderr, runIDs())
	}
	answer("y\n")
	if _, stderr, err = cli(t, "rm", "--db", db, "1"); err != nil || !strings.Contains(stderr, "deleted run 1 with 3 artifacts") || runIDs() != "2,3,4,5" {
		t.Fatalf("rm answered yes: %v %q, runs %s", err, stderr, runIDs())
	}
	// no terminal to ask on: refused unless --yes
	f, _ := os.Open(os.DevNull)
	defer f.Close()
	stdin = f
	if _, _, err = cli(t, "rm", "--db", db, "2"); exitOf(err) != exitUsage || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("rm without a terminal: %v", err)
	}
	// a run in progress is refused
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	st.StartRun(context.Background(), 4, store.RunStart{})
	st.Close()
	if _, _, err = cli(t, "rm", "--db", db, "--yes", "--sweep", "vae-latent"); exitOf(err) != exitError || !strings.Contains(err.Error(), "run(s) 4 in progress") {
		t.Errorf("rm of a sweep with a running run: %v", err)
	}
	if _, _, err = cli(t, "rm", "--db", db, "--yes", "--sweep", "dense-depth"); err != nil || runIDs() != "2,3,4" {
		t.Errorf("rm --sweep: %v, runs %s", err, runIDs())
	}
	if _, _, err = cli(t, "rm", "--db", db, "--yes", "--sweep", "dense-depth"); exitOf(err) != exitError || !strings.Contains(err.Error(), `no sweep "dense-depth"`) {
		t.Errorf("rm of a deleted sweep: %v", err)
	}
	if _, _, err = cli(t, "rm", "--db", db, "--yes", "2", "--sweep", "x"); exitOf(err) != exitUsage {
		t.Errorf("runs and --sweep: %v", err)
	}
}
