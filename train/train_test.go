package train

import (
	"context"
	"errors"
	"github.com/aexp/aexp/dataset"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/variant"
)

type denseConfig struct {
	Common
	Hidden []int `default:"64,16" min:"1" doc:"encoder widths"`
}

func denseSpec() Spec[denseConfig] {
	return Spec[denseConfig]{
		Name: "testdense", Version: "0.0.1", Doc: "test model",
		Build: func(c denseConfig, s Setup) (Model, error) {
			return NewMLP("ae", MLPConfig{In: s.Dim(), Hidden: c.Hidden, Act: nn.ActReLU, Out: nn.ActSigmoid}, s.Init)
		},
	}
}

// collect runs Train and gathers its events.
type events struct {
	epochs    []variant.EpochReport
	artifacts []variant.Artifact // all but training states
	states    []variant.Artifact
	resumed   *variant.Resumed
	logs      []variant.LogLine
	final     *variant.FinalReport
	order     []string
}

func runTrain(t *testing.T, v variant.Variant, req variant.TrainRequest) (*events, error) {
	t.Helper()
	ev := &events{}
	err := v.Train(context.Background(), req, func(e variant.Event) error {
		switch {
		case e.Epoch != nil:
			ev.epochs = append(ev.epochs, *e.Epoch)
			ev.order = append(ev.order, "epoch")
		case e.Artifact != nil && e.Artifact.Kind == variant.KindState:
			ev.states = append(ev.states, *e.Artifact)
			ev.order = append(ev.order, "state")
		case e.Artifact != nil:
			ev.artifacts = append(ev.artifacts, *e.Artifact)
			ev.order = append(ev.order, "artifact:"+e.Artifact.Kind)
		case e.Resumed != nil:
			ev.resumed = e.Resumed
			ev.order = append(ev.order, "resumed")
		case e.Log != nil:
			ev.logs = append(ev.logs, *e.Log)
		case e.Final != nil:
			if ev.final != nil {
				t.Error("two Final events")
			}
			ev.final = e.Final
			ev.order = append(ev.order, "final")
		}
		return nil
	})
	return ev, err
}

func smallReq() variant.TrainRequest {
	return variant.TrainRequest{
		Params: map[string]any{}, Seed: 1, Dataset: "mnist", Epochs: 3, BatchSize: 64,
		TrainLimit: 1500, TestLimit: 300, Keep: "last",
	}
}

