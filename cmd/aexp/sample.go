package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"slices"
	"strings"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/viz"
)

const sampleUsage = `Usage: aexp sample RUN [-n 64] [-o samples.png] [flags]

Draw new data from a generative run (e.g. a vae run): codes from N(0, I)
decoded by the run's stored checkpoint, through its variant plugin. The
picture is a grid of the samples; with -o FILE.safetensors the raw samples
are written instead (tensor "sample", [n, shape...]).

Examples:
  aexp sample 21 -n 64 -o samples.png
  aexp sample 21 -n 16 --seed 7 -o more.png
  aexp sample 21 -n 1000 -o samples.safetensors

Flags:
`

// runSample implements `aexp sample`.
func runSample(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sample", sampleUsage, stderr)
	dbFile := dbPath(fs)
	n := fs.Int("n", 64, "number of samples")
	out := fs.String("o", "", "output file: .png (a grid) or .safetensors (default samples-run-RUN.png)")
	seed := fs.Uint64("seed", 0, "seed of the N(0, I) draws")
	cols := fs.Int("cols", 0, "samples per row (default: a square grid)")
	scale := fs.Int("scale", 2, "pixel scale of the grid")
	pluginDir := fs.String("plugin-dir", "", "look for plugins here first (then $AEXP_PLUGIN_DIR, next to aexp, $PATH)")
	verbose := fs.Bool("v", false, "show the plugin's log on stderr")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	id, err := oneRunArg("sample", fs.Args())
	if err != nil {
		return err
	}
	if *n < 1 || *n > 100000 {
		return usageErr("sample", "-n %d: want 1 to 100000", *n)
	}
	if *scale < 1 || *scale > 16 || *cols < 0 {
		return usageErr("sample", "--scale must be 1 to 16 and --cols not negative")
	}
	if *out == "" {
		*out = fmt.Sprintf("samples-run-%d.png", id)
	}
	db, err := openReadOnly(dbFile())
	if err != nil {
		return err
	}
	defer db.Close()
	r, ckpt, err := runWithCheckpoint(ctx, db, id)
	if err != nil {
		return err
	}
	p, info, err := launchRunPlugin(ctx, "sample", r, *pluginDir, stderr, *verbose)
	if err != nil {
		return err
	}
	defer p.Kill()
	if !slices.Contains(info.Capabilities, variant.CapSample) {
		return notGenerative(r, info)
	}
	params, err := runParamsFor(info, r)
	if err != nil {
		return err
	}
	a, err := p.Sample(ctx, variant.SampleRequest{Params: params, Checkpoint: ckpt, N: *n, Seed: *seed})
	if errors.Is(err, variant.ErrUnimplemented) {
		return notGenerative(r, info)
	}
	if err != nil {
		return fmt.Errorf("sample: run %d (%s plugin): %w", id, r.Variant, err)
	}
	if strings.HasSuffix(strings.ToLower(*out), ".safetensors") {
		if err := writeFileAtomically(*out, func(w io.Writer) error { _, err := w.Write(a.Data); return err }); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		fmt.Fprintf(stderr, "wrote %s: %d samples of run %d (seed %d)\n", *out, *n, id, *seed)
		return nil
	}
	ts, _, err := viz.ReadSafetensors(a.Data)
	if err != nil {
		return fmt.Errorf("sample: the %s plugin returned unreadable samples: %w", r.Variant, err)
	}
	s, ok := ts["sample"]
	if !ok {
		return fmt.Errorf("sample: the %s plugin returned no tensor \"sample\"", r.Variant)
	}
	h, w, isImage := viz.ImageShape(s, a.Meta)
	if !isImage {
		return fmt.Errorf("sample: samples of shape %v are not images; write them with -o FILE.safetensors", s.Shape)
	}
	c := *cols
	if c == 0 {
		c = viz.SquareCols(s.Len())
	}
	img, _, err := viz.SampleGrid(s, h, w, viz.GridOptions{N: s.Len(), Cols: c, Scale: *scale})
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if err := writePNG(*out, img); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	fmt.Fprintf(stderr, "wrote %s: %d samples of run %d (seed %d)\n", *out, s.Len(), id, *seed)
	return nil
}

