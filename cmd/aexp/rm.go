package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/aexp/aexp/store"
)

const rmUsage = `Usage: aexp rm [flags] RUN...
       aexp rm [flags] --sweep SWEEP

Delete runs, or a whole sweep (its stored spec and every run), with
everything recorded about them: params, metrics, tags and artifacts
(checkpoints, reconstructions, samples). It says what it will delete and
asks first, unless --yes. Runs in progress (running, with a heartbeat in
the last 30 s) are refused: stop their sweep first. A run left running by
an aexp process that died may be deleted.

The database file keeps its size (SQLite reuses the freed pages); to
shrink it, run sqlite3 aexp.db VACUUM while no sweep is running.

Examples:
  aexp rm 17 18
  aexp rm --sweep vae-latent
  aexp rm --yes --sweep 3          # in scripts: no question

Flags:
`

// activeWithin: a running run with a heartbeat this recent is in progress
// (the orchestrator's default for reclaiming runs of a dead process).
const activeWithin = 30 * time.Second

// stdin is where rm reads its answer (tests replace it).
var stdin io.Reader = os.Stdin

func runRm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rm", rmUsage, stderr)
	db := dbPath(fs)
	sweep := fs.String("sweep", "", "delete this sweep (id or name) and all its runs")
	yes := fs.Bool("yes", false, "do not ask")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if (*sweep == "") == (fs.NArg() == 0) {
		return usageErr("rm", "name runs or one --sweep (not both)")
	}
	var ids []int64
	for _, a := range fs.Args() {
		id, err := runIDArg("rm", a)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	st, err := openWritable(db())
	if err != nil {
		return err
	}
	defer st.Close()

	var sw store.Sweep
	what := fmt.Sprintf("run %s", joinIDs(ids))
	if *sweep != "" {
		if sw, err = st.GetSweep(ctx, *sweep); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("rm: no sweep %q in %s%s", *sweep, st.Path(), knownSweeps(ctx, st))
			}
			return err
		}
		rs, err := st.ListRuns(ctx, store.RunFilter{SweepID: sw.ID})
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, r := range rs {
			ids = append(ids, r.RunID)
		}
		what = fmt.Sprintf("sweep %d %s (its spec and %s)", sw.ID, sw.Name, plural(len(ids), "run"))
	}
	pre, err := st.Removal(ctx, ids, activeWithin)
	if err != nil {
		return rmError(err, st)
	}
	summary := fmt.Sprintf("%s with %s (%s) from %s", what, plural(pre.Artifacts, "artifact"), bytesText(pre.Bytes), st.Path())
	if !*yes {
		ok, err := confirm(stderr, "delete "+summary+"?")
		if err != nil {
			return err
		}
		if !ok {
			return withCode(exitError, errors.New("rm: nothing deleted"))
		}
	}
	if *sweep != "" {
		_, err = st.DeleteSweep(ctx, sw.ID, activeWithin)
	} else {
		_, err = st.DeleteRuns(ctx, ids, activeWithin)
	}
	if err != nil {
		return rmError(err, st)
	}
	fmt.Fprintln(stderr, "deleted", summary)
	return nil
}

func rmError(err error, st *store.DB) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("rm: %v in %s (nothing was deleted; aexp runs lists the runs)", err, st.Path())
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("rm: %v; nothing was deleted", err)
	}
	return err
}

// confirm asks a yes/no question on stderr and reads the answer from
// stdin; without a terminal to ask on it refuses, so that a script never
// deletes by accident.
func confirm(stderr io.Writer, question string) (bool, error) {
	if f, ok := stdin.(*os.File); ok && !term.IsTerminal(int(f.Fd())) {
		return false, withCode(exitUsage, errors.New("rm: stdin is not a terminal to ask on: add --yes to delete without asking"))
	}
	fmt.Fprintf(stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

func joinIDs(ids []int64) string {
	return strings.Join(runIDStrings(ids), ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// bytesText prints a size as 812 B, 3.4 KB, 12.1 MB.
func bytesText(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