func TestTrainDense(t *testing.T) {
	v := New(denseSpec())
	ev, err := runTrain(t, v, smallReq())
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.epochs) != 3 || ev.final == nil {
		t.Fatalf("%d epochs, final %v", len(ev.epochs), ev.final)
	}
	for i, e := range ev.epochs {
		if e.Epoch != i+1 {
			t.Errorf("epoch %d numbered %d", i+1, e.Epoch)
		}
		for _, k := range []string{"train_loss", "val_loss", "epoch_seconds", "samples_per_second"} {
			if _, ok := e.Metrics[k]; !ok {
				t.Errorf("epoch %d lacks %s", e.Epoch, k)
			}
		}
	}
	first, last := ev.epochs[0].Metrics["train_loss"], ev.epochs[2].Metrics["val_loss"]
	if !(last < 0.7*first) {
		t.Errorf("val_loss after 3 epochs %.4f; want well below the first epoch's train_loss %.4f", last, first)
	}
	f := ev.final
	if f.Metrics["test_mse"] <= 0 || f.Metrics["test_mse"] > 0.08 || f.Metrics["pca_mse"] <= 0 {
		t.Errorf("final metrics %v", f.Metrics)
	}
	if f.Meta["blas"] != nn.Backend() || f.Meta["params"] == "" || f.Meta["train_examples"] != "1350" || f.Meta["val_examples"] != "150" {
		t.Errorf("final meta %v", f.Meta)
	}
	// Events: epochs, each followed by its training state, the last
	// checkpoint before the last state, then reconstructions, then Final.
	want := []string{"epoch", "state", "epoch", "state", "epoch", "artifact:checkpoint", "state", "artifact:reconstruction", "final"}
	if !slices.Equal(ev.order, want) {
		t.Errorf("event order %v; want %v", ev.order, want)
	}
	rec := ev.artifacts[1]
	entries, _, err := nn.ReadSafetensors(rec.Data)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Name != "input" || !slices.Equal(entries[0].Shape, []int{16, 28, 28}) ||
		entries[1].Name != "output" || !slices.Equal(entries[1].Shape, []int{16, 28, 28}) {
		t.Fatalf("reconstruction entries %+v", entries)
	}
	if rec.Meta["shape"] != "28,28" {
		t.Errorf("reconstruction meta %v", rec.Meta)
	}

	// The checkpoint reconstructs the same outputs through the capability.
	ckpt := ev.artifacts[0]
	if ckpt.Epoch != 3 || ckpt.Format != "safetensors" {
		t.Errorf("checkpoint %s epoch %d", ckpt.Name, ckpt.Epoch)
	}
	a, err := v.(variant.Reconstructor).Reconstruct(context.Background(), variant.ReconstructRequest{
		Params: map[string]any{}, Checkpoint: ckpt.Data, Dataset: "mnist", N: 16,
	})
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := nn.ReadSafetensors(a.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again[1].Data, entries[1].Data) {
		t.Error("Reconstruct from the checkpoint differs from the run's reconstructions")
	}
	if _, err := v.(variant.Reconstructor).Reconstruct(context.Background(), variant.ReconstructRequest{
		Params: map[string]any{"hidden": []int{64, 8}}, Checkpoint: ckpt.Data, Dataset: "mnist", N: 4,
	}); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("checkpoint with other params: %v", err)
	}
	if _, ok := v.(variant.Sampler); ok {
		t.Error("a non-generative variant implements Sampler")
	}
}

