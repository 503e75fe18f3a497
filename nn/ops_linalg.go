package nn

import (
	"fmt"

	"github.com/aexp/aexp/nn/internal/vec"
)

func init() {
	backwardFns[opMatMul] = backMatMul
	backwardFns[opAffine] = backAffine
	backwardFns[opAddBias] = backAddBias
}

// dims returns the shape of op(t).
func dims(t *Tensor, trans bool) (int, int) {
	if trans {
		return t.Cols, t.Rows
	}
	return t.Rows, t.Cols
}

// MatMul returns op(a)·op(b), where op transposes when ta/tb is set. The
// transposes are BLAS flags; nothing is copied.
func (g *Graph) MatMul(a, b *Tensor, ta, tb bool) *Tensor {
	m, k := dims(a, ta)
	k2, n := dims(b, tb)
	if k != k2 {
		panic(fmt.Sprintf("nn: MatMul: inner dimensions %d and %d", k, k2))
	}
	out := g.node(m, n, a.Grad != nil || b.Grad != nil)
	gemm(ta, tb, m, n, k, 1, a.Data, a.Cols, b.Data, b.Cols, 0, out.Data, n)
	g.record(entry{op: opMatMul, out: out, a: a, b: b, ta: ta, tb: tb})
	return out
}

// matmulGrads accumulates the gradients of c = op(a)·op(b) given dc.
func matmulGrads(a, b *Tensor, ta, tb bool, dc []float32, m, n, k int) {
	if a.Grad != nil {
		if !ta {
			gemm(false, !tb, m, k, n, 1, dc, n, b.Data, b.Cols, 1, a.Grad, a.Cols)
		} else {
			gemm(tb, true, k, m, n, 1, b.Data, b.Cols, dc, n, 1, a.Grad, a.Cols)
		}
	}
	if b.Grad != nil {
		if !tb {
			gemm(!ta, false, k, n, m, 1, a.Data, a.Cols, dc, n, 1, b.Grad, b.Cols)
		} else {
			gemm(true, ta, n, k, m, 1, dc, n, a.Data, a.Cols, 1, b.Grad, b.Cols)
		}
	}
}

func backMatMul(g *Graph, e *entry) {
	m, k := dims(e.a, e.ta)
	matmulGrads(e.a, e.b, e.ta, e.tb, e.out.Grad, m, e.out.Cols, k)
}

// Affine returns act(x·op(w) + bias) in one pass over the output: the bias
// is written first and the product accumulated onto it, then the activation
// is applied in place. bias (1×n) may be nil. With transW the layer uses wᵀ,
// which is how a tied decoder reuses its encoder's weights.
func (g *Graph) Affine(x, w, bias *Tensor, transW bool, act Act) *Tensor {
	k, n := dims(w, transW)
	if x.Cols != k {
		panic(fmt.Sprintf("nn: Affine: input has %d features, weights expect %d", x.Cols, k))
	}
	if bias != nil && (bias.Rows != 1 || bias.Cols != n) {
		panic(fmt.Sprintf("nn: Affine: bias %dx%d, want 1x%d", bias.Rows, bias.Cols, n))
	}
	m := x.Rows
	out := g.node(m, n, x.Grad != nil || w.Grad != nil || (bias != nil && bias.Grad != nil))
	beta := float32(0)
	if bias != nil {
		for i := range m {
			copy(out.Data[i*n:(i+1)*n], bias.Data)
		}
		beta = 1
	}
	gemm(false, transW, m, n, k, 1, x.Data, x.Cols, w.Data, w.Cols, beta, out.Data, n)
	act.apply(out.Data, out.Data, LeakySlope)
	g.record(entry{op: opAffine, out: out, a: x, b: w, c: bias, tb: transW, act: act, f: LeakySlope})
	return out
}

func backAffine(g *Graph, e *entry) {
	dz := e.out.Grad // consumed only here, so it is turned into dz in place
	e.act.backprop(dz, e.out.Data, e.f)
	m, n := e.out.Rows, e.out.Cols
	if e.c != nil && e.c.Grad != nil {
		colSumInto(e.c.Grad, dz, m, n)
	}
	matmulGrads(e.a, e.b, false, e.tb, dz, m, n, e.a.Cols)
}

// colSumInto adds the column sums of the m×n matrix x to dst.
func colSumInto(dst, x []float32, m, n int) {
	for i := range m {
		vec.Axpy(dst[:n], x[i*n:(i+1)*n], 1)
	}
}

// AddBias returns x + bias with the 1×n bias broadcast over rows.
func (g *Graph) AddBias(x, bias *Tensor) *Tensor {
	if bias.Rows != 1 || bias.Cols != x.Cols {
		panic(fmt.Sprintf("nn: AddBias: bias %dx%d for %dx%d input", bias.Rows, bias.Cols, x.Rows, x.Cols))
	}
	out := g.node(x.Rows, x.Cols, x.Grad != nil || bias.Grad != nil)
	n := x.Cols
	for i := range x.Rows {
		o, r := out.Data[i*n:(i+1)*n], x.Data[i*n:(i+1)*n]
		for j, v := range r {
			o[j] = v + bias.Data[j]
		}
	}
	g.record(entry{op: opAddBias, out: out, a: x, b: bias})
	return out
}

func backAddBias(g *Graph, e *entry) {
	if e.a.Grad != nil {
		axpy(e.a.Grad, e.out.Grad, 1)
	}
	if e.b.Grad != nil {
		colSumInto(e.b.Grad, e.out.Grad, e.out.Rows, e.out.Cols)
	}
}

// axpy: dst += s·x.
func axpy(dst, x []float32, s float32) { vec.Axpy(dst, x, s) }
