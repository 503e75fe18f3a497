package main

import (
	"context"
	"errors"
	"io"
)

// runExport is being built; see the issue tracker.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("export: not built yet")
}
