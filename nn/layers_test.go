package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestGradRecurrent checks BPTT of both cells against finite differences,
// with respect to every weight, the input sequence (or repeated input) and
// the initial state.
func TestGradRecurrent(t *testing.T) {
	for _, cell := range []string{"gru", "lstm"} {
		for _, seq := range []bool{true, false} {
			for _, withH0 := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/seq=%v/h0=%v", cell, seq, withH0), func(t *testing.T) {
					r := rand.New(rand.NewPCG(3, 4))
					B, T, In, H := 2, 4, 3, 3
					if withH0 && seq {
						H = 8 // a multiple of 8 takes the assembly BPTT kernels
					}
					var params []*Tensor
					var fwd func(g *Graph, x, h0 *Tensor) *Tensor
					if cell == "gru" {
						l := NewGRU("g", In, H, r)
						params, fwd = l.Params(), func(g *Graph, x, h0 *Tensor) *Tensor { return l.Forward(g, x, T, h0) }
					} else {
						l := NewLSTM("l", In, H, r)
						params, fwd = l.Params(), func(g *Graph, x, h0 *Tensor) *Tensor { return l.Forward(g, x, T, h0) }
					}
					for _, p := range params { // larger weights make the gates saturate less uniformly
						for i := range p.Data {
							p.Data[i] *= 2
						}
					}
					cols := In
					if seq {
						cols = T * In
					}
					ins := append([]*Tensor{param(r, B, cols, 0.1, 1)}, params...)
					if withH0 {
						ins = append(ins, param(r, B, H, 0.1, 0.9))
					}
					checkGrads(t, ins, func(g *Graph, in []*Tensor) *Tensor {
						var h0 *Tensor
						if withH0 {
							h0 = in[len(in)-1]
						}
						return fwd(g, in[0], h0)
					})
				})
			}
		}
	}
}

// TestGradLayers checks composite models end to end, as the variants use
// them: a tied dense AE, a VAE middle, and a recurrent AE with a Linear on
// every time step through Reshape.
func TestGradLayers(t *testing.T) {
	t.Run("tied_dense_ae", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 1))
		e1 := NewLinear("e1", 6, 4, ActSELU, r)
		e2 := NewLinear("e2", 4, 2, ActTanh, r)
		d2 := NewTied("d2", e2, ActELU)
		d1 := NewTied("d1", e1, ActSigmoid)
		x := param(r, 3, 6, 0, 1)
		ps := append(append(append(e1.Params(), e2.Params()...), d2.Params()...), d1.Params()...)
		checkGrads(t, ps, func(g *Graph, _ []*Tensor) *Tensor {
			h := d1.Forward(g, d2.Forward(g, e2.Forward(g, e1.Forward(g, x))))
			return g.MSE(h, x)
		})
	})
	t.Run("vae", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		enc := NewLinear("enc", 5, 4, ActELU, r) // smooth: ReLU kinks spoil finite differences
		mu := NewLinear("mu", 4, 2, ActLinear, r)
		lv := NewLinear("lv", 4, 2, ActLinear, r)
		dec := NewLinear("dec", 2, 5, ActLinear, r)
		x := positive(r, 3, 5)
		for i := range x.Data {
			x.Data[i] /= 1.5
		}
		var ps []*Tensor
		for _, l := range []*Linear{enc, mu, lv, dec} {
			ps = append(ps, l.Params()...)
		}
		checkGrads(t, ps, func(g *Graph, _ []*Tensor) *Tensor {
			h := enc.Forward(g, x)
			m, v := mu.Forward(g, h), lv.Forward(g, h)
			z := g.Reparam(m, v, rand.New(rand.NewPCG(8, 8)))
			rec := g.Scale(g.BCEWithLogits(dec.Forward(g, z), x), 5)
			return g.Add(rec, g.Scale(g.KLNormal(m, v), 0.5))
		})
	})
	for _, cell := range []string{"gru", "lstm"} {
		t.Run("recurrent_ae_"+cell, func(t *testing.T) {
			r := rand.New(rand.NewPCG(2, 2))
			const B, T, F, H, C = 2, 3, 4, 3, 2
			type rnn interface {
				Forward(*Graph, *Tensor, int, *Tensor) *Tensor
				Params() []*Tensor
			}
			var enc, dec rnn
			if cell == "gru" {
				enc, dec = NewGRU("enc", F, H, r), NewGRU("dec", C, H, r)
			} else {
				enc, dec = NewLSTM("enc", F, H, r), NewLSTM("dec", C, H, r)
			}
			code := NewLinear("code", H, C, ActLinear, r)
			out := NewLinear("out", H, F, ActSigmoid, r)
			x := param(r, B, T*F, 0, 1)
			ps := append(append(append(enc.Params(), dec.Params()...), code.Params()...), out.Params()...)
			checkGrads(t, ps, func(g *Graph, _ []*Tensor) *Tensor {
				hs := enc.Forward(g, x, T, nil)
				c := code.Forward(g, g.SliceCols(hs, (T-1)*H, T*H))
				ds := dec.Forward(g, c, T, nil)
				y := out.Forward(g, g.Reshape(ds, B*T, H))
				return g.MSE(g.Reshape(y, B, T*F), x)
			})
		})
	}
}
