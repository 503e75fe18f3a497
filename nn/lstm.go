package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/aexp/aexp/nn/internal/vec"
)

func init() { backwardFns[opLSTM] = backLSTM }

// LSTM is a long short-term memory layer:
//
//	i, f, o = σ(x·Wx + h·Wh + b) blocks; g = tanh(same)
//	c' = f ⊙ c + i ⊙ g;  h' = o ⊙ tanh(c')
//
// Gate blocks are stored in PyTorch's order i, f, g, o. One bias suffices
// (PyTorch's b_ih + b_hh is the same function with 4H redundant values).
// The cell starts at zero.
type LSTM struct {
	In, Hidden int
	Wx         *Tensor // In × 4H
	Wh         *Tensor // H × 4H
	B          *Tensor // 1 × 4H
}

// NewLSTM returns an LSTM layer (parameters name.Wx, name.Wh, name.b)
// initialised from U(±1/√hidden) like PyTorch.
func NewLSTM(name string, in, hidden int, rng *rand.Rand) *LSTM {
	l := &LSTM{In: in, Hidden: hidden,
		Wx: NewParam(name+".Wx", in, 4*hidden), Wh: NewParam(name+".Wh", hidden, 4*hidden),
		B: NewParam(name+".b", 1, 4*hidden)}
	for _, p := range l.Params() {
		uniformInit(p.Data, hidden, rng)
	}
	return l
}

// Params lists the layer's trainable tensors.
func (l *LSTM) Params() []*Tensor { return []*Tensor{l.Wx, l.Wh, l.B} }

// Forward runs the LSTM like GRU.Forward: x is B × (steps·In) or B × In
// (fed at every step), h0 is B × H or nil, the result holds all hidden
// states as B × (steps·H).
func (l *LSTM) Forward(g *Graph, x *Tensor, steps int, h0 *Tensor) *Tensor {
	seq := seqInput("LSTM", x, steps, l.In)
	B, T, H := x.Rows, steps, l.Hidden
	G := 4 * H
	if h0 != nil && (h0.Rows != B || h0.Cols != H) {
		panic(fmt.Sprintf("nn: LSTM: h0 is %dx%d, want %dx%d", h0.Rows, h0.Cols, B, H))
	}
	hs := g.node(B, T*H, true)
	gx, xs, xt := g.inputProjection(x, l.Wx, l.B, seq, T)
	gates := g.buf(B * T * G)     // per (t,b), time-major: i, f, g, o after their activations
	cells := g.buf(B * T * 2 * H) // per (t,b), time-major: c_t, tanh(c_t)
	hprev := g.buf(B * T * H)
	gh := g.buf(B * G)
	zeros := g.buf(H)
	clear(zeros)
	for t := range T {
		prevState(hprev, hs.Data, h0, B, T, H, t)
		if t > 0 || h0 != nil {
			gemm(false, false, B, G, H, 1, hprev[t*B*H:], H, l.Wh.Data, G, 0, gh, G)
		} else {
			clear(gh) // h_{-1} = 0
		}
		for b := range B {
			row := t*B + b
			ax := gx[b*xs+t*xt : b*xs+t*xt+G]
			ah := gh[b*G : (b+1)*G]
			st := gates[row*G : (row+1)*G]
			cs := cells[row*2*H : (row+1)*2*H]
			cp := zeros // c_{-1} = 0
			if t > 0 {
				cp = cells[(row-B)*2*H:]
			}
			out := hs.Data[b*T*H+t*H : b*T*H+(t+1)*H]
			vec.SigmoidSum(st[:2*H], ax[:2*H], ah[:2*H]) // i, f
			vec.TanhSum(st[2*H:3*H], ax[2*H:3*H], ah[2*H:3*H])
			vec.SigmoidSum(st[3*H:], ax[3*H:], ah[3*H:])
			vec.LSTMCell(st, cp, cs, out, H)
		}
	}
	g.record(entry{op: opLSTM, out: hs, a: x, b: h0, layer: l, i: T, ta: seq, buf: gates, buf2: hprev, buf3: cells})
	return hs
}

func backLSTM(g *Graph, e *entry) {
	l := e.layer.(*LSTM)
	x, h0, hs, gates, hprev, cells := e.a, e.b, e.out, e.buf, e.buf2, e.buf3
	B, T, H := x.Rows, e.i, l.Hidden
	G := 4 * H
	dG := g.buf(B * G)     // step t's gate pre-activation grads
	carry := g.buf(B * H)  // dL/dh_t from step t+1
	ccarry := g.buf(B * H) // dL/dc_t from step t+1
	sum := g.buf(B * G)    // Σ_t dG for an input repeated at every step
	zeros := g.buf(H)
	whT := transposed(g, l.Wh)
	clear(carry)
	clear(ccarry)
	clear(sum)
	clear(zeros)
	for t := T - 1; t >= 0; t-- {
		for b := range B {
			row := t*B + b
			cp := zeros // c_{-1} = 0
			if t > 0 {
				cp = cells[(row-B)*2*H:]
			}
			vec.LSTMBackward(gates[row*G:], cells[row*2*H:], cp, hs.Grad[b*T*H+t*H:], carry[b*H:],
				ccarry[b*H:], dG[b*G:], H)
		}
		if t > 0 || h0 != nil && h0.Grad != nil {
			gemm(false, false, B, H, G, 1, dG, G, whT, H, 0, carry, H)
		}
		gemm(true, false, H, G, B, 1, hprev[t*B*H:], H, dG, G, 1, l.Wh.Grad, G)
		stepInputGrads(x, l.Wx, l.B, e.ta, T, t, dG, sum)
	}
	if !e.ta {
		repeatedInputGrads(x, l.Wx, sum)
	}
	if h0 != nil && h0.Grad != nil {
		axpy(h0.Grad, carry, 1)
	}
}
