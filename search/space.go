package search

import (
	"fmt"
	"math"
)

// Kind is the kind of a parameter's distribution.
type Kind int

const (
	Float       Kind = iota // a real number in [Low, High], optionally on a Step grid
	Int                     // an integer in [Low, High] on a Step grid (Step >= 1)
	Categorical             // one of N unordered choices, as an index 0..N-1
)

// Param is one searched parameter.
type Param struct {
	Name      string
	Kind      Kind
	Low, High float64 // Float, Int: bounds (values, not exponents)
	Log       bool    // Float, Int: searched on a log scale (Low > 0)
	Step      float64 // Float: 0 continuous, else values are Low + k·Step; Int: 0 means 1
	N         int     // Categorical: the number of choices
}

// Branch is one arm of a conditional space: its parameters exist only in
// trials of that branch (aexp's [[variants]] blocks).
type Branch struct {
	Name   string
	Params []Param
}

// Space is what a sampler searches: one or more branches. With several
// branches the branch itself is a categorical choice of the model.
type Space struct {
	Branches []Branch
}

// Config is one point of a space: a branch and a value per parameter of
// that branch (categoricals as the choice's index).
type Config struct {
	Branch int
	Values []float64
}

// State is how a trial stands.
type State int

const (
	Complete State = iota // finished with Value
	Pruned                // stopped early; Value was reported at Step
	Running               // in flight (queued or running): no value yet
	Failed                // no usable value (failed, diverged): ignored by the model
)

// Trial is one configuration tried before, in the order they were started.
type Trial struct {
	Config
	State State
	Value float64 // the loss: lower is better (flip a maximised objective)
	Step  int     // Pruned: the step (epoch) Value was reported at
}

// Check reports a space the sampler cannot search.
func (s Space) Check() error {
	if len(s.Branches) == 0 {
		return fmt.Errorf("search: empty space")
	}
	for _, b := range s.Branches {
		for _, p := range b.Params {
			switch p.Kind {
			case Categorical:
				if p.N < 1 {
					return fmt.Errorf("search: %s: categorical with %d choices", p.Name, p.N)
				}
			case Float, Int:
				if !(p.Low <= p.High) || math.IsInf(p.Low, 0) || math.IsInf(p.High, 0) {
					return fmt.Errorf("search: %s: bad bounds [%g, %g]", p.Name, p.Low, p.High)
				}
				if p.Log && p.Low <= 0 {
					return fmt.Errorf("search: %s: log scale needs Low > 0", p.Name)
				}
				if p.Step < 0 || p.Kind == Int && p.Step != math.Trunc(p.Step) {
					return fmt.Errorf("search: %s: bad step %g", p.Name, p.Step)
				}
			default:
				return fmt.Errorf("search: %s: unknown kind %d", p.Name, p.Kind)
			}
		}
	}
	return nil
}

// step is the grid step of a numeric parameter (0: continuous).
func (p Param) step() float64 {
	if p.Kind == Int && p.Step == 0 {
		return 1
	}
	return p.Step
}

// bounds are the model's bounds of a numeric parameter in its internal
// scale (log for Log), widened by half a step on a grid so the end values
// get as much mass as the inner ones.
func (p Param) bounds() (lo, hi float64) {
	lo, hi = p.Low, p.High
	if q := p.step(); q > 0 {
		lo, hi = lo-q/2, p.top()+q/2
		if p.Log {
			lo = math.Max(lo, p.Low/2) // stays positive; half a step below a tiny Low
		}
	}
	if p.Log {
		return math.Log(lo), math.Log(hi)
	}
	return lo, hi
}

// internal maps a value to the model's scale.
func (p Param) internal(v float64) float64 {
	if p.Log {
		return math.Log(v)
	}
	return v
}

// external maps a model-scale number back to a valid value: exp on a log
// scale, then rounded to the grid and clipped to the bounds.
func (p Param) external(x float64) float64 {
	v := x
	if p.Log {
		v = math.Exp(x)
	}
	if q := p.step(); q > 0 {
		v = math.Round((v-p.Low)/q)*q + p.Low
		v = math.Min(v, p.top())
	}
	return math.Max(p.Low, math.Min(p.High, v))
}

// top is the largest value on a numeric parameter's grid (High when
// continuous): High need not be a multiple of the step above Low.
func (p Param) top() float64 {
	q := p.step()
	if q == 0 {
		return p.High
	}
	return p.Low + math.Floor((p.High-p.Low)/q+1e-9)*q
}
