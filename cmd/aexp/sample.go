package main

import (
	"context"
	"errors"
	"io"
)

// runSample is being built; see the issue tracker.
func runSample(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("sample: not built yet")
}
