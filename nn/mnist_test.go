package nn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/nn"
)

// TestStackedAELearnsMNIST: a stacked autoencoder reaches a test MSE below
// 0.02 within one epoch (Adam 1e-3, batch 128). To keep `go test` quick the
// epoch covers the first mnistTrain images; the bar holds for the full set too.
func TestStackedAELearnsMNIST(t *testing.T) {
	const mnistTrain, mnistTest, batch = 24000, 2000, 128
	train, test, err := dataset.MNIST("")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 0))
	sizes := []int{784, 300, 150, 300, 784}
	var layers []*nn.Linear
	var params []*nn.Tensor
	for i := range 4 {
		act := nn.ActSELU
		if i == 3 {
			act = nn.ActSigmoid
		}
		l := nn.NewLinear("l", sizes[i], sizes[i+1], act, rng)
		layers = append(layers, l)
		params = append(params, l.Params()...)
	}
	opt := nn.NewAdam(params, 1e-3)
	g := nn.NewGraph()
	forward := func(x *nn.Tensor) *nn.Tensor {
		for _, l := range layers {
			x = l.Forward(g, x)
		}
		return x
	}
	b := dataset.NewBatches(train.Head(mnistTrain), batch, rng)
	b.Shuffle()
	var first, last float32
	for xs, n := range b.All() {
		g.Reset()
		x := nn.FromData(n, 784, xs)
		loss := g.MSE(forward(x), x)
		if first == 0 {
			first = loss.Scalar()
		}
		last = loss.Scalar()
		g.Backward(loss)
		opt.Step()
	}
	g.Train = false
	xs := test.Range(nil, 0, mnistTest)
	var sum float64
	for i := 0; i < mnistTest; i += 500 {
		g.Reset()
		x := nn.FromData(500, 784, xs[i*784:(i+500)*784])
		sum += float64(g.MSE(forward(x), x).Scalar()) * 500
	}
	mse := sum / mnistTest
	t.Logf("train loss %.4f -> %.4f; test MSE %.4f", first, last, mse)
	if mse >= 0.02 {
		t.Errorf("test MSE %.4f after one epoch, want < 0.02", mse)
	}
}
