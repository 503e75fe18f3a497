package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/aexp/aexp/nn"
)

// Linear returns a fully connected layer in→out initialised as PyTorch's
// nn.Linear is by default (kaiming_uniform with a=√5): weights and biases
// drawn from U(-1/√in, 1/√in). Matching PyTorch's initialisation is what
// lets aexp's models match the PyTorch reference trained the same way.
func Linear(name string, in, out int, act nn.Act, rng *rand.Rand) *nn.Linear {
	w := nn.NewParam(name+".W", in, out)
	b := nn.NewParam(name+".b", 1, out)
	Uniform(w.Data, 1/math.Sqrt(float64(in)), rng)
	Uniform(b.Data, 1/math.Sqrt(float64(in)), rng)
	return &nn.Linear{W: w, B: b, Act: act}
}

// Tied returns a decoder layer using enc's transposed weights, with its own
// bias initialised as PyTorch would for its fan-in.
func Tied(name string, enc *nn.Linear, act nn.Act, rng *rand.Rand) *nn.Linear {
	l := nn.NewTied(name, enc, act)
	Uniform(l.B.Data, 1/math.Sqrt(float64(l.In())), rng)
	return l
}

// Uniform fills w with draws from U(-bound, bound).
func Uniform(w []float32, bound float64, rng *rand.Rand) {
	for i := range w {
		w[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

// Stack is a sequence of layers applied in order.
type Stack []*nn.Linear

// Forward applies every layer to x.
func (s Stack) Forward(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	for _, l := range s {
		x = l.Forward(g, x)
	}
	return x
}

// Params lists the layers' trainable tensors (tied weights once).
func (s Stack) Params() []*nn.Tensor {
	var ps []*nn.Tensor
	for _, l := range s {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// MLPConfig shapes a dense autoencoder symmetric around its code layer.
type MLPConfig struct {
	In      int     // input width, e.g. 784
	Hidden  []int   // encoder widths, outer to inner; the last is the code size
	Act     nn.Act  // after every hidden layer (the code layer included)
	CodeAct *nn.Act // when set, replaces Act on the code layer
	Out     nn.Act  // output activation: sigmoid or linear
	Tied    bool    // decoder layers use the encoder's transposed weights
	Loss    string  // "mse" (mean over values) or "bce" (needs a sigmoid output)
}

// Dense holds the parameters of a dense autoencoder ([MLP]), as the dense
// and denoise variants share them: embed it after [Common] in a config
// struct and build the model with [Dense.MLP].
type Dense struct {
	Hidden     []int  `default:"300,150" min:"1" minlen:"1" maxlen:"16" doc:"encoder widths, outer to inner; the last is the code size and the decoder mirrors them ([300, 150] gives 784-300-150-300-784)"`
	Activation string `default:"selu" choices:"linear,relu,selu,elu,tanh" doc:"activation after every hidden layer, the code layer included"`
	Output     string `default:"sigmoid" choices:"sigmoid,linear" doc:"output activation (sigmoid for data in [0, 1])"`
	Tied       bool   `default:"false" doc:"decoder layers reuse the encoder's transposed weights"`
	Loss       string `default:"mse" choices:"mse,bce" doc:"reconstruction loss: mean squared error, or binary cross-entropy (needs the sigmoid output)"`
}

// MLP builds the dense autoencoder these parameters describe for s.
func (c Dense) MLP(name string, s Setup) (*MLP, error) {
	act, err := nn.ParseAct(c.Activation)
	if err != nil {
		return nil, err
	}
	out, err := nn.ParseAct(c.Output)
	if err != nil {
		return nil, err
	}
	return NewMLP(name, MLPConfig{In: s.Dim(), Hidden: c.Hidden, Act: act, Out: out, Tied: c.Tied, Loss: c.Loss}, s.Init)
}

// MLP is a dense autoencoder: In → Hidden... → code → reversed Hidden → In.
// It implements [Model] (and [Encoder]) as it is, so a plain dense variant
// is an MLP and nothing more; other variants embed it and change Loss.
type MLP struct {
	Enc, Dec Stack
	Out      nn.Act
	LossKind string
}

// NewMLP builds the autoencoder with PyTorch's default initialisation.
func NewMLP(name string, c MLPConfig, rng *rand.Rand) (*MLP, error) {
	if c.In < 1 || len(c.Hidden) == 0 {
		return nil, fmt.Errorf("an autoencoder needs an input width and at least one hidden width (got %d, %v)", c.In, c.Hidden)
	}
	switch c.Loss {
	case "", "mse":
		c.Loss = "mse"
	case "bce":
		if c.Out != nn.ActSigmoid {
			return nil, fmt.Errorf("loss bce needs the sigmoid output (output is %s)", c.Out)
		}
	default:
		return nil, fmt.Errorf("unknown loss %q (want mse or bce)", c.Loss)
	}
	m := &MLP{Out: c.Out, LossKind: c.Loss}
	widths := append([]int{c.In}, c.Hidden...)
	for i := 1; i < len(widths); i++ {
		act := c.Act
		if i == len(widths)-1 && c.CodeAct != nil {
			act = *c.CodeAct
		}
		m.Enc = append(m.Enc, Linear(fmt.Sprintf("%s.enc%d", name, i-1), widths[i-1], widths[i], act, rng))
	}
	for i := len(widths) - 1; i >= 1; i-- {
		act := c.Act
		if i == 1 {
			act = nn.ActLinear // the output activation is applied by Output
		}
		lname := fmt.Sprintf("%s.dec%d", name, len(widths)-1-i)
		if c.Tied {
			m.Dec = append(m.Dec, Tied(lname, m.Enc[i-1], act, rng))
		} else {
			m.Dec = append(m.Dec, Linear(lname, widths[i], widths[i-1], act, rng))
		}
	}
	return m, nil
}

// Params lists the trainable tensors.
func (m *MLP) Params() []*nn.Tensor { return append(m.Enc.Params(), m.Dec.Params()...) }

// CodeSize is the width of the code layer.
func (m *MLP) CodeSize() int { return m.Enc[len(m.Enc)-1].Out() }

// Encode maps x to its code.
func (m *MLP) Encode(g *nn.Graph, x *nn.Tensor) *nn.Tensor { return m.Enc.Forward(g, x) }

// DecodeLogits maps a code to the output before the output activation.
func (m *MLP) DecodeLogits(g *nn.Graph, code *nn.Tensor) *nn.Tensor { return m.Dec.Forward(g, code) }

// Output applies the output activation to logits.
func (m *MLP) Output(g *nn.Graph, logits *nn.Tensor) *nn.Tensor {
	if m.Out == nn.ActLinear {
		return logits
	}
	return g.Activate(logits, m.Out, 0)
}

// Reconstruct returns the reconstruction of x.
func (m *MLP) Reconstruct(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	return m.Output(g, m.DecodeLogits(g, m.Encode(g, x)))
}

// LossOf is the reconstruction loss of logits against target: MSE of the
// output, or binary cross-entropy computed stably from the logits.
func (m *MLP) LossOf(g *nn.Graph, logits, target *nn.Tensor) *nn.Tensor {
	if m.LossKind == "bce" {
		return g.BCEWithLogits(logits, target)
	}
	return g.MSE(m.Output(g, logits), target)
}

// Loss is the reconstruction loss of x.
func (m *MLP) Loss(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	return m.LossOf(g, m.DecodeLogits(g, m.Encode(g, x)), x)
}

// ParseAct parses an activation name as the plugins' schemas spell it.
func ParseAct(s string) (nn.Act, error) { return nn.ParseAct(s) }

// Recurrent is a recurrent layer as nn's GRU and LSTM are: Forward runs
// steps steps over x (B × steps·In, or B × In fed at every step) from h0
// (nil: zeros) and returns all hidden states, B × steps·Hidden.
type Recurrent interface {
	Forward(g *nn.Graph, x *nn.Tensor, steps int, h0 *nn.Tensor) *nn.Tensor
	Params() []*nn.Tensor
}

// NewRecurrent returns a "gru" or "lstm" layer. With init "pytorch" it is
// initialised as PyTorch's: every weight and bias from U(-1/√hidden,
// 1/√hidden); nn's LSTM has one bias where PyTorch has two that are added
// (b_ih + b_hh), so it is drawn as the sum of two such uniforms. With init
// "orthogonal" (Keras's defaults) the input weights are Glorot-uniform, each
// gate's recurrent block is a random orthogonal matrix and the biases are
// zero, except the LSTM's forget gate at 1.
func NewRecurrent(cell, init, name string, in, hidden int, rng *rand.Rand) (Recurrent, error) {
	if init != "pytorch" && init != "orthogonal" {
		return nil, fmt.Errorf("unknown init %q (want pytorch or orthogonal)", init)
	}
	switch cell {
	case "gru":
		l := nn.NewGRU(name, in, hidden, rng)
		if init == "orthogonal" {
			keras(l.Wx, l.Wh, rng)
			clear(l.Bx.Data)
			clear(l.Bh.Data)
		}
		return l, nil
	case "lstm":
		l := nn.NewLSTM(name, in, hidden, rng)
		if init == "orthogonal" {
			keras(l.Wx, l.Wh, rng)
			clear(l.B.Data)
			for i := hidden; i < 2*hidden; i++ { // gates i, f, g, o
				l.B.Data[i] = 1
			}
			return l, nil
		}
		k := 1 / math.Sqrt(float64(hidden))
		for i := range l.B.Data {
			l.B.Data[i] = float32((2*rng.Float64()-1)*k + (2*rng.Float64()-1)*k)
		}
		return l, nil
	}
	return nil, fmt.Errorf("unknown cell %q (want gru or lstm)", cell)
}

// keras draws the input weights Glorot-uniform over the whole In × gates·H
// kernel and each gate's H × H recurrent block orthogonal.
func keras(wx, wh *nn.Tensor, rng *rand.Rand) {
	nn.Glorot.Fill(wx.Data, wx.Rows, wx.Cols, rng)
	nn.Orthogonal(wh.Data, wh.Rows, wh.Cols, rng)
}
