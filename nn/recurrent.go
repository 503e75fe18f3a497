package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Recurrent layers run their whole unrolled sequence as one tape op, so the
// per-step work is one matrix product plus one fused gate loop, and BPTT is
// one backward function. Sequences are B × (T·F) tensors, step-major within
// a row (MNIST images as 28 rows of 28 pixels): viewed as (B·T) × F, all
// input projections are a single matrix product, and step t of the batch is
// a strided view (leading dimension T·F) — no copies. What the layers save
// for BPTT is time-major (row t·B+b), so each step touches one contiguous
// block instead of B rows scattered over megabytes, and BPTT turns each
// step's gate gradients into weight gradients at once, while they are in
// cache, so it needs no T-long gradient buffers.

// seqInput checks x for a recurrent layer: B × (T·in) is a sequence, B × in
// is one input fed at every step (e.g. a decoder's code).
func seqInput(name string, x *Tensor, steps, in int) (seq bool) {
	switch {
	case steps < 1:
		panic(fmt.Sprintf("nn: %s: %d steps", name, steps))
	case x.Cols == steps*in:
		return true
	case x.Cols == in:
		return false
	}
	panic(fmt.Sprintf("nn: %s: input has %d columns, want %d (sequence of %d) or %d (repeated)", name, x.Cols, steps*in, steps, in))
}

// uniformInit fills w from U(-1/√h, 1/√h), PyTorch's recurrent default.
func uniformInit(w []float32, h int, rng *rand.Rand) {
	lim := 1 / math.Sqrt(float64(h))
	for i := range w {
		w[i] = float32((2*rng.Float64() - 1) * lim)
	}
}

// inputProjection computes x·Wx + b for every step at once into a pooled
// buffer and returns it with its per-row and per-step strides.
func (g *Graph) inputProjection(x, wx, bias *Tensor, seq bool, steps int) (gx []float32, rowStride, stepStride int) {
	gw := wx.Cols
	rows := x.Rows
	if seq {
		rows *= steps
	}
	in := wx.Rows
	gx = g.buf(rows * gw)
	for i := range rows {
		copy(gx[i*gw:(i+1)*gw], bias.Data)
	}
	gemm(false, false, rows, gw, in, 1, x.Data, in, wx.Data, gw, 1, gx, gw)
	if seq {
		return gx, steps * gw, gw
	}
	return gx, gw, 0
}

// stepInputGrads back-propagates the pre-activation gradients dG (B × gw)
// of step t through x·Wx + b while they are still in cache: for a sequence
// at once (step t of x is a strided view, leading dimension T·in), for an
// input repeated at every step by summing into sum, which
// repeatedInputGrads finishes.
func stepInputGrads(x, wx, bias *Tensor, seq bool, steps, t int, dG, sum []float32) {
	gw, in, b := wx.Cols, wx.Rows, x.Rows
	colSumInto(bias.Grad, dG, b, gw)
	if !seq {
		axpy(sum, dG, 1)
		return
	}
	gemm(true, false, in, gw, b, 1, x.Data[t*in:], steps*in, dG, gw, 1, wx.Grad, gw)
	if x.Grad != nil {
		gemm(false, true, b, in, gw, 1, dG, gw, wx.Data, gw, 1, x.Grad[t*in:], steps*in)
	}
}

// repeatedInputGrads back-propagates the summed gradients of an input fed
// at every step.
func repeatedInputGrads(x, wx *Tensor, sum []float32) {
	gw, in, b := wx.Cols, wx.Rows, x.Rows
	gemm(true, false, in, gw, b, 1, x.Data, in, sum, gw, 1, wx.Grad, gw)
	if x.Grad != nil {
		gemm(false, true, b, in, gw, 1, sum, gw, wx.Data, gw, 1, x.Grad, in)
	}
}

// prevState fills block t of hprev ((T·B) × h, time-major: row t·B+b) with
// h_{t-1}: h0 (or zeros) at t = 0, else step t-1 of the outputs hs (B × T·h).
func prevState(hprev, hs []float32, h0 *Tensor, b, steps, h, t int) {
	for r := range b {
		dst := hprev[(t*b+r)*h : (t*b+r+1)*h]
		switch {
		case t > 0:
			copy(dst, hs[r*steps*h+(t-1)*h:r*steps*h+t*h])
		case h0 != nil:
			copy(dst, h0.Data[r*h:(r+1)*h])
		default:
			clear(dst)
		}
	}
}

// transposed returns wᵀ in a pooled buffer. BPTT multiplies by Whᵀ at
// every step; transposing once instead of at each of the T products saves
// T-1 re-packings of the same matrix (nn's own kernel gathers a transposed
// right operand into panels on every call).
func transposed(g *Graph, w *Tensor) []float32 {
	t := g.buf(w.Len())
	for i := range w.Rows {
		for j, v := range w.Data[i*w.Cols : (i+1)*w.Cols] {
			t[j*w.Rows+i] = v
		}
	}
	return t
}
