package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// values returns every example of s, one after the other, and its labels.
func values(s *Set) ([]float32, []int) {
	labels := make([]int, s.Len())
	for i := range labels {
		labels[i] = s.Label(i)
	}
	return s.Range(nil, 0, s.Len()), labels
}

func sameSet(t *testing.T, what string, got, want *Set) {
	t.Helper()
	gv, gl := values(got)
	wv, wl := values(want)
	if !reflect.DeepEqual(got.Shape(), want.Shape()) || !reflect.DeepEqual(gv, wv) || !reflect.DeepEqual(gl, wl) {
		t.Errorf("%s: %d examples of shape %v differ from the %d of shape %v Load gives", what, got.Len(), got.Shape(), want.Len(), want.Shape())
	}
}

// The contract's files and indices give exactly the examples Load, Head and
// Split give, for every kind of dataset.
func TestResolveMatchesLoad(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	dir := t.TempDir()
	csv := filepath.Join(dir, "s.csv")
	var b strings.Builder
	b.WriteString("a,b,c\n")
	for i := range 23 {
		b.WriteString(strings.Repeat("0.5,", 2) + string(rune('0'+i%10)) + "\n")
	}
	os.WriteFile(csv, []byte(b.String()), 0o644)
	idx := filepath.Join(dir, "x.idx")
	f, _ := os.Create(idx)
	data := make([]float32, 31*3)
	for i := range data {
		data[i] = float32(i) / 7
	}
	if err := WriteIDXFloat32(f, []int{31, 3}, data); err != nil {
		t.Fatal(err)
	}
	f.Close()

	for _, c := range []struct {
		name              string
		trainLim, testLim int
	}{{"sines", 300, 50}, {"sines", 0, 0}, {"csv:" + csv, 0, 3}, {"idx:" + idx, 10, 0}, {"mnist", 1000, 200}} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "mnist" {
				if _, err := MNISTDir(); err != nil {
					t.Skip(err)
				}
			}
			con, err := Resolve(c.name, "", c.trainLim, c.testLim)
			if err != nil {
				t.Fatal(err)
			}
			pool, test, err := con.Load()
			if err != nil {
				t.Fatal(err)
			}
			all, wtest, err := Load(c.name, "")
			if err != nil {
				t.Fatal(err)
			}
			all, wtest = all.Head(c.trainLim), wtest.Head(c.testLim)
			sameSet(t, "pool", pool, all)
			sameSet(t, "test", test, wtest)
			for _, frac := range []float64{0, 0.1, 0.5} {
				tr, va := SplitBy(pool, frac, con.ValOrder)
				wtr, wva := Split(all, frac, 0)
				sameSet(t, "train", tr, wtr)
				sameSet(t, "val", va, wva)
			}
		})
	}
	// Generated files are written once and reused.
	a, _ := Resolve("sines", "", 0, 0)
	st, _ := os.Stat(a.TrainFile)
	b2, _ := Resolve("sines", "", 0, 0)
	st2, _ := os.Stat(b2.TrainFile)
	if a.TrainFile != b2.TrainFile || !st.ModTime().Equal(st2.ModTime()) {
		t.Errorf("sines rewritten: %s %v, %s %v", a.TrainFile, st.ModTime(), b2.TrainFile, st2.ModTime())
	}
	if _, err := Resolve("cifar", "", 0, 0); err == nil || !strings.Contains(err.Error(), "unknown dataset") {
		t.Errorf("unknown dataset: %v", err)
	}
}

func TestValCount(t *testing.T) {
	for _, c := range []struct {
		frac float64
		n    int
		want int
	}{{0, 10, 0}, {0.1, 10, 1}, {0.1, 4, 1}, {0.1, 16, 2}, {0.5, 2, 1}, {0.49, 1, 0}, {0.1, 60000, 6000}} {
		if got := ValCount(c.frac, c.n); got != c.want {
			t.Errorf("ValCount(%v, %d) = %d, want %d", c.frac, c.n, got, c.want)
		}
	}
}
