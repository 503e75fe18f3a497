package store

import (
	"reflect"
	"testing"
)

func TestParamsRoundTrip(t *testing.T) {
	for _, params := range []map[string]any{
		{},
		{"lr": 1e-3, "latent": int64(2), "act": "relu", "tied": true, "off": false, "one": 1.0},
		{"hidden": []int64{512, 256}, "ws": []float64{0.5, 1.0}, "mixed": []any{int64(1), 2.5}},
		{"q": `say "hi"\n`, "nested": map[string]any{"a": int64(1)}, "empty": []any{}, "strs": []any{"a", "b"}},
		{"big": 1e300, "neg": int64(-7), "tiny": -2.5e-10},
	} {
		ps, err := typeParams(params)
		if err != nil {
			t.Fatal(err)
		}
		js := paramsJSON(ps)
		got, err := decodeParams(js)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{}
		for k, v := range params {
			if l, ok := v.([]any); ok && len(l) == 2 && k == "mixed" {
				v = []float64{1, 2.5}
			}
			want[k] = v
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", js, got, want)
		}
		// The slow path agrees with the fast one.
		if m, err := decodeJSON(js); err != nil || !reflect.DeepEqual(m, got) {
			t.Errorf("fast path differs on %s", js)
		}
	}
}

func FuzzDecodeParams(f *testing.F) {
	f.Add(`{"a":1,"b":[1,2],"c":"x","d":1.5e3,"e":true}`)
	f.Add(`{"a":[1.0,2],"b":{"c":[]}}`)
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := decodeFlat(s)
		slow, err := decodeJSON(s) // never panics
		if ok && err == nil && !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast %#v, slow %#v", s, fast, slow)
		}
	})
}
