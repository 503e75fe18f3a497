// Package traintest checks that a variant built on package train learns:
// trained in-process with a tiny budget, its validation loss must fall well
// below the loss of the untrained model. It complements the conformance
// kit (variant/varianttest), which checks the protocol, not the learning.
package traintest

import (
	"context"
	"math"
	"testing"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/train"
	"github.com/aexp/aexp/variant"
)

// Result is what a run reported.
type Result struct {
	Initial   float64 // loss of the untrained model on (up to) 500 test examples
	Epochs    []variant.EpochReport
	Artifacts []variant.Artifact
	Final     variant.FinalReport
}

// Artifact returns the last artifact of a kind, or nil.
func (r *Result) Artifact(kind string) *variant.Artifact {
	for i := len(r.Artifacts) - 1; i >= 0; i-- {
		if r.Artifacts[i].Kind == kind {
			return &r.Artifacts[i]
		}
	}
	return nil
}

// Learns trains spec's variant with req and fails t unless the last
// epoch's val_loss is below frac times the untrained model's loss and the
// final report has a finite test_mse and pca_mse.
func Learns[C any](t *testing.T, spec train.Spec[C], req variant.TrainRequest, frac float64) *Result {
	t.Helper()
	var cfg C
	if err := variant.Decode(req.Params, &cfg); err != nil {
		t.Fatal(err)
	}
	_, test, err := dataset.Load(req.Dataset, req.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	test = test.Head(500)
	m, err := spec.Build(cfg, train.Setup{Shape: test.Shape(), Init: dataset.NewRand(req.Seed, 99), Noise: dataset.NewRand(req.Seed, 98)})
	if err != nil {
		t.Fatal(err)
	}
	g := nn.NewGraph()
	g.Train = false
	x := g.Input(test.Len(), test.Dim())
	test.Range(x.Data, 0, test.Len())
	res := &Result{Initial: float64(m.Loss(g, x).Scalar())}

	var final *variant.FinalReport
	err = train.New(spec).Train(context.Background(), req, func(e variant.Event) error {
		switch {
		case e.Epoch != nil:
			res.Epochs = append(res.Epochs, *e.Epoch)
		case e.Artifact != nil:
			res.Artifacts = append(res.Artifacts, *e.Artifact)
		case e.Final != nil:
			final = e.Final
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if final == nil || len(res.Epochs) != req.Epochs {
		t.Fatalf("%d epoch reports and final %v; want %d and a final report", len(res.Epochs), final, req.Epochs)
	}
	res.Final = *final
	last := res.Epochs[len(res.Epochs)-1].Metrics["val_loss"]
	t.Logf("loss of the untrained model %.5g; val_loss by epoch:", res.Initial)
	for _, e := range res.Epochs {
		t.Logf("  epoch %d: train_loss %.5g val_loss %.5g", e.Epoch, e.Metrics["train_loss"], e.Metrics["val_loss"])
	}
	t.Logf("final: %v", final.Metrics)
	if !(last < frac*res.Initial) {
		t.Errorf("val_loss after %d epochs is %.5g; want below %.2g × the untrained loss %.5g", req.Epochs, last, frac, res.Initial)
	}
	for _, k := range []string{"test_mse", "pca_mse"} {
		v, ok := final.Metrics[k]
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			t.Errorf("final %s = %v (reported: %v)", k, v, ok)
		}
	}
	return res
}
