package variant_test

import (
	"context"
	"fmt"
	"math"

	"github.com/aexp/aexp/variant"
)

// Config is a variant's parameter schema, written as a Go struct.
type Config struct {
	LR         float64 `aexp:"lr" default:"1e-3" min:"1e-6" max:"1" doc:"Adam learning rate"`
	Hidden     []int   `default:"256,64" min:"1" doc:"encoder widths, outer to inner; the last is the code size"`
	Activation string  `default:"relu" choices:"relu,tanh,linear" doc:"hidden activation"`
}

// toyAE is a (pretend) autoencoder variant.
type toyAE struct{}

func (toyAE) Describe(ctx context.Context) (variant.Info, error) {
	return variant.Info{
		Name:    "toy",
		Version: "0.1.0",
		Doc:     "A pretend autoencoder whose loss decays exponentially.",
		Params:  variant.MustSchema(&Config{}),
	}, nil
}

func (toyAE) Train(ctx context.Context, req variant.TrainRequest, emit func(variant.Event) error) error {
	var cfg Config
	if err := variant.Decode(req.Params, &cfg); err != nil {
		return err // names the bad parameter; the host records it
	}
	loss := 1.0
	for epoch := 1; epoch <= req.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return err // cancelled: return promptly
		}
		loss *= math.Exp(-1000 * cfg.LR)
		if math.IsNaN(loss) {
			return &variant.DivergedError{Epoch: epoch, Reason: "loss is NaN"}
		}
		err := emit(variant.Event{Epoch: &variant.EpochReport{Epoch: epoch, Metrics: map[string]float64{
			"train_loss": loss, "val_loss": 1.1 * loss,
		}}})
		if err != nil {
			return err
		}
	}
	return emit(variant.Event{Final: &variant.FinalReport{Metrics: map[string]float64{"test_mse": loss}}})
}

// A variant plugin is a config struct, a Describe and a Train; its main
// function is one line:
//
//	func main() { variant.Serve(toyAE{}) }
//
// This example calls the variant directly, the way the host sees it after
// validating a run's parameters.
func Example() {
	v := toyAE{}
	info, _ := v.Describe(context.Background())
	for _, p := range info.Params {
		fmt.Printf("%s %s default=%v\n", p.Name, p.Type, p.Default)
	}

	// The host validates a run's parameters and fills the defaults.
	params, err := variant.Validate(info.Params, map[string]any{"lr": 2e-3})
	if err != nil {
		panic(err)
	}
	_ = v.Train(context.Background(), variant.TrainRequest{Params: params, Epochs: 2},
		func(e variant.Event) error {
			if e.Epoch != nil {
				fmt.Printf("epoch %d train_loss %.4f\n", e.Epoch.Epoch, e.Epoch.Metrics["train_loss"])
			}
			return nil
		})

	// Bad parameters are rejected with an error naming the key.
	_, err = variant.Validate(info.Params, map[string]any{"activation": "gelu", "lr": 5})
	fmt.Println(err)
	// Output:
	// lr float default=0.001
	// hidden int_list default=[256 64]
	// activation string default=relu
	// epoch 1 train_loss 0.1353
	// epoch 2 train_loss 0.0183
	// parameter "activation": "gelu" is not one of relu, tanh, linear
	// parameter "lr": 5 is above the maximum 1
}

// Decode fills a config struct from a run's parameters, strictly.
func ExampleDecode() {
	var cfg Config
	err := variant.Decode(map[string]any{"hidden": []any{int64(512), 128.0}}, &cfg)
	fmt.Println(cfg.LR, cfg.Hidden, cfg.Activation, err)

	err = variant.Decode(map[string]any{"hiden": []int{512}}, &cfg)
	fmt.Println(err)
	// Output:
	// 0.001 [512 128] relu <nil>
	// parameter "hiden": unknown parameter (did you mean "hidden"?); known: activation, hidden, lr
}

// The host side: find plugins, start one per run, stream its events.
func ExampleLaunch() {
	plugins, err := variant.DiscoverDefault("") // aexp-variant-* in $AEXP_PLUGIN_DIR, next to aexp, on $PATH
	if err != nil {
		fmt.Println(err)
		return
	}
	path, ok := plugins["dense"]
	if !ok {
		return
	}
	ctx := context.Background()
	p, err := variant.Launch(ctx, path, variant.LaunchOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Kill() // the whole process group
	info, _ := p.Describe(ctx)
	params, _ := variant.Validate(info.Params, map[string]any{"lr": 1e-3})
	err = p.Train(ctx, variant.TrainRequest{Params: params, Dataset: "mnist", Epochs: 1, TrainLimit: 1000},
		func(e variant.Event) error {
			if e.Epoch != nil {
				fmt.Println(e.Epoch.Metrics["val_loss"])
			}
			return nil
		})
	fmt.Println(err)
}
