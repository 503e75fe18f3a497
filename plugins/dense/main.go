// Command aexp-variant-dense is the dense autoencoder variant: an MLP
// symmetric around its code layer (e.g. 784-300-150-300-784), with any
// depth and widths, a choice of activation, a sigmoid or linear output,
// optional tied weights and an MSE or BCE loss. With linear activations,
// a linear output and MSE it is PCA: its test_mse should reach pca_mse.
package main

import (
	"github.com/aexp/aexp/train"
	"github.com/aexp/aexp/variant"
)

// Config is the dense variant's parameters: train.Dense's hidden,
// activation, output, tied and loss.
type Config struct {
	train.Common
	train.Dense
}

var dense = train.Spec[Config]{
	Name:    "dense",
	Version: "0.1.0",
	Doc:     "Undercomplete and stacked MLP autoencoders, symmetric around the code layer. Linear activations with MSE give PCA.",
	Build: func(c Config, s train.Setup) (train.Model, error) {
		return c.MLP("ae", s)
	},
}

func main() { variant.Serve(train.New(dense)) }
