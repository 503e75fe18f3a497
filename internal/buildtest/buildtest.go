// Package buildtest builds the project's real binaries for tests — the aexp
// CLI and every variant plugin, with the same BLAS build tag as the test —
// and watches them run: their output, their process groups.
package buildtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aexp/aexp/nn"
)

// Bin builds bin/aexp and bin/aexp-variant-<name> for every plugins/<name>
// into one temporary directory per test process and returns its path.
func Bin(t testing.TB) string {
	t.Helper()
	bins := map[string]string{"cmd/aexp": "aexp"}
	if root, err := Root(); err == nil {
		plugins, _ := filepath.Glob(filepath.Join(root, "plugins", "*", "main.go"))
		for _, m := range plugins {
			name := filepath.Base(filepath.Dir(m))
			bins["plugins/"+name] = "aexp-variant-" + name
		}
	}
	return Binaries(t, bins)
}

var (
	mu    sync.Mutex
	built = map[string]*buildOnce{}
)

type buildOnce struct {
	once sync.Once
	dir  string
	err  error
}

// Binaries builds each package (a folder relative to the module root) to a
// binary of the given name, side by side, into a temporary directory whose
// path it returns. The same set is built once per test process.
func Binaries(t testing.TB, bins map[string]string) string {
	t.Helper()
	key := fmt.Sprint(bins) // fmt prints maps sorted by key
	mu.Lock()
	b := built[key]
	if b == nil {
		b = &buildOnce{}
		built[key] = b
	}
	mu.Unlock()
	b.once.Do(func() { b.dir, b.err = build(bins) })
	if b.err != nil {
		t.Fatalf("building binaries: %v", b.err)
	}
	return b.dir
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

func build(bins map[string]string) (string, error) {
	d, err := os.MkdirTemp("", "aexp-bin-")
	if err != nil {
		return "", err
	}
	var wg sync.WaitGroup
	errs := make([]error, 0, len(bins))
	var emu sync.Mutex
	for pkg, name := range bins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Build(pkg, filepath.Join(d, name)); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	return d, errors.Join(errs...)
}
