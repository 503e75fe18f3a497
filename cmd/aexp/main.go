// Command aexp runs autoencoder experiment sweeps and queries their results.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit codes, documented in the README.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitRunsFailed  = 3
	exitInterrupted = 130
)

// exitError carries a specific exit code up to main.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

// withCode wraps err so that main exits with code.
func withCode(code int, err error) error { return &codeError{code: code, err: err} }

// command is one subcommand: its own flag set lives in its own file.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"sweep":       {"expand a TOML spec into runs, train them, record results", runSweep},
	"plan":        {"print the runs a spec expands to, without running them", runPlan},
	"runs":        {"list runs (filters, --json, --csv)", runRuns},
	"show":        {"one run: params, curves, final metrics, artifacts", runShow},
	"compare":     {"runs side by side: differing params, metrics, pictures", runCompare},
	"sample":      {"new data from a generative run's checkpoint", runSample},
	"reconstruct": {"reconstructions of test inputs by a run's checkpoint", runReconstruct},
	"export":      {"write a run's checkpoint as a safetensors file", runExport},
	"plugins":     {"list discovered variant plugins and their parameters", runPlugins},
	"version":     {"print the aexp version and BLAS backend", runVersion},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ce *codeError
	if errors.As(err, &ce) {
		if ce.err != nil && ce.err.Error() != "" {
			fmt.Fprintln(os.Stderr, "aexp:", ce.err)
		}
		return ce.code
	}
	fmt.Fprintln(os.Stderr, "aexp:", err)
	return exitError
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return withCode(exitUsage, errors.New(""))
		}
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return withCode(exitUsage, fmt.Errorf("unknown command %q", args[0]))
	}
	return cmd.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "aexp: autoencoder experiments — sweeps, plugins, one SQLite file")
	fmt.Fprintln(w, "\nUsage: aexp <command> [flags] [args]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'aexp <command> -h' for a command's flags and examples.")
}
