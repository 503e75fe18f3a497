//go:build !purego

package vec

import (
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
