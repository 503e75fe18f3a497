package main

import (
	"context"
	"errors"
	"io"
)

// runSweep is being built; see the issue tracker.
func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("sweep: not built yet")
}

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("plan: not built yet")
}
