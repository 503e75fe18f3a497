package nn

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkFitPCA fits the PCA baseline a 10,000-example MNIST-sized run
// computes at its end (covariance in float32 BLAS, then the 784×784
// eigendecomposition: dsyevr with -tags openblas, gonum otherwise):
//
//	CGO_LDFLAGS=-lopenblas go test -tags openblas -run - -bench FitPCA ./nn
func BenchmarkFitPCA(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, cols = 10000, 784
	data := make([]float32, rows*cols)
	for i := range data {
		data[i] = rng.Float32()
	}
	for b.Loop() {
		if _, err := FitPCA(data, rows, cols, 32); err != nil {
			b.Fatal(err)
		}
	}
}
