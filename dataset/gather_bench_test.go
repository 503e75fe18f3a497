package dataset

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkGather fills one MNIST-sized batch (128 × 784 bytes → float32)
// in shuffled order, as every training step does.
func BenchmarkGather(b *testing.B) {
	const n, dim, batch = 10000, 784, 128
	data := make([]uint8, n*dim)
	for i := range data {
		data[i] = uint8(i * 7)
	}
	s := FromUint8([]int{dim}, data, nil)
	idx := rand.New(rand.NewPCG(1, 2)).Perm(n)[:batch]
	dst := make([]float32, batch*dim)
	b.SetBytes(batch * dim)
	for b.Loop() {
		s.Gather(dst, idx)
	}
}
