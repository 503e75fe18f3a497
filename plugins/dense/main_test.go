package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/aexp/aexp/train"
	"github.com/aexp/aexp/train/traintest"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/variant/varianttest"
)

func TestConformance(t *testing.T) {
	varianttest.Run(t, varianttest.Build(t, "."), variant.TrainRequest{
		Params: map[string]any{"hidden": []int{32, 8}}, Seed: 1, Dataset: "mnist",
		Epochs: 2, BatchSize: 64, TrainLimit: 500, TestLimit: 100,
	})
}

func req(params map[string]any, epochs int) variant.TrainRequest {
	return variant.TrainRequest{Params: params, Seed: 1, Dataset: "mnist", Epochs: epochs, BatchSize: 64, TrainLimit: 2000, TestLimit: 500}
}

func TestLearns(t *testing.T) {
	for _, act := range []string{"selu", "relu", "tanh", "elu"} {
		t.Run(act, func(t *testing.T) {
			traintest.Learns(t, dense, req(map[string]any{"hidden": []int{64, 16}, "activation": act}, 3), 0.5)
		})
	}
	t.Run("tied bce", func(t *testing.T) {
		r := traintest.Learns(t, dense, req(map[string]any{"hidden": []int{64, 16}, "tied": true, "loss": "bce"}, 3), 0.7)
		// Tied: the decoder owns only biases.
		if want := 784*64 + 64 + 64*16 + 16 + 64 + 784; r.Final.Meta["params"] != strconv.Itoa(want) {
			t.Errorf("tied model has %s parameters; want %d", r.Final.Meta["params"], want)
		}
	})
}

// With linear activations, a linear output and MSE the model is PCA: its
// test error approaches the PCA baseline of the same code size.
func TestLinearIsPCA(t *testing.T) {
	r := traintest.Learns(t, dense, req(map[string]any{
		"hidden": []int{16}, "activation": "linear", "output": "linear", "lr": 1e-2,
	}, 20), 0.5)
	mse, pca := r.Final.Metrics["test_mse"], r.Final.Metrics["pca_mse"]
	if !(mse < 1.1*pca) {
		t.Errorf("linear autoencoder test_mse %.5f; want within 10%% of pca_mse %.5f", mse, pca)
	}
}

func TestBadCombination(t *testing.T) {
	r := req(map[string]any{"loss": "bce", "output": "linear"}, 1)
	err := train.New(dense).Train(context.Background(), r, func(variant.Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "bce needs the sigmoid output") {
		t.Fatalf("err = %v", err)
	}
}
