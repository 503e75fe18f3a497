package main

import (
	"testing"

	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/variant/varianttest"
)

func TestConformance(t *testing.T) {
	varianttest.Run(t, varianttest.Build(t, "."), variant.TrainRequest{
		Params: map[string]any{"problem": "hartmann6", "x1": 0.2}, Seed: 1, Dataset: "mnist", Epochs: 2, BatchSize: 1,
	})
}
