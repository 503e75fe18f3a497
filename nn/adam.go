package nn

import (
	"fmt"
	"math"
	"strconv"

	"github.com/aexp/aexp/nn/internal/vec"
)

// Adam is Adam with bias correction and optional decoupled weight decay
// (AdamW). The moment update, bias correction, parameter update and gradient
// reset are one loop per parameter.
type Adam struct {
	LR, Beta1, Beta2, Eps float32
	WeightDecay           float32  // decoupled: p -= lr·wd·p
	Schedule              Schedule // optional; scales LR per step

	params []*Tensor
	m, v   []*Tensor
	t      int
}

// NewAdam returns Adam over params with β = (0.9, 0.999), ε = 1e-8.
func NewAdam(params []*Tensor, lr float32) *Adam {
	a := &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, params: params}
	for _, p := range params {
		a.m = append(a.m, &Tensor{Name: "adam.m." + p.Name, Rows: p.Rows, Cols: p.Cols, Data: make([]float32, p.Len())})
		a.v = append(a.v, &Tensor{Name: "adam.v." + p.Name, Rows: p.Rows, Cols: p.Cols, Data: make([]float32, p.Len())})
	}
	return a
}

// SetLR sets the base learning rate.
func (a *Adam) SetLR(lr float32) { a.LR = lr }

// Steps is the number of updates taken.
func (a *Adam) Steps() int { return a.t }

// Step updates every parameter and clears its gradient.
func (a *Adam) Step() {
	a.t++
	lr := a.LR
	if a.Schedule != nil {
		lr = a.Schedule(a.t, a.LR)
	}
	b1, b2 := a.Beta1, a.Beta2
	c1 := 1 - float32(math.Pow(float64(b1), float64(a.t)))
	c2 := 1 - float32(math.Pow(float64(b2), float64(a.t)))
	// lr·m̂/(√v̂+ε) = (lr/c1)·m/(√v/√c2 + ε)
	step := lr / c1
	isc2 := 1 / float32(math.Sqrt(float64(c2)))
	decay := 1 - lr*a.WeightDecay
	for k, p := range a.params {
		vec.Adam(p.Data, p.Grad, a.m[k].Data, a.v[k].Data, b1, b2, step, isc2, a.Eps, decay)
	}
}

// State returns the moment tensors (named adam.m.<param>, adam.v.<param>)
// and the step count.
func (a *Adam) State() ([]*Tensor, map[string]string) {
	ts := make([]*Tensor, 0, 2*len(a.m))
	ts = append(ts, a.m...)
	ts = append(ts, a.v...)
	return ts, map[string]string{"adam.step": strconv.Itoa(a.t)}
}

// Restore loads state produced by State.
func (a *Adam) Restore(state map[string][]float32, meta map[string]string) error {
	all := append(append([]*Tensor(nil), a.m...), a.v...)
	for _, t := range all { // check everything before changing anything
		d, ok := state[t.Name]
		if !ok {
			return fmt.Errorf("optimizer state %q missing", t.Name)
		}
		if len(d) != t.Len() {
			return fmt.Errorf("optimizer state %q has %d values, want %d", t.Name, len(d), t.Len())
		}
	}
	n, err := strconv.Atoi(meta["adam.step"])
	if err != nil || n < 0 {
		return fmt.Errorf("optimizer state: bad adam.step %q", meta["adam.step"])
	}
	for _, t := range all {
		copy(t.Data, state[t.Name])
	}
	a.t = n
	return nil
}
