//go:build !purego

package vec

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAVX512MatchesAVX2: the 16-lane copies give the same bits as the
// 8-lane kernels (same operations, lane for lane).
func TestAVX512MatchesAVX2(t *testing.T) {
	if !useAVX2 || !useAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.Float64()*6 - 3)
		}
		return s
	}
	const n, h = 40, 32 // 16+16 wide lanes, 8 narrow ones; h a multiple of 16
	x, y, st, hp, dout, c, cs, cp := rnd(n), rnd(n), rnd(4*h), rnd(h), rnd(h), rnd(h), rnd(2*h), rnd(h)
	w, g, m, v := rnd(n), rnd(n), rnd(n), rnd(n)
	for i := range v {
		v[i] *= v[i]
	}
	run := func() [][]float32 {
		var out [][]float32
		for _, f := range []func(dst, src []float32){Sigmoid, Tanh, Exp, SELU} {
			d := make([]float32, n)
			f(d, x)
			out = append(out, d)
		}
		for _, f := range []func(dst, a, b []float32){SigmoidSum, TanhSum} {
			d := make([]float32, n)
			f(d, x, y)
			out = append(out, d)
		}
		for _, f := range []func(dy, y []float32){SigmoidBack, TanhBack} {
			d := slices.Clone(y)
			f(d, x)
			out = append(out, d)
		}
		d := slices.Clone(y)
		Axpy(d, x, 0.3)
		w2, g2, m2, v2 := slices.Clone(w), slices.Clone(g), slices.Clone(m), slices.Clone(v)
		Adam(w2, g2, m2, v2, 0.9, 0.999, 1e-3, 1.2, 1e-8, 1)
		c1, dx, dh := slices.Clone(c), make([]float32, 3*h), make([]float32, 3*h)
		GRUBackward(st, hp, dout, c1, dx, dh, h)
		ch, cc, dl := slices.Clone(c), slices.Clone(hp), make([]float32, 4*h)
		LSTMBackward(st, cs, cp, dout, ch, cc, dl, h)
		cs2, o1 := make([]float32, 2*h), make([]float32, h)
		LSTMCell(st, cp, cs2, o1, h)
		st2, o2 := slices.Clone(st), make([]float32, h)
		GRUCell(x[:h], st2, hp, o2, h)
		return append(out, d, w2, m2, v2, g2, c1, dx, dh, cc, dl, cs2, o1, st2, o2)
	}
	wideOut := run()
	useAVX512 = false
	defer func() { useAVX512 = true }()
	narrowOut := run()
	for i := range wideOut {
		if !slices.Equal(wideOut[i], narrowOut[i]) {
			t.Errorf("output %d differs between the AVX-512 and AVX2 kernels:\n%v\n%v", i, wideOut[i], narrowOut[i])
		}
	}
}
