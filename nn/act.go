package nn

import (
	"fmt"
	"strings"

	"github.com/aexp/aexp/nn/internal/vec"
)

// Act is an elementwise activation. Every derivative is computed from the
// activation's output, so fused ops need not keep the pre-activation.
type Act uint8

// Activations. ActLeakyReLU has slope LeakySlope; ActELU has alpha 1; ActSELU uses
// the constants of Klambauer et al. 2017.
const (
	ActLinear Act = iota
	ActReLU
	ActLeakyReLU
	ActSELU
	ActELU
	ActTanh
	ActSigmoid
	ActSoftplus
)

// LeakySlope is the negative-side slope of ActLeakyReLU in fused layers.
const LeakySlope = 0.01

const (
	seluAlpha = 1.6732632423543772848170429916717
	seluScale = 1.0507009873554804934193349852946
)

var actNames = [...]string{"linear", "relu", "leaky_relu", "selu", "elu", "tanh", "sigmoid", "softplus"}

func (a Act) String() string {
	if int(a) < len(actNames) {
		return actNames[a]
	}
	return fmt.Sprintf("Act(%d)", a)
}

// ParseAct maps a name ("linear", "relu", "leaky_relu", "selu", "elu",
// "tanh", "sigmoid", "softplus") to an Act.
func ParseAct(s string) (Act, error) {
	s = strings.ToLower(strings.ReplaceAll(s, "-", "_"))
	for i, n := range actNames {
		if s == n || (s == "leakyrelu" && i == int(ActLeakyReLU)) || (s == "identity" && i == int(ActLinear)) {
			return Act(i), nil
		}
	}
	return 0, fmt.Errorf("unknown activation %q (want one of %s)", s, strings.Join(actNames[:], ", "))
}

// ActNames lists the activation names ParseAct accepts.
func ActNames() []string { return append([]string(nil), actNames[:]...) }

// softplus32 is log(1+e^x) without overflow.
func softplus32(x float32) float32 {
	if x > 0 {
		return x + vec.Log1pf(vec.Expf(-x))
	}
	return vec.Log1pf(vec.Expf(x))
}

// apply writes act(x) into y (which may alias x). slope is ActLeakyReLU's.
func (a Act) apply(y, x []float32, slope float32) {
	y = y[:len(x)]
	switch a {
	case ActLinear:
		copy(y, x)
	case ActReLU:
		for i, v := range x {
			y[i] = max(v, 0)
		}
	case ActLeakyReLU:
		for i, v := range x {
			if v < 0 {
				v *= slope
			}
			y[i] = v
		}
	case ActSELU:
		vec.SELU(y, x)
	case ActELU:
		for i, v := range x {
			if v <= 0 {
				v = vec.Expf(v) - 1
			}
			y[i] = v
		}
	case ActTanh:
		vec.Tanh(y, x)
	case ActSigmoid:
		vec.Sigmoid(y, x)
	case ActSoftplus:
		for i, v := range x {
			y[i] = softplus32(v)
		}
	default:
		panic("nn: unknown activation " + a.String())
	}
}

// backprop multiplies dy in place by act'(x), expressed through y = act(x).
func (a Act) backprop(dy, y []float32, slope float32) {
	dy = dy[:len(y)]
	switch a {
	case ActLinear:
	case ActReLU:
		vec.ReLUBack(dy, y)
	case ActLeakyReLU:
		// y<0 iff x<0 for slope>0; slope 0 falls back to ActReLU's rule.
		for i, v := range y {
			if v < 0 || (v == 0 && slope == 0) {
				dy[i] *= slope
			}
		}
	case ActSELU:
		vec.SELUBack(dy, y)
	case ActELU:
		for i, v := range y {
			if v <= 0 {
				dy[i] *= v + 1
			}
		}
	case ActTanh:
		vec.TanhBack(dy, y)
	case ActSigmoid:
		vec.SigmoidBack(dy, y)
	case ActSoftplus:
		// softplus' = sigmoid(x) = 1 - e^{-y}
		for i, v := range y {
			dy[i] *= 1 - vec.Expf(-v)
		}
	default:
		panic("nn: unknown activation " + a.String())
	}
}
