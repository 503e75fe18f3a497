package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
)

// checkGrads compares Backward's gradients of loss(g, ins) with central
// finite differences (gonum diff/fd) over every element of every input.
// The loss is reduced against fixed random weights so that every output
// element matters with a distinct weight.
func checkGrads(t *testing.T, ins []*Tensor, build func(g *Graph, ins []*Tensor) *Tensor) {
	t.Helper()
	g := NewGraph()
	wrng := rand.New(rand.NewPCG(99, 1))
	var weights []float32
	loss := func() *Tensor {
		g.Reset()
		out := build(g, ins)
		if out.Len() == 1 {
			return out
		}
		if weights == nil {
			weights = make([]float32, out.Len())
			for i := range weights {
				weights[i] = float32(wrng.Float64()*2 - 1)
			}
		}
		return g.Sum(g.Mul(out, g.constant(out.Rows, out.Cols, weights)))
	}
	ZeroGrads(ins)
	l := loss()
	g.Backward(l)
	var analytic, x []float64
	for _, in := range ins {
		for i := range in.Data {
			analytic = append(analytic, float64(in.Grad[i]))
			x = append(x, float64(in.Data[i]))
		}
	}
	set := func(x []float64) {
		k := 0
		for _, in := range ins {
			for i := range in.Data {
				in.Data[i] = float32(x[k])
				k++
			}
		}
	}
	f := func(x []float64) float64 {
		set(x)
		return float64(loss().Data[0])
	}
	numeric := fd.Gradient(nil, f, append([]float64(nil), x...), &fd.Settings{Formula: fd.Central, Step: 1e-2})
	set(x)
	var maxAbs float64
	for _, v := range numeric {
		maxAbs = max(maxAbs, math.Abs(v))
	}
	bad := 0
	for i := range analytic {
		// float32 forward passes limit the finite differences to ~1e-3
		// relative accuracy; real bugs are off by far more.
		tol := 2e-2*math.Abs(numeric[i]) + 2e-3*max(maxAbs, 1)
		if d := math.Abs(analytic[i] - numeric[i]); d > tol || math.IsNaN(analytic[i]) {
			if bad < 5 {
				t.Errorf("grad[%d]: analytic %.6g, numeric %.6g", i, analytic[i], numeric[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d gradient entries disagree", bad, len(analytic))
	}
	if maxAbs == 0 {
		t.Errorf("all numeric gradients are zero: the check proves nothing")
	}
}

// constant wraps fixed values as a graph input (test helper).
func (g *Graph) constant(rows, cols int, v []float32) *Tensor {
	t := g.Input(rows, cols)
	copy(t.Data, v)
	return t
}

// param returns a named trainable tensor of values in ±[lo, hi], away from
// the kinks of ReLU-like ops at 0.
func param(rng *rand.Rand, rows, cols int, lo, hi float64) *Tensor {
	p := NewParam(fmt.Sprintf("p%dx%d", rows, cols), rows, cols)
	for i := range p.Data {
		v := lo + (hi-lo)*rng.Float64()
		if rng.IntN(2) == 0 {
			v = -v
		}
		p.Data[i] = float32(v)
	}
	return p
}

func positive(rng *rand.Rand, rows, cols int) *Tensor {
	p := param(rng, rows, cols, 0.2, 1.5)
	for i, v := range p.Data {
		p.Data[i] = float32(math.Abs(float64(v)))
	}
	return p
}

func TestGradOps(t *testing.T) {
	type tc struct {
		name  string
		ins   func(r *rand.Rand) []*Tensor
		build func(g *Graph, in []*Tensor) *Tensor
	}
	two := func(r1, c1, r2, c2 int) func(r *rand.Rand) []*Tensor {
		return func(r *rand.Rand) []*Tensor {
			return []*Tensor{param(r, r1, c1, 0.1, 1), param(r, r2, c2, 0.1, 1)}
		}
	}
	one := func(rows, cols int) func(r *rand.Rand) []*Tensor {
		return func(r *rand.Rand) []*Tensor { return []*Tensor{param(r, rows, cols, 0.1, 1.2)} }
	}
	cases := []tc{
		{"matmul", two(3, 4, 4, 5), func(g *Graph, in []*Tensor) *Tensor { return g.MatMul(in[0], in[1], false, false) }},
		{"matmul_ta", two(4, 3, 4, 5), func(g *Graph, in []*Tensor) *Tensor { return g.MatMul(in[0], in[1], true, false) }},
		{"matmul_tb", two(3, 4, 5, 4), func(g *Graph, in []*Tensor) *Tensor { return g.MatMul(in[0], in[1], false, true) }},
		{"matmul_tab", two(4, 3, 5, 4), func(g *Graph, in []*Tensor) *Tensor { return g.MatMul(in[0], in[1], true, true) }},
		{"add_bias", two(3, 4, 1, 4), func(g *Graph, in []*Tensor) *Tensor { return g.AddBias(in[0], in[1]) }},
		{"add", two(3, 4, 3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Add(in[0], in[1]) }},
		{"sub", two(3, 4, 3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Sub(in[0], in[1]) }},
		{"mul", two(3, 4, 3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Mul(in[0], in[1]) }},
		{"mul_self", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Mul(in[0], in[0]) }},
		{"scale", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Scale(in[0], -2.5) }},
		{"add_scalar", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.AddScalar(in[0], 0.7) }},
		{"relu", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.ReLU(in[0]) }},
		{"leaky_relu", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.LeakyReLU(in[0], 0.2) }},
		{"selu", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.SELU(in[0]) }},
		{"elu", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.ELU(in[0]) }},
		{"tanh", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Tanh(in[0]) }},
		{"sigmoid", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Sigmoid(in[0]) }},
		{"softplus", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Softplus(in[0]) }},
		{"linear_act", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Activate(in[0], ActLinear, 0) }},
		{"exp", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Exp(in[0]) }},
		{"log", func(r *rand.Rand) []*Tensor { return []*Tensor{positive(r, 3, 4)} },
			func(g *Graph, in []*Tensor) *Tensor { return g.Log(in[0]) }},
		{"square", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Square(in[0]) }},
		{"sum", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Sum(g.Square(in[0])) }},
		{"mean", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.Mean(g.Square(in[0])) }},
		{"sum_axis0", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.SumAxis(in[0], 0) }},
		{"sum_axis1", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.SumAxis(in[0], 1) }},
		{"mean_axis0", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.MeanAxis(in[0], 0) }},
		{"mean_axis1", one(3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.MeanAxis(in[0], 1) }},
		{"slice_cols", one(3, 6), func(g *Graph, in []*Tensor) *Tensor { return g.SliceCols(in[0], 1, 4) }},
		{"concat_cols", two(3, 2, 3, 3), func(g *Graph, in []*Tensor) *Tensor { return g.ConcatCols(in[0], in[1], in[0]) }},
		{"split_merge_steps", one(2, 12), func(g *Graph, in []*Tensor) *Tensor {
			s := g.SplitSteps(in[0], 4)
			return g.MergeSteps([]*Tensor{g.Square(s[3]), s[0], g.Exp(s[1])})
		}},
		{"reshape", two(2, 6, 3, 4), func(g *Graph, in []*Tensor) *Tensor {
			return g.MatMul(g.Reshape(g.Tanh(in[0]), 4, 3), g.Reshape(in[1], 3, 4), false, false)
		}},
		{"mse", two(3, 4, 3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.MSE(in[0], in[1]) }},
		{"bce_logits", func(r *rand.Rand) []*Tensor {
			l := param(r, 3, 4, 0, 3)
			tg := positive(r, 3, 4)
			for i := range tg.Data {
				tg.Data[i] /= 1.5
			}
			return []*Tensor{l, tg}
		}, func(g *Graph, in []*Tensor) *Tensor { return g.BCEWithLogits(in[0], in[1]) }},
		{"kl_normal", two(3, 4, 3, 4), func(g *Graph, in []*Tensor) *Tensor { return g.KLNormal(in[0], in[1]) }},
		{"reparam", two(3, 4, 3, 4), func(g *Graph, in []*Tensor) *Tensor {
			return g.Reparam(in[0], in[1], rand.New(rand.NewPCG(5, 6)))
		}},
		{"normal_noise", one(3, 4), func(g *Graph, in []*Tensor) *Tensor {
			return g.Mul(in[0], g.GaussianNoise(in[0], 0.3, rand.New(rand.NewPCG(5, 6))))
		}},
		{"dropout", one(4, 5), func(g *Graph, in []*Tensor) *Tensor {
			return g.Dropout(in[0], 0.4, rand.New(rand.NewPCG(5, 6)))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkGrads(t, c.ins(rand.New(rand.NewPCG(1, 2))), c.build)
		})
	}
}

func TestGradAffine(t *testing.T) {
	for _, act := range []Act{ActLinear, ActReLU, ActLeakyReLU, ActSELU, ActELU, ActTanh, ActSigmoid, ActSoftplus} {
		for _, tied := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/tied=%v", act, tied), func(t *testing.T) {
				r := rand.New(rand.NewPCG(3, 4))
				x, w, b := param(r, 5, 4, 0.1, 1), param(r, 4, 3, 0.1, 1), param(r, 1, 3, 0.1, 0.5)
				if tied {
					w = param(r, 3, 4, 0.1, 1)
				}
				checkGrads(t, []*Tensor{x, w, b}, func(g *Graph, in []*Tensor) *Tensor {
					return g.Affine(in[0], in[1], in[2], tied, act)
				})
			})
		}
	}
}
