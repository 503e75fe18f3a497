package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdamStep checks one AdamW update against the textbook formulas in
// float64.
func TestAdamStep(t *testing.T) {
	p := NewParam("p", 1, 3)
	copy(p.Data, []float32{1, -2, 0.5})
	a := NewAdam([]*Tensor{p}, 0.1)
	a.WeightDecay = 0.01
	grads := [][]float32{{0.5, -1, 2}, {0.25, 3, -1}}
	want := []float64{1, -2, 0.5}
	m, v := make([]float64, 3), make([]float64, 3)
	for step, gr := range grads {
		copy(p.Grad, gr)
		a.Step()
		k := float64(step + 1)
		for i := range want {
			gi := float64(gr[i])
			m[i] = 0.9*m[i] + 0.1*gi
			v[i] = 0.999*v[i] + 0.001*gi*gi
			mh, vh := m[i]/(1-math.Pow(0.9, k)), v[i]/(1-math.Pow(0.999, k))
			want[i] = want[i]*(1-0.1*0.01) - 0.1*mh/(math.Sqrt(vh)+1e-8)
		}
		for i := range want {
			if math.Abs(float64(p.Data[i])-want[i]) > 1e-6 {
				t.Errorf("step %d: p[%d] = %v, want %v", step+1, i, p.Data[i], want[i])
			}
			if p.Grad[i] != 0 {
				t.Errorf("Step must clear the gradient")
			}
		}
	}
}

func TestSGDMomentumAndSchedule(t *testing.T) {
	p := NewParam("p", 1, 1)
	p.Data[0] = 1
	s := NewSGD([]*Tensor{p}, 0.1, 0.9)
	s.Schedule = StepDecay(2, 0.5) // 0.1, 0.1, 0.05, 0.05
	want, vel := 1.0, 0.0
	for step := 1; step <= 4; step++ {
		p.Grad[0] = float32(2 * p.Data[0]) // minimise p²
		gr := float64(p.Grad[0])
		s.Step()
		lr := 0.1 * math.Pow(0.5, float64((step-1)/2))
		vel = 0.9*vel + gr
		want -= lr * vel
		if math.Abs(float64(p.Data[0])-want) > 1e-6 {
			t.Fatalf("step %d: %v, want %v", step, p.Data[0], want)
		}
	}
	// Momentum SGD converges on a quadratic.
	s.Schedule = nil
	for range 300 {
		p.Grad[0] = 2 * p.Data[0]
		s.Step()
	}
	if math.Abs(float64(p.Data[0])) > 1e-3 {
		t.Errorf("did not converge: %v", p.Data[0])
	}
}

func TestClipGradNorm(t *testing.T) {
	a, b := NewParam("a", 1, 2), NewParam("b", 1, 1)
	copy(a.Grad, []float32{3, 0})
	b.Grad[0] = 4
	if n := ClipGradNorm([]*Tensor{a, b}, 10); n != 5 || a.Grad[0] != 3 {
		t.Errorf("norm %v under the limit must not change gradients (%v)", n, a.Grad)
	}
	if n := ClipGradNorm([]*Tensor{a, b}, 1); n != 5 {
		t.Errorf("norm before clipping %v, want 5", n)
	}
	if math.Abs(float64(a.Grad[0])-0.6) > 1e-6 || math.Abs(float64(b.Grad[0])-0.8) > 1e-6 {
		t.Errorf("clipped to %v %v, want 0.6 0.8", a.Grad, b.Grad)
	}
}

// trajectory trains a small model that uses every source of randomness
// (init, dropout, noise, reparameterisation) and both recurrent cells, and
// returns its loss per step.
func trajectory(seed uint64, steps int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0))
	const B, T, F, H = 8, 4, 6, 5
	enc := NewGRU("enc", F, H, rng)
	dec := NewLSTM("dec", 2, H, rng)
	mu, lv := NewLinear("mu", H, 2, ActLinear, rng), NewLinear("lv", H, 2, ActLinear, rng)
	out := NewLinear("out", H, F, ActSigmoid, rng)
	var ps []*Tensor
	ps = append(ps, enc.Params()...)
	ps = append(ps, dec.Params()...)
	for _, l := range []*Linear{mu, lv, out} {
		ps = append(ps, l.Params()...)
	}
	opt := NewAdam(ps, 1e-2)
	x := NewTensor(B, T*F)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	g := NewGraph()
	var losses []float32
	for range steps {
		g.Reset()
		in := g.Dropout(g.GaussianNoise(x, 0.1, rng), 0.2, rng)
		hs := enc.Forward(g, in, T, nil)
		last := g.SliceCols(hs, (T-1)*H, T*H)
		z := g.Reparam(mu.Forward(g, last), lv.Forward(g, last), rng)
		ds := dec.Forward(g, z, T, nil)
		y := g.Reshape(out.Forward(g, g.Reshape(ds, B*T, H)), B, T*F)
		loss := g.Add(g.MSE(y, x), g.KLNormal(mu.Forward(g, last), lv.Forward(g, last)))
		g.Backward(loss)
		ClipGradNorm(ps, 1)
		opt.Step()
		losses = append(losses, loss.Scalar())
	}
	return losses
}

func TestDeterminism(t *testing.T) {
	a, b, c := trajectory(1, 30), trajectory(1, 30), trajectory(2, 30)
	same := true
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("step %d: %v vs %v with the same seed", i, a[i], b[i])
		}
		same = same && a[i] == c[i]
	}
	if same {
		t.Error("a different seed gave the same trajectory")
	}
	if !(a[len(a)-1] < a[0]) {
		t.Errorf("loss did not fall: %v -> %v", a[0], a[len(a)-1])
	}
}
