package orchestrator_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/internal/buildtest"
)

// needDense builds the real dense plugin and returns its folder, for
// --plugin-dir (the test plugin's folder stays as the other tests expect
// it); a missing MNIST fails the test with what to run.
func needDense(t testing.TB) string {
	t.Helper()
	if _, err := dataset.MNISTDir(); err != nil {
		t.Fatalf("no MNIST (make test fetches it with `make mnist`): %v", err)
	}
	bins(t) // aexp too, before any timing starts
	return buildtest.Binaries(t, map[string]string{"plugins/dense": "aexp-variant-dense"})
}

// TestDenseMNISTEndToEnd: the walking skeleton's sweep path on real data.
func TestDenseMNISTEndToEnd(t *testing.T) {
	t.Parallel()
	plugins := needDense(t)
	dir := t.TempDir()
	spec := writeSpec(t, dir, "dense.toml", `name = "dense-mnist"
variant = "dense"
dataset = "mnist"
[budget]
epochs = 2
batch_size = 64
parallel = 2
train_limit = 1000
test_limit = 200
[params]
hidden = [[64, 8], [64, 16]]
lr = 3e-3
[checkpoints]
keep = "best"
`)
	r := run(t, dir, "sweep", "--plugin-dir", plugins, spec)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	db := openDB(t, dir)
	st := statuses(t, db)
	if count(st, "done") != 2 {
		t.Fatalf("statuses %v", st)
	}
	for id := range st {
		var l1, l2 float64
		db.QueryRow(`SELECT value FROM metrics WHERE run_id = ? AND key = 'train_loss' AND epoch = 1`, id).Scan(&l1)
		db.QueryRow(`SELECT value FROM metrics WHERE run_id = ? AND key = 'train_loss' AND epoch = 2`, id).Scan(&l2)
		if !(l2 < l1) || l1 <= 0 {
			t.Errorf("run %d: train_loss %g then %g: not decreasing", id, l1, l2)
		}
		var mse, pca float64
		db.QueryRow(`SELECT value FROM metrics WHERE run_id = ? AND key = 'test_mse'`, id).Scan(&mse)
		db.QueryRow(`SELECT value FROM metrics WHERE run_id = ? AND key = 'pca_mse'`, id).Scan(&pca)
		if !(mse > 0 && mse < 0.2 && pca > 0) {
			t.Errorf("run %d: test_mse %g, pca_mse %g", id, mse, pca)
		}
		var data []byte
		if err := db.QueryRow(`SELECT bytes FROM artifacts WHERE run_id = ? AND kind = 'reconstruction'`, id).Scan(&data); err != nil {
			t.Errorf("run %d: no reconstruction: %v", id, err)
			continue
		}
		in, out := tensorShape(t, data, "input"), tensorShape(t, data, "output")
		if fmt.Sprint(in) != fmt.Sprint(out) || len(in) < 2 || in[len(in)-1]*in[len(in)-2]%784 != 0 && in[len(in)-1] != 784 {
			t.Errorf("run %d: reconstruction shapes input %v, output %v", id, in, out)
		}
		var n int
		db.QueryRow(`SELECT count(*) FROM artifacts WHERE run_id = ? AND kind = 'checkpoint'`, id).Scan(&n)
		if n != 1 {
			t.Errorf("run %d: %d checkpoints, want 1 (keep = best)", id, n)
		}
	}
	if !strings.Contains(r.stdout, "sweep dense-mnist: 2 done") {
		t.Errorf("leaderboard:\n%s", r.stdout)
	}
}

func tensorShape(t testing.TB, b []byte, name string) []int {
	t.Helper()
	if len(b) < 8 {
		t.Fatal("safetensors too short")
	}
	n := binary.LittleEndian.Uint64(b)
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	var ti struct {
		Shape []int `json:"shape"`
	}
	json.Unmarshal(hdr[name], &ti)
	return ti.Shape
}

// BenchmarkSweepParallel runs the same 4-run dense sweep on MNIST with
// parallel = 1 and parallel = 2, first with one BLAS thread per run
// (threads=1: the pool's own scaling), then with the default share of the
// cores (threads=auto: a lone run gets both cores of a 2-core machine, so
// it is already faster and the side-by-side gain is smaller). The README
// reports the ratios:
//
//	CGO_LDFLAGS=-lopenblas go test -tags openblas ./orchestrator -run XXX -bench SweepParallel -benchtime 1x -count 3
func BenchmarkSweepParallel(b *testing.B) {
	plugins := needDense(b)
	spec := `name = "bench"
variant = "dense"
dataset = "mnist"
[budget]
epochs = 3
batch_size = 128
train_limit = 10000
test_limit = 1000
[params]
hidden = [[256, 32]]
lr = [1e-3, 2e-3, 3e-3, 4e-3]
`
	for _, threads := range []int{1, 0} {
		for _, par := range []int{1, 2} {
			name := fmt.Sprintf("threads=%d/parallel=%d", threads, par)
			if threads == 0 {
				name = fmt.Sprintf("threads=auto/parallel=%d", par)
			}
			b.Run(name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					dir := b.TempDir()
					writeSpec(b, dir, "bench.toml", spec)
					b.StartTimer()
					cmd := aexp(b, dir, "sweep", "--plugin-dir", plugins, "--parallel", fmt.Sprint(par), "--threads", fmt.Sprint(threads), "bench.toml")
					var errb bytes.Buffer
					cmd.Stderr = &errb
					if err := cmd.Run(); err != nil {
						b.Fatalf("%v\n%s", err, errb.String())
					}
				}
			})
		}
	}
}