func notGenerative(r store.Run, info variant.Info) error {
	return fmt.Errorf("sample: run %d is a %s run, and %s is not a generative variant (its plugin has no %q capability); "+
		"sample from a run of a generative variant such as vae (`aexp plugins` lists each variant's capabilities)",
		r.ID, r.Variant, info.Name, variant.CapSample)
}

// oneRunArg parses the single RUN argument of sample and reconstruct.
func oneRunArg(cmd string, args []string) (int64, error) {
	if len(args) != 1 {
		return 0, usageErr(cmd, "want exactly one run id, got %d arguments", len(args))
	}
	return runIDArg(cmd, args[0])
}

// runIDArg parses one RUN argument with parseRunID; a bad one is a usage error.
func runIDArg(cmd, s string) (int64, error) {
	id, err := parseRunID(s)
	if err != nil {
		return 0, usageErr(cmd, "%q is not a run id", s)
	}
	return id, nil
}

// runWithCheckpoint reads a run and its stored checkpoint (the newest kept).
func runWithCheckpoint(ctx context.Context, db *store.DB, id int64) (store.Run, []byte, error) {
	r, err := db.GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, nil, fmt.Errorf("run %d not found in %s (aexp runs lists the runs)", id, db.Path())
	}
	if err != nil {
		return r, nil, err
	}
	_, ckpt, err := db.Checkpoint(ctx, id, 0)
	if errors.Is(err, store.ErrNotFound) {
		why := ""
		if r.Status != store.StatusDone {
			why = fmt.Sprintf(" (it is %s)", r.Status)
		}
		return r, nil, fmt.Errorf("run %d has no stored checkpoint%s, so it cannot be used for new pictures", id, why)
	}
	return r, ckpt, err
}

// launchRunPlugin finds and starts the plugin of r's variant and describes it.
func launchRunPlugin(ctx context.Context, cmd string, r store.Run, pluginDir string, stderr io.Writer, verbose bool) (*variant.Plugin, variant.Info, error) {
	found, err := variant.DiscoverDefault(pluginDir)
	if err != nil {
		return nil, variant.Info{}, fmt.Errorf("%s: %w", cmd, err)
	}
	path, ok := found[r.Variant]
	if !ok {
		return nil, variant.Info{}, fmt.Errorf("%s: run %d needs the %s plugin, but no %s%s was found (looked in --plugin-dir, $%s, next to aexp and on $PATH); build it with `make build` or pass --plugin-dir",
			cmd, r.ID, r.Variant, variant.BinaryPrefix, r.Variant, variant.PluginDirEnv)
	}
	opts := variant.LaunchOptions{}
	if verbose {
		opts.Stderr = stderr
	}
	p, err := variant.Launch(ctx, path, opts)
	if err != nil {
		return nil, variant.Info{}, fmt.Errorf("%s: starting %s: %w", cmd, path, err)
	}
	info, err := p.Describe(ctx)
	if err != nil {
		p.Kill()
		return nil, variant.Info{}, fmt.Errorf("%s: %s: %w", cmd, path, err)
	}
	return p, info, nil
}

// runParamsFor completes a run's stored params with the plugin's defaults
// (the store keeps what the run was given).
func runParamsFor(info variant.Info, r store.Run) (map[string]any, error) {
	params, err := variant.Validate(info.Params, r.Params)
	if err != nil {
		return nil, fmt.Errorf("run %d's params do not fit the installed %s plugin (version %s; the run used %s): %w",
			r.ID, r.Variant, info.Version, orUnknown(r.PluginVersion), err)
	}
	return params, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown version"
	}
	return s
}

// writePNG encodes img into path (atomically).
func writePNG(path string, img image.Image) error {
	b, err := viz.EncodePNG(img)
	if err != nil {
		return err
	}
	return writeFileAtomically(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}
