package main

import (
	"context"
	"errors"
	"io"
)

// runShow is being built; see the issue tracker.
func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("show: not built yet")
}
