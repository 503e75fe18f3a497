package main

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/aexp/aexp/nn"
)

// model is one benchmark case; each matches its twin in bench/torch_speed.py
// layer for layer.
type model interface {
	loss(g *nn.Graph, x *nn.Tensor) *nn.Tensor
	params() []*nn.Tensor
}

func newModel(name string, rng *rand.Rand) (model, error) {
	switch name {
	case "dense":
		return newDense(rng), nil
	case "vae":
		return newVAE(rng), nil
	case "gru", "lstm":
		return newRecurrent(name, rng), nil
	}
	return nil, fmt.Errorf("unknown case %q (want dense, vae, gru or lstm)", name)
}

// linear builds a layer initialised as PyTorch's nn.Linear is by default
// (weights and bias from U(±1/√in)), so both engines train the same model
// from the same distribution and their losses are comparable.
func linear(name string, in, out int, act nn.Act, rng *rand.Rand) *nn.Linear {
	l := nn.NewLinear(name, in, out, act, rng)
	bound := 1 / math.Sqrt(float64(in))
	for _, p := range l.Params() {
		for i := range p.Data {
			p.Data[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	return l
}

func collect(ls ...*nn.Linear) []*nn.Tensor {
	var ps []*nn.Tensor
	for _, l := range ls {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// dense: 784-300-150-300-784, SELU, sigmoid output, MSE.
type dense struct{ layers []*nn.Linear }

func newDense(rng *rand.Rand) *dense {
	sizes := []int{784, 300, 150, 300, 784}
	d := &dense{}
	for i := range 4 {
		act := nn.ActSELU
		if i == 3 {
			act = nn.ActSigmoid
		}
		d.layers = append(d.layers, linear(fmt.Sprint("l", i), sizes[i], sizes[i+1], act, rng))
	}
	return d
}

func (d *dense) params() []*nn.Tensor { return collect(d.layers...) }

func (d *dense) loss(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	h := x
	for _, l := range d.layers {
		h = l.Forward(g, h)
	}
	return g.MSE(h, x)
}

// vae: 784-512-256-(μ, log σ² of 20) and 20-256-512-784 logits, ReLU;
// loss = BCE summed over pixels + KL, both per example.
type vae struct {
	enc1, enc2, mu, lv, dec1, dec2, out *nn.Linear
	rng                                 *rand.Rand
}

func newVAE(rng *rand.Rand) *vae {
	return &vae{
		enc1: linear("enc1", 784, 512, nn.ActReLU, rng),
		enc2: linear("enc2", 512, 256, nn.ActReLU, rng),
		mu:   linear("mu", 256, 20, nn.ActLinear, rng),
		lv:   linear("logvar", 256, 20, nn.ActLinear, rng),
		dec1: linear("dec1", 20, 256, nn.ActReLU, rng),
		dec2: linear("dec2", 256, 512, nn.ActReLU, rng),
		out:  linear("out", 512, 784, nn.ActLinear, rng),
		rng:  rng,
	}
}

func (v *vae) params() []*nn.Tensor {
	return collect(v.enc1, v.enc2, v.mu, v.lv, v.dec1, v.dec2, v.out)
}

func (v *vae) loss(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	h := v.enc2.Forward(g, v.enc1.Forward(g, x))
	mu, lv := v.mu.Forward(g, h), v.lv.Forward(g, h)
	z := g.Reparam(mu, lv, v.rng)
	logits := v.out.Forward(g, v.dec2.Forward(g, v.dec1.Forward(g, z)))
	rec := g.Scale(g.BCEWithLogits(logits, x), float32(x.Cols))
	return g.Add(rec, g.KLNormal(mu, lv))
}

// recurrent: images as 28 steps of 28 pixels; encoder (hidden 128) → last
// state → linear code (32) fed at each of 28 decoder steps → linear to 28
// sigmoid outputs per step; MSE.
type recurrent struct {
	enc, dec interface {
		Forward(*nn.Graph, *nn.Tensor, int, *nn.Tensor) *nn.Tensor
	}
	encP      []*nn.Tensor
	decP      []*nn.Tensor
	code, out *nn.Linear
}

const steps, feats, hidden, codeSize = 28, 28, 128, 32

func newRecurrent(cell string, rng *rand.Rand) *recurrent {
	r := &recurrent{}
	if cell == "gru" {
		e, d := nn.NewGRU("enc", feats, hidden, rng), nn.NewGRU("dec", codeSize, hidden, rng)
		r.enc, r.dec, r.encP, r.decP = e, d, e.Params(), d.Params()
	} else {
		e, d := nn.NewLSTM("enc", feats, hidden, rng), nn.NewLSTM("dec", codeSize, hidden, rng)
		r.enc, r.dec, r.encP, r.decP = e, d, e.Params(), d.Params()
	}
	r.code = linear("code", hidden, codeSize, nn.ActLinear, rng)
	r.out = linear("out", hidden, feats, nn.ActSigmoid, rng)
	return r
}

func (r *recurrent) params() []*nn.Tensor {
	return append(append(append([]*nn.Tensor{}, r.encP...), r.decP...), collect(r.code, r.out)...)
}

func (r *recurrent) loss(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	b := x.Rows
	hs := r.enc.Forward(g, x, steps, nil)
	c := r.code.Forward(g, g.SliceCols(hs, (steps-1)*hidden, steps*hidden))
	ds := r.dec.Forward(g, c, steps, nil)
	y := r.out.Forward(g, g.Reshape(ds, b*steps, hidden)) // every step in one product
	return g.MSE(g.Reshape(y, b, steps*feats), x)
}
