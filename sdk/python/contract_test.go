// Package python_test checks the Python SDK (aexp_variant) and the PyTorch
// example plugin against the Go side: the data contract, `aexp conform`,
// a sweep mixing Python and Go variants, and the run lifecycle (cancel,
// timeout, SIGKILL) of a Python plugin.
package python_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aexp/aexp/dataset"
)

// python is Debian's interpreter, which has grpcio, protobuf and numpy.
const python = "/usr/bin/python3"

func needPython(t *testing.T, modules ...string) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skip("no " + python)
	}
	imp := "import grpc, google.protobuf, numpy, cryptography"
	for _, m := range modules {
		imp += ", " + m
	}
	if out, err := exec.Command(python, "-c", imp).CombinedOutput(); err != nil {
		t.Skipf("%s cannot %q (apt-get install python3-grpcio python3-protobuf python3-numpy python3-cryptography python3-torch): %s", python, imp, out)
	}
}

// digest hashes a set's float32 values (little-endian) and labels, the way
// contractDigests.py hashes numpy arrays.
func digest(s *dataset.Set) string {
	h := sha256.New()
	buf := make([]byte, 4)
	for _, v := range s.Range(nil, 0, s.Len()) {
		binary.LittleEndian.PutUint32(buf, math.Float32bits(v))
		h.Write(buf)
	}
	if s.HasLabels() {
		for i := range s.Len() {
			binary.LittleEndian.PutUint32(buf, uint32(s.Label(i)))
			h.Write(buf)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

const contractDigests = `
import hashlib, json, sys
import numpy as np
from aexp_variant import Data
from aexp_variant import aexp_pb2 as pb

c = json.load(sys.stdin)
d = Data(pb.DataSplit(**c["contract"]))

def digest(x, y):
    h = hashlib.sha256(np.ascontiguousarray(x, dtype="<f4").tobytes())
    if y is not None:
        h.update(np.asarray(y, dtype="<u4").tobytes())
    return h.hexdigest()[:16]

out = {"test": digest(d.test, d.test_labels), "shape": list(d.shape)}
for f in c["fracs"]:
    (tr, va), (ltr, lva) = d.split(f), d.split_labels(f)
    out[f"train {f}"], out[f"val {f}"] = digest(tr, ltr), digest(va, lva)
json.dump(out, sys.stdout)
`

// The Python SDK selects exactly the examples the Go SDK trains, validates
// and tests on, from the same data contract: MNIST (with labels), sines,
// CSV and IDX files, with limits and several validation fractions.
func TestContractSameExamples(t *testing.T) {
	needPython(t)
	t.Setenv(dataset.CacheDirEnv, t.TempDir())
	dir := t.TempDir()
	var csv strings.Builder
	for i := range 40 {
		csv.WriteString(strings.Repeat("0.25,", 5) + string(rune('0'+i%10)) + "\n")
	}
	os.WriteFile(dir+"/s.csv", []byte(csv.String()), 0o644)
	f, _ := os.Create(dir + "/x.idx")
	data := make([]float32, 50*4)
	for i := range data {
		data[i] = float32(i%17) / 3
	}
	dataset.WriteIDXFloat32(f, []int{50, 4}, data)
	f.Close()

	fracs := []float64{0, 0.1, 0.25}
	for _, c := range []struct {
		name      string
		trainLim  int
		testLimit int
	}{{"mnist", 3000, 500}, {"sines", 0, 0}, {"sines", 700, 90}, {"csv:" + dir + "/s.csv", 0, 0}, {"idx:" + dir + "/x.idx", 30, 5}} {
		t.Run(c.name, func(t *testing.T) {
			con, err := dataset.Resolve(c.name, "", c.trainLim, c.testLimit)
			if err != nil {
				t.Fatal(err)
			}
			pool, test, err := con.Load()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"test": digest(test)}
			for _, f := range fracs {
				tr, va := dataset.SplitBy(pool, f, con.ValOrder)
				want["train "+ftoa(f)], want["val "+ftoa(f)] = digest(tr), digest(va)
			}
			in, _ := json.Marshal(map[string]any{"fracs": fracs, "contract": map[string]any{
				"train_file": con.TrainFile, "train_labels_file": con.TrainLabels, "test_file": con.TestFile,
				"test_labels_file": con.TestLabels, "pool": con.Pool, "val_order": con.ValOrder, "test": con.Test,
			}})
			cmd := exec.Command(python, "-c", contractDigests)
			cmd.Dir = "."
			cmd.Env = append(os.Environ(), "PYTHONPATH=.")
			cmd.Stdin = strings.NewReader(string(in))
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("python: %v\n%s", err, exitStderr(err))
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s: Python's examples hash to %v, Go's to %v", k, got[k], w)
				}
			}
			if shape := got["shape"].([]any); len(shape) != len(test.Shape()) {
				t.Errorf("shape %v, Go %v", shape, test.Shape())
			}
		})
	}
}

func ftoa(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
