package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/aexp/aexp/nn/internal/vec"
)

func init() {
	backwardFns[opMask] = backMask
	backwardFns[opReparam] = backReparam
}

// Normal returns a rows×cols constant of N(0, std²) samples drawn from rng.
func (g *Graph) Normal(rows, cols int, std float32, rng *rand.Rand) *Tensor {
	out := g.node(rows, cols, false)
	for i := range out.Data {
		out.Data[i] = std * float32(rng.NormFloat64())
	}
	return out
}

// Dropout zeroes each element with probability rate and scales survivors by
// 1/(1-rate) (inverted dropout), in training mode only; otherwise it returns
// x itself.
func (g *Graph) Dropout(x *Tensor, rate float32, rng *rand.Rand) *Tensor {
	if rate < 0 || rate >= 1 {
		panic(fmt.Sprintf("nn: Dropout rate %v not in [0, 1)", rate))
	}
	if !g.Train || rate == 0 {
		return x
	}
	mask := g.buf(x.Len())
	keep := 1 / (1 - rate)
	for i := range mask {
		if rng.Float32() < rate {
			mask[i] = 0
		} else {
			mask[i] = keep
		}
	}
	return g.applyMask(x, mask)
}

func (g *Graph) applyMask(x *Tensor, mask []float32) *Tensor {
	out := g.node(x.Rows, x.Cols, x.Grad != nil)
	for i, v := range x.Data {
		out.Data[i] = v * mask[i]
	}
	g.record(entry{op: opMask, out: out, a: x, buf: mask})
	return out
}

func backMask(g *Graph, e *entry) {
	ga, m := e.a.Grad, e.buf
	for i, d := range e.out.Grad {
		ga[i] += d * m[i]
	}
}

// GaussianNoise returns x + N(0, std²) noise in training mode (the noise is
// a constant: the gradient passes straight through), else x itself.
func (g *Graph) GaussianNoise(x *Tensor, std float32, rng *rand.Rand) *Tensor {
	if !g.Train || std == 0 {
		return x
	}
	return g.Add(x, g.Normal(x.Rows, x.Cols, std, rng))
}

// Reparam samples z = mu + exp(logvar/2)·ε with ε ~ N(0, I) from rng: the
// VAE reparameterisation trick fused into one op (the same result as
// Add(mu, Mul(Exp(Scale(logvar, 0.5)), Normal(...)))).
func (g *Graph) Reparam(mu, logvar *Tensor, rng *rand.Rand) *Tensor {
	sameShape("Reparam", mu, logvar)
	out := g.node(mu.Rows, mu.Cols, mu.Grad != nil || logvar.Grad != nil)
	eps := g.buf(mu.Len()) // keeps σ·ε for the backward pass
	for i := range eps {
		se := vec.Expf(0.5*logvar.Data[i]) * float32(rng.NormFloat64())
		eps[i] = se
		out.Data[i] = mu.Data[i] + se
	}
	g.record(entry{op: opReparam, out: out, a: mu, b: logvar, buf: eps})
	return out
}

func backReparam(g *Graph, e *entry) {
	d := e.out.Grad
	if e.a.Grad != nil {
		axpy(e.a.Grad, d, 1)
	}
	if e.b.Grad != nil {
		gb := e.b.Grad
		for i, se := range e.buf {
			gb[i] += 0.5 * d[i] * se // dz/dlogvar = ½σε
		}
	}
}
