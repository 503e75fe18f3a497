package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Init is a weight initialiser. All draw from an explicitly passed source,
// so the same seed gives the same weights.
type Init uint8

const (
	Glorot Init = iota // uniform ±√(6/(fanIn+fanOut)); for tanh, sigmoid, linear
	He                 // normal, std √(2/fanIn); for ReLU-like units
	LeCun              // normal, std √(1/fanIn); for SELU (self-normalising)
)

func (in Init) String() string {
	switch in {
	case Glorot:
		return "glorot"
	case He:
		return "he"
	case LeCun:
		return "lecun"
	}
	return fmt.Sprintf("Init(%d)", in)
}

// InitFor is the usual initialiser for an activation.
func InitFor(a Act) Init {
	switch a {
	case ActReLU, ActLeakyReLU, ActELU:
		return He
	case ActSELU:
		return LeCun
	}
	return Glorot
}

// Fill overwrites w with initial values for a layer with the given fans.
func (in Init) Fill(w []float32, fanIn, fanOut int, rng *rand.Rand) {
	switch in {
	case Glorot:
		lim := math.Sqrt(6 / float64(fanIn+fanOut))
		for i := range w {
			w[i] = float32((2*rng.Float64() - 1) * lim)
		}
	case He, LeCun:
		std := math.Sqrt(1 / float64(fanIn))
		if in == He {
			std *= math.Sqrt2
		}
		for i := range w {
			w[i] = float32(rng.NormFloat64() * std)
		}
	default:
		panic("nn: unknown initialiser " + in.String())
	}
}
