// Command aexp-variant-dense is the dense autoencoder variant: an MLP
// symmetric around its code layer (e.g. 784-300-150-300-784), with any
// depth and widths, a choice of activation, a sigmoid or linear output,
// optional tied weights and an MSE or BCE loss. With linear activations,
// a linear output and MSE it is PCA: its test_mse should reach pca_mse.
package main

import (
	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/train"
	"github.com/aexp/aexp/variant"
)

// Config is the dense variant's parameters.
type Config struct {
	train.Common
	Hidden     []int  `default:"300,150" min:"1" doc:"encoder widths, outer to inner; the last is the code size and the decoder mirrors them ([300, 150] gives 784-300-150-300-784)"`
	Activation string `default:"selu" choices:"linear,relu,selu,elu,tanh" doc:"activation after every hidden layer, the code layer included"`
	Output     string `default:"sigmoid" choices:"sigmoid,linear" doc:"output activation (sigmoid for data in [0, 1])"`
	Tied       bool   `default:"false" doc:"decoder layers reuse the encoder's transposed weights"`
	Loss       string `default:"mse" choices:"mse,bce" doc:"reconstruction loss: mean squared error, or binary cross-entropy (needs the sigmoid output)"`
}

var dense = train.Spec[Config]{
	Name:    "dense",
	Version: "0.1.0",
	Doc:     "Undercomplete and stacked MLP autoencoders, symmetric around the code layer. Linear activations with MSE give PCA.",
	Build: func(c Config, s train.Setup) (train.Model, error) {
		act, err := nn.ParseAct(c.Activation)
		if err != nil {
			return nil, err
		}
		out, err := nn.ParseAct(c.Output)
		if err != nil {
			return nil, err
		}
		return train.NewMLP("ae", train.MLPConfig{In: s.Dim(), Hidden: c.Hidden, Act: act, Out: out, Tied: c.Tied, Loss: c.Loss}, s.Init)
	},
}

func main() { variant.Serve(train.New(dense)) }
