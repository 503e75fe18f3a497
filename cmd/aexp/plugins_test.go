package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aexp/aexp/internal/buildtest"
)

func TestPluginsCommand(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	if err := buildtest.Build("internal/testplugin", filepath.Join(dir, "aexp-variant-toy")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "aexp-variant-junk"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	t.Setenv("PATH", "/nonexistent")
	t.Setenv("AEXP_PLUGIN_DIR", "")

	var out, errOut bytes.Buffer
	err := runPlugins(context.Background(), []string{"--plugin-dir", dir, "--json"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 plugins do not work") {
		t.Fatalf("err = %v", err)
	}
	var reports []pluginReport
	if err := json.Unmarshal(out.Bytes(), &reports); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(reports) != 2 || reports[0].Name != "junk" || reports[1].Name != "toy" {
		t.Fatalf("%+v", reports)
	}
	if !strings.Contains(reports[0].Error, `wrote "hi" to stdout`) {
		t.Errorf("junk: %q", reports[0].Error)
	}
	toy := reports[1]
	if toy.Error != "" || toy.Version != "0.1.0" || len(toy.Params) != 13 || len(toy.Capabilities) != 3 {
		t.Errorf("toy: %+v", toy)
	}
	if p := toy.Params[0]; p.Name != "lr" || p.Type != "float" || p.Default != 0.5 || *p.Max != 10 || p.Doc == "" {
		t.Errorf("lr: %+v", p)
	}

	// Text form, one plugin by name.
	out.Reset()
	if err := runPlugins(context.Background(), []string{"--plugin-dir", dir, "toy"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"toy 0.1.0", "capabilities: sample, reconstruct", `mode           string  "toy"    toy|fancy`, "toy_metric  minimize"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// The same name in two directories: an error naming both paths.
	os.Remove(filepath.Join(dir, "aexp-variant-junk"))
	b, _ := os.ReadFile(filepath.Join(dir, "aexp-variant-toy"))
	os.WriteFile(filepath.Join(other, "aexp-variant-toy"), b, 0o755)
	t.Setenv("AEXP_PLUGIN_DIR", other)
	err = runPlugins(context.Background(), []string{"--plugin-dir", dir}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "aexp-variant-toy")) || !strings.Contains(err.Error(), filepath.Join(other, "aexp-variant-toy")) {
		t.Fatalf("duplicate: %v", err)
	}
}
