package main

import (
	"context"
	"errors"
	"io"
)

// runPlugins is being built; see the issue tracker.
func runPlugins(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("plugins: not built yet")
}
