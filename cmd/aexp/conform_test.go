package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aexp/aexp/internal/buildtest"
)

// conformOut runs `aexp conform args...` and returns its stdout and error.
func conformOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runConform(context.Background(), args, &out, &errOut)
	return out.String(), err
}

// Every built-in Go plugin passes `aexp conform` with its defaults.
func TestConformGoPlugins(t *testing.T) {
	bin := buildtest.Bin(t)
	plugins, _ := filepath.Glob(filepath.Join(bin, "aexp-variant-*"))
	if len(plugins) < 5 {
		t.Fatalf("built plugins: %v", plugins)
	}
	for _, p := range plugins {
		t.Run(filepath.Base(p), func(t *testing.T) {
			out, err := conformOut(t, p, "--train-limit", "128", "--test-limit", "32")
			if err != nil || !strings.Contains(out, "9 checks: 9 passed, 0 failed") {
				t.Errorf("err = %v\n%s", err, out)
			}
		})
	}
}

// A file that is not a plugin fails at launch, with the reason, exit 1.
func TestConformNotAPlugin(t *testing.T) {
	junk := filepath.Join(t.TempDir(), "aexp-variant-junk")
	os.WriteFile(junk, []byte("#!/bin/sh\necho hi\n"), 0o755)
	out, err := conformOut(t, junk)
	if exitCode(err) != exitError {
		t.Errorf("exit %d (%v), want 1", exitCode(err), err)
	}
	for _, want := range []string{"FAIL  Launch", `wrote "hi" to stdout instead of the plugin handshake line`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := conformOut(t, "no-such-plugin-anywhere"); err == nil || !strings.Contains(err.Error(), `no plugin "no-such-plugin-anywhere"`) {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := conformOut(t); exitCode(err) != exitUsage {
		t.Errorf("no argument: exit %d", exitCode(err))
	}
}
