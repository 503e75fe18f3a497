package nn

import (
	"fmt"
	"strconv"
)

// SGD is stochastic gradient descent with (heavy-ball) momentum:
// v = μ·v + g; p -= lr·v.
type SGD struct {
	LR, Momentum float32
	Schedule     Schedule

	params []*Tensor
	vel    []*Tensor
	t      int
}

// NewSGD returns SGD over params.
func NewSGD(params []*Tensor, lr, momentum float32) *SGD {
	s := &SGD{LR: lr, Momentum: momentum, params: params}
	for _, p := range params {
		s.vel = append(s.vel, &Tensor{Name: "sgd.v." + p.Name, Rows: p.Rows, Cols: p.Cols, Data: make([]float32, p.Len())})
	}
	return s
}

// SetLR sets the base learning rate.
func (s *SGD) SetLR(lr float32) { s.LR = lr }

// Step updates every parameter and clears its gradient.
func (s *SGD) Step() {
	s.t++
	lr := s.LR
	if s.Schedule != nil {
		lr = s.Schedule(s.t, s.LR)
	}
	mu := s.Momentum
	for k, p := range s.params {
		v, w, gr := s.vel[k].Data, p.Data, p.Grad
		v, w = v[:len(gr)], w[:len(gr)]
		for i, gi := range gr {
			vi := mu*v[i] + gi
			v[i] = vi
			w[i] -= lr * vi
			gr[i] = 0
		}
	}
}

// State returns the velocity tensors (sgd.v.<param>) and the step count.
func (s *SGD) State() ([]*Tensor, map[string]string) {
	return append([]*Tensor(nil), s.vel...), map[string]string{"sgd.step": strconv.Itoa(s.t)}
}

// Restore loads state produced by State.
func (s *SGD) Restore(state map[string][]float32, meta map[string]string) error {
	for _, t := range s.vel { // check everything before changing anything
		d, ok := state[t.Name]
		if !ok || len(d) != t.Len() {
			return fmt.Errorf("optimizer state %q missing or mis-sized", t.Name)
		}
	}
	n, err := strconv.Atoi(meta["sgd.step"])
	if err != nil || n < 0 {
		return fmt.Errorf("optimizer state: bad sgd.step %q", meta["sgd.step"])
	}
	for _, t := range s.vel {
		copy(t.Data, state[t.Name])
	}
	s.t = n
	return nil
}
