// Command aexp-variant-rnn is the recurrent autoencoder variant for
// sequences: a GRU or LSTM encoder runs over the steps, its last hidden
// state maps linearly to the code; the decoder cell gets the code at every
// step and each of its hidden states maps linearly to the step's values.
// Data: MNIST as 28 rows of 28 pixels, synthetic multi-sine series
// ("sines"), or a CSV of equal-length series ("csv:PATH").
package main

import (
	"fmt"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/train"
	"github.com/aexp/aexp/variant"
)

// Config is the rnn variant's parameters.
type Config struct {
	train.Common
	Cell   string `default:"gru" choices:"gru,lstm" doc:"recurrent cell of the encoder and the decoder"`
	Hidden int    `default:"128" min:"1" max:"4096" doc:"hidden state size of every recurrent layer"`
	Code   int    `default:"32" min:"1" max:"4096" doc:"code size: the last encoder state maps linearly to it"`
	Layers int    `default:"1" min:"1" max:"8" doc:"stacked recurrent layers in the encoder and in the decoder"`
	Init   string `default:"orthogonal" choices:"orthogonal,pytorch" doc:"initial weights: Keras's Glorot input weights, an orthogonal recurrent matrix per gate and zero biases (LSTM forget gate 1), which leaves the early plateau sooner; or PyTorch's U(±1/√hidden) everywhere"`
	Output string `default:"sigmoid" choices:"sigmoid,linear" doc:"activation of the per-step outputs (sigmoid for data in [0, 1]; linear for unscaled series)"`
}

type model struct {
	enc, dec      []train.Recurrent
	toCode, toOut *nn.Linear
	steps, feat   int
	hidden, code  int
}

func (m *model) Params() []*nn.Tensor {
	var ps []*nn.Tensor
	for _, l := range append(append([]train.Recurrent(nil), m.enc...), m.dec...) {
		ps = append(ps, l.Params()...)
	}
	return append(append(ps, m.toCode.Params()...), m.toOut.Params()...)
}

func (m *model) CodeSize() int { return m.code }

// Encode runs the encoder over the steps and maps its last state to the code.
func (m *model) Encode(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	hs := x
	for _, l := range m.enc {
		hs = l.Forward(g, hs, m.steps, nil)
	}
	T, H := m.steps, m.hidden
	return m.toCode.Forward(g, g.SliceCols(hs, (T-1)*H, T*H))
}

// Decode feeds the code at every step and maps each state to the step's values.
func (m *model) Decode(g *nn.Graph, code *nn.Tensor) *nn.Tensor {
	hs := code
	for _, l := range m.dec {
		hs = l.Forward(g, hs, m.steps, nil)
	}
	B := code.Rows
	y := m.toOut.Forward(g, g.Reshape(hs, B*m.steps, m.hidden)) // one product for all steps
	return g.Reshape(y, B, m.steps*m.feat)
}

func (m *model) Reconstruct(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	return m.Decode(g, m.Encode(g, x))
}

func (m *model) Loss(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	return g.MSE(m.Reconstruct(g, x), x)
}

var rnn = train.Spec[Config]{
	Name:    "rnn",
	Version: "0.2.0",
	Doc:     "Recurrent autoencoder (GRU or LSTM): sequence-to-vector encoder, vector-to-sequence decoder. MNIST is read as 28 rows of 28 pixels; also sines and csv:PATH series.",
	Build: func(c Config, s train.Setup) (train.Model, error) {
		out, err := nn.ParseAct(c.Output)
		if err != nil {
			return nil, err
		}
		steps, feat := dataset.SeqShapeOf(s.Shape)
		if steps < 2 {
			return nil, fmt.Errorf("sequences of %d step(s) are too short for a recurrent autoencoder", steps)
		}
		m := &model{steps: steps, feat: feat, hidden: c.Hidden, code: c.Code}
		in := feat
		for i := range c.Layers {
			l, err := train.NewRecurrent(c.Cell, c.Init, fmt.Sprintf("enc%d", i), in, c.Hidden, s.Init)
			if err != nil {
				return nil, err
			}
			m.enc, in = append(m.enc, l), c.Hidden
		}
		m.toCode = train.Linear("code", c.Hidden, c.Code, nn.ActLinear, s.Init)
		in = c.Code
		for i := range c.Layers {
			l, err := train.NewRecurrent(c.Cell, c.Init, fmt.Sprintf("dec%d", i), in, c.Hidden, s.Init)
			if err != nil {
				return nil, err
			}
			m.dec, in = append(m.dec, l), c.Hidden
		}
		m.toOut = train.Linear("out", c.Hidden, feat, out, s.Init)
		return m, nil
	},
}

func main() { variant.Serve(train.New(rnn)) }
