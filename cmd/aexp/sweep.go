package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aexp/aexp/cluster"
	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
)

const sweepHelp = `Usage: aexp sweep [flags] SPEC.toml

Expand a TOML sweep spec into runs, validate every run against its variant
plugin, train the runs in parallel (one plugin process each), record
everything in the SQLite store and print a leaderboard.

Running the same spec again resumes it: finished runs are skipped, failed,
timed-out, canceled and interrupted runs are retried (failed ones up to
budget.attempts; --retry-failed gives them fresh attempts), each continuing
from its last completed epoch. A missing or corrupt dataset or a store that
cannot be written (disk full) stops the sweep with exit status 1 without
spending attempts. A spec whose runs changed is refused unless --force;
budget fields (run_cap, samples, parallel, threads, timeout, attempts, target,
keep) may always change.

Exit status: 0 all runs finished, 1 error, 2 bad spec or usage, 3 some runs
failed (failed, timed_out, diverged), 130 interrupted.

Examples:
  aexp sweep sweeps/dense.toml
  aexp sweep --parallel 1 --db results.db sweeps/vae.toml
  aexp sweep --parallel 2 --threads 1 sweeps/rnn.toml   # one BLAS thread per run
  aexp sweep --dry-run sweeps/vae.toml      # the same as: aexp plan sweeps/vae.toml
  aexp sweep --force sweeps/vae.toml        # continue a sweep whose spec changed
  aexp sweep --retry-failed sweeps/vae.toml # failed runs get budget.attempts again
  aexp sweep sweeps/vae.toml --set lr=3e-4 --set 'latent=[2, 4]'   # override params (recorded with the sweep)
  aexp sweep sweeps/dense.toml --set 'hidden=[[256,32]]' --set budget.epochs=2
  aexp sweep --nats nats://10.0.0.5:4222 sweeps/vae.toml   # train on aexp workers

With --nats (or $AEXP_NATS_URL) the runs train on the machines running aexp
worker against the same NATS server; this process expands, validates and
records exactly as a local sweep and stays the store's only writer. There,
parallel (default 256) is how many runs may be queued or in flight at once.

Flags:
`

const planHelp = `Usage: aexp plan [flags] SPEC.toml

Print the runs a spec expands to, after validating them against the
plugins, without running anything or touching the store (aexp sweep
--dry-run does the same).

Examples:
  aexp plan sweeps/vae.toml
  aexp plan --json sweeps/vae.toml | jq '.runs[].params'
  aexp plan --no-validate sweeps/vae.toml   # without starting the plugins
  aexp plan sweeps/vae.toml --set 'beta=[0.25, 4]'   # what an override would run

Flags:
`

func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return sweepCommand(ctx, "sweep", args, stdout, stderr)
}

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return sweepCommand(ctx, "plan", args, stdout, stderr)
}

type sweepFlags struct {
	db                              func() string
	pluginDir                       string
	parallel, threads               int
	dryRun, failFast, force, asJSON bool
	retryFailed                     bool
	noValidate, verbose, plain      bool
	sets                            setFlags
	nats                            func() cluster.ConnOptions
	ackWait                         *time.Duration
}

// setFlags collects repeated --set KEY=VALUE flags.
type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, " ") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

