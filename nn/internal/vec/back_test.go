package vec

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBackKernels compares the kernels with plain Go loops bit for bit, on
// lengths that exercise the assembly and the tails, including y = 0 and
// y < 0 lanes.
func TestBackKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 8, 13, 64, 300} {
		y, dy := make([]float32, n), make([]float32, n)
		for i := range y {
			y[i] = float32(rng.Float64()*4 - 2)
			dy[i] = float32(rng.NormFloat64())
			if i%7 == 0 {
				y[i] = 0
			}
		}
		type kern struct {
			f   func(dy, y []float32)
			ref func(d, v float32) float32
		}
		sa := float32(SELUScale * SELUAlpha)
		ks := map[string]kern{
			"sigmoid": {SigmoidBack, func(d, v float32) float32 { return d * (v * (1 - v)) }},
			"tanh":    {TanhBack, func(d, v float32) float32 { return d * (1 - v*v) }},
			"relu": {ReLUBack, func(d, v float32) float32 {
				if v <= 0 {
					return 0
				}
				return d
			}},
			"selu": {SELUBack, func(d, v float32) float32 {
				if v > 0 {
					return d * SELUScale
				}
				return d * (v + sa)
			}},
			"axpy": {func(d, v []float32) { Axpy(d, v, -0.75) }, func(d, v float32) float32 { return d + -0.75*v }},
		}
		for name, k := range ks {
			got := slices.Clone(dy)
			k.f(got, y)
			for i := range y {
				if want := k.ref(dy[i], y[i]); got[i] != want {
					t.Errorf("%s n=%d [%d]: %v, want %v", name, n, i, got[i], want)
					break
				}
			}
		}
	}
}
