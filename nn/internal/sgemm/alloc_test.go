package sgemm

import "testing"

func TestGemmAllocations(t *testing.T) {
	if !Available() {
		t.Skip("no AVX-512 on this CPU")
	}
	a, b, c := make([]float32, 128*300), make([]float32, 300*400), make([]float32, 128*400)
	for _, threads := range []int{1, 2} {
		Gemm(threads, false, false, 128, 400, 300, a, 300, b, 400, 0, c, 400) // starts the helper
		if n := testing.AllocsPerRun(10, func() { Gemm(threads, false, false, 128, 400, 300, a, 300, b, 400, 0, c, 400) }); n != 0 {
			t.Errorf("%d threads: %v allocations per product, want 0", threads, n)
		}
	}
}
