package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aexp/aexp/cluster"
	"github.com/aexp/aexp/variant"
)

const workerHelp = `Usage: aexp worker --nats URL [flags]

Train runs of sweeps started elsewhere with aexp sweep --nats: take runs of
the variants found here from the NATS JetStream queue, up to --parallel at
once, each in its own plugin process (the same run lifecycle as a local
sweep), and stream their epochs, logs and artifacts back to the sweep. A
worker never opens a store; it needs the plugins (and MNIST in the module
cache for dataset = "mnist"); csv:/idx: files come from the coordinator.

A worker only takes runs of the plugin builds it holds (same variant and
binary hash as the sweep validated). Ctrl-C stops its runs; JetStream hands
them to another worker, where they resume from their last epoch.

Examples:
  aexp worker --nats nats://10.0.0.5:4222
  aexp worker --nats nats://10.0.0.5:4222 --parallel 2 --threads 1
  AEXP_NATS_URL=tls://nats.lab:4222 aexp worker --nats-creds worker.creds --nats-ca ca.pem

Flags:
`

func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("worker", workerHelp, stderr)
	conn := natsFlags(fs)
	ackWait := ackWaitFlag(fs)
	pluginDir := fs.String("plugin-dir", "", "directory holding aexp-variant-* plugins (searched before $AEXP_PLUGIN_DIR, aexp's own directory and $PATH)")
	parallel := fs.Int("parallel", 0, "runs at once (default: the number of cores)")
	threads := fs.Int("threads", 0, "BLAS threads per run (default: the sweep's budget.threads / --threads when set, else cores ÷ parallel)")
	cache := fs.String("cache-dir", "", "where dataset files fetched from coordinators are kept (default: the user cache directory)")
	verbose := fs.Bool("v", false, "verbose: also the plugins' stderr")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return withCode(exitUsage, fmt.Errorf("worker: unexpected arguments %v", fs.Args()))
	}
	if *parallel < 0 || *threads < 0 || *ackWait <= 0 {
		return withCode(exitUsage, errors.New("--parallel, --threads and --ack-wait must be positive"))
	}
	co := conn()
	if co.URL == "" {
		return withCode(exitUsage, errors.New("worker: give --nats URL or set "+cluster.URLEnv))
	}
	plugins, err := variant.DiscoverDefault(*pluginDir)
	if err != nil {
		if plugins == nil {
			return err
		}
		fmt.Fprintf(stderr, "aexp: warning: %v; using the first of each\n", err)
	}
	w, err := cluster.NewWorker(ctx, cluster.WorkerOptions{Conn: co, Plugins: plugins, Slots: *parallel,
		Threads: *threads, AckWait: *ackWait, CacheDir: *cache, Log: stderr, Verbose: *verbose})
	if err != nil {
		if ctx.Err() != nil {
			return withCode(exitInterrupted, errors.New("interrupted"))
		}
		return err
	}
	fmt.Fprintln(stdout, w.ID())
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	if err := w.Run(ctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "aexp: worker stopped; its runs went back to the queue")
	}
	return nil
}
