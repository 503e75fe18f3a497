package nn

import "math"

// Optimizer updates parameters from their accumulated gradients. Step also
// clears the gradients (in the same pass), ready for the next Backward.
type Optimizer interface {
	Step()
	// SetLR sets the base learning rate (a schedule may scale it).
	SetLR(lr float32)
	// State returns the optimizer's state as named tensors plus scalar
	// metadata, for checkpoints; Restore is its inverse.
	State() ([]*Tensor, map[string]string)
	Restore(state map[string][]float32, meta map[string]string) error
}

// Schedule maps a 1-based step number and the base learning rate to the
// rate used at that step (e.g. warm-up or decay).
type Schedule func(step int, base float32) float32

// StepDecay returns a schedule that multiplies the rate by factor every
// `every` steps.
func StepDecay(every int, factor float32) Schedule {
	return func(step int, base float32) float32 {
		return base * float32(math.Pow(float64(factor), float64((step-1)/every)))
	}
}

// ClipGradNorm rescales all gradients together so their global L2 norm is
// at most maxNorm, and returns the norm before clipping.
func ClipGradNorm(params []*Tensor, maxNorm float32) float32 {
	var ss float64
	for _, p := range params {
		for _, v := range p.Grad {
			ss += float64(v) * float64(v)
		}
	}
	norm := float32(math.Sqrt(ss))
	if norm > maxNorm && norm > 0 {
		s := maxNorm / norm
		for _, p := range params {
			for i := range p.Grad {
				p.Grad[i] *= s
			}
		}
	}
	return norm
}

// ZeroGrads clears the gradients of params.
func ZeroGrads(params []*Tensor) {
	for _, p := range params {
		clear(p.Grad)
	}
}
