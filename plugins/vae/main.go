// Command aexp-variant-vae is the variational autoencoder variant: the
// encoder maps x to the mean μ and log-variance of a Gaussian code, a code
// is sampled by reparameterisation, and the decoder maps it back; the loss
// is the reconstruction (binary cross-entropy summed over values, in nats)
// plus β·KL(q(z|x) ‖ N(0, I)). It can sample new data from N(0, I) with a
// stored checkpoint, and with latent = 2 it records the test codes with
// their labels so the latent space can be drawn.
package main

import (
	"fmt"

	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/train"
	"github.com/aexp/aexp/variant"
)

// Config is the vae variant's parameters.
type Config struct {
	train.Common
	Hidden     []int   `default:"512,256" min:"1" minlen:"1" maxlen:"16" doc:"encoder widths, outer to inner; the decoder mirrors them (784-512-256-(latent)-256-512-784)"`
	Latent     int     `default:"20" min:"1" max:"4096" doc:"size of the Gaussian code"`
	Beta       float64 `default:"1" min:"0" max:"1000" doc:"weight of the KL term (beta-VAE); the reported ELBO always uses 1"`
	Activation string  `default:"relu" choices:"relu,selu,elu,tanh" doc:"activation of the hidden layers"`
}

type model struct {
	enc, dec   train.Stack
	mu, logvar *nn.Linear
	beta       float32
	latent     int
	s          train.Setup
}

func (m *model) Params() []*nn.Tensor {
	ps := append(m.enc.Params(), m.mu.Params()...)
	ps = append(ps, m.logvar.Params()...)
	return append(ps, m.dec.Params()...)
}

func (m *model) CodeSize() int { return m.latent }

// parts returns the reconstruction term (nats per example) and the KL term.
func (m *model) parts(g *nn.Graph, x *nn.Tensor) (rec, kl *nn.Tensor) {
	h := m.enc.Forward(g, x)
	mu, logvar := m.mu.Forward(g, h), m.logvar.Forward(g, h)
	logits := m.dec.Forward(g, g.Reparam(mu, logvar, m.s.Noise))
	return g.Scale(g.BCEWithLogits(logits, x), float32(x.Cols)), g.KLNormal(mu, logvar)
}

func (m *model) Loss(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	rec, kl := m.parts(g, x)
	return g.Add(rec, g.Scale(kl, m.beta))
}

// Evaluate reports the one-sample negative ELBO and its two parts.
func (m *model) Evaluate(g *nn.Graph, x *nn.Tensor) map[string]float64 {
	rec, kl := m.parts(g, x)
	r, k := float64(rec.Scalar()), float64(kl.Scalar())
	return map[string]float64{"neg_elbo": r + k, "rec": r, "kl": k}
}

// Encode is the mean code μ.
func (m *model) Encode(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	return m.mu.Forward(g, m.enc.Forward(g, x))
}

// Reconstruct decodes the mean code μ.
func (m *model) Reconstruct(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	return m.Generate(g, m.Encode(g, x))
}

// Generate decodes codes into data.
func (m *model) Generate(g *nn.Graph, z *nn.Tensor) *nn.Tensor {
	return g.Sigmoid(m.dec.Forward(g, z))
}

var vae = train.Spec[Config]{
	Name:       "vae",
	Version:    "0.1.0",
	Doc:        "Variational autoencoder: Gaussian code by reparameterisation, loss = BCE (nats) + beta*KL. Generative: samples new data from N(0, I).",
	Generative: true,
	Metrics: []variant.MetricInfo{
		{Name: "test_neg_elbo", Doc: "negative ELBO on the test set in nats per example (one sample per image, beta = 1)", Goal: "minimize"},
		{Name: "test_rec", Doc: "its reconstruction part: BCE summed over values", Goal: "minimize"},
		{Name: "test_kl", Doc: "its KL part: KL(q(z|x) || N(0, I))", Goal: "minimize"},
		{Name: "val_neg_elbo", Doc: "negative ELBO on the validation split, every epoch", Goal: "minimize"},
		{Name: "val_rec", Doc: "reconstruction part on the validation split", Goal: "minimize"},
		{Name: "val_kl", Doc: "KL part on the validation split", Goal: "minimize"},
	},
	Build: func(c Config, s train.Setup) (train.Model, error) {
		act, err := nn.ParseAct(c.Activation)
		if err != nil {
			return nil, err
		}
		if len(c.Hidden) == 0 {
			return nil, fmt.Errorf("hidden needs at least one width")
		}
		m := &model{beta: float32(c.Beta), latent: c.Latent, s: s}
		w := s.Dim()
		for i, h := range c.Hidden {
			m.enc = append(m.enc, train.Linear(fmt.Sprintf("enc%d", i), w, h, act, s.Init))
			w = h
		}
		m.mu = train.Linear("mu", w, c.Latent, nn.ActLinear, s.Init)
		m.logvar = train.Linear("logvar", w, c.Latent, nn.ActLinear, s.Init)
		w = c.Latent
		for i := len(c.Hidden) - 1; i >= 0; i-- {
			m.dec = append(m.dec, train.Linear(fmt.Sprintf("dec%d", len(c.Hidden)-1-i), w, c.Hidden[i], act, s.Init))
			w = c.Hidden[i]
		}
		m.dec = append(m.dec, train.Linear(fmt.Sprintf("dec%d", len(c.Hidden)), w, s.Dim(), nn.ActLinear, s.Init))
		return m, nil
	},
}

func main() { variant.Serve(train.New(vae)) }
