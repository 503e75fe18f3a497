package nn

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestSafetensorsRoundTrip(t *testing.T) {
	in := []Entry{
		{Name: "b", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, -6.5}},
		{Name: "a", Shape: []int{3}, Data: []float32{7, 8, 9}},
		{Name: "empty", Shape: []int{0, 4}, Data: nil},
		{Name: "scalar", Shape: []int{}, Data: []float32{42}},
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if hl := binary.LittleEndian.Uint64(b); (8+hl)%8 != 0 {
		t.Errorf("header not padded to 8 bytes: %d", hl)
	}
	out, meta, err := ReadSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" {
		t.Errorf("metadata lost: %v", meta)
	}
	if len(out) != len(in) {
		t.Fatalf("%d entries back, want %d", len(out), len(in))
	}
	for i := range in { // file order is write order
		if out[i].Name != in[i].Name || !slices.Equal(out[i].Shape, in[i].Shape) || !slices.Equal(out[i].Data, in[i].Data) {
			t.Errorf("entry %d: got %+v want %+v", i, out[i], in[i])
		}
	}
	var again bytes.Buffer
	WriteSafetensors(&again, in, map[string]string{"format": "pt"})
	if !bytes.Equal(again.Bytes(), b) {
		t.Error("writing is not deterministic")
	}
	if err := WriteSafetensors(&buf, []Entry{{Name: "x", Shape: []int{2}, Data: []float32{1}}}, nil); err == nil {
		t.Error("shape/data mismatch accepted")
	}
}

func TestSafetensorsRejectsCorruption(t *testing.T) {
	var buf bytes.Buffer
	WriteSafetensors(&buf, []Entry{{Name: "w", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}}, nil)
	good := buf.Bytes()
	hdr := func(js string, data int) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
		return append(append(b, js...), make([]byte, data)...)
	}
	cases := map[string][]byte{
		"empty":         nil,
		"truncated":     good[:len(good)-3],
		"short header":  good[:12],
		"huge length":   binary.LittleEndian.AppendUint64(nil, 1<<62),
		"not json":      hdr("{nope", 0),
		"trailing data": append(append([]byte(nil), good...), 0, 0, 0, 0),
		"bad dtype":     hdr(`{"w":{"dtype":"Q8","shape":[1],"data_offsets":[0,4]}}`, 4),
		"shape/size":    hdr(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4),
		"neg shape":     hdr(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, 4),
		"overlap":       hdr(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4),
		"offset beyond": hdr(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 4),
		"bad metadata":  hdr(`{"__metadata__":{"a":1}}`, 0),
		"overflow":      hdr(`{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}`, 4),
	}
	for name, b := range cases {
		if _, _, err := ReadSafetensors(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzReadSafetensors(f *testing.F) {
	var buf bytes.Buffer
	WriteSafetensors(&buf, []Entry{{Name: "w", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}, {Name: "b", Shape: []int{2}, Data: []float32{5, 6}}}, map[string]string{"k": "v"})
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add(binary.LittleEndian.AppendUint64(nil, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, meta, err := ReadSafetensors(b)
		if err != nil {
			return
		}
		// Whatever parses must survive a round trip.
		var out bytes.Buffer
		if err := WriteSafetensors(&out, es, meta); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		es2, _, err := ReadSafetensors(out.Bytes())
		if err != nil || len(es2) != len(es) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func TestCheckpointRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	build := func() (*Linear, *Linear, *Adam) {
		r := rand.New(rand.NewPCG(9, 9))
		enc := NewLinear("enc", 6, 3, ActTanh, r)
		dec := NewTied("dec", enc, ActSigmoid)
		return enc, dec, NewAdam(append(enc.Params(), dec.Params()...), 1e-2)
	}
	enc, dec, opt := build()
	params := append(enc.Params(), dec.Params()...)
	if got := CountParams(params); got != 6*3+3+6 {
		t.Errorf("CountParams = %d, want %d (tied W counted once)", got, 6*3+3+6)
	}
	x := NewTensor(8, 6)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	g := NewGraph()
	step := func(enc, dec *Linear, opt Optimizer) float32 {
		g.Reset()
		l := g.MSE(dec.Forward(g, enc.Forward(g, x)), x)
		g.Backward(l)
		opt.Step()
		return l.Scalar()
	}
	for range 5 {
		step(enc, dec, opt)
	}
	var buf bytes.Buffer
	if err := SaveCheckpoint(&buf, params, opt, map[string]string{"epoch": "5"}); err != nil {
		t.Fatal(err)
	}
	enc2, dec2, opt2 := build()
	meta, err := LoadCheckpoint(buf.Bytes(), append(enc2.Params(), dec2.Params()...), opt2)
	if err != nil {
		t.Fatal(err)
	}
	if meta["epoch"] != "5" || opt2.Steps() != 5 {
		t.Errorf("meta %v, steps %d", meta, opt2.Steps())
	}
	// Resumed training must continue bit-identically.
	for i := range 3 {
		a, b := step(enc, dec, opt), step(enc2, dec2, opt2)
		if a != b {
			t.Fatalf("step %d after resume: loss %v vs %v", i, a, b)
		}
	}
	// A model of another shape is refused, and left untouched.
	other := NewLinear("enc", 5, 3, ActTanh, rng)
	before := slices.Clone(other.W.Data)
	if _, err := LoadCheckpoint(buf.Bytes(), other.Params(), nil); err == nil || !strings.Contains(err.Error(), "enc.W") {
		t.Errorf("mis-shaped load: %v", err)
	}
	if !slices.Equal(before, other.W.Data) {
		t.Error("failed load modified the model")
	}
}
