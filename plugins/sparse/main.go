// Command aexp-variant-sparse is a sparse autoencoder, written only against
// aexp's public SDK (variant, train, nn) as the README's worked example: the
// dense autoencoder plus a penalty that keeps few code units active, either
// L1 on the code activations (ReLU code) or a KL sparsity target on each
// unit's mean activation (sigmoid code).
package main

import (
	"math"

	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/train"
	"github.com/aexp/aexp/variant"
)

// Config is the sparse variant's parameters; the schema comes from the tags.
type Config struct {
	train.Common
	Hidden  []int   `default:"256" min:"1" minlen:"1" maxlen:"16" doc:"encoder widths; the last is the (sparse) code"`
	Penalty string  `default:"l1" choices:"l1,kl" doc:"l1: weight * sum of code activations (ReLU code); kl: weight * KL(target || mean activation of each unit) (sigmoid code)"`
	Weight  float64 `default:"1e-3" min:"0" doc:"weight of the sparsity penalty"`
	Target  float64 `default:"0.05" min:"0.001" max:"0.999" doc:"kl: target mean activation of each code unit"`
}

type model struct {
	*train.MLP // reconstruction, encoder and decoder come from the dense MLP
	cfg        Config
}

// penalty is the sparsity term of a batch's codes.
func (m *model) penalty(g *nn.Graph, code *nn.Tensor) *nn.Tensor {
	if m.cfg.Penalty == "l1" { // ReLU codes are non-negative: |h| = h
		return g.Scale(g.Sum(code), 1/float32(code.Rows))
	}
	rho := float32(m.cfg.Target)
	mean := g.AddScalar(g.MeanAxis(code, 0), 1e-6) // 1 × code: each unit's mean activation
	one := g.AddScalar(g.Scale(mean, -1), 1+2e-6)  // 1 - mean
	c := float32(m.cfg.Target*math.Log(m.cfg.Target) + (1-m.cfg.Target)*math.Log(1-m.cfg.Target))
	kl := g.Add(g.Scale(g.Log(mean), -rho), g.Scale(g.Log(one), rho-1)) // per unit, up to the constant c
	return g.AddScalar(g.Sum(kl), c*float32(code.Cols))
}

func (m *model) Loss(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	code := m.Encode(g, x)
	rec := m.LossOf(g, m.DecodeLogits(g, code), x)
	return g.Add(rec, g.Scale(m.penalty(g, code), float32(m.cfg.Weight)))
}

// Evaluate reports the reconstruction loss alone, the penalty and the mean
// code activation (as val_rec, val_penalty, ... and test_rec, ...).
func (m *model) Evaluate(g *nn.Graph, x *nn.Tensor) map[string]float64 {
	code := m.Encode(g, x)
	return map[string]float64{
		"rec":       float64(m.LossOf(g, m.DecodeLogits(g, code), x).Scalar()),
		"penalty":   float64(m.penalty(g, code).Scalar()),
		"code_mean": float64(g.Mean(code).Scalar()),
	}
}

func build(c Config, s train.Setup) (train.Model, error) {
	code := nn.ActReLU
	if c.Penalty == "kl" {
		code = nn.ActSigmoid
	}
	ae, err := train.NewMLP("ae", train.MLPConfig{In: s.Dim(), Hidden: c.Hidden, Act: nn.ActReLU, CodeAct: &code, Out: nn.ActSigmoid}, s.Init)
	return &model{MLP: ae, cfg: c}, err
}

var sparse = train.Spec[Config]{
	Name:    "sparse",
	Version: "0.1.0",
	Doc:     "Sparse autoencoder: the dense model plus an L1 or KL sparsity penalty on the code.",
	Metrics: []variant.MetricInfo{
		{Name: "val_rec", Doc: "reconstruction loss alone on the validation split, every epoch (val_loss adds the penalty)", Goal: "minimize"},
		{Name: "val_code_mean", Doc: "mean activation of the code units on the validation split, every epoch", Goal: "minimize"},
		{Name: "val_penalty", Doc: "the sparsity penalty on the validation split (before the weight), every epoch", Goal: "minimize"},
		{Name: "test_rec", Doc: "reconstruction loss alone on the test set", Goal: "minimize"},
		{Name: "test_code_mean", Doc: "mean activation of the code units on the test set", Goal: "minimize"},
		{Name: "test_penalty", Doc: "the sparsity penalty on the test set (before the weight)", Goal: "minimize"},
	},
	Build: build,
}

func main() { variant.Serve(train.New(sparse)) }
