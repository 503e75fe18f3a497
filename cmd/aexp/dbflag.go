package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aexp/aexp/store"
)

// defaultDB is the database used when neither --db nor AEXP_DB is given.
const defaultDB = "aexp.db"

// dbFlagHelp is the --db flag's help line, the same in every command.
const dbFlagHelp = "SQLite database file (default: $AEXP_DB, else ./aexp.db)"

// dbPath registers --db on fs and returns a function that, after fs.Parse,
// resolves the database path: the --db flag, else $AEXP_DB, else ./aexp.db.
//
//	db := dbPath(fs)
//	if err := parseArgs(fs, args); err != nil { return err }
//	st, err := openReadOnly(db())
func dbPath(fs *flag.FlagSet) func() string {
	v := fs.String("db", "", dbFlagHelp)
	return func() string { return resolveDB(*v) }
}

// resolveDB applies the database path rule to a --db flag value.
func resolveDB(flagValue string) string {
	if p := strings.TrimSpace(flagValue); p != "" {
		return p
	}
	if p := strings.TrimSpace(os.Getenv("AEXP_DB")); p != "" {
		return p
	}
	return defaultDB
}

// openReadOnly opens the database for a query command, with an error that
// says what to do when it is missing.
func openReadOnly(path string) (*store.DB, error) {
	db, err := store.OpenReadOnly(path)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no aexp database at %s: run `aexp sweep SPEC.toml` to create one, or point --db or AEXP_DB at an existing file", path)
	}
	return db, err
}

// newFlags is a command's flag set: errors go to stderr, and -h prints the
// command's usage text followed by its flags.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	return fs
}

// parseArgs parses args with fs, allowing flags after positional arguments
// (`aexp show 17 --json`); "--" ends the flags. -h prints the help and exits
// 0; a bad flag exits 2 (the flag package has already printed why).
func parseArgs(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return withCode(exitOK, errors.New(""))
			}
			return withCode(exitUsage, errors.New(""))
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// usageErr is a usage error: exit code 2 with a hint to the command's help.
func usageErr(cmd, format string, a ...any) error {
	return withCode(exitUsage, fmt.Errorf("%s: %s (see 'aexp %s -h')", cmd, fmt.Sprintf(format, a...), cmd))
}
