package nn

import "math/rand/v2"

// Linear is a fully connected layer y = act(x·W + b) with W stored In×Out.
// A tied layer (NewTied) owns only its bias and uses another layer's Wᵀ.
type Linear struct {
	W    *Tensor // In×Out; shared with the encoder layer when tied
	B    *Tensor // 1×Out; nil without bias
	Act  Act
	Tied bool // W is another layer's weight, used transposed
}

// NewLinear returns a layer In→Out named name (parameters name.W, name.b),
// initialised with InitFor(act) from rng and a zero bias.
func NewLinear(name string, in, out int, act Act, rng *rand.Rand) *Linear {
	w := NewParam(name+".W", in, out)
	InitFor(act).Fill(w.Data, in, out, rng)
	return &Linear{W: w, B: NewParam(name+".b", 1, out), Act: act}
}

// NewTied returns a decoder layer that maps enc's output space back to its
// input space with enc.Wᵀ; it owns only its bias (parameter name.b).
func NewTied(name string, enc *Linear, act Act) *Linear {
	return &Linear{W: enc.W, B: NewParam(name+".b", 1, enc.W.Rows), Act: act, Tied: true}
}

// In is the input width.
func (l *Linear) In() int {
	if l.Tied {
		return l.W.Cols
	}
	return l.W.Rows
}

// Out is the output width.
func (l *Linear) Out() int {
	if l.Tied {
		return l.W.Rows
	}
	return l.W.Cols
}

// Forward applies the layer to x (B×In) in one fused op.
func (l *Linear) Forward(g *Graph, x *Tensor) *Tensor {
	return g.Affine(x, l.W, l.B, l.Tied, l.Act)
}

// Params lists the layer's own trainable tensors: a tied layer leaves W to
// its encoder, so shared weights are counted and updated once.
func (l *Linear) Params() []*Tensor {
	var ps []*Tensor
	if !l.Tied {
		ps = append(ps, l.W)
	}
	if l.B != nil {
		ps = append(ps, l.B)
	}
	return ps
}
