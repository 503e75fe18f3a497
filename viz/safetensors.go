package viz

import (
	"github.com/aexp/aexp/nn"
)

// Tensor is one named array of an artifact, as float32. Shape is row-major;
// len(Data) is the product of Shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Len is the size of the first dimension (the number of examples), 0 for a scalar.
func (t Tensor) Len() int {
	if len(t.Shape) == 0 {
		return 0
	}
	return t.Shape[0]
}

// Row returns example i as a slice of Data (not a copy).
func (t Tensor) Row(i int) []float32 {
	n := t.Len()
	if n == 0 {
		return nil
	}
	per := len(t.Data) / n
	return t.Data[i*per : (i+1)*per]
}

// ReadSafetensors decodes an artifact's safetensors bytes (with nn's reader,
// the one that wrote them) into tensors by name and the header metadata.
func ReadSafetensors(b []byte) (map[string]Tensor, map[string]string, error) {
	entries, meta, err := nn.ReadSafetensors(b)
	if err != nil {
		return nil, nil, err
	}
	ts := make(map[string]Tensor, len(entries))
	for _, e := range entries {
		ts[e.Name] = Tensor{Shape: e.Shape, Data: e.Data}
	}
	return ts, meta, nil
}
