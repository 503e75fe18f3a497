package nn

import (
	"fmt"
	"testing"
)

func TestTraceGEMM(t *testing.T) {
	g := NewGraph()
	a, b := NewParam("a", 3, 4), NewParam("b", 5, 4)
	var got []GEMMShape
	TraceGEMM(func(s GEMMShape) { got = append(got, s) })
	defer TraceGEMM(nil)
	out := g.MatMul(a, b, false, true) // 3×5 = a·bᵀ
	g.Backward(g.Sum(out))
	TraceGEMM(nil)
	g.MatMul(a, b, false, true) // not traced
	want := []GEMMShape{{false, true, 3, 5, 4}, {false, false, 3, 4, 5}, {true, false, 5, 4, 3}}
	if len(got) != len(want) {
		t.Fatalf("traced %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("product %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestChooseOwnGEMM(t *testing.T) {
	for _, c := range []struct {
		core     string
		avx512   bool
		override string
		want     bool
	}{
		{"Haswell", true, "", true}, // OpenBLAS 0.3.21 on AMD Zen 4/5
		{"Zen", true, "", true},
		{"go", true, "", true},        // gonum's pure Go
		{"SkylakeX", true, "", false}, // the BLAS has AVX-512 kernels
		{"Cooperlake", true, "", false},
		{"Haswell", false, "", false},
		{"Haswell", true, "blas", false},
		{"SkylakeX", true, "avx512", true},
		{"Haswell", false, "avx512", false}, // not without AVX-512
	} {
		if got := chooseOwnGEMM(c.core, c.avx512, c.override); got != c.want {
			t.Errorf("chooseOwnGEMM(%q, %v, %q) = %v, want %v", c.core, c.avx512, c.override, got, c.want)
		}
	}
}

func TestRunGEMM(t *testing.T) {
	// [1 2; 3 4]ᵀ·[1 0; 0 1]ᵀ added to c = [1 1; 1 1]
	a, b, c := []float32{1, 2, 3, 4}, []float32{1, 0, 0, 1}, []float32{1, 1, 1, 1}
	RunGEMM(GEMMShape{TransA: true, TransB: true, M: 2, N: 2, K: 2}, a, b, c)
	if want := []float32{2, 4, 3, 5}; fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("c = %v, want %v", c, want)
	}
}
