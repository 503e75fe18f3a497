package nn

import (
	"math"

	"github.com/aexp/aexp/nn/internal/vec"
)

func init() {
	backwardFns[opAdd] = backAdd
	backwardFns[opSub] = backSub
	backwardFns[opMul] = backMul
	backwardFns[opScale] = backScale
	backwardFns[opAddScalar] = backAddScalar
	backwardFns[opAct] = backAct
	backwardFns[opExp] = backExp
	backwardFns[opLog] = backLog
	backwardFns[opSquare] = backSquare
}

// Add returns a + b (same shapes).
func (g *Graph) Add(a, b *Tensor) *Tensor {
	sameShape("Add", a, b)
	out := g.node(a.Rows, a.Cols, a.Grad != nil || b.Grad != nil)
	o := out.Data
	for i, v := range a.Data {
		o[i] = v + b.Data[i]
	}
	g.record(entry{op: opAdd, out: out, a: a, b: b})
	return out
}

func backAdd(g *Graph, e *entry) {
	if e.a.Grad != nil {
		axpy(e.a.Grad, e.out.Grad, 1)
	}
	if e.b.Grad != nil {
		axpy(e.b.Grad, e.out.Grad, 1)
	}
}

// Sub returns a - b (same shapes).
func (g *Graph) Sub(a, b *Tensor) *Tensor {
	sameShape("Sub", a, b)
	out := g.node(a.Rows, a.Cols, a.Grad != nil || b.Grad != nil)
	o := out.Data
	for i, v := range a.Data {
		o[i] = v - b.Data[i]
	}
	g.record(entry{op: opSub, out: out, a: a, b: b})
	return out
}

func backSub(g *Graph, e *entry) {
	if e.a.Grad != nil {
		axpy(e.a.Grad, e.out.Grad, 1)
	}
	if e.b.Grad != nil {
		axpy(e.b.Grad, e.out.Grad, -1)
	}
}

// Mul returns the elementwise product a ⊙ b (same shapes).
func (g *Graph) Mul(a, b *Tensor) *Tensor {
	sameShape("Mul", a, b)
	out := g.node(a.Rows, a.Cols, a.Grad != nil || b.Grad != nil)
	o := out.Data
	for i, v := range a.Data {
		o[i] = v * b.Data[i]
	}
	g.record(entry{op: opMul, out: out, a: a, b: b})
	return out
}

func backMul(g *Graph, e *entry) {
	d := e.out.Grad
	if e.a.Grad != nil {
		ga, bd := e.a.Grad[:len(d)], e.b.Data[:len(d)]
		for i, v := range d {
			ga[i] += v * bd[i]
		}
	}
	if e.b.Grad != nil {
		gb, ad := e.b.Grad[:len(d)], e.a.Data[:len(d)]
		for i, v := range d {
			gb[i] += v * ad[i]
		}
	}
}

// Scale returns s·a.
func (g *Graph) Scale(a *Tensor, s float32) *Tensor {
	out := g.node(a.Rows, a.Cols, a.Grad != nil)
	o := out.Data
	for i, v := range a.Data {
		o[i] = s * v
	}
	g.record(entry{op: opScale, out: out, a: a, f: s})
	return out
}

func backScale(g *Graph, e *entry) { axpy(e.a.Grad, e.out.Grad, e.f) }

// AddScalar returns a + s.
func (g *Graph) AddScalar(a *Tensor, s float32) *Tensor {
	out := g.node(a.Rows, a.Cols, a.Grad != nil)
	o := out.Data
	for i, v := range a.Data {
		o[i] = v + s
	}
	g.record(entry{op: opAddScalar, out: out, a: a})
	return out
}

func backAddScalar(g *Graph, e *entry) { axpy(e.a.Grad, e.out.Grad, 1) }

// Activate returns act(x); slope is used by ActLeakyReLU only.
func (g *Graph) Activate(x *Tensor, act Act, slope float32) *Tensor {
	out := g.node(x.Rows, x.Cols, x.Grad != nil)
	act.apply(out.Data, x.Data, slope)
	g.record(entry{op: opAct, out: out, a: x, act: act, f: slope})
	return out
}

func backAct(g *Graph, e *entry) {
	d := e.out.Grad // consumed only here: scaled in place
	e.act.backprop(d, e.out.Data, e.f)
	axpy(e.a.Grad, d, 1)
}

// ReLU returns max(x, 0).
func (g *Graph) ReLU(x *Tensor) *Tensor { return g.Activate(x, ActReLU, 0) }

// LeakyReLU returns x for x ≥ 0 and slope·x otherwise (slope > 0).
func (g *Graph) LeakyReLU(x *Tensor, slope float32) *Tensor {
	return g.Activate(x, ActLeakyReLU, slope)
}

// SELU returns the scaled exponential linear unit of x.
func (g *Graph) SELU(x *Tensor) *Tensor { return g.Activate(x, ActSELU, 0) }

// ELU returns x for x > 0 and e^x - 1 otherwise.
func (g *Graph) ELU(x *Tensor) *Tensor { return g.Activate(x, ActELU, 0) }

// Tanh returns tanh(x).
func (g *Graph) Tanh(x *Tensor) *Tensor { return g.Activate(x, ActTanh, 0) }

// Sigmoid returns 1/(1+e^-x).
func (g *Graph) Sigmoid(x *Tensor) *Tensor { return g.Activate(x, ActSigmoid, 0) }

// Softplus returns log(1+e^x), computed without overflow.
func (g *Graph) Softplus(x *Tensor) *Tensor { return g.Activate(x, ActSoftplus, 0) }

// Exp returns e^x.
func (g *Graph) Exp(x *Tensor) *Tensor {
	out := g.node(x.Rows, x.Cols, x.Grad != nil)
	for i, v := range x.Data {
		out.Data[i] = vec.Expf(v)
	}
	g.record(entry{op: opExp, out: out, a: x})
	return out
}

func backExp(g *Graph, e *entry) {
	ga, y := e.a.Grad, e.out.Data
	for i, d := range e.out.Grad {
		ga[i] += d * y[i]
	}
}

// Log returns the natural logarithm of x (NaN/-Inf for x ≤ 0, as math.Log).
func (g *Graph) Log(x *Tensor) *Tensor {
	out := g.node(x.Rows, x.Cols, x.Grad != nil)
	for i, v := range x.Data {
		out.Data[i] = float32(math.Log(float64(v)))
	}
	g.record(entry{op: opLog, out: out, a: x})
	return out
}

func backLog(g *Graph, e *entry) {
	ga, x := e.a.Grad, e.a.Data
	for i, d := range e.out.Grad {
		ga[i] += d / x[i]
	}
}

// Square returns x².
func (g *Graph) Square(x *Tensor) *Tensor {
	out := g.node(x.Rows, x.Cols, x.Grad != nil)
	for i, v := range x.Data {
		out.Data[i] = v * v
	}
	g.record(entry{op: opSquare, out: out, a: x})
	return out
}

func backSquare(g *Graph, e *entry) {
	ga, x := e.a.Grad, e.a.Data
	for i, d := range e.out.Grad {
		ga[i] += 2 * d * x[i]
	}
}
