package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMEPlugin checks the README's promise about "Write a variant in
// five minutes": its Go blocks are a complete plugin and its test. The
// blocks are written out as main.go and main_test.go and vetted (which
// compiles both), and main.go must declare what plugins/sparse/main.go does.
func TestREADMEPlugin(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "### Write a variant in five minutes")
	j := strings.Index(s, "### The SDK in detail")
	if i < 0 || j < i {
		t.Fatal("README.md: the five-minute section is missing")
	}
	var src, test []string
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(s[i:j], -1) {
		if strings.Contains(m[1], "*testing.T") {
			test = append(test, m[1])
		} else {
			src = append(src, m[1])
		}
	}
	if len(src) == 0 || len(test) == 0 {
		t.Fatalf("found %d plugin blocks and %d test blocks in the section", len(src), len(test))
	}
	dir := t.TempDir()
	mainGo, testGo := filepath.Join(dir, "main.go"), filepath.Join(dir, "main_test.go")
	if err := os.WriteFile(mainGo, []byte(strings.Join(src, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(testGo, []byte(strings.Join(test, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	// go vet type-checks the files as one package of this module.
	if out, err := exec.Command("go", "vet", mainGo, testGo).CombinedOutput(); err != nil {
		t.Fatalf("the README's blocks do not make a plugin: go vet: %v\n%s\n--- main.go:\n%s", err, out, strings.Join(src, "\n"))
	}
	if got, want := decls(t, mainGo), decls(t, "main.go"); !slices.Equal(got, want) {
		t.Errorf("the README's plugin declares %v, plugins/sparse/main.go %v", got, want)
	}
}

// decls lists a Go file's top-level declarations (types, funcs, methods, vars).
func decls(t *testing.T, path string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			name := d.Name.Name
			if d.Recv != nil {
				name = "method " + name
			}
			out = append(out, name)
		case *ast.GenDecl:
			for _, sp := range d.Specs {
				switch sp := sp.(type) {
				case *ast.TypeSpec:
					out = append(out, sp.Name.Name)
				case *ast.ValueSpec:
					for _, n := range sp.Names {
						out = append(out, n.Name)
					}
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
