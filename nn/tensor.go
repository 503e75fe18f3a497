package nn

import "fmt"

// Tensor is a row-major float32 matrix (batch × features). Grad is nil when
// no gradient flows into the tensor (inputs, constants); ops skip the work of
// computing gradients for such operands.
type Tensor struct {
	Name       string
	Rows, Cols int
	Data       []float32
	Grad       []float32

	gbuf []float32 // backing store of Grad, kept while Grad is nil (graph nodes)
}

// NewTensor returns a zeroed rows×cols tensor without a gradient.
func NewTensor(rows, cols int) *Tensor {
	return &Tensor{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
}

// FromData wraps data (not copied) as a rows×cols tensor without a gradient.
func FromData(rows, cols int, data []float32) *Tensor {
	if len(data) != rows*cols {
		panic(fmt.Sprintf("nn: FromData: %d values for %dx%d", len(data), rows, cols))
	}
	return &Tensor{Rows: rows, Cols: cols, Data: data}
}

// NewParam returns a zeroed, named, trainable rows×cols tensor.
func NewParam(name string, rows, cols int) *Tensor {
	return &Tensor{Name: name, Rows: rows, Cols: cols,
		Data: make([]float32, rows*cols), Grad: make([]float32, rows*cols)}
}

// Len is Rows*Cols.
func (t *Tensor) Len() int { return t.Rows * t.Cols }

// At returns element (i, j).
func (t *Tensor) At(i, j int) float32 { return t.Data[i*t.Cols+j] }

// Row returns row i, aliasing Data.
func (t *Tensor) Row(i int) []float32 { return t.Data[i*t.Cols : (i+1)*t.Cols] }

// Scalar returns the value of a 1×1 tensor, e.g. a loss.
func (t *Tensor) Scalar() float32 {
	if t.Rows*t.Cols != 1 {
		panic(fmt.Sprintf("nn: Scalar of %dx%d tensor", t.Rows, t.Cols))
	}
	return t.Data[0]
}

// ZeroGrad clears the gradient, if any.
func (t *Tensor) ZeroGrad() { clear(t.Grad) }

func (t *Tensor) String() string {
	return fmt.Sprintf("Tensor(%s %dx%d)", t.Name, t.Rows, t.Cols)
}

// CountParams is the number of scalars in params.
func CountParams(params []*Tensor) int {
	n := 0
	for _, p := range params {
		n += p.Len()
	}
	return n
}

func sameShape(op string, a, b *Tensor) {
	if a.Rows != b.Rows || a.Cols != b.Cols {
		panic(fmt.Sprintf("nn: %s: shape mismatch %dx%d vs %dx%d", op, a.Rows, a.Cols, b.Rows, b.Cols))
	}
}
