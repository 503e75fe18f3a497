package nn

import (
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

func BenchmarkPCAPhases(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, cols = 10000, 784
	data := make([]float32, rows*cols)
	for i := range data {
		data[i] = rng.Float32()
	}
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		p, _ := FitPCA(data, rows, cols, 32)
		b.Logf("fit %v", time.Since(t0))
		_ = p
		cov := mat.NewSymDense(cols, nil)
		for r := range cols {
			for c := r; c < cols; c++ {
				cov.SetSym(r, c, rng.Float64())
			}
		}
		t0 = time.Now()
		var e mat.EigenSym
		e.Factorize(cov, true)
		b.Logf("eig+vec %v", time.Since(t0))
		t0 = time.Now()
		e.Factorize(cov, false)
		b.Logf("eig only %v", time.Since(t0))
	}
}
