package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Sines describes synthetic multi-sine series: each series is the sum of
// Components sinusoids with random amplitude, frequency and phase, plus
// optional Gaussian noise, scaled into [0, 1].
type Sines struct {
	N          int     // number of series
	Steps      int     // length of each series
	Components int     // sinusoids per series
	MinFreq    float64 // cycles per series, drawn uniformly in [MinFreq, MaxFreq]
	MaxFreq    float64
	Noise      float64 // std of Gaussian noise added to each value (before scaling)
}

// DefaultSines is the generator behind the dataset name "sines".
var DefaultSines = Sines{N: 10000, Steps: 40, Components: 2, MinFreq: 0.5, MaxFreq: 3, Noise: 0.02}

// Generate draws the series with seed. The result has shape [Steps 1].
func (c Sines) Generate(seed uint64) *Set {
	if c.N <= 0 || c.Steps <= 0 || c.Components <= 0 || c.MaxFreq < c.MinFreq {
		panic(fmt.Sprintf("dataset: bad sines config %+v", c))
	}
	rng := NewRand(seed, streamSines)
	data := make([]float32, c.N*c.Steps)
	amp := make([]float64, c.Components)
	freq := make([]float64, c.Components)
	phase := make([]float64, c.Components)
	for i := range c.N {
		total := 0.0
		for k := range c.Components {
			amp[k] = 0.2 + 0.8*rng.Float64()
			freq[k] = c.MinFreq + (c.MaxFreq-c.MinFreq)*rng.Float64()
			phase[k] = 2 * math.Pi * rng.Float64()
			total += amp[k]
		}
		scale := 1 / (total + 3*c.Noise)
		row := data[i*c.Steps : (i+1)*c.Steps]
		for t := range row {
			v := 0.0
			for k := range c.Components {
				v += amp[k] * math.Sin(2*math.Pi*freq[k]*float64(t)/float64(c.Steps)+phase[k])
			}
			if c.Noise > 0 {
				v += c.Noise * rng.NormFloat64()
			}
			row[t] = float32(min(max(0.5+0.5*v*scale, 0), 1))
		}
	}
	return FromFloat32([]int{c.Steps, 1}, data, nil)
}

const (
	streamSines = 0x5eed_0002
	// Fixed seeds for the "sines" dataset, so that runs with different run
	// seeds train and test on the same data.
	sinesTrainSeed = 1
	sinesTestSeed  = 2
)

// Load returns the training and test sets of a dataset name as sweeps
// write it:
//
//	mnist       MNIST from dataDir (empty: MNISTDir()); 60,000 + 10,000 images
//	sines       synthetic multi-sine series (DefaultSines; test: 2,000 more)
//	csv:PATH    equal-length series, one per line; the last 20% is the test set
//	idx:PATH    an IDX file (.gz allowed) whose first dimension counts
//	            examples; the last 20% is the test set
func Load(name, dataDir string) (train, test *Set, err error) {
	kind, path, _ := strings.Cut(name, ":")
	switch {
	case name == "mnist":
		return MNIST(dataDir)
	case name == "sines":
		c := DefaultSines
		train = c.Generate(sinesTrainSeed)
		c.N = 2000
		return train, c.Generate(sinesTestSeed), nil
	case kind == "csv" && path != "":
		s, err := ReadCSVFile(path)
		if err != nil {
			return nil, nil, err
		}
		return holdOut(s, name)
	case kind == "idx" && path != "":
		m, err := ReadIDXFile(path)
		if err != nil {
			return nil, nil, err
		}
		return holdOut(m.Set(), name)
	}
	return nil, nil, fmt.Errorf("unknown dataset %q: want mnist, sines, csv:PATH or idx:PATH", name)
}

// holdOut keeps the last 20% of s (at least one example) as the test set.
func holdOut(s *Set, name string) (train, test *Set, err error) {
	if s.Len() < 2 {
		return nil, nil, fmt.Errorf("dataset %s: %d example(s); need at least 2 (training and test)", name, s.Len())
	}
	nt := max(s.Len()/5, 1)
	idx := make([]int, s.Len())
	for i := range idx {
		idx[i] = i
	}
	return s.Subset(idx[:s.Len()-nt]), s.Subset(idx[s.Len()-nt:]), nil
}

// GaussianNoise writes src plus N(0, std²) noise into dst (which may be src).
func GaussianNoise(dst, src []float32, std float32, rng *rand.Rand) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = v + std*float32(rng.NormFloat64())
	}
}

// Mask is inverted dropout on the input: it zeroes each value of src with
// probability rate and scales the survivors by 1/(1-rate), writing into dst
// (which may be src). rate must be in [0, 1).
func Mask(dst, src []float32, rate float32, rng *rand.Rand) {
	if rate < 0 || rate >= 1 {
		panic(fmt.Sprintf("dataset: mask rate %v not in [0, 1)", rate))
	}
	dst = dst[:len(src)]
	scale := 1 / (1 - rate)
	for i, v := range src {
		if rng.Float32() < rate {
			dst[i] = 0
		} else {
			dst[i] = v * scale
		}
	}
}

// Corruption is the input corruption of a denoising run.
type Corruption struct {
	Kind string  // "gauss", "dropout" (masking), or "" for none
	Std  float32 // gauss: noise std
	Rate float32 // dropout: masking rate
}

// Apply corrupts src into dst (which may be src) with rng.
func (c Corruption) Apply(dst, src []float32, rng *rand.Rand) {
	switch c.Kind {
	case "gauss":
		GaussianNoise(dst, src, c.Std, rng)
	case "dropout":
		Mask(dst, src, c.Rate, rng)
	case "":
		copy(dst, src)
	default:
		panic(fmt.Sprintf("dataset: unknown corruption %q", c.Kind))
	}
}

// SeqShape returns a set's examples as sequences: MNIST's [28 28] is 28
// steps of 28 features (rows), a series [len 1] is len steps of 1 feature,
// a flat [d] is d steps of 1 feature.
func SeqShape(s *Set) (steps, features int) { return SeqShapeOf(s.Shape()) }

// SeqShapeOf is [SeqShape] for an example shape.
func SeqShapeOf(shape []int) (steps, features int) {
	if len(shape) == 1 {
		return shape[0], 1
	}
	f := 1
	for _, d := range shape[1:] {
		f *= d
	}
	return shape[0], f
}

// TimeMajor reorders a batch of n sequences held example by example
// ([n][steps][features]) into step by step ([steps][n][features]), the
// layout a recurrent cell consumes one step at a time.
func TimeMajor(dst, src []float32, n, steps, features int) {
	if len(src) < n*steps*features || len(dst) < n*steps*features {
		panic("dataset: TimeMajor: short buffer")
	}
	for i := range n {
		for t := range steps {
			copy(dst[(t*n+i)*features:(t*n+i+1)*features], src[(i*steps+t)*features:(i*steps+t+1)*features])
		}
	}
}

// BatchMajor is the inverse of [TimeMajor].
func BatchMajor(dst, src []float32, n, steps, features int) {
	if len(src) < n*steps*features || len(dst) < n*steps*features {
		panic("dataset: BatchMajor: short buffer")
	}
	for i := range n {
		for t := range steps {
			copy(dst[(i*steps+t)*features:(i*steps+t+1)*features], src[(t*n+i)*features:(t*n+i+1)*features])
		}
	}
}
