package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFastMath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	check := func(name string, f func(float32) float32, ref func(float64) float64, x float32, rel, abs float64) {
		got, want := float64(f(x)), float64(float32(ref(float64(x)))) // as float32 can hold it
		abs = max(abs, 1.2e-38)                                       // denormals flush to 0
		if (!math.IsInf(want, 0) && math.Abs(got-want) > rel*math.Abs(want)+abs) || got != got || (math.IsInf(want, 0) && got != want) {
			t.Errorf("%s(%g) = %g, want %g", name, x, got, want)
		}
	}
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	for range 200000 {
		x := float32((rng.Float64()*2 - 1) * 90)
		if rng.IntN(2) == 0 {
			x /= 30
		}
		check("Expf", Expf, math.Exp, x, 3e-7, 0)
		check("Sigmoidf", Sigmoidf, sig, x, 3e-7, 1e-30)
		check("Tanhf", Tanhf, math.Tanh, x, 3e-7, 1e-7)
	}
	for _, x := range []float32{0, -0.0625, 0.0625, 88.7, -87.3, 1e-8, -1e-8} {
		check("Expf", Expf, math.Exp, x, 3e-7, 0)
		check("Tanhf", Tanhf, math.Tanh, x, 3e-7, 1e-7)
	}
	if !math.IsInf(float64(Expf(100)), 1) || Expf(-100) != 0 || Sigmoidf(-200) != 0 || Sigmoidf(200) != 1 {
		t.Error("saturation is wrong")
	}
	if nan := float32(math.NaN()); !math.IsNaN(float64(Expf(nan))) {
		t.Error("Expf(NaN) must be NaN")
	}
}
