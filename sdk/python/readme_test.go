package python_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aexp/aexp/internal/buildtest"
)

// TestREADMEPythonPlugin checks the README's "Write a variant in Python":
// its Python block is a complete plugin that passes `aexp conform` with
// the SDK installed as the section says (on PYTHONPATH).
func TestREADMEPythonPlugin(t *testing.T) {
	needPython(t)
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "### Write a variant in Python")
	j := strings.Index(s, "### The protocol, for plugins in other languages")
	if i < 0 || j < i {
		t.Fatal("README.md: the Python section is missing")
	}
	m := regexp.MustCompile("(?s)```python\n(.*?)```").FindStringSubmatch(s[i:j])
	if m == nil || !strings.HasPrefix(m[1], "#!/usr/bin/python3\n") {
		t.Fatal("the Python section has no complete plugin (a ```python block starting with #!/usr/bin/python3)")
	}
	dir := t.TempDir()
	plugin := filepath.Join(dir, "aexp-variant-linear")
	if err := os.WriteFile(plugin, []byte(m[1]), 0o755); err != nil {
		t.Fatal(err)
	}
	sdk, _ := filepath.Abs(".")
	t.Setenv("PYTHONPATH", sdk)
	e := &env{t: t, bin: buildtest.Binaries(t, map[string]string{"cmd/aexp": "aexp"}), dir: dir}
	if out := e.must("conform", "--dataset", "mnist", "--train-limit", "500", "--test-limit", "100", plugin); !strings.Contains(out, "9 checks: 9 passed, 0 failed") {
		t.Errorf("aexp conform on the README's plugin:\n%s", out)
	}
}
