package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestBCELogits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{1, 8, 29, 1000} {
		x, tg, grad := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 6)
			tg[i] = rng.Float32()
			if i%9 == 0 {
				x[i] *= 20 // saturated logits
			}
		}
		const inv = 0.25
		got := BCELogits(grad, x, tg, inv)
		var want float64
		for i := range x {
			xi, ti := float64(x[i]), float64(tg[i])
			want += math.Max(xi, 0) - xi*ti + math.Log1p(math.Exp(-math.Abs(xi)))
			wg := inv * (1/(1+math.Exp(-xi)) - ti)
			if d := math.Abs(float64(grad[i]) - wg); d > 1e-7 {
				t.Errorf("n=%d grad[%d] = %v, want %v", n, i, grad[i], wg)
			}
		}
		if math.Abs(got-want) > 1e-6*math.Abs(want)+1e-6 {
			t.Errorf("n=%d: loss sum %v, want %v", n, got, want)
		}
	}
}
