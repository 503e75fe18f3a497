// Command aexp runs autoencoder experiment sweeps and queries their results.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/aexp/aexp/internal/suggest"
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
	"conform":     {"run the conformance checks against a plugin executable (any language)", runConform},
	"sample":      {"new data from a generative run's checkpoint", runSample},
	"reconstruct": {"reconstructions of test inputs by a run's checkpoint", runReconstruct},
	"export":      {"write a run's checkpoint as a safetensors file", runExport},
	"plugins":     {"list discovered variant plugins and their parameters", runPlugins},
	"tag":         {"tag runs (key=value, notes); --rm KEY removes a tag", runTag},
	"rm":          {"delete runs or a sweep with their artifacts (asks first)", runRm},
	"ui":          {"serve a live dashboard of sweeps and runs (read-only)", runUI},
	"version":     {"print the aexp version and BLAS backend", runVersion},
	"worker":      {"train runs of sweeps started with --nats on this machine", runWorker},
	"workers":     {"list the live workers on a NATS server", runWorkers},
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
	if len(args) == 0 {
		usage(stderr)
		return withCode(exitUsage, errors.New(""))
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return nil
	case "help":
		return help(ctx, args[1:], stdout)
	case "-version", "--version":
		return runVersion(ctx, nil, stdout, stderr)
	}
	cmd, ok := lookup(args[0])
	if !ok {
		return withCode(exitUsage, unknownCommand(args[0]))
	}
	return cmd.run(ctx, args[1:], stdout, stderr)
}

// help is `aexp help [COMMAND]`: the overview, or a command's own -h text,
// on stdout (so it pipes into a pager) with exit status 0.
func help(ctx context.Context, args []string, stdout io.Writer) error {
	switch len(args) {
	case 0:
		usage(stdout)
		return nil
	case 1:
		cmd, ok := lookup(args[0])
		if !ok {
			return withCode(exitUsage, unknownCommand(args[0]))
		}
		return cmd.run(ctx, []string{"-h"}, stdout, stdout)
	}
	return withCode(exitUsage, fmt.Errorf("help: want at most one command, got %q", args))
}

func lookup(name string) (command, bool) {
	cmd, ok := commands[name]
	return cmd, ok
}

// unknownCommand says so, with the closest command name when it looks like
// a typo, as git and go do.
func unknownCommand(name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if g := suggest.Closest(name, append(slices.Sorted(maps.Keys(commands)), "help")); g != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", g)
	}
	return errors.New(msg + "; 'aexp help' lists the commands")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "aexp: autoencoder experiments — sweeps, plugins, one SQLite file")
	fmt.Fprintln(w, "\nUsage: aexp <command> [flags] [args]\n\nCommands:")
	for _, n := range slices.Sorted(maps.Keys(commands)) {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'aexp help <command>' (or 'aexp <command> -h') for a command's flags and examples;")
	fmt.Fprintln(w, "'aexp --version' prints the version.")
}
