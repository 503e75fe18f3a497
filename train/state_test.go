package train

import (
	"bytes"
	"maps"
	"testing"

	"github.com/aexp/aexp/variant"
)

// noTiming drops the wall-clock metrics, which differ between any two runs.
func noTiming(m map[string]float64) map[string]float64 {
	m = maps.Clone(m)
	delete(m, "epoch_seconds")
	delete(m, "samples_per_second")
	return m
}

// A run resumed from the state of epoch k ends exactly as the run that was
// never interrupted: the same later epochs, weights and final metrics.
func TestResumeIsExact(t *testing.T) {
	req := smallReq()
	req.Keep = "all"
	full, err := runTrain(t, New(denseSpec()), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.states) != req.Epochs {
		t.Fatalf("%d states for %d epochs", len(full.states), req.Epochs)
	}
	for k := 1; k <= req.Epochs; k++ {
		r := req
		st := full.states[k-1]
		r.Resume = &st
		res, err := runTrain(t, New(denseSpec()), r)
		if err != nil {
			t.Fatalf("resume from epoch %d: %v", k, err)
		}
		if res.resumed == nil || res.resumed.Epoch != k || res.order[0] != "resumed" {
			t.Fatalf("resume from epoch %d: events %v", k, res.order)
		}
		if len(res.epochs) != req.Epochs-k {
			t.Fatalf("resume from epoch %d: %d epochs reported", k, len(res.epochs))
		}
		for i, e := range res.epochs {
			want := full.epochs[k+i]
			if e.Epoch != want.Epoch || !maps.Equal(noTiming(e.Metrics), noTiming(want.Metrics)) {
				t.Errorf("resume from epoch %d: epoch %d metrics %v, uninterrupted %v", k, e.Epoch, e.Metrics, want.Metrics)
			}
		}
		if k < req.Epochs && !bytes.Equal(res.states[len(res.states)-1].Data, full.states[req.Epochs-1].Data) {
			t.Errorf("resume from epoch %d: final weights differ", k)
		}
		if !maps.Equal(res.final.Metrics, full.final.Metrics) {
			t.Errorf("resume from epoch %d: final metrics %v, uninterrupted %v", k, res.final.Metrics, full.final.Metrics)
		}
	}
}

// A state the trainer cannot use starts the run over, with a warning and no
// Resumed event.
func TestResumeBadStateStartsOver(t *testing.T) {
	req := smallReq()
	req.Epochs = 1
	req.Resume = &variant.Artifact{Kind: variant.KindState, Epoch: 1, Data: []byte("not safetensors")}
	ev, err := runTrain(t, New(denseSpec()), req)
	if err != nil {
		t.Fatal(err)
	}
	if ev.resumed != nil || len(ev.epochs) != 1 || ev.epochs[0].Epoch != 1 {
		t.Fatalf("events %v", ev.order)
	}
	warned := false
	for _, l := range ev.logs {
		warned = warned || (l.Level == "warn" && bytes.Contains([]byte(l.Text), []byte("not resuming")))
	}
	if !warned {
		t.Errorf("no warning in %v", ev.logs)
	}
}
