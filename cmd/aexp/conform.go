package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/variant/conform"
)

const conformHelp = `Usage: aexp conform [flags] PATH|NAME

Run the conformance checks against a variant plugin: any executable, in any
language (no Go toolchain needed). The plugin is started as a sweep starts
it and checked: Describe is complete; bad parameters are rejected with an
error naming them; Train reports every epoch and a final report; the
reported and documented metrics agree; the same seed repeats the same
trajectory; cancelling stops it within a second; its checkpoint is
safetensors and Sample/Reconstruct work from it when declared; with the
resume capability it sends a training state after every epoch and a fresh
process continues exactly from one (without it, it sends none); it never
writes to stdout. Each check prints PASS or FAIL with the reasons.

NAME (no slash) is looked up like a sweep's variant: --plugin-dir,
$AEXP_PLUGIN_DIR, aexp's own directory, $PATH.

Exit status: 0 every check passed, 1 a check failed or the plugin did not
start, 2 usage.

Examples:
  aexp conform ./aexp-variant-mine
  aexp conform dense --dataset mnist --params '{"hidden": [32, 8]}'
  aexp conform bin/aexp-variant-torchdense --epochs 3

Flags:
`

func runConform(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("conform", conformHelp, stderr)
	pluginDir := fs.String("plugin-dir", "", "where to look up a plugin given by NAME (searched before $AEXP_PLUGIN_DIR, aexp's own directory and $PATH)")
	ds := fs.String("dataset", "sines", "dataset of the training runs: mnist, sines, csv:PATH, idx:PATH")
	dataDir := fs.String("data-dir", "", "MNIST's folder (default: $AEXP_MNIST_DIR, else the Go module cache)")
	epochs := fs.Int("epochs", 2, "epochs per training run (at least 2)")
	batch := fs.Int("batch-size", 32, "batch size")
	trainLimit := fs.Int("train-limit", 256, "training examples (0: all)")
	testLimit := fs.Int("test-limit", 64, "test examples (0: all)")
	seed := fs.Uint64("seed", 1, "run seed")
	params := fs.String("params", "", `the runs' parameters as a JSON object, e.g. '{"hidden": [32, 8]}' (others take their defaults)`)
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("conform", "want one plugin PATH or NAME, got %d arguments", fs.NArg())
	}
	if *epochs < 2 {
		return usageErr("conform", "--epochs %d: the checks need at least 2", *epochs)
	}
	req := variant.TrainRequest{
		Dataset: *ds, DataDir: *dataDir, Epochs: *epochs, BatchSize: *batch,
		TrainLimit: *trainLimit, TestLimit: *testLimit, Seed: *seed,
	}
	if *params != "" {
		d := json.NewDecoder(strings.NewReader(*params))
		d.UseNumber()
		if err := d.Decode(&req.Params); err != nil {
			return usageErr("conform", "--params: not a JSON object: %v", err)
		}
	}
	path, err := conformTarget(fs.Arg(0), *pluginDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "conform %s\n", path)
	s, err := conform.Start(ctx, path, req)
	if err != nil {
		printCheck(stdout, "Launch", []error{err})
		return withCode(exitError, errors.New("the plugin did not start"))
	}
	defer s.Close()
	checks := s.Checks()
	failed := 0
	for _, c := range checks {
		if err := ctx.Err(); err != nil {
			return withCode(exitInterrupted, err)
		}
		errs := c.Run()
		printCheck(stdout, c.Name, errs)
		if len(errs) > 0 {
			failed++
		}
	}
	fmt.Fprintf(stdout, "%d checks: %d passed, %d failed\n", len(checks), len(checks)-failed, failed)
	if failed > 0 {
		return withCode(exitError, fmt.Errorf("%s does not conform (%d of %d checks failed)", path, failed, len(checks)))
	}
	return nil
}

// printCheck prints one check's verdict and, indented, its reasons.
func printCheck(w io.Writer, name string, errs []error) {
	if len(errs) == 0 {
		fmt.Fprintf(w, "PASS  %s\n", name)
		return
	}
	fmt.Fprintf(w, "FAIL  %s\n", name)
	for _, e := range errs {
		for _, line := range strings.Split(strings.TrimRight(e.Error(), "\n"), "\n") {
			fmt.Fprintf(w, "      %s\n", line)
		}
	}
}

// conformTarget resolves the argument: a path to an executable, or the name
// of a discovered plugin.
func conformTarget(arg, pluginDir string) (string, error) {
	if strings.ContainsRune(arg, os.PathSeparator) {
		return arg, nil
	}
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		return arg, nil
	}
	found, err := variant.DiscoverDefault(pluginDir)
	name := strings.TrimPrefix(arg, variant.BinaryPrefix)
	if p, ok := found[name]; ok {
		return p, nil
	}
	if err != nil {
		return "", err
	}
	return "", withCode(exitError, fmt.Errorf("no plugin %q: not a file, and no aexp-variant-%s in the plugin search path (see 'aexp plugins')", arg, name))
}
