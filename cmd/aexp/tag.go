package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/aexp/aexp/store"
)

const tagUsage = `Usage: aexp tag RUN... [KEY=VALUE...] [--rm KEY]...

Tag runs, as in MLflow and W&B: each KEY=VALUE sets a tag (replacing one of
the same key), --rm KEY removes one. A note is a tag like any other. With
no KEY=VALUE and no --rm, print the runs' tags. Tags show in aexp runs,
aexp show and aexp compare, and in SQL as the tags table and the run_tags
view.

Examples:
  aexp tag 17 note="best so far, but slow"
  aexp tag 17 18 21 keep=yes paper=fig3
  aexp tag 17 --rm note
  aexp tag 17                                   # its tags
  sqlite3 -readonly aexp.db "SELECT run_id, value FROM run_tags WHERE key = 'paper'"

Flags:
`

func runTag(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tag", tagUsage, stderr)
	db := dbPath(fs)
	var remove setFlags
	fs.Var(&remove, "rm", "remove the tag KEY (repeatable)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	var ids []int64
	set := map[string]string{}
	for _, a := range fs.Args() {
		if k, v, ok := strings.Cut(a, "="); ok {
			k = strings.TrimSpace(k)
			if k == "" {
				return usageErr("tag", "%q: the key is empty (write KEY=VALUE)", a)
			}
			set[k] = v
			continue
		}
		if len(set) > 0 {
			return usageErr("tag", "%q: run ids come first, then KEY=VALUE pairs", a)
		}
		id, err := runIDArg("tag", a)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return usageErr("tag", "name one or more runs")
	}
	for _, k := range remove {
		if _, ok := set[k]; ok {
			return usageErr("tag", "%s is both set and removed", k)
		}
	}
	if len(set) == 0 && len(remove) == 0 {
		return printTags(ctx, stdout, db(), ids)
	}
	st, err := openWritable(db())
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.SetTags(ctx, ids, set, remove); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("tag: %v in %s (nothing was changed; aexp runs lists the runs)", err, st.Path())
		}
		return err
	}
	return nil
}

// printTags lists the runs' tags, one KEY=VALUE line per tag.
func printTags(ctx context.Context, w io.Writer, path string, ids []int64) error {
	st, err := openReadOnly(path)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, id := range ids {
		if _, err := st.GetRun(ctx, id); err != nil {
			return err
		}
	}
	tags, err := st.Tags(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		for _, k := range slices.Sorted(maps.Keys(tags[id])) {
			fmt.Fprintf(w, "%d\t%s=%s\n", id, k, tags[id][k])
		}
	}
	return nil
}

// tagsText formats a run's tags as "k=v k=v", sorted by key.
func tagsText(tags map[string]string) string {
	parts := make([]string, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		parts = append(parts, k+"="+tags[k])
	}
	return strings.Join(parts, " ")
}

// openWritable opens an existing database for a command that changes it
// (tag, rm): it never creates one.
func openWritable(path string) (*store.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no aexp database at %s: run `aexp sweep SPEC.toml` to create one, or point --db or AEXP_DB at an existing file", path)
	}
	return store.Open(path)
}
