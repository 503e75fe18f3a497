package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// denseAE is a stacked SELU autoencoder with a sigmoid output layer.
func denseAE(rng *rand.Rand, sizes ...int) ([]*Linear, []*Tensor) {
	var ls []*Linear
	var ps []*Tensor
	for i := range len(sizes) - 1 {
		act := ActSELU
		if i == len(sizes)-2 {
			act = ActSigmoid
		}
		l := NewLinear(fmt.Sprint("l", i), sizes[i], sizes[i+1], act, rng)
		ls = append(ls, l)
		ps = append(ps, l.Params()...)
	}
	return ls, ps
}

// TestStepAllocations: a steady-state training step allocates nothing.
// Sizes stay under gonum's 64-wide blocking, because its pure-Go sgemm
// allocates for its worker goroutines on larger products (OpenBLAS does not:
// see BenchmarkDenseStep's allocs/op).
func TestStepAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	ls, ps := denseAE(rng, 48, 32, 8, 32, 48)
	opt := NewAdam(ps, 1e-3)
	g := NewGraph()
	x := NewTensor(16, 48)
	step := func() {
		g.Reset()
		h := x
		for _, l := range ls {
			h = l.Forward(g, h)
		}
		g.Backward(g.MSE(h, x))
		opt.Step()
	}
	step()
	if n := testing.AllocsPerRun(5, step); n != 0 {
		t.Errorf("steady-state step allocates %v times", n)
	}
}

func BenchmarkDenseStep(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	ls, ps := denseAE(rng, 784, 300, 150, 300, 784)
	opt := NewAdam(ps, 1e-3)
	g := NewGraph()
	x := NewTensor(128, 784)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	b.ReportAllocs()
	for b.Loop() {
		g.Reset()
		h := x
		for _, l := range ls {
			h = l.Forward(g, h)
		}
		g.Backward(g.MSE(h, x))
		opt.Step()
	}
	b.ReportMetric(float64(128*b.N)/b.Elapsed().Seconds(), "samples/s")
}
