package variant_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aexp/aexp/variant"
)

type base struct {
	LR float64 `aexp:"lr" default:"1e-3" min:"1e-6" max:"1" doc:"learning rate"`
}

type cfg struct {
	base
	Hidden       []int     `default:"512,256" min:"1" doc:"widths"`
	Activation   string    `default:"relu" choices:"relu,tanh" doc:"activation"`
	Tied         bool      `doc:"tied weights"`
	Latent       int       `required:"true" min:"1" max:"1000" doc:"code size"`
	Noise        []float64 `aexp:"noise" default:"0.1,0.2" min:"0" doc:"noise levels"`
	Beta         float32   `default:"1" doc:"KL weight"`
	LearningRate uint8     `aexp:"-"`
	BatchNorm    int8      `default:"0" doc:"small int"`
	private      int
}

func TestSchemaFromStruct(t *testing.T) {
	ps, err := variant.Schema(&cfg{Tied: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]variant.Param{}
	var names []string
	for _, p := range ps {
		got[p.Name] = p
		names = append(names, p.Name)
	}
	if strings.Join(names, " ") != "lr hidden activation tied latent noise beta batch_norm" {
		t.Fatalf("names %v", names)
	}
	check := func(name string, typ variant.ParamType, def any) {
		t.Helper()
		p := got[name]
		if p.Type != typ || !reflect.DeepEqual(p.Default, def) || p.Doc == "" {
			t.Errorf("%s: %+v (default %T)", name, p, p.Default)
		}
	}
	check("lr", variant.Float, 1e-3)
	check("hidden", variant.IntList, []int64{512, 256})
	check("activation", variant.String, "relu")
	check("tied", variant.Bool, true) // from the struct value
	check("latent", variant.Int, nil)
	check("noise", variant.FloatList, []float64{0.1, 0.2})
	check("beta", variant.Float, 1.0)
	if p := got["lr"]; *p.Min != 1e-6 || *p.Max != 1 {
		t.Errorf("lr bounds %v %v", *p.Min, *p.Max)
	}
	if c := got["activation"].Choices; !reflect.DeepEqual(c, []string{"relu", "tanh"}) {
		t.Errorf("choices %v", c)
	}

	type bad struct {
		M map[string]int
	}
	if _, err := variant.Schema(&bad{}); err == nil || !strings.Contains(err.Error(), `"m"`) {
		t.Errorf("unsupported type: %v", err)
	}
	type badDefault struct {
		N int `default:"x"`
	}
	if _, err := variant.Schema(badDefault{}); err == nil {
		t.Error("bad default accepted")
	}
	if _, err := variant.Schema(3); err == nil {
		t.Error("non-struct accepted")
	}
}

func TestDecode(t *testing.T) {
	var c cfg
	err := variant.Decode(map[string]any{
		"latent": 10.0, // JSON number
		"hidden": []any{int64(300), 150.0},
		"lr":     json.Number("0.01"),
		"noise":  []int{1, 2},
		"tied":   true,
	}, &c)
	if err != nil {
		t.Fatal(err)
	}
	want := cfg{base: base{LR: 0.01}, Hidden: []int{300, 150}, Activation: "relu", Tied: true, Latent: 10,
		Noise: []float64{1, 2}, Beta: 1}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}

	for _, tc := range []struct {
		params map[string]any
		key    string
		msg    string
	}{
		{map[string]any{"latent": 1, "lattent": 3}, "lattent", `did you mean "latent"`},
		{map[string]any{}, "latent", "required"},
		{map[string]any{"latent": 0}, "latent", "below the minimum 1"},
		{map[string]any{"latent": 1001}, "latent", "above the maximum 1000"},
		{map[string]any{"latent": 2.5}, "latent", "not an integer"},
		{map[string]any{"latent": "3"}, "latent", `got the string "3"`},
		{map[string]any{"latent": 1, "activation": "gelu"}, "activation", `"gelu" is not one of relu, tanh`},
		{map[string]any{"latent": 1, "hidden": []any{10, -1}}, "hidden", "element 1: -1 is below the minimum 1"},
		{map[string]any{"latent": 1, "hidden": 10}, "hidden", "want a list of ints"},
		{map[string]any{"latent": 1, "tied": 1}, "tied", "want bool"},
		{map[string]any{"latent": 1, "batch_norm": 300}, "batch_norm", "does not fit in int8"},
		{map[string]any{"latent": 1, "lr": nil}, "lr", "null"},
	} {
		before := c
		err := variant.Decode(tc.params, &c)
		if err == nil {
			t.Errorf("%v: no error", tc.params)
			continue
		}
		if !errors.Is(err, variant.ErrInvalidParams) {
			t.Errorf("%v: %v does not match ErrInvalidParams", tc.params, err)
		}
		var pe *variant.ParamError
		if !errors.As(err, &pe) || pe.Param != tc.key || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: error %q, want key %q and %q", tc.params, err, tc.key, tc.msg)
		}
		if !reflect.DeepEqual(before, c) {
			t.Errorf("%v: cfg changed on error", tc.params)
		}
	}
	if err := variant.Decode(nil, c); err == nil {
		t.Error("non-pointer accepted")
	}
}

func TestValidate(t *testing.T) {
	ps := variant.MustSchema(&cfg{})
	got, err := variant.Validate(ps, map[string]any{"latent": int64(4), "beta": 2})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"lr": 1e-3, "hidden": []int64{512, 256}, "activation": "relu", "tied": false,
		"latent": int64(4), "noise": []float64{0.1, 0.2}, "beta": 2.0, "batch_norm": int64(0),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	// Every bad key is reported, sorted.
	_, err = variant.Validate(ps, map[string]any{"zz": 1, "aa": 1, "latent": -1})
	if err == nil || strings.Count(err.Error(), "\n") != 2 || !strings.HasPrefix(err.Error(), `parameter "aa"`) {
		t.Fatalf("err = %q", err)
	}
	// A schema without parameters.
	_, err = variant.Validate(nil, map[string]any{"x": 1})
	if err == nil || !strings.Contains(err.Error(), "takes no parameters") {
		t.Fatalf("err = %v", err)
	}
}

func TestListLengths(t *testing.T) {
	type cfg struct {
		Hidden []int     `default:"8" min:"1" minlen:"1" maxlen:"3" doc:"widths"`
		Scales []float64 `default:"" doc:"any length"`
	}
	ps, err := variant.Schema(&cfg{})
	if err != nil {
		t.Fatal(err)
	}
	if *ps[0].MinLen != 1 || *ps[0].MaxLen != 3 || ps[1].MinLen != nil {
		t.Fatalf("params %+v", ps)
	}
	for _, c := range []struct {
		hidden any
		want   string
	}{
		{[]any{}, `parameter "hidden": 0 element(s): want at least 1`},
		{[]any{1, 2, 3, 4}, `parameter "hidden": 4 elements: want at most 3`},
		{[]any{1, 2, 3}, ""},
	} {
		_, err := variant.Validate(ps, map[string]any{"hidden": c.hidden})
		if got := fmt.Sprint(err); (c.want == "" && err != nil) || (c.want != "" && !strings.Contains(got, c.want)) {
			t.Errorf("hidden %v: %v, want %q", c.hidden, err, c.want)
		}
	}
	type bad struct {
		N int `minlen:"1" doc:"not a list"`
	}
	if _, err := variant.Schema(&bad{}); err == nil {
		t.Error("minlen on an int was accepted")
	}
}
