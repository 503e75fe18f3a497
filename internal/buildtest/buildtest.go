// Package buildtest builds the project's real binaries for tests — the aexp
// CLI and every variant plugin, with the same BLAS build tag as the test —
// and watches them run: their output, their process groups.
package buildtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aexp/aexp/nn"
)

var (
	once sync.Once
	dir  string
	err  error
)

// Bin builds bin/aexp and bin/aexp-variant-<name> for every plugins/<name>
// into one temporary directory per test process and returns its path.
func Bin(t testing.TB) string {
	t.Helper()
	once.Do(func() { dir, err = build() })
	if err != nil {
		t.Fatalf("building binaries: %v", err)
	}
	return dir
}

// Root returns the module root directory.
func Root() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// Tags returns the go build flags matching this test binary's BLAS backend.
func Tags() []string {
	if nn.Backend() == "openblas" {
		return []string{"-tags", "openblas"}
	}
	return nil
}

// Build compiles the package at pkgDir (relative to the module root) to out.
func Build(pkgDir, out string) error {
	root, err := Root()
	if err != nil {
		return err
	}
	cmd := Command("./"+pkgDir, out)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkgDir, err, b)
	}
	return nil
}

// Command returns `go build -o out pkg` with this test binary's BLAS tag and
// the matching cgo flags; the caller sets Dir when pkg is relative.
func Command(pkg, out string) *exec.Cmd {
	args := append([]string{"build"}, Tags()...)
	args = append(args, "-o", out, pkg)
	cmd := exec.Command("go", args...)
	if nn.Backend() == "openblas" {
		cmd.Env = append(os.Environ(), "CGO_LDFLAGS=-lopenblas")
	}
	return cmd
}

func build() (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	d, err := os.MkdirTemp("", "aexp-bin-")
	if err != nil {
		return "", err
	}
	jobs := map[string]string{"cmd/aexp": filepath.Join(d, "aexp")}
	plugins, _ := filepath.Glob(filepath.Join(root, "plugins", "*", "main.go"))
	for _, m := range plugins {
		name := filepath.Base(filepath.Dir(m))
		jobs["plugins/"+name] = filepath.Join(d, "aexp-variant-"+name)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(jobs))
	for pkg, out := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Build(pkg, out); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		return "", e
	}
	return d, nil
}
