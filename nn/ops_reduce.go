package nn

import "fmt"

func init() {
	backwardFns[opSum] = backSum
	backwardFns[opSumAxis] = backSumAxis
}

// Sum returns the 1×1 sum of all elements of x.
func (g *Graph) Sum(x *Tensor) *Tensor { return g.scaledSum(x, 1) }

// Mean returns the 1×1 mean of all elements of x.
func (g *Graph) Mean(x *Tensor) *Tensor { return g.scaledSum(x, 1/float32(x.Len())) }

func (g *Graph) scaledSum(x *Tensor, s float32) *Tensor {
	out := g.node(1, 1, x.Grad != nil)
	var acc float64 // float64 keeps large sums exact enough for determinism tests
	for _, v := range x.Data {
		acc += float64(v)
	}
	out.Data[0] = float32(acc) * s
	g.record(entry{op: opSum, out: out, a: x, f: s})
	return out
}

func backSum(g *Graph, e *entry) {
	d := e.out.Grad[0] * e.f
	for i := range e.a.Grad {
		e.a.Grad[i] += d
	}
}

// SumAxis sums x along an axis: axis 0 gives 1×Cols (over rows), axis 1
// gives Rows×1 (over columns).
func (g *Graph) SumAxis(x *Tensor, axis int) *Tensor { return g.sumAxis(x, axis, 1) }

// MeanAxis averages x along an axis, shaped as SumAxis.
func (g *Graph) MeanAxis(x *Tensor, axis int) *Tensor {
	n := x.Rows
	if axis == 1 {
		n = x.Cols
	}
	return g.sumAxis(x, axis, 1/float32(n))
}

func (g *Graph) sumAxis(x *Tensor, axis int, s float32) *Tensor {
	var out *Tensor
	r, c := x.Rows, x.Cols
	switch axis {
	case 0:
		out = g.node(1, c, x.Grad != nil)
		clear(out.Data)
		colSumInto(out.Data, x.Data, r, c)
		for j := range out.Data {
			out.Data[j] *= s
		}
	case 1:
		out = g.node(r, 1, x.Grad != nil)
		for i := range r {
			var acc float32
			for _, v := range x.Data[i*c : (i+1)*c] {
				acc += v
			}
			out.Data[i] = acc * s
		}
	default:
		panic(fmt.Sprintf("nn: SumAxis: axis %d (want 0 or 1)", axis))
	}
	g.record(entry{op: opSumAxis, out: out, a: x, i: axis, f: s})
	return out
}

func backSumAxis(g *Graph, e *entry) {
	r, c := e.a.Rows, e.a.Cols
	ga, d := e.a.Grad, e.out.Grad
	for i := range r {
		row := ga[i*c : (i+1)*c]
		if e.i == 0 {
			axpy(row, d, e.f)
		} else {
			v := d[i] * e.f
			for j := range row {
				row[j] += v
			}
		}
	}
}
