package train_test

import (
	"context"
	"fmt"

	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/train"
	"github.com/aexp/aexp/variant"
)

// Config is a variant's parameters: train.Common adds lr and val_split.
type Config struct {
	train.Common
	Hidden []int `default:"128,16" min:"1" doc:"encoder widths; the last is the code size"`
}

// A dense autoencoder variant in a few lines. A plugin's main would call
// variant.Serve(v); here it is described instead.
func ExampleNew() {
	v := train.New(train.Spec[Config]{
		Name:    "tiny",
		Version: "0.1.0",
		Doc:     "a small dense autoencoder",
		Build: func(c Config, s train.Setup) (train.Model, error) {
			return train.NewMLP("ae", train.MLPConfig{
				In: s.Dim(), Hidden: c.Hidden, Act: nn.ActReLU, Out: nn.ActSigmoid,
			}, s.Init)
		},
	})
	info, _ := v.Describe(context.Background())
	for _, p := range info.Params {
		fmt.Printf("%s %s %v\n", p.Name, p.Type, p.Default)
	}
	_, canSample := v.(variant.Sampler)
	fmt.Println(info.Capabilities, canSample)
	// Output:
	// lr float 0.001
	// val_split float 0.1
	// weight_decay float 0
	// hidden int_list [128 16]
	// [reconstruct resume] false
}
