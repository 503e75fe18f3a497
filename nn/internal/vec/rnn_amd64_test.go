//go:build !purego

package vec

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRNNKernelsMatchGo: the assembly and the Go loops agree bit for bit.
func TestRNNKernelsMatchGo(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2+FMA on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.Float64()*2 - 1)
		}
		return s
	}
	both := func(f func()) {
		f()
		useAVX2 = false
		defer func() { useAVX2 = true }()
		f()
	}
	for _, h := range []int{8, 24, 128} {
		st, hp, dout, c0 := rnd(4*h), rnd(h), rnd(h), rnd(h)
		var outs [2][][]float32
		k := 0
		both(func() {
			c, dx, dh := slices.Clone(c0), make([]float32, 3*h), make([]float32, 3*h)
			GRUBackward(st, hp, dout, c, dx, dh, h)
			outs[k] = [][]float32{c, dx, dh}
			k++
		})
		for i := range outs[0] {
			if !slices.Equal(outs[0][i], outs[1][i]) {
				t.Errorf("GRU h=%d: output %d differs", h, i)
			}
		}
		cs, cp, ch, cc0 := rnd(2*h), rnd(h), rnd(h), rnd(h)
		k = 0
		both(func() {
			cc, d := slices.Clone(cc0), make([]float32, 4*h)
			LSTMBackward(st, cs, cp, dout, ch, cc, d, h)
			outs[k] = [][]float32{cc, d}
			k++
		})
		for i := range outs[0][:2] {
			if !slices.Equal(outs[0][i], outs[1][i]) {
				t.Errorf("LSTM h=%d: output %d differs", h, i)
			}
		}
	}
}

// TestCellKernels: the fused forward kernels agree with the Go loops to a
// few ulp (they differ only in how tanh and σ are evaluated).
func TestCellKernels(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2+FMA on this CPU")
	}
	rng := rand.New(rand.NewPCG(8, 8))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.Float64()*4 - 2)
		}
		return s
	}
	near := func(name string, a, b []float32) {
		for i := range a {
			if d := math.Abs(float64(a[i] - b[i])); d > 1e-6*(1+math.Abs(float64(b[i]))) {
				t.Errorf("%s[%d]: %v vs %v", name, i, a[i], b[i])
				return
			}
		}
	}
	run := func(avx bool, f func()) {
		useAVX2 = avx
		defer func() { useAVX2 = true }()
		f()
	}
	for _, h := range []int{8, 128} {
		a, b := rnd(4*h), rnd(4*h)
		var s [2][]float32
		var th [2][]float32
		for k, avx := range []bool{true, false} {
			run(avx, func() {
				s[k], th[k] = make([]float32, 4*h), make([]float32, 4*h)
				SigmoidSum(s[k], a, b)
				TanhSum(th[k], a, b)
			})
		}
		near("SigmoidSum", s[0], s[1])
		near("TanhSum", th[0], th[1])
		st0, cp, hp, axn := rnd(4*h), rnd(h), rnd(h), rnd(h)
		var cs, out, st [2][]float32
		for k, avx := range []bool{true, false} {
			run(avx, func() {
				cs[k], out[k] = make([]float32, 2*h), make([]float32, h)
				LSTMCell(st0, cp, cs[k], out[k], h)
			})
		}
		near("LSTMCell cs", cs[0], cs[1])
		near("LSTMCell out", out[0], out[1])
		for k, avx := range []bool{true, false} {
			run(avx, func() {
				st[k], out[k] = slices.Clone(st0), make([]float32, h)
				GRUCell(axn, st[k], hp, out[k], h)
			})
		}
		near("GRUCell st", st[0], st[1])
		near("GRUCell out", out[0], out[1])
	}
}
