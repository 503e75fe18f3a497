package nn

import "fmt"

func init() {
	backwardFns[opSlice] = backSlice
	backwardFns[opConcat] = backConcat
}

// SliceCols returns columns [from, to) of x as a new tensor.
func (g *Graph) SliceCols(x *Tensor, from, to int) *Tensor {
	if from < 0 || to > x.Cols || from >= to {
		panic(fmt.Sprintf("nn: SliceCols [%d,%d) of %d columns", from, to, x.Cols))
	}
	w := to - from
	out := g.node(x.Rows, w, x.Grad != nil)
	for i := range x.Rows {
		copy(out.Data[i*w:(i+1)*w], x.Data[i*x.Cols+from:i*x.Cols+to])
	}
	g.record(entry{op: opSlice, out: out, a: x, i: from})
	return out
}

func backSlice(g *Graph, e *entry) {
	w, c := e.out.Cols, e.a.Cols
	for i := range e.a.Rows {
		axpy(e.a.Grad[i*c+e.i:i*c+e.i+w], e.out.Grad[i*w:(i+1)*w], 1)
	}
}

// ConcatCols joins tensors with equal row counts side by side.
func (g *Graph) ConcatCols(ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("nn: ConcatCols of nothing")
	}
	list := g.list(len(ts))
	copy(list, ts)
	cols, grad := 0, false
	for _, t := range list {
		if t.Rows != list[0].Rows {
			panic(fmt.Sprintf("nn: ConcatCols: %d rows vs %d", t.Rows, list[0].Rows))
		}
		cols += t.Cols
		grad = grad || t.Grad != nil
	}
	out := g.node(list[0].Rows, cols, grad)
	off := 0
	for _, t := range list {
		for i := range t.Rows {
			copy(out.Data[i*cols+off:i*cols+off+t.Cols], t.Data[i*t.Cols:(i+1)*t.Cols])
		}
		off += t.Cols
	}
	g.record(entry{op: opConcat, out: out, list: list})
	return out
}

func backConcat(g *Graph, e *entry) {
	cols, off := e.out.Cols, 0
	for _, t := range e.list {
		if t.Grad != nil {
			for i := range t.Rows {
				axpy(t.Grad[i*t.Cols:(i+1)*t.Cols], e.out.Grad[i*cols+off:i*cols+off+t.Cols], 1)
			}
		}
		off += t.Cols
	}
}

// SplitSteps splits a batch of sequences x (B × steps·F, step-major within
// a row, e.g. MNIST images as 28 rows of 28) into steps tensors of B × F.
// The returned slice is owned by the graph and reused after Reset.
func (g *Graph) SplitSteps(x *Tensor, steps int) []*Tensor {
	if steps <= 0 || x.Cols%steps != 0 {
		panic(fmt.Sprintf("nn: SplitSteps: %d columns into %d steps", x.Cols, steps))
	}
	f := x.Cols / steps
	out := g.list(steps)
	for t := range steps {
		out[t] = g.SliceCols(x, t*f, (t+1)*f)
	}
	return out
}

// MergeSteps is the inverse of SplitSteps: B × F steps to B × steps·F.
func (g *Graph) MergeSteps(steps []*Tensor) *Tensor { return g.ConcatCols(steps...) }

// Reshape returns a view of x with another shape and the same row-major
// data; gradients flow through the shared buffers at no cost. For example a
// B × (T·H) sequence of hidden states reshaped to (B·T) × H lets one Linear
// act on every time step in a single matrix product.
func (g *Graph) Reshape(x *Tensor, rows, cols int) *Tensor {
	if rows*cols != x.Len() {
		panic(fmt.Sprintf("nn: Reshape %dx%d to %dx%d", x.Rows, x.Cols, rows, cols))
	}
	if g.vused == len(g.views) {
		g.views = append(g.views, &Tensor{})
	}
	v := g.views[g.vused]
	g.vused++
	*v = Tensor{Rows: rows, Cols: cols, Data: x.Data, Grad: x.Grad}
	return v
}
