package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Every H×H block Orthogonal draws has orthonormal columns (QᵀQ = I), the
// blocks differ, and the same seed gives the same weights.
func TestOrthogonal(t *testing.T) {
	const h, blocks = 17, 3
	draw := func(seed uint64) []float32 {
		w := make([]float32, h*h*blocks)
		Orthogonal(w, h, h*blocks, rand.New(rand.NewPCG(seed, 1)))
		return w
	}
	w := draw(5)
	for b := range blocks {
		for i := range h {
			for j := range h {
				var dot float64
				for r := range h {
					dot += float64(w[r*h*blocks+b*h+i]) * float64(w[r*h*blocks+b*h+j])
				}
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(dot-want) > 1e-5 {
					t.Fatalf("block %d: column %d · column %d = %g, want %g", b, i, j, dot, want)
				}
			}
		}
	}
	if w[0] == w[h] && w[1] == w[h+1] {
		t.Error("blocks 0 and 1 start alike: each gate needs its own matrix")
	}
	v := draw(5)
	for i := range w {
		if w[i] != v[i] {
			t.Fatal("same seed, different weights")
		}
	}
	if u := draw(6); u[0] == w[0] && u[1] == w[1] {
		t.Error("different seeds, same weights")
	}
}
