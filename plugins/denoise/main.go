// Command aexp-variant-denoise is the denoising autoencoder variant: the
// dense model trained to reconstruct clean inputs from corrupted ones.
// Corruption (Gaussian noise, or masking as inverted dropout on the input)
// happens during training only; the run reports the test error on clean
// inputs (test_mse) and on inputs corrupted the same way (test_mse_noisy).
package main

import (
	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/train"
	"github.com/aexp/aexp/variant"
)

// Config is the denoise variant's parameters.
type Config struct {
	train.Common
	train.Dense         // the dense model's parameters; its loss is against the clean input
	Noise       string  `default:"gauss" choices:"gauss,dropout" doc:"corruption: additive Gaussian noise, or masking (zero each value with noise_rate, scale survivors by 1/(1-noise_rate))"`
	NoiseStd    float64 `default:"0.2" min:"0" max:"10" doc:"standard deviation of the Gaussian noise (noise = gauss)"`
	NoiseRate   float64 `default:"0.5" min:"0" max:"0.95" doc:"masking rate (noise = dropout)"`
}

// model is the dense autoencoder with a corrupted input.
type model struct {
	*train.MLP
	corrupt dataset.Corruption
	s       train.Setup
}

// Loss reconstructs the clean x from its corruption, in training only.
func (m *model) Loss(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	in := x
	if g.Train {
		in = g.Input(x.Rows, x.Cols)
		m.corrupt.Apply(in.Data, x.Data, m.s.Noise)
	}
	return m.LossOf(g, m.DecodeLogits(g, m.Encode(g, in)), x)
}

// Evaluate reports mse_noisy: the error on corrupted inputs.
func (m *model) Evaluate(g *nn.Graph, x *nn.Tensor) map[string]float64 {
	in := g.Input(x.Rows, x.Cols)
	m.corrupt.Apply(in.Data, x.Data, m.s.Noise)
	return map[string]float64{"mse_noisy": float64(g.MSE(m.Reconstruct(g, in), x).Scalar())}
}

var denoise = train.Spec[Config]{
	Name:    "denoise",
	Version: "0.1.0",
	Doc:     "Denoising autoencoder: the dense model trained on corrupted inputs (Gaussian noise or masking) to reconstruct the clean ones.",
	Metrics: []variant.MetricInfo{
		{Name: "test_mse_noisy", Doc: "test MSE against the clean input, from inputs corrupted as in training", Goal: "minimize"},
		{Name: "val_mse_noisy", Doc: "the same on the validation split, every epoch", Goal: "minimize"},
	},
	Build: func(c Config, s train.Setup) (train.Model, error) {
		ae, err := c.MLP("ae", s)
		if err != nil {
			return nil, err
		}
		return &model{MLP: ae, s: s, corrupt: dataset.Corruption{Kind: c.Noise, Std: float32(c.NoiseStd), Rate: float32(c.NoiseRate)}}, nil
	},
}

func main() { variant.Serve(train.New(denoise)) }
