package main

import (
	"context"
	"errors"
	"io"
)

// runReconstruct is being built; see the issue tracker.
func runReconstruct(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("reconstruct: not built yet")
}
