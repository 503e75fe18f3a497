package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aexp/aexp/train/traintest"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/variant/varianttest"
)

func TestConformance(t *testing.T) {
	varianttest.Run(t, varianttest.Build(t, "."), variant.TrainRequest{
		Params: map[string]any{"hidden": 16, "code": 4}, Seed: 1, Dataset: "sines",
		Epochs: 2, BatchSize: 64, TrainLimit: 300, TestLimit: 50,
	})
}

func TestLearns(t *testing.T) {
	for _, cell := range []string{"gru", "lstm"} {
		t.Run("mnist "+cell, func(t *testing.T) {
			traintest.Learns(t, rnn, variant.TrainRequest{
				Params: map[string]any{"cell": cell, "hidden": 32, "code": 16}, Seed: 1, Dataset: "mnist",
				Epochs: 3, BatchSize: 64, TrainLimit: 1500, TestLimit: 300,
			}, 0.7)
		})
	}
	t.Run("sines two layers", func(t *testing.T) {
		traintest.Learns(t, rnn, variant.TrainRequest{
			Params: map[string]any{"cell": "gru", "hidden": 32, "code": 8, "lr": 1e-2}, Seed: 1, Dataset: "sines",
			Epochs: 5, BatchSize: 32, TrainLimit: 3000, TestLimit: 200,
		}, 0.5)
	})
	t.Run("csv", func(t *testing.T) {
		// Unscaled series in a user file, with a linear output.
		var b strings.Builder
		b.WriteString("t0,t1,t2,t3,t4,t5,t6,t7,t8,t9,t10,t11\n")
		for i := range 400 {
			for s := range 12 {
				if s > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, "%.4f", 3*math.Sin(float64(s)/2+float64(i%17))+float64(i%5))
			}
			b.WriteString("\n")
		}
		path := filepath.Join(t.TempDir(), "series.csv")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		traintest.Learns(t, rnn, variant.TrainRequest{
			Params: map[string]any{"cell": "lstm", "hidden": 32, "code": 8, "output": "linear", "lr": 1e-2}, Seed: 1, Dataset: "csv:" + path,
			Epochs: 5, BatchSize: 16, TestLimit: 0,
		}, 0.5)
	})
}
