package main

import (
	"testing"

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

func TestLearns(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params map[string]any
	}{
		{"gauss", map[string]any{"noise": "gauss", "noise_std": 0.3}},
		{"dropout", map[string]any{"noise": "dropout", "noise_rate": 0.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.params["hidden"] = []int{64, 16}
			r := traintest.Learns(t, denoise, variant.TrainRequest{
				Params: tc.params, Seed: 1, Dataset: "mnist", Epochs: 3, BatchSize: 64, TrainLimit: 2000, TestLimit: 500,
			}, 0.5)
			clean, noisy := r.Final.Metrics["test_mse"], r.Final.Metrics["test_mse_noisy"]
			// Corrupted inputs are harder to reconstruct than clean ones.
			if !(noisy > clean) || noisy > 2*r.Initial {
				t.Errorf("test_mse %.5f, test_mse_noisy %.5f", clean, noisy)
			}
			if _, ok := r.Epochs[0].Metrics["val_mse_noisy"]; !ok {
				t.Error("no val_mse_noisy per epoch")
			}
		})
	}
}
