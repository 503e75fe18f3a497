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

const versionUsage = `Usage: aexp version

Print the aexp version (the git commit it was built from, "-dirty" when the
tree had changes), the Go version, the platform and the BLAS backend the nn
engine uses (openblas when built with -tags openblas, else gonum).

Examples:
  aexp version
  aexp version | grep -q blas=openblas || echo "slow build: run make build"
`

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", versionUsage, stderr)
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("version", "takes no arguments, got %q", fs.Arg(0))
	}
	fmt.Fprintf(stdout, "aexp %s (%s, %s/%s, blas=%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, nn.Backend())
	return nil
}
