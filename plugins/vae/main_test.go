package main

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/train"
	"github.com/aexp/aexp/train/traintest"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/variant/varianttest"
)

func TestConformance(t *testing.T) {
	varianttest.Run(t, varianttest.Build(t, "."), variant.TrainRequest{
		Params: map[string]any{"hidden": []int{32}, "latent": 4}, Seed: 1, Dataset: "mnist",
		Epochs: 2, BatchSize: 64, TrainLimit: 500, TestLimit: 100,
	})
}

func TestLearns(t *testing.T) {
	r := traintest.Learns(t, vae, variant.TrainRequest{
		Params: map[string]any{"hidden": []int{128, 64}, "latent": 2}, Seed: 1, Dataset: "mnist",
		Epochs: 3, BatchSize: 64, TrainLimit: 2000, TestLimit: 500,
	}, 0.5)
	m := r.Final.Metrics
	if math.Abs(m["test_neg_elbo"]-(m["test_rec"]+m["test_kl"])) > 1e-6*m["test_neg_elbo"] || m["test_kl"] <= 0 {
		t.Errorf("-ELBO %v is not rec %v + KL %v", m["test_neg_elbo"], m["test_rec"], m["test_kl"])
	}
	if _, ok := r.Epochs[0].Metrics["val_kl"]; !ok {
		t.Error("no val_kl per epoch")
	}
	// latent = 2: the test codes with their labels.
	lat := r.Artifact(variant.KindLatent)
	if lat == nil {
		t.Fatal("no latent artifact with latent = 2")
	}
	entries, _, err := nn.ReadSafetensors(lat.Data)
	if err != nil || !slices.Equal(entries[0].Shape, []int{500, 2}) {
		t.Fatalf("latent artifact: %v %v", entries, err)
	}
	// New data from N(0, I) with the checkpoint: values in (0, 1).
	ckpt := r.Artifact(variant.KindCheckpoint)
	s := train.New(vae).(variant.Sampler)
	a, err := s.Sample(context.Background(), variant.SampleRequest{
		Params: map[string]any{"hidden": []int{128, 64}, "latent": 2}, Checkpoint: ckpt.Data, N: 8, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	se, _, err := nn.ReadSafetensors(a.Data)
	if err != nil || !slices.Equal(se[0].Shape, []int{8, 28, 28}) {
		t.Fatalf("samples: %v %v", se, err)
	}
	lo, hi := slices.Min(se[0].Data), slices.Max(se[0].Data)
	if lo < 0 || hi > 1 || hi-lo < 0.5 {
		t.Errorf("sample values in [%v, %v]", lo, hi)
	}
}

func TestBetaZeroIgnoresKL(t *testing.T) {
	// With beta = 0 the objective is the reconstruction alone.
	r := traintest.Learns(t, vae, variant.TrainRequest{
		Params: map[string]any{"hidden": []int{64}, "latent": 8, "beta": 0.0}, Seed: 1, Dataset: "mnist",
		Epochs: 3, BatchSize: 64, TrainLimit: 2000, TestLimit: 200,
	}, 0.7)
	e := r.Epochs[0].Metrics
	if math.Abs(e["val_loss"]-e["val_rec"]) > 0.05*e["val_rec"] {
		t.Errorf("beta 0: val_loss %v, val_rec %v", e["val_loss"], e["val_rec"])
	}
}