func TestTrainDeterministic(t *testing.T) {
	req := smallReq()
	req.Epochs, req.TrainLimit = 2, 600
	a, err := runTrain(t, New(denseSpec()), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := runTrain(t, New(denseSpec()), req)
	if err != nil {
		t.Fatal(err)
	}
	req.Seed = 2
	c, err := runTrain(t, New(denseSpec()), req)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.epochs {
		if a.epochs[i].Metrics["train_loss"] != b.epochs[i].Metrics["train_loss"] ||
			a.epochs[i].Metrics["val_loss"] != b.epochs[i].Metrics["val_loss"] {
			t.Errorf("epoch %d differs with the same seed", i+1)
		}
	}
	if a.epochs[0].Metrics["train_loss"] == c.epochs[0].Metrics["train_loss"] {
		t.Error("different seeds, same trajectory")
	}
}

func TestKeep(t *testing.T) {
	for _, tc := range []struct {
		keep string
		want int
	}{{"last", 1}, {"all", 3}, {"best", 3}} { // best: val_loss falls every epoch here
		t.Run(tc.keep, func(t *testing.T) {
			req := smallReq()
			req.Keep, req.TrainLimit = tc.keep, 600
			ev, err := runTrain(t, New(denseSpec()), req)
			if err != nil {
				t.Fatal(err)
			}
			var epochs []int
			for _, a := range ev.artifacts {
				if a.Kind == variant.KindCheckpoint {
					epochs = append(epochs, a.Epoch)
				}
			}
			if len(epochs) != tc.want || epochs[len(epochs)-1] != 3 {
				t.Errorf("checkpoints at epochs %v", epochs)
			}
		})
	}
	req := smallReq()
	req.Keep = "some"
	if _, err := runTrain(t, New(denseSpec()), req); err == nil {
		t.Error("unknown keep accepted")
	}
}

func TestBadParams(t *testing.T) {
	req := smallReq()
	req.Params = map[string]any{"hiden": []int{3}}
	_, err := runTrain(t, New(denseSpec()), req)
	if !errors.Is(err, variant.ErrInvalidParams) || !strings.Contains(err.Error(), "hiden") {
		t.Errorf("unknown key: %v", err)
	}
	req.Params = map[string]any{"lr": 5.0}
	if _, err := runTrain(t, New(denseSpec()), req); !errors.Is(err, variant.ErrInvalidParams) {
		t.Errorf("lr out of range: %v", err)
	}
	req.Params = nil
	req.Dataset = "nope"
	if _, err := runTrain(t, New(denseSpec()), req); err == nil || !strings.Contains(err.Error(), "unknown dataset") {
		t.Errorf("bad dataset: %v", err)
	}
}

func TestValSplitZero(t *testing.T) {
	req := smallReq()
	req.Epochs, req.TrainLimit = 1, 500
	req.Params = map[string]any{"val_split": 0.0}
	ev, err := runTrain(t, New(denseSpec()), req)
	if err != nil {
		t.Fatal(err)
	}
	if ev.final.Meta["train_examples"] != "500" || ev.final.Meta["val_set"] != "test" {
		t.Errorf("meta %v", ev.final.Meta)
	}
	warned := slices.ContainsFunc(ev.logs, func(l variant.LogLine) bool { return l.Level == "warn" && strings.Contains(l.Text, "test set") })
	if !warned {
		t.Error("no warning that val_loss is on the test set")
	}
}

// nanModel's loss turns NaN after a few steps.
type nanModel struct {
	*MLP
	steps int
}

func (m *nanModel) Loss(g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	l := m.MLP.Loss(g, x)
	if g.Train {
		m.steps++
		if m.steps > 5 {
			return g.Log(g.Scale(l, -1)) // log of a negative number
		}
	}
	return l
}

func TestDiverged(t *testing.T) {
	spec := denseSpec()
	build := spec.Build
	spec.Build = func(c denseConfig, s Setup) (Model, error) {
		m, err := build(c, s)
		return &nanModel{MLP: m.(*MLP)}, err
	}
	_, err := runTrain(t, New(spec), smallReq())
	var d *variant.DivergedError
	if !errors.As(err, &d) || d.Epoch != 1 || !strings.Contains(d.Reason, "NaN") {
		t.Fatalf("err = %v; want a DivergedError at epoch 1", err)
	}
}

func TestCancel(t *testing.T) {
	req := smallReq()
	req.TrainLimit, req.Epochs = 0, 100 // far more than the test waits for
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		var once bool
		done <- New(denseSpec()).Train(ctx, req, func(e variant.Event) error {
			if e.Log != nil && !once {
				once = true
				close(started)
			}
			return nil
		})
	}()
	<-started
	cancel()
	// Not a timing assertion on the machine's speed: a loop that checks
	// the context every batch returns long before this bound.
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v; want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Train did not return after cancel")
	}
}

