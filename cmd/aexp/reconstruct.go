package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/viz"
)

const reconstructUsage = `Usage: aexp reconstruct RUN [-o recon.png] [-n N] [flags]

Draw the classic autoencoder figure for a run: test images on top, the
run's reconstructions below. By default the picture comes from the
reconstructions stored with the run (the first 16 test inputs); with -n
larger than that, --data, or --checkpoint, the run's plugin reconstructs
the first N inputs with the stored checkpoint. Sequence data (e.g. the rnn
variant on sines) is drawn as line plots. With -o FILE.safetensors the raw
tensors ("input", "output") are written instead.

Examples:
  aexp reconstruct 17 -o recon.png
  aexp reconstruct 17 -n 50 --cols 10 -o recon50.png
  aexp reconstruct 17 --data idx:my-digits.idx -o mine.png
  aexp reconstruct 17 --checkpoint -o fresh.png     # ignore the stored pictures, ask the plugin
  aexp reconstruct 17 -o recon.safetensors          # the raw tensors "input" and "output"

Flags:
`

// maxSequencePanels bounds the line charts of one sequence picture.
const maxSequencePanels = 8

// runReconstruct implements `aexp reconstruct`.
func runReconstruct(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reconstruct", reconstructUsage, stderr)
	dbFile := dbPath(fs)
	out := fs.String("o", "", "output file: .png or .safetensors (default recon-run-RUN.png)")
	n := fs.Int("n", 0, "number of test inputs (default: all stored, else 16)")
	cols := fs.Int("cols", 0, "images per row (default min(N, 10))")
	scale := fs.Int("scale", 2, "pixel scale of the grid")
	data := fs.String("data", "", "reconstruct this dataset's test inputs instead (mnist, sines, csv:PATH, idx:PATH)")
	fromCkpt := fs.Bool("checkpoint", false, "always reconstruct through the plugin with the stored checkpoint")
	pluginDir := fs.String("plugin-dir", "", "look for plugins here first (then $AEXP_PLUGIN_DIR, next to aexp, $PATH)")
	verbose := fs.Bool("v", false, "show the plugin's log on stderr")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	id, err := oneRunArg("reconstruct", fs.Args())
	if err != nil {
		return err
	}
	if *n < 0 || *n > 10000 {
		return usageErr("reconstruct", "-n %d: want 1 to 10000", *n)
	}
	if *scale < 1 || *scale > 16 || *cols < 0 {
		return usageErr("reconstruct", "--scale must be 1 to 16 and --cols not negative")
	}
	if *out == "" {
		*out = fmt.Sprintf("recon-run-%d.png", id)
	}
	db, err := openReadOnly(dbFile())
	if err != nil {
		return err
	}
	defer db.Close()
	runs, err := loadVizRuns(ctx, db, []int64{id}, true)
	if err != nil {
		return err
	}
	vr := runs[0]

	// The stored reconstructions, unless the plugin must make new ones.
	var a viz.Artifact
	var in, outT viz.Tensor
	source := ""
	stored, haveStored := viz.Latest(vr, variant.KindReconstruction)
	usePlugin := *fromCkpt || *data != "" || !haveStored
	if !usePlugin {
		in, outT, err = viz.Reconstruction(stored)
		if err != nil {
			return fmt.Errorf("reconstruct: run %d: %w", id, err)
		}
		if *n > in.Len() {
			fmt.Fprintf(stderr, "run %d stored %d reconstructions; asking its plugin for %d\n", id, in.Len(), *n)
			usePlugin = true
		} else {
			a = stored
			source = fmt.Sprintf("stored at epoch %d", stored.Epoch)
		}
	}
	if usePlugin {
		r, ckpt, err := runWithCheckpoint(ctx, db, id)
		if err != nil {
			return fmt.Errorf("reconstruct: %w", err)
		}
		p, info, err := launchRunPlugin(ctx, "reconstruct", r, *pluginDir, stderr, *verbose)
		if err != nil {
			return err
		}
		defer p.Kill()
		if !slices.Contains(info.Capabilities, variant.CapReconstruct) {
			return fmt.Errorf("reconstruct: the %s plugin cannot reconstruct from a checkpoint (no %q capability)", r.Variant, variant.CapReconstruct)
		}
		params, err := runParamsFor(info, r)
		if err != nil {
			return fmt.Errorf("reconstruct: %w", err)
		}
		ds := r.Dataset
		if *data != "" {
			ds = *data
		}
		dataDir := ""
		if ds == "mnist" {
			if dataDir, err = dataset.MNISTDir(); err != nil {
				return fmt.Errorf("reconstruct: %w", err)
			}
		}
		want := *n
		if want == 0 {
			want = 16
		}
		va, err := p.Reconstruct(ctx, variant.ReconstructRequest{Params: params, Checkpoint: ckpt, Dataset: ds, DataDir: dataDir, N: want})
		if errors.Is(err, variant.ErrUnimplemented) {
			return fmt.Errorf("reconstruct: the %s plugin cannot reconstruct from a checkpoint", r.Variant)
		}
		if err != nil {
			return fmt.Errorf("reconstruct: run %d (%s plugin): %w", id, r.Variant, err)
		}
		a = viz.Artifact{Kind: va.Kind, Name: va.Name, Meta: va.Meta, Data: va.Data}
		if in, outT, err = viz.Reconstruction(a); err != nil {
			return fmt.Errorf("reconstruct: the %s plugin returned: %w", r.Variant, err)
		}
		source = "by the " + r.Variant + " plugin from the stored checkpoint, on " + ds
	}

	if strings.HasSuffix(strings.ToLower(*out), ".safetensors") {
		if err := writeFileAtomically(*out, func(w io.Writer) error { _, err := w.Write(a.Data); return err }); err != nil {
			return fmt.Errorf("reconstruct: %w", err)
		}
		fmt.Fprintf(stderr, "wrote %s: %d reconstructions of run %d (%s)\n", *out, in.Len(), id, source)
		return nil
	}
	count := in.Len()
	if *n > 0 {
		count = min(*n, count)
	}
	var png []byte
	shown := ""
	if h, w, isImage := viz.ImageShape(in, a.Meta); isImage {
		img, _, err := viz.ReconGrid(in, outT, h, w, viz.GridOptions{N: count, Cols: *cols, Scale: *scale})
		if err != nil {
			return fmt.Errorf("reconstruct: %w", err)
		}
		if png, err = viz.EncodePNG(img); err != nil {
			return err
		}
	} else {
		title := fmt.Sprintf("run %d (%s): test sequences (solid) and reconstructions (dashed)", id, vr.Variant)
		if count > maxSequencePanels {
			shown = fmt.Sprintf(", the first %d drawn", maxSequencePanels)
		}
		if png, err = viz.SequencePlot(title, in, outT, viz.ExampleDims(in, a.Meta), min(count, maxSequencePanels)); err != nil {
			return fmt.Errorf("reconstruct: %w", err)
		}
	}
	if err := writeFileAtomically(*out, func(w io.Writer) error { _, err := w.Write(png); return err }); err != nil {
		return fmt.Errorf("reconstruct: %w", err)
	}
	fmt.Fprintf(stderr, "wrote %s: %d test inputs and their reconstructions by run %d (%s%s); MSE of these: %.4g\n",
		*out, count, id, source, shown, reconMSE(reconHead(in, count), reconHead(outT, count)))
	return nil
}

func reconHead(t viz.Tensor, n int) []float32 {
	if t.Len() == 0 {
		return nil
	}
	return t.Data[:n*len(t.Data)/t.Len()]
}

func reconMSE(a, b []float32) float64 {
	if len(a) == 0 {
		return 0
	}
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s / float64(len(a))
}
