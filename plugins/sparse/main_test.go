package main

import (
	"testing"

	"github.com/aexp/aexp/train/traintest"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/variant/varianttest"
)

func TestConformance(t *testing.T) {
	varianttest.Run(t, varianttest.Build(t, "."), variant.TrainRequest{
		Params: map[string]any{"hidden": []int{32}}, Seed: 1, Dataset: "mnist",
		Epochs: 2, BatchSize: 64, TrainLimit: 500, TestLimit: 100,
	})
}

func req(params map[string]any) variant.TrainRequest {
	return variant.TrainRequest{Params: params, Seed: 1, Dataset: "mnist", Epochs: 3, BatchSize: 64, TrainLimit: 2000, TestLimit: 500}
}

func TestLearnsSparseCodes(t *testing.T) {
	for _, penalty := range []string{"l1", "kl"} {
		t.Run(penalty, func(t *testing.T) {
			// The same model with and without the penalty: the penalty
			// must make the code sparser.
			free := traintest.Learns(t, sparse, req(map[string]any{"hidden": []int{128}, "penalty": penalty, "weight": 0.0}), 0.5)
			weight := map[string]float64{"l1": 1e-3, "kl": 0.5}[penalty]
			sp := traintest.Learns(t, sparse, req(map[string]any{"hidden": []int{128}, "penalty": penalty, "weight": weight}), 0.6)
			a, b := free.Final.Metrics["test_code_mean"], sp.Final.Metrics["test_code_mean"]
			if !(b < 0.7*a) {
				t.Errorf("mean code activation %.4f with the penalty, %.4f without; want clearly lower", b, a)
			}
			if penalty == "kl" && !(b < 0.15) {
				t.Errorf("kl: mean code activation %.4f; want near the 0.05 target", b)
			}
		})
	}
}
