package nn

// Graph is a define-by-run tape. Ops called on it compute their result at
// once and record what the backward pass needs. Call Reset before each
// training step: the graph then hands out the same node tensors and scratch
// buffers in call order, so a steady-state step allocates nothing.
//
// A Graph is not safe for concurrent use; use one per goroutine.
type Graph struct {
	// Train enables training-only behaviour (Dropout, noise layers that
	// check it). It defaults to true.
	Train bool
	// NoGrad skips gradient buffers entirely (evaluation): results carry
	// no Grad and Backward does nothing.
	NoGrad bool

	nodes []*Tensor // node outputs, reused in call order
	nused int
	bufs  [][]float32 // scratch (masks, saved activations), reused in call order
	bused int
	lists [][]*Tensor // tensor lists for split/concat
	lused int
	views []*Tensor // Reshape headers sharing another tensor's buffers
	vused int
	tape  []entry
}

// NewGraph returns an empty graph in training mode.
func NewGraph() *Graph { return &Graph{Train: true} }

// Reset forgets the tape so the next step can reuse every buffer. Tensors
// returned by the graph before Reset must not be used after it.
func (g *Graph) Reset() {
	g.nused, g.bused, g.lused, g.vused = 0, 0, 0, 0
	clear(g.tape) // drop references so stale tensors are not kept alive
	g.tape = g.tape[:0]
}

// opcode selects an op's backward function.
type opcode uint8

// entry records one op on the tape; fields are used as each op needs.
type entry struct {
	op         opcode
	act        Act
	ta, tb     bool
	out        *Tensor
	a, b, c, d *Tensor
	f, f2      float32
	i, j       int
	buf, buf2  []float32
	buf3       []float32
	list       []*Tensor
	layer      any // *GRU / *LSTM for the fused recurrent ops
}

// backwardFns is indexed by opcode; filled by the op files' init functions.
var backwardFns [numOps]func(g *Graph, e *entry)

// node returns a rows×cols result tensor from the pool. Its Data is not
// cleared (ops overwrite it); its Grad is zeroed and present only when grad.
func (g *Graph) node(rows, cols int, grad bool) *Tensor {
	n := rows * cols
	if g.nused == len(g.nodes) {
		g.nodes = append(g.nodes, &Tensor{})
	}
	t := g.nodes[g.nused]
	g.nused++
	if cap(t.Data) < n {
		t.Data = make([]float32, n)
	}
	t.Data = t.Data[:n]
	t.Rows, t.Cols, t.Name = rows, cols, ""
	t.Grad = nil
	if grad && !g.NoGrad {
		if cap(t.gbuf) < n {
			t.gbuf = make([]float32, n)
		}
		t.Grad = t.gbuf[:n]
		clear(t.Grad)
	}
	return t
}

// buf returns a scratch slice of length n from the pool (contents undefined).
func (g *Graph) buf(n int) []float32 {
	if g.bused == len(g.bufs) {
		g.bufs = append(g.bufs, nil)
	}
	b := g.bufs[g.bused]
	if cap(b) < n {
		b = make([]float32, n)
		g.bufs[g.bused] = b
	}
	g.bused++
	return b[:n]
}

// list returns a tensor list of length n from the pool.
func (g *Graph) list(n int) []*Tensor {
	if g.lused == len(g.lists) {
		g.lists = append(g.lists, nil)
	}
	l := g.lists[g.lused]
	if cap(l) < n {
		l = make([]*Tensor, n)
		g.lists[g.lused] = l
	}
	g.lused++
	return l[:n]
}

func (g *Graph) record(e entry) { g.tape = append(g.tape, e) }

// Input returns a graph-owned rows×cols tensor without a gradient for the
// caller to fill (e.g. a batch converted from uint8). Its buffer is reused
// after Reset.
func (g *Graph) Input(rows, cols int) *Tensor { return g.node(rows, cols, false) }

// Backward propagates d(loss)/d(node) through the tape, accumulating into the
// Grad of every tensor that has one (parameters included). loss must be 1×1
// and produced by this graph.
func (g *Graph) Backward(loss *Tensor) {
	if loss.Len() != 1 {
		panic("nn: Backward: loss must be 1x1")
	}
	if loss.Grad == nil {
		return // nothing trainable reached the loss
	}
	loss.Grad[0] = 1
	for i := len(g.tape) - 1; i >= 0; i-- {
		e := &g.tape[i]
		if e.out.Grad == nil {
			continue
		}
		backwardFns[e.op](g, e)
	}
}

func anyGrad(ts ...*Tensor) bool {
	for _, t := range ts {
		if t != nil && t.Grad != nil {
			return true
		}
	}
	return false
}
