package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// lowRank returns n×d data = Z·A + noise with Z n×r: variance concentrated
// in r directions, plus isotropic noise of std sigma.
func lowRank(rng *rand.Rand, n, d, r int, sigma float64) []float32 {
	a := make([]float64, r*d)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	x := make([]float32, n*d)
	for i := range n {
		z := make([]float64, r)
		for k := range z {
			z[k] = rng.NormFloat64() * float64(r-k) // distinct variances
		}
		for j := range d {
			v := 0.5 + sigma*rng.NormFloat64()
			for k := range r {
				v += z[k] * a[k*d+j]
			}
			x[i*d+j] = float32(v)
		}
	}
	return x
}

func TestPCAMatchesProjection(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	n, d := 700, 12
	x := lowRank(rng, n, d, 4, 0.2)
	for _, k := range []int{0, 1, 3, 4, 12} {
		p, err := FitPCA(x, n, d, k)
		if err != nil {
			t.Fatal(err)
		}
		direct, viaEig := p.MSE(x, n), p.TrainMSE()
		if math.Abs(direct-viaEig) > 1e-3*max(viaEig, 1e-3) {
			t.Errorf("k=%d: projected MSE %g, eigenvalue tail %g", k, direct, viaEig)
		}
		if k == d && direct > 1e-8 {
			t.Errorf("full rank PCA should reconstruct exactly, MSE %g", direct)
		}
	}
	e1, _ := PCAError(x, n, d, 1)
	e3, _ := PCAError(x, n, d, 3)
	e4, _ := PCAError(x, n, d, 4)
	if !(e1 > e3 && e3 > e4) {
		t.Errorf("error must fall with rank: %g %g %g", e1, e3, e4)
	}
	// Beyond the rank only the noise (σ² = 0.04) is left, minus its share in the kept directions.
	if e4 < 0.02 || e4 > 0.05 {
		t.Errorf("rank-4 error %g, want about the noise variance 0.04·8/12", e4)
	}
	// Any other rank-k orthonormal projection does worse than PCA.
	q := &PCA{Cols: d, K: 3, Mean: p0mean(x, n, d), Components: make([]float32, d*3)}
	for c := range 3 {
		q.Components[c*3+c] = 1
	}
	if other := q.MSE(x, n); other <= e3 {
		t.Errorf("a coordinate projection (%g) beat PCA (%g)", other, e3)
	}
	if _, err := FitPCA(x, n, d, d+1); err == nil {
		t.Error("rank above the dimension must be an error")
	}
}

func p0mean(x []float32, n, d int) []float32 {
	m := make([]float32, d)
	for i := range n {
		for j := range d {
			m[j] += x[i*d+j] / float32(n)
		}
	}
	return m
}

// TestLinearAEEqualsPCA: a linear autoencoder trained with MSE reaches the
// PCA reconstruction error of the same code size (within 2%).
func TestLinearAEEqualsPCA(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	n, d, k := 1024, 16, 3
	x := lowRank(rng, n, d, 5, 0.3)
	want, err := PCAError(x, n, d, k)
	if err != nil {
		t.Fatal(err)
	}
	enc := NewLinear("enc", d, k, ActLinear, rng)
	dec := NewLinear("dec", k, d, ActLinear, rng)
	params := append(enc.Params(), dec.Params()...)
	opt := NewAdam(params, 1e-2)
	opt.Schedule = StepDecay(1500, 0.3)
	g := NewGraph()
	in := FromData(n, d, x)
	var got float32
	for range 6000 {
		g.Reset()
		loss := g.MSE(dec.Forward(g, enc.Forward(g, in)), in)
		got = loss.Scalar()
		g.Backward(loss)
		opt.Step()
	}
	if rel := (float64(got) - want) / want; rel > 0.02 || rel < -1e-3 {
		t.Fatalf("linear AE MSE %.5f vs PCA %.5f (%.2f%% off)", got, want, 100*rel)
	}
	t.Logf("linear AE MSE %.5f, PCA %.5f", got, want)
}
