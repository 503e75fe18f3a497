package cluster

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/aexp/aexp/variant"
)

func seeds() [][]byte {
	blob := Blob{SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Size: 0}
	return [][]byte{
		encode(RunMsg{V: 1, Coord: "c1", Token: "1-1-ab", RunID: 1, Variant: "dense", Version: "0.1.0", Hash: "abcdef", Label: "x"}),
		encode(StartMsg{V: 1, Token: "1-1-ab", Delivery: 2, Worker: "w-1", Host: "h"}),
		encode(StartReply{V: 1, OK: true, Request: &Blob{SHA256: blob.SHA256, Size: 0}, Data: &DataRef{Prefix: "csv:", Name: "a.csv", SHA256: blob.SHA256, Size: 3}}),
		encode(EventMsg{V: 1, Token: "1-1-ab", Delivery: 1, Seq: 1, Worker: "w", Epoch: &EpochMsg{Epoch: 1, Metrics: Metrics{"a": math.NaN(), "b": math.Inf(-1), "c": 0.5}}}),
		encode(EventMsg{V: 1, Token: "1-1-ab", Delivery: 1, Seq: 2, Worker: "w", Artifact: &ArtifactMsg{Kind: "checkpoint", Name: "m", Epoch: 1, Blob: blob}}),
		encode(EventMsg{V: 1, Token: "1-1-ab", Delivery: 1, Seq: 3, Worker: "w", End: &End{Kind: EndCrash, Op: "Train", ExitStatus: "signal: killed"}}),
		encode(CtlMsg{V: 1, Token: "1-1-ab", Reason: "r", Superseded: true}),
		encode(HeartbeatMsg{V: 1, Worker: "w", Held: []Held{{Token: "1-1-ab", Delivery: 1}}}),
		encode(WorkerInfo{V: 1, ID: "w", Variants: []VariantInfo{{Name: "dense", Version: "1", Hash: "ab"}}}),
		[]byte(`{"v":1,"token":"x","delivery":1,"seq":1,"worker":"w","epoch":{"epoch":1,"metrics":{"a":"Inf"}}}`),
	}
}

// roundTrip decodes data as T; what decodes must encode and decode again
// to the same value.
func roundTrip[T any, P interface {
	*T
	validate() error
}](t *testing.T, data []byte) {
	v, err := decode[T, P](data)
	if err != nil {
		return
	}
	again, err := decode[T, P](encode(v))
	if err != nil {
		t.Fatalf("%T decoded from %q does not decode after encoding: %v", v, data, err)
	}
	if ev, ok := any(v).(*EventMsg); ok && ev.Epoch != nil {
		return // NaN != NaN: compared in TestMetricsNonFinite
	}
	if !reflect.DeepEqual(v, again) {
		t.Fatalf("%T changed in a round trip:\n%+v\n%+v", v, v, again)
	}
}

// FuzzDecode: every message a worker or the coordinator decodes is parsed
// without panicking; what parses survives a round trip.
func FuzzDecode(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip[RunMsg](t, data)
		roundTrip[StartMsg](t, data)
		roundTrip[StartReply](t, data)
		roundTrip[EventMsg](t, data)
		roundTrip[CtlMsg](t, data)
		roundTrip[HeartbeatMsg](t, data)
		roundTrip[WorkerInfo](t, data)
	})
}

func TestSeedsDecode(t *testing.T) {
	for i, s := range seeds()[:9] {
		var err error
		switch i {
		case 0:
			_, err = decode[RunMsg](s)
		case 1:
			_, err = decode[StartMsg](s)
		case 2:
			_, err = decode[StartReply](s)
		case 3, 4, 5:
			_, err = decode[EventMsg](s)
		case 6:
			_, err = decode[CtlMsg](s)
		case 7:
			_, err = decode[HeartbeatMsg](s)
		case 8:
			_, err = decode[WorkerInfo](s)
		}
		if err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
	}
	for _, bad := range []string{`{"v":1,"token":"a b","delivery":1,"seq":1,"worker":"w","log":{}}`,
		`{"v":1,"token":"a","delivery":1,"seq":1,"worker":"w"}`,
		`{"v":1,"token":"a","delivery":1,"seq":1,"worker":"w","log":{},"end":{"kind":"ok"}}`,
		`{"v":1,"token":"a","delivery":1,"seq":1,"worker":"w","artifact":{"kind":"c","blob":{"sha256":"00","size":1}}}`,
		`{"v":1,"token":"a","delivery":1,"seq":1,"worker":"w","log":{},"extra":1}`} {
		if _, err := decode[EventMsg]([]byte(bad)); err == nil {
			t.Errorf("%s: decoded", bad)
		}
	}
	// an inline blob must match its hash
	b := Blob{SHA256: strings.Repeat("0", 64), Size: 1, Data: []byte{1}}
	if err := b.validate(); err == nil {
		t.Error("a blob with a wrong sha256 validated")
	}
}

func TestMetricsNonFinite(t *testing.T) {
	ev, err := decode[EventMsg](seeds()[3])
	if err != nil {
		t.Fatal(err)
	}
	m := ev.Epoch.Metrics
	if !math.IsNaN(m["a"]) || !math.IsInf(m["b"], -1) || m["c"] != 0.5 {
		t.Fatalf("metrics %v", m)
	}
}

// TestEndErr: a remote run's end becomes the error a local plugin client
// returns, so the engine records it the same way.
func TestEndErr(t *testing.T) {
	div := endOf(&variant.DivergedError{Epoch: 3, Reason: "train_loss is NaN"}, "tail")
	var de *variant.DivergedError
	if err := div.Err(); !errors.As(err, &de) || de.Epoch != 3 || err.Error() != "diverged at epoch 3: train_loss is NaN" {
		t.Fatalf("diverged: %v", err)
	}
	crash := endOf(&variant.CrashError{Op: "Train", ExitStatus: "exit status 3", Err: errors.New("EOF")}, "t")
	var ce *variant.CrashError
	if err := crash.Err(); !errors.As(err, &ce) || ce.ExitStatus != "exit status 3" || ce.Err.Error() != "EOF" {
		t.Fatalf("crash: %v", err)
	}
	if err := endOf(nil, "").Err(); err != nil {
		t.Fatal(err)
	}
	if err := endOf(errors.New("plugin Train: boom"), "").Err(); err == nil || err.Error() != "plugin Train: boom" {
		t.Fatal(err)
	}
}
