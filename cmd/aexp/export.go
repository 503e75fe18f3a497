package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/viz"
)

const exportUsage = `Usage: aexp export [flags] RUN -o FILE

Write a run's stored checkpoint to FILE. Checkpoints are safetensors files
(readable by PyTorch's safetensors.torch.load_file and numpy's
safetensors.numpy.load_file). Which checkpoints a run keeps is the spec's
[checkpoints] keep: "last" (default), "best" or "all"; without --epoch the
newest kept one is written (with keep = "best", the best one). 'aexp show
RUN' lists them under artifacts. The file is written atomically; "-o -"
writes to stdout.

Examples:
  aexp export 21 -o model.safetensors
  aexp export 21 --epoch 3 -o epoch3.safetensors    # needs keep = "all"
  aexp export 21 -o - | python3 -c 'import sys; from safetensors.numpy import load; print(load(sys.stdin.buffer.read()).keys())'

Exit codes: 0 ok, 1 error (no such run, no checkpoint), 2 bad flags.

Flags:
`

// runExport implements `aexp export`.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", exportUsage, stderr)
	db := dbPath(fs)
	out := fs.String("o", "", "output file (required; - for stdout)")
	epoch := fs.Int("epoch", 0, "the checkpoint of this epoch (default: the newest kept one)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("export", "want exactly one RUN id, got %d arguments", fs.NArg())
	}
	id, err := parseRunID(fs.Arg(0))
	if err != nil {
		return usageErr("export", "%v", err)
	}
	if *out == "" {
		return usageErr("export", "-o FILE is required")
	}
	if *epoch < 0 {
		return usageErr("export", "--epoch %d: want a positive epoch", *epoch)
	}
	st, err := openReadOnly(db())
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := st.GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("export: no run %d in %s (list runs with 'aexp runs')", id, st.Path())
	}
	if err != nil {
		return err
	}
	info, data, err := st.Checkpoint(ctx, id, *epoch)
	if errors.Is(err, store.ErrNotFound) {
		if *epoch > 0 {
			return fmt.Errorf("export: %w", err)
		}
		return fmt.Errorf("export: run %d (%s, %s) has no stored checkpoint; a run stores one when its plugin sends one", id, r.Variant, r.Status)
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if *out == "-" {
		_, err := stdout.Write(data)
		return err
	}
	if err := writeFileAtomic(*out, data); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	obj := ""
	if info.Objective != nil {
		obj = fmt.Sprintf(", objective %s", metricText(*info.Objective))
	}
	fmt.Fprintf(stderr, "wrote %s: run %d %s checkpoint of epoch %d%s, %s (%s), sha256 %s\n",
		*out, id, r.Variant, info.Epoch, obj, viz.FormatBytes(info.Size), orDash(info.Format), info.SHA256)
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so path never holds a partial file.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
