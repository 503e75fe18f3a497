// Package varianttest is the Go test API of the conformance kit for aexp
// variant plugins. Every plugin runs it from its own tests, against its real
// binary:
//
//	func TestConformance(t *testing.T) {
//		bin := varianttest.Build(t, ".") // go build this package as aexp-variant-<dir name>
//		varianttest.Run(t, bin, variant.TrainRequest{
//			Dataset: "sines", Epochs: 2, BatchSize: 32, TrainLimit: 256, TestLimit: 64, Seed: 1,
//		})
//	}
//
// The checks themselves live in package variant/conform, which `aexp
// conform PATH` runs against plugins in any language; see [conform.Start]
// for what they check. The request should be small: the kit trains about
// four times with it. Parameters it leaves out take their defaults.
package varianttest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/variant/conform"
)

// CancelDeadline is how soon Train must return after its context is
// cancelled.
const CancelDeadline = conform.CancelDeadline

// Build compiles the Go package pkg (a directory or import path, as for
// go build, relative to the test's working directory) into a temporary
// directory as aexp-variant-<name>, where name is the base name of the
// package directory, and returns the binary's path. It uses the BLAS build
// tag of the test binary. When the folder is not named after the variant,
// use [BuildAs].
func Build(t testing.TB, pkg string) string {
	t.Helper()
	dir := pkg
	if abs, err := filepath.Abs(pkg); err == nil {
		dir = abs
	}
	return BuildAs(t, pkg, filepath.Base(dir))
}

// BuildAs is [Build] with the variant's name given: the binary is
// aexp-variant-<name>, and the kit checks that Describe reports that name.
func BuildAs(t testing.TB, pkg, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), variant.BinaryPrefix+name)
	if b, err := buildtest.Command(pkg, out).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// Run runs the conformance checks against the plugin binary at path, each
// as a subtest of t. req is a small, fast training request; its Epochs
// should be at least 2.
func Run(t *testing.T, path string, req variant.TrainRequest) {
	t.Helper()
	s, err := conform.Start(context.Background(), path, req)
	if err != nil {
		t.Fatalf("launching the plugin: %v", err)
	}
	defer s.Close()
	for i, c := range s.Checks() {
		ok := t.Run(c.Name, func(t *testing.T) {
			for _, e := range c.Run() {
				t.Error(e)
			}
		})
		if i == 0 && !ok {
			t.Fatal("Describe failed; skipping the other checks")
		}
	}
}

// Check runs the same checks as [Run] without a testing.T and returns every
// failure, joined; nil means the plugin conforms.
func Check(ctx context.Context, path string, req variant.TrainRequest) error {
	return conform.Run(ctx, path, req)
}
