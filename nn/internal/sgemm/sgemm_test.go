package sgemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naive is the reference: c = op(a)·b + beta·c in float64.
func naive(ta, tb bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			s := 0.0
			for p := range k {
				av := a[i*lda+p]
				if ta {
					av = a[p*lda+i]
				}
				bv := b[p*ldb+j]
				if tb {
					bv = b[j*ldb+p]
				}
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = float32(s + float64(beta)*float64(c[i*ldc+j]))
		}
	}
}

func TestGemm(t *testing.T) {
	if !Available() {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for _, s := range [][3]int{{1, 1, 1}, {12, 32, 1}, {12, 32, 7}, {13, 33, 5}, {128, 300, 784},
		{128, 384, 128}, {28, 384, 3584}, {5, 70, 300}, {11, 40, 9}, {7, 33, 20}, {784, 300, 128}, {25, 31, 600}} {
		m, n, k := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			ta, tb := tr[0], tr[1]
			for _, beta := range []float32{0, 1, 0.5} {
				if beta != 1 && m*n*k > 1<<20 {
					continue // large products: once (split over goroutines), to keep the test short
				}
				lda, ldb, ldc := k+3, n+5, n+2
				if ta {
					lda = m + 3
				}
				if tb {
					ldb = k + 5
				}
				a, b := fill(max(m, k)*lda), fill(max(n, k)*ldb)
				c := fill(m * ldc)
				want := append([]float32(nil), c...)
				threads := 1
				if beta == 1 {
					threads = 3 // large products split by columns
				}
				Gemm(threads, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)
				naive(ta, tb, m, n, k, a, lda, b, ldb, beta, want, ldc)
				for i := range c {
					if d := math.Abs(float64(c[i] - want[i])); d > 1e-4*math.Sqrt(float64(k))*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("%dx%dx%d ta=%v tb=%v beta=%v: c[%d] = %v, want %v", m, n, k, ta, tb, beta, i, c[i], want[i])
					}
				}
			}
		}
	}
}

func TestGemmShortMatrix(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a short b")
		}
	}()
	a, b, c := make([]float32, 4*6), make([]float32, 6*5-1), make([]float32, 4*5)
	Gemm(1, false, false, 4, 5, 6, a, 6, b, 5, 0, c, 5)
}
