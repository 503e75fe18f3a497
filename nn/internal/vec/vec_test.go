package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestVecKernels compares the slice kernels (assembly where available)
// with float64 references, over lengths that exercise the scalar tails.
func TestVecKernels(t *testing.T) {
	t.Logf("AVX2 kernels: %v", useAVX2)
	rng := rand.New(rand.NewPCG(4, 4))
	ref := map[string]func(float64) float64{
		"sigmoid": func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
		"tanh":    math.Tanh,
		"exp":     math.Exp,
		"selu": func(x float64) float64 {
			if x > 0 {
				return SELUScale * x
			}
			return SELUScale * SELUAlpha * (math.Exp(x) - 1)
		},
	}
	kern := map[string]func(dst, src []float32){"sigmoid": Sigmoid, "tanh": Tanh, "exp": Exp, "selu": SELU}
	for name, f := range kern {
		for _, n := range []int{1, 7, 8, 9, 64, 1027} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32((rng.Float64()*2 - 1) * 20)
				if i%5 == 0 {
					x[i] /= 50
				}
			}
			if n > 8 {
				x[3], x[4], x[5] = 0, -85, 87 // edges of the clamps
			}
			y := make([]float32, n)
			f(y, x)
			for i := range x {
				want := ref[name](float64(x[i]))
				tol := 4e-7*math.Abs(want) + 2e-7
				if name == "exp" {
					tol = 4e-7 * want
				}
				if d := math.Abs(float64(y[i]) - want); !(d <= tol) {
					t.Errorf("%s(%g) = %g, want %g (n=%d, i=%d)", name, x[i], y[i], want, n, i)
				}
			}
		}
	}
}

func TestAdamKernelMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	n := 1000
	mk := func() []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	w, g, m, v := mk(), mk(), mk(), mk()
	for i := range v {
		v[i] *= v[i]
	}
	w2, g2, m2, v2 := append([]float32{}, w...), append([]float32{}, g...), append([]float32{}, m...), append([]float32{}, v...)
	Adam(w, g, m, v, 0.9, 0.999, 0.01, 1.3, 1e-8, 0.999)
	b1, b2 := float64(float32(0.9)), float64(float32(0.999)) // the kernel's float32 betas
	for i := range n {                                       // float64 reference
		gi := float64(g2[i])
		mi := b1*float64(m2[i]) + (1-b1)*gi
		vi := b2*float64(v2[i]) + (1-b2)*gi*gi
		wi := float64(w2[i])*0.999 - 0.01*mi/(math.Sqrt(vi)*1.3+1e-8)
		upd := math.Abs(wi - float64(w2[i])*0.999)
		if math.Abs(float64(w[i])-wi) > 1e-6*max(1, math.Abs(wi))+1e-6*upd || math.Abs(float64(m[i])-mi) > 1e-6 || g[i] != 0 {
			t.Fatalf("i=%d: w %v want %v (update %g), m %v want %v, g %v", i, w[i], wi, upd, m[i], mi, g[i])
		}
	}
}
