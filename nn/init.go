package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
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

// Orthogonal fills the rows×cols row-major matrix w, block by block of
// rows×rows (a recurrent weight holds one block per gate), with random
// orthogonal matrices: the Q of a Gaussian matrix's QR with the signs of R's
// diagonal folded in, so Q is uniformly distributed. Products of orthogonal
// matrices keep their norm, which keeps gradients alive over many steps.
func Orthogonal(w []float32, rows, cols int, rng *rand.Rand) {
	if len(w) != rows*cols || cols%rows != 0 {
		panic(fmt.Sprintf("nn: Orthogonal: %d values for %dx%d in %d×%d blocks", len(w), rows, cols, rows, rows))
	}
	n := rows
	a := mat.NewDense(n, n, nil)
	var qr mat.QR
	var q, r mat.Dense
	for b := 0; b < cols; b += n {
		for i := range n {
			for j := range n {
				a.Set(i, j, rng.NormFloat64())
			}
		}
		qr.Factorize(a)
		qr.QTo(&q)
		qr.RTo(&r)
		for j := range n {
			s := float32(1)
			if r.At(j, j) < 0 {
				s = -1
			}
			for i := range n {
				w[i*cols+b+j] = s * float32(q.At(i, j))
			}
		}
	}
}
