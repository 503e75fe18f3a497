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

// TestStepAllocations: a steady-state training step allocates nothing, for
// every kind of model. Sizes stay under gonum's 64-wide blocking, because
// its pure-Go sgemm allocates for its worker goroutines on larger products
// (OpenBLAS does not: see the benchmarks' allocs/op).
func TestStepAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	ls, ps := denseAE(rng, 48, 32, 8, 32, 48)
	x := NewTensor(16, 48)
	type model struct {
		loss   func(g *Graph) *Tensor
		params []*Tensor
	}
	models := map[string]model{
		"dense": {func(g *Graph) *Tensor {
			h := g.Dropout(x, 0.1, rng)
			for _, l := range ls {
				h = l.Forward(g, h)
			}
			return g.MSE(h, x)
		}, ps},
	}
	models["vae"] = func() model { l, p := vaeStep(rng, 16, 48, 32, 4); return model{l, p} }()
	models["gru"] = func() model { l, p := recurrentStep("gru", rng, 4, 8, 12, 6); return model{l, p} }()
	models["lstm"] = func() model { l, p := recurrentStep("lstm", rng, 4, 8, 12, 6); return model{l, p} }()
	for name, m := range models {
		t.Run(name, func(t *testing.T) {
			loss := m.loss
			opt := NewAdam(m.params, 1e-3)
			g := NewGraph()
			step := func() {
				g.Reset()
				g.Backward(loss(g))
				opt.Step()
			}
			step()
			if n := testing.AllocsPerRun(5, step); n != 0 {
				t.Errorf("steady-state step allocates %v times", n)
			}
		})
	}
}

// vaeStep returns a VAE loss over a fixed batch (b × in, hidden h, latent z).
func vaeStep(rng *rand.Rand, b, in, h, z int) (func(g *Graph) *Tensor, []*Tensor) {
	enc := NewLinear("enc", in, h, ActReLU, rng)
	mu, lv := NewLinear("mu", h, z, ActLinear, rng), NewLinear("lv", h, z, ActLinear, rng)
	dec1, dec2 := NewLinear("dec1", z, h, ActReLU, rng), NewLinear("dec2", h, in, ActLinear, rng)
	x := NewTensor(b, in)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	var ps []*Tensor
	for _, l := range []*Linear{enc, mu, lv, dec1, dec2} {
		ps = append(ps, l.Params()...)
	}
	return func(g *Graph) *Tensor {
		e := enc.Forward(g, x)
		m, v := mu.Forward(g, e), lv.Forward(g, e)
		logits := dec2.Forward(g, dec1.Forward(g, g.Reparam(m, v, rng)))
		return g.Add(g.Scale(g.BCEWithLogits(logits, x), float32(in)), g.KLNormal(m, v))
	}, ps
}

// recurrentStep returns a recurrent AE loss over a fixed batch of b
// sequences of t steps of f features (hidden h, code c).
func recurrentStep(cell string, rng *rand.Rand, b, t, f, h int) (func(g *Graph) *Tensor, []*Tensor) {
	type rnn interface {
		Forward(*Graph, *Tensor, int, *Tensor) *Tensor
		Params() []*Tensor
	}
	const c = 4
	var enc, dec rnn
	if cell == "gru" {
		enc, dec = NewGRU("enc", f, h, rng), NewGRU("dec", c, h, rng)
	} else {
		enc, dec = NewLSTM("enc", f, h, rng), NewLSTM("dec", c, h, rng)
	}
	code, out := NewLinear("code", h, c, ActLinear, rng), NewLinear("out", h, f, ActSigmoid, rng)
	x := NewTensor(b, t*f)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	ps := append(append(append(enc.Params(), dec.Params()...), code.Params()...), out.Params()...)
	return func(g *Graph) *Tensor {
		hs := enc.Forward(g, x, t, nil)
		z := code.Forward(g, g.SliceCols(hs, (t-1)*h, t*h))
		y := out.Forward(g, g.Reshape(dec.Forward(g, z, t, nil), b*t, h))
		return g.MSE(g.Reshape(y, b, t*f), x)
	}, ps
}

// The benchmarks train the `make bench` models on random data, batch 128:
//
//	go test -tags openblas -run - -bench Step ./nn/
func benchStep(b *testing.B, batch int, loss func(g *Graph) *Tensor, params []*Tensor) {
	opt := NewAdam(params, 1e-3)
	g := NewGraph()
	b.ReportAllocs()
	for b.Loop() {
		g.Reset()
		g.Backward(loss(g))
		opt.Step()
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkVAEStep(b *testing.B) {
	l, p := vaeStep(rand.New(rand.NewPCG(1, 1)), 128, 784, 512, 20)
	benchStep(b, 128, l, p)
}

func BenchmarkGRUStep(b *testing.B) {
	l, p := recurrentStep("gru", rand.New(rand.NewPCG(1, 1)), 128, 28, 28, 128)
	benchStep(b, 128, l, p)
}

func BenchmarkLSTMStep(b *testing.B) {
	l, p := recurrentStep("lstm", rand.New(rand.NewPCG(1, 1)), 128, 28, 28, 128)
	benchStep(b, 128, l, p)
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
