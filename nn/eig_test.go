package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// symEig (dsyevr with -tags openblas, gonum otherwise) returns ascending
// eigenvalues and orthonormal vectors with A·v = λ·v.
func TestSymEig(t *testing.T) {
	const n = 40
	rng := rand.New(rand.NewPCG(3, 4))
	a := make([]float64, n*n)
	for i := range n {
		for j := i; j < n; j++ {
			v := rng.NormFloat64()
			a[i*n+j], a[j*n+i] = v, v
		}
	}
	orig := append([]float64(nil), a...)
	vals, vecs, ok := symEig(a, n)
	if !ok {
		t.Fatal("no convergence")
	}
	for j := range n {
		if j > 0 && vals[j] < vals[j-1] {
			t.Fatalf("eigenvalues not ascending at %d: %g < %g", j, vals[j], vals[j-1])
		}
		v := vecs[j*n : (j+1)*n]
		for i := range n {
			var av float64
			for c := range n {
				av += orig[i*n+c] * v[c]
			}
			if math.Abs(av-vals[j]*v[i]) > 1e-9 {
				t.Fatalf("pair %d: (A·v)[%d] = %g, λ·v[%d] = %g", j, i, av, i, vals[j]*v[i])
			}
		}
		for k := range j + 1 {
			var dot float64
			for i := range n {
				dot += v[i] * vecs[k*n+i]
			}
			want := 0.0
			if k == j {
				want = 1
			}
			if math.Abs(dot-want) > 1e-9 {
				t.Fatalf("v%d · v%d = %g, want %g", j, k, dot, want)
			}
		}
	}
}