func TestEmitError(t *testing.T) {
	boom := errors.New("host gone")
	err := New(denseSpec()).Train(context.Background(), smallReq(), func(e variant.Event) error {
		if e.Epoch != nil {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v; want the emit error", err)
	}
}

func TestDescribe(t *testing.T) {
	info, err := New(denseSpec()).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range info.Params {
		names = append(names, p.Name)
		if p.Doc == "" {
			t.Errorf("param %s has no doc", p.Name)
		}
	}
	if !slices.Equal(names, []string{"lr", "val_split", "weight_decay", "hidden"}) {
		t.Errorf("params %v", names)
	}
	if !slices.Equal(info.Capabilities, []string{variant.CapReconstruct, variant.CapResume}) {
		t.Errorf("capabilities %v", info.Capabilities)
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted a config without Common")
		}
	}()
	type bare struct{ X int }
	New(Spec[bare]{})
}

func TestLinearInit(t *testing.T) {
	l := Linear("l", 400, 300, nn.ActReLU, newRand())
	bound := float32(1 / math.Sqrt(400))
	var sum, sq float64
	for _, w := range append(l.W.Data, l.B.Data...) {
		if w < -bound || w > bound {
			t.Fatalf("weight %v outside ±%v", w, bound)
		}
		sum += float64(w)
		sq += float64(w * w)
	}
	n := float64(l.W.Len() + l.B.Len())
	// U(-b, b) has variance b²/3.
	if v := sq / n; math.Abs(v-float64(bound*bound)/3) > 0.05*float64(bound*bound)/3 {
		t.Errorf("variance %v; want %v", v, bound*bound/3)
	}
	if !reflect.DeepEqual(l.W.Name, "l.W") || l.B.Name != "l.b" {
		t.Errorf("names %q %q", l.W.Name, l.B.Name)
	}
}

func newRand() *rand.Rand { return dataset.NewRand(1, 1) }

// genMLP is a generative toy: an MLP whose decoder also generates.
type genMLP struct{ *MLP }

func (m genMLP) Generate(g *nn.Graph, z *nn.Tensor) *nn.Tensor {
	return m.Output(g, m.DecodeLogits(g, z))
}

func TestGenerativeAndLatent(t *testing.T) {
	spec := denseSpec()
	spec.Generative = true
	spec.Build = func(c denseConfig, s Setup) (Model, error) {
		m, err := NewMLP("ae", MLPConfig{In: s.Dim(), Hidden: c.Hidden, Act: nn.ActReLU, Out: nn.ActSigmoid}, s.Init)
		return genMLP{m}, err
	}
	v := New(spec)
	req := smallReq()
	req.Epochs, req.TrainLimit = 1, 500
	req.Params = map[string]any{"hidden": []int{32, 2}}
	ev, err := runTrain(t, v, req)
	if err != nil {
		t.Fatal(err)
	}
	var ckpt, lat *variant.Artifact
	for i, a := range ev.artifacts {
		switch a.Kind {
		case variant.KindCheckpoint:
			ckpt = &ev.artifacts[i]
		case variant.KindLatent:
			lat = &ev.artifacts[i]
		}
	}
	if ckpt == nil || lat == nil {
		t.Fatalf("artifacts %v", ev.order)
	}
	entries, _, err := nn.ReadSafetensors(lat.Data)
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Name != "code" || !slices.Equal(entries[0].Shape, []int{300, 2}) ||
		entries[1].Name != "label" || !slices.Equal(entries[1].Shape, []int{300}) || entries[1].Data[0] != 7 {
		t.Fatalf("latent entries %v %v, first label %v", entries[0].Shape, entries[1].Shape, entries[1].Data[0])
	}
	info, _ := v.Describe(context.Background())
	if !slices.Contains(info.Capabilities, variant.CapSample) {
		t.Errorf("capabilities %v", info.Capabilities)
	}
	s, ok := v.(variant.Sampler)
	if !ok {
		t.Fatal("generative variant is not a Sampler")
	}
	a, err := s.Sample(context.Background(), variant.SampleRequest{Params: req.Params, Checkpoint: ckpt.Data, N: 5, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	se, _, err := nn.ReadSafetensors(a.Data)
	if err != nil || se[0].Name != "sample" || !slices.Equal(se[0].Shape, []int{5, 28, 28}) || a.Kind != variant.KindSample {
		t.Fatalf("sample %v %v", se, err)
	}
	if _, err := s.Sample(context.Background(), variant.SampleRequest{Params: req.Params, Checkpoint: []byte("junk"), N: 5}); err == nil {
		t.Error("junk checkpoint accepted")
	}
}

// weight_decay reaches the optimizer: a strong decay shrinks the weights
// and changes the training, 0 is plain Adam (the same run as no param).
func TestWeightDecay(t *testing.T) {
	loss := func(params map[string]any) float64 {
		req := smallReq()
		req.Epochs, req.TrainLimit = 1, 500
		req.Params = params
		ev, err := runTrain(t, New(denseSpec()), req)
		if err != nil {
			t.Fatal(err)
		}
		return ev.epochs[0].Metrics["train_loss"]
	}
	plain, zero, decayed := loss(nil), loss(map[string]any{"weight_decay": 0.0}), loss(map[string]any{"lr": 1e-3, "weight_decay": 5.0})
	if plain != zero {
		t.Errorf("weight_decay 0 gives train_loss %v, no param %v: want the same", zero, plain)
	}
	if decayed == plain {
		t.Errorf("weight_decay 5 left train_loss at %v", plain)
	}
}