func sweepCommand(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	var f sweepFlags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	help := sweepHelp
	if name == "plan" {
		help = planHelp
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, help)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.pluginDir, "plugin-dir", "", "directory holding aexp-variant-* plugins (searched before $AEXP_PLUGIN_DIR, aexp's own directory and $PATH)")
	// the plan-only flags say "with --dry-run" in sweep's help, not in plan's
	with := ""
	if name == "sweep" {
		with = "with --dry-run: "
	}
	fs.BoolVar(&f.asJSON, "json", false, with+"print the plan as JSON")
	fs.BoolVar(&f.noValidate, "no-validate", false, with+"do not start the plugins to validate params")
	fs.Var(&f.sets, "set", "override a spec value, KEY=VALUE (repeatable): a param (lr=3e-4, 'hidden=[[256,32]]'), name/variant/dataset, or a key path (budget.epochs=2); recorded with the sweep")
	if name == "sweep" {
		f.db = dbPath(fs)
		fs.IntVar(&f.parallel, "parallel", 0, "runs side by side (overrides budget.parallel; default: the number of cores)")
		fs.IntVar(&f.threads, "threads", 0, "BLAS threads per run (overrides budget.threads; default: cores ÷ parallel, at least 1)")
		fs.BoolVar(&f.dryRun, "dry-run", false, "print the expanded runs and exit (the same as aexp plan)")
		fs.BoolVar(&f.failFast, "fail-fast", false, "stop the sweep at the first failed run (the others are canceled)")
		fs.BoolVar(&f.force, "force", false, "continue a sweep whose recorded spec differs from this one")
		fs.BoolVar(&f.retryFailed, "retry-failed", false, "give failed and timed-out runs a fresh set of attempts (and budget.timeout); they resume from their last epoch")
		fs.BoolVar(&f.verbose, "v", false, "verbose: also the plugins' log lines")
		fs.BoolVar(&f.plain, "plain", false, "plain log lines instead of progress bars, even on a terminal")
		f.nats = natsFlags(fs)
		f.ackWait = ackWaitFlag(fs)
	} else {
		f.dryRun = true
	}
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	paths := fs.Args()
	if len(paths) != 1 {
		fs.Usage()
		return withCode(exitUsage, fmt.Errorf("%s: want exactly one spec file, got %d", name, len(paths)))
	}
	if f.parallel < 0 {
		return withCode(exitUsage, fmt.Errorf("--parallel must be positive"))
	}
	if f.threads < 0 {
		return withCode(exitUsage, fmt.Errorf("--threads must be positive"))
	}

	var plugins map[string]string // nil: expand without validating
	if !(f.dryRun && f.noValidate) {
		var err error
		plugins, err = variant.DiscoverDefault(f.pluginDir)
		if err != nil {
			if plugins == nil {
				return err
			}
			// duplicate plugin names: the first in the search path wins; say so
			fmt.Fprintf(stderr, "aexp: warning: %v; using the first of each\n", err)
		}
	}
	// the spec's structure, expansion and params, all problems in one round
	checked, err := orchestrator.Load(ctx, paths[0], f.sets, plugins)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist):
			return withCode(exitUsage, err)
		case ctx.Err() != nil:
			return withCode(exitInterrupted, errors.New("interrupted"))
		}
		return specError(err)
	}
	plan := checked.Plan
	if f.dryRun && f.noValidate {
		return writePlan(stdout, plan, f.asJSON)
	}
	if f.dryRun {
		return writePlan(stdout, plan, f.asJSON)
	}

	db, err := store.Open(f.db())
	if err != nil {
		return err
	}
	defer db.Close()

	opts := orchestrator.Options{Parallel: f.parallel, Threads: f.threads, FailFast: f.failFast, Force: f.force,
		RetryFailed: f.retryFailed, Verbose: f.verbose}
	opts.Progress, opts.Log = sweepProgress(stderr, f.plain, f.verbose)
	if co := f.nats(); co.URL != "" {
		spec := plan.Spec
		if *f.ackWait <= 0 {
			return withCode(exitUsage, errors.New("--ack-wait must be positive"))
		}
		rem, err := cluster.NewRemote(ctx, cluster.RemoteOptions{Conn: co, ID: cluster.CoordinatorID(f.db(), spec.Name),
			AckWait: *f.ackWait, Threads: cmp.Or(f.threads, spec.Budget.Threads), Log: opts.Log})
		if err != nil {
			return err
		}
		defer rem.Close()
		opts.Executor = rem
		if f.parallel == 0 && spec.Budget.Parallel == 0 {
			opts.Parallel = natsParallel
		}
		if f.threads == 0 && spec.Budget.Threads == 0 {
			opts.Threads = 1 // recorded per run from its worker; this only quiets the cores ÷ parallel note
		}
	}
	eng := orchestrator.NewEngine(checked, db, opts)

	// The first SIGINT/SIGTERM cancels ctx (see main): the engine stops
	// scheduling, cancels the running runs and records them as canceled.
	// A second one kills every plugin process group at once and exits.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		n := 0
		for {
			select {
			case <-stopWatch:
				return
			case <-sigs:
				n++
				if n == 1 {
					fmt.Fprintln(stderr, "aexp: stopping: canceling running runs (press Ctrl-C again to kill them at once)")
					continue
				}
				fmt.Fprintln(stderr, "aexp: killing every plugin process now; the next aexp sweep reclaims the runs")
				eng.KillAll()
				os.Exit(exitInterrupted)
			}
		}
	}()

	res, err := eng.Run(ctx)
	if err != nil {
		var ce *orchestrator.ChangedSpecError
		if errors.As(err, &ce) {
			return withCode(exitUsage, err)
		}
		return err
	}
	if err := orchestrator.WriteLeaderboard(context.WithoutCancel(ctx), stdout, db, plan, res.SweepID); err != nil {
		return err
	}
	switch {
	case res.Environment != nil:
		return fmt.Errorf("stopped: %w\nThe affected runs keep their attempts; fix the cause and run the same command again", res.Environment)
	case res.Interrupted:
		return withCode(exitInterrupted, fmt.Errorf("interrupted: running runs were canceled; run the same command again to resume"))
	case res.Failed() > 0 || res.FailedFast:
		return withCode(exitRunsFailed, fmt.Errorf("%d run(s) did not finish well (failed, timed out or diverged); aexp show <run> has the details", res.Failed()))
	}
	return nil
}

// natsParallel is how many runs a sweep over NATS queues at once when
// neither --parallel nor budget.parallel says: workers take them as their
// slots free up.
const natsParallel = 256

// specError maps problems with a spec to exit status 2; other errors pass.
func specError(err error) error {
	if orchestrator.IsSpecError(err) {
		return withCode(exitUsage, err)
	}
	return err
}

func writePlan(w io.Writer, plan *orchestrator.Plan, asJSON bool) error {
	if asJSON {
		return plan.WriteJSON(w)
	}
	return plan.Write(w)
}
