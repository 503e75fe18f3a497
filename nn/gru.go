package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/aexp/aexp/nn/internal/vec"
)

func init() { backwardFns[opGRU] = backGRU }

// GRU is a gated recurrent unit layer with PyTorch's equations:
//
//	r = σ(x·Wxr + bxr + h·Whr + bhr)
//	z = σ(x·Wxz + bxz + h·Whz + bhz)
//	n = tanh(x·Wxn + bxn + r ⊙ (h·Whn + bhn))
//	h' = (1-z) ⊙ n + z ⊙ h
//
// Gate blocks are stored side by side in the order r, z, n.
type GRU struct {
	In, Hidden int
	Wx         *Tensor // In × 3H
	Wh         *Tensor // H × 3H
	Bx, Bh     *Tensor // 1 × 3H
}

// NewGRU returns a GRU layer (parameters name.Wx, name.Wh, name.bx, name.bh)
// initialised from U(±1/√hidden) like PyTorch.
func NewGRU(name string, in, hidden int, rng *rand.Rand) *GRU {
	l := &GRU{In: in, Hidden: hidden,
		Wx: NewParam(name+".Wx", in, 3*hidden), Wh: NewParam(name+".Wh", hidden, 3*hidden),
		Bx: NewParam(name+".bx", 1, 3*hidden), Bh: NewParam(name+".bh", 1, 3*hidden)}
	for _, p := range l.Params() {
		uniformInit(p.Data, hidden, rng)
	}
	return l
}

// Params lists the layer's trainable tensors.
func (l *GRU) Params() []*Tensor { return []*Tensor{l.Wx, l.Wh, l.Bx, l.Bh} }

// Forward runs the GRU for steps steps over x — a sequence B × (steps·In),
// or B × In fed at every step — from h0 (B × H, nil for zeros), and returns
// all hidden states as B × (steps·H); the last one is
// SliceCols(hs, (steps-1)·H, steps·H).
func (l *GRU) Forward(g *Graph, x *Tensor, steps int, h0 *Tensor) *Tensor {
	seq := seqInput("GRU", x, steps, l.In)
	B, T, H := x.Rows, steps, l.Hidden
	G := 3 * H
	if h0 != nil && (h0.Rows != B || h0.Cols != H) {
		panic(fmt.Sprintf("nn: GRU: h0 is %dx%d, want %dx%d", h0.Rows, h0.Cols, B, H))
	}
	hs := g.node(B, T*H, true)
	gx, xs, xt := g.inputProjection(x, l.Wx, l.Bx, seq, T)
	gates := g.buf(B * T * 4 * H) // per (t,b), time-major: r, z, n, h·Whn+bhn
	hprev := g.buf(B * T * H)     // per (t,b), time-major: h_{t-1}
	gh := g.buf(B * G)
	for t := range T {
		prevState(hprev, hs.Data, h0, B, T, H, t)
		for r := range B {
			copy(gh[r*G:(r+1)*G], l.Bh.Data)
		}
		if t > 0 || h0 != nil { // h_{-1} = 0 contributes nothing
			gemm(false, false, B, G, H, 1, hprev[t*B*H:], H, l.Wh.Data, G, 1, gh, G)
		}
		for b := range B {
			row := t*B + b
			ax := gx[b*xs+t*xt : b*xs+t*xt+G]
			ah := gh[b*G : (b+1)*G]
			hp := hprev[row*H : (row+1)*H]
			st := gates[row*4*H : (row+1)*4*H]
			out := hs.Data[b*T*H+t*H : b*T*H+(t+1)*H]
			vec.SigmoidSum(st[:2*H], ax[:2*H], ah[:2*H]) // r, z
			copy(st[3*H:], ah[2*H:])                     // h·Whn + bhn, kept for BPTT
			vec.GRUCell(ax[2*H:], st, hp, out, H)
		}
	}
	g.record(entry{op: opGRU, out: hs, a: x, b: h0, layer: l, i: T, ta: seq, buf: gates, buf2: hprev})
	return hs
}

func backGRU(g *Graph, e *entry) {
	l := e.layer.(*GRU)
	x, h0, hs, gates, hprev := e.a, e.b, e.out, e.buf, e.buf2
	B, T, H := x.Rows, e.i, l.Hidden
	G := 3 * H
	dx := g.buf(B * G)    // step t's pre-activation grads, input side
	dh := g.buf(B * G)    // ... recurrent side (differs in the n block)
	carry := g.buf(B * H) // dL/dh_t arriving from step t+1
	sum := g.buf(B * G)   // Σ_t dx for an input repeated at every step
	whT := transposed(g, l.Wh)
	clear(carry)
	clear(sum)
	for t := T - 1; t >= 0; t-- {
		for b := range B {
			row := t*B + b
			vec.GRUBackward(gates[row*4*H:], hprev[row*H:], hs.Grad[b*T*H+t*H:], carry[b*H:],
				dx[b*G:], dh[b*G:], H)
		}
		if t > 0 || h0 != nil && h0.Grad != nil {
			gemm(false, false, B, H, G, 1, dh, G, whT, H, 1, carry, H)
		}
		gemm(true, false, H, G, B, 1, hprev[t*B*H:], H, dh, G, 1, l.Wh.Grad, G)
		colSumInto(l.Bh.Grad, dh, B, G)
		stepInputGrads(x, l.Wx, l.Bx, e.ta, T, t, dx, sum)
	}
	if !e.ta {
		repeatedInputGrads(x, l.Wx, sum)
	}
	if h0 != nil && h0.Grad != nil {
		axpy(h0.Grad, carry, 1)
	}
}
