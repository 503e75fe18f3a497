package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/aexp/aexp/nn"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "aexp %s (%s, %s/%s, blas=%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, nn.Backend())
	return nil
}
