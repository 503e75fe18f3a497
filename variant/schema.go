package variant

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/aexp/aexp/internal/suggest"
)

// Schema derives a parameter schema from a typed config struct, so a plugin
// author writes no validation code. cfg is a pointer to a struct (or a
// struct). Every exported field is one parameter:
//
//	type Config struct {
//		LR         float64 `aexp:"lr" default:"1e-3" min:"1e-6" max:"1" doc:"Adam learning rate"`
//		Hidden     []int   `aexp:"hidden" default:"512,256" min:"1" doc:"encoder widths, outer to inner"`
//		Activation string  `aexp:"activation" default:"relu" choices:"relu,tanh,selu,linear" doc:"hidden activation"`
//		Tied       bool    `default:"false" doc:"decoder reuses the encoder's transposed weights"`
//		Latent     int     `required:"true" min:"1" doc:"code size"`
//	}
//
// Tags:
//   - aexp: the parameter name; default: the field name in snake_case
//     (Tied -> "tied", LearningRate -> "learning_rate"); "-" skips the field.
//   - default: the default value, written as in TOML without brackets or
//     quotes (lists comma-separated). Without the tag, the field's current
//     value in cfg is the default, so Schema(&Config{LR: 1e-3}) also works.
//   - required:"true": no default; every run must set the parameter.
//   - min, max: inclusive bounds for numbers and for each list element.
//   - minlen, maxlen: inclusive bounds on the length of a list.
//   - choices: comma-separated allowed values of a string parameter.
//   - doc: what the parameter does (required by the conformance kit).
//
// Field types map to [ParamType]: int kinds to Int, float kinds to Float,
// string to String, bool to Bool, []int kinds to IntList, []float kinds to
// FloatList. Embedded structs are flattened. Any other type is an error.
func Schema(cfg any) ([]Param, error) {
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v = reflect.New(v.Type().Elem()).Elem()
			break
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("variant.Schema: want a struct or a pointer to a struct, got %T", cfg)
	}
	var ps []Param
	seen := map[string]string{}
	if err := schemaFields(v, &ps, seen); err != nil {
		return nil, err
	}
	return ps, nil
}

// MustSchema is like [Schema] but panics on a malformed config struct. It
// suits a package-level variable or a Describe method:
//
//	Params: variant.MustSchema(&Config{}),
func MustSchema(cfg any) []Param {
	ps, err := Schema(cfg)
	if err != nil {
		panic(err)
	}
	return ps
}

type fieldRef struct {
	name  string
	index []int
}

// fields lists the parameter fields of struct type t with their names.
func fields(t reflect.Type, prefix []int) ([]fieldRef, error) {
	var out []fieldRef
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		idx := append(slices.Clone(prefix), i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			sub, err := fields(f.Type, idx)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		name := f.Tag.Get("aexp")
		if name == "-" {
			continue
		}
		if name == "" {
			name = snake(f.Name)
		}
		out = append(out, fieldRef{name: name, index: idx})
	}
	return out, nil
}

func schemaFields(v reflect.Value, ps *[]Param, seen map[string]string) error {
	refs, err := fields(v.Type(), nil)
	if err != nil {
		return err
	}
	for _, r := range refs {
		f := v.Type().FieldByIndex(r.index)
		if prev, dup := seen[r.name]; dup {
			return fmt.Errorf("variant.Schema: fields %s and %s both define parameter %q", prev, f.Name, r.name)
		}
		seen[r.name] = f.Name
		p := Param{Name: r.name, Doc: f.Tag.Get("doc")}
		typ, ok := paramType(f.Type)
		if !ok {
			return fmt.Errorf("variant.Schema: field %s (parameter %q) has unsupported type %s", f.Name, r.name, f.Type)
		}
		p.Type = typ
		for _, b := range []struct {
			tag string
			dst **float64
		}{{"min", &p.Min}, {"max", &p.Max}} {
			if s, ok := f.Tag.Lookup(b.tag); ok {
				x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
				if err != nil {
					return fmt.Errorf("variant.Schema: field %s: bad %s tag %q", f.Name, b.tag, s)
				}
				*b.dst = &x
			}
		}
		for _, b := range []struct {
			tag string
			dst **int
		}{{"minlen", &p.MinLen}, {"maxlen", &p.MaxLen}} {
			if s, ok := f.Tag.Lookup(b.tag); ok {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 0 {
					return fmt.Errorf("variant.Schema: field %s: bad %s tag %q", f.Name, b.tag, s)
				}
				if typ != IntList && typ != FloatList {
					return fmt.Errorf("variant.Schema: field %s: %s on a %s parameter", f.Name, b.tag, typ)
				}
				*b.dst = &n
			}
		}
		if s, ok := f.Tag.Lookup("choices"); ok {
			if typ != String {
				return fmt.Errorf("variant.Schema: field %s: choices on a %s parameter", f.Name, typ)
			}
			for _, c := range strings.Split(s, ",") {
				p.Choices = append(p.Choices, strings.TrimSpace(c))
			}
		}
		switch {
		case f.Tag.Get("required") == "true":
			p.Default = nil
		case hasTag(f, "default"):
			d, err := parseDefault(typ, f.Tag.Get("default"))
			if err != nil {
				return fmt.Errorf("variant.Schema: field %s: bad default tag: %v", f.Name, err)
			}
			p.Default = d
		default:
			d, err := canonical(p, v.FieldByIndex(r.index).Interface())
			if err != nil {
				return fmt.Errorf("variant.Schema: field %s: %v", f.Name, err)
			}
			p.Default = d
		}
		*ps = append(*ps, p)
	}
	return nil
}

func hasTag(f reflect.StructField, key string) bool { _, ok := f.Tag.Lookup(key); return ok }

func paramType(t reflect.Type) (ParamType, bool) {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Int, true
	case reflect.Float32, reflect.Float64:
		return Float, true
	case reflect.String:
		return String, true
	case reflect.Bool:
		return Bool, true
	case reflect.Slice:
		switch et, _ := paramType(t.Elem()); et {
		case Int:
			return IntList, true
		case Float:
			return FloatList, true
		}
	}
	return "", false
}

func parseDefault(t ParamType, s string) (any, error) {
	s = strings.TrimSpace(s)
	switch t {
	case Int:
		return strconv.ParseInt(s, 10, 64)
	case Float:
		return strconv.ParseFloat(s, 64)
	case String:
		return s, nil
	case Bool:
		return strconv.ParseBool(s)
	case IntList, FloatList:
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		var ints []int64
		var floats []float64
		if strings.TrimSpace(s) != "" {
			for _, e := range strings.Split(s, ",") {
				e = strings.TrimSpace(e)
				if t == IntList {
					x, err := strconv.ParseInt(e, 10, 64)
					if err != nil {
						return nil, err
					}
					ints = append(ints, x)
				} else {
					x, err := strconv.ParseFloat(e, 64)
					if err != nil {
						return nil, err
					}
					floats = append(floats, x)
				}
			}
		}
		if t == IntList {
			if ints == nil {
				ints = []int64{}
			}
			return ints, nil
		}
		if floats == nil {
			floats = []float64{}
		}
		return floats, nil
	}
	return nil, fmt.Errorf("unknown type %q", t)
}

func snake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]) ||
				(i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1]))) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Validate checks values against a parameter schema and returns a new map
// holding a value for every parameter: the given one, or the default. It is
// what the host runs before starting a run, and what [Decode] runs in the
// plugin.
//
// Values are normalised to int64, float64, string, bool, []int64 and
// []float64. Numbers are accepted the way JSON and TOML deliver them: an
// Int may arrive as any Go integer type, as an integral float64 (2.0) or as
// a json.Number; a Float as any number. Lists may be []any or typed slices.
//
// Unknown keys, wrong types, values outside [Param.Min, Param.Max], strings
// not among [Param.Choices] and missing required parameters are errors: one
// [*ParamError] per bad key, joined with errors.Join, sorted by key. They
// all match [ErrInvalidParams].
func Validate(params []Param, values map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(params))
	var errs []error
	known := make(map[string]Param, len(params))
	for _, p := range params {
		known[p.Name] = p
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, ok := known[k]
		if !ok {
			errs = append(errs, &ParamError{Param: k, Msg: unknownMsg(k, params)})
			continue
		}
		v, err := checked(p, values[k])
		if err != nil {
			errs = append(errs, &ParamError{Param: k, Msg: err.Error()})
			continue
		}
		out[k] = v
	}
	for _, p := range params {
		if _, given := values[p.Name]; given {
			continue
		}
		if p.Default == nil {
			errs = append(errs, &ParamError{Param: p.Name, Msg: "required parameter is missing (it has no default)"})
			continue
		}
		v, err := checked(p, p.Default)
		if err != nil {
			errs = append(errs, &ParamError{Param: p.Name, Msg: "invalid default: " + err.Error()})
			continue
		}
		out[p.Name] = v
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func unknownMsg(k string, params []Param) string {
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.Name
	}
	sort.Strings(names)
	best := suggest.Closest(k, names)
	msg := "unknown parameter"
	if best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	if len(names) == 0 {
		return msg + "; this variant takes no parameters"
	}
	return msg + "; known: " + strings.Join(names, ", ")
}

// checked is canonical followed by checkRange.
func checked(p Param, v any) (any, error) {
	v, err := canonical(p, v)
	if err != nil {
		return nil, err
	}
	return v, checkRange(p, v)
}

// canonical converts v to the Go type of p.Type, or says why it cannot.
func canonical(p Param, v any) (any, error) {
	switch p.Type {
	case Int:
		return toInt(v)
	case Float:
		return toFloat(v)
	case String:
		s, ok := v.(string)
		if !ok {
			return nil, typeErr("string", v)
		}
		return s, nil
	case Bool:
		b, ok := v.(bool)
		if !ok {
			return nil, typeErr("bool", v)
		}
		return b, nil
	case IntList, FloatList:
		rv := reflect.ValueOf(v)
		if v == nil || rv.Kind() != reflect.Slice {
			return nil, typeErr("a list of "+elemName(p.Type)+"s", v)
		}
		n := rv.Len()
		if p.Type == IntList {
			out := make([]int64, n)
			for i := range n {
				x, err := toInt(rv.Index(i).Interface())
				if err != nil {
					return nil, fmt.Errorf("element %d: %v", i, err)
				}
				out[i] = x
			}
			return out, nil
		}
		out := make([]float64, n)
		for i := range n {
			x, err := toFloat(rv.Index(i).Interface())
			if err != nil {
				return nil, fmt.Errorf("element %d: %v", i, err)
			}
			out[i] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("schema has unknown type %q", p.Type)
}

func elemName(t ParamType) string {
	if t == IntList {
		return "int"
	}
	return "float"
}

func typeErr(want string, v any) error {
	if v == nil {
		return fmt.Errorf("want %s, got nothing (null)", want)
	}
	if s, ok := v.(string); ok {
		return fmt.Errorf("want %s, got the string %q", want, s)
	}
	return fmt.Errorf("want %s, got %v (%T)", want, v, v)
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case uint:
		return uintToInt(uint64(x))
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		return uintToInt(x)
	case float32:
		return floatToInt(float64(x))
	case float64:
		return floatToInt(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return 0, typeErr("int", v)
		}
		return floatToInt(f)
	}
	return 0, typeErr("int", v)
}

func uintToInt(u uint64) (int64, error) {
	if u > math.MaxInt64 {
		return 0, fmt.Errorf("%d is too large for an int", u)
	}
	return int64(u), nil
}

func floatToInt(f float64) (int64, error) {
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("want int, got %v (not an integer)", f)
	}
	if f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, fmt.Errorf("%v is out of the int range", f)
	}
	return int64(f), nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return 0, typeErr("float", v)
		}
		return f, nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return reflect.ValueOf(x).Convert(reflect.TypeFor[float64]()).Float(), nil
	}
	return 0, typeErr("float", v)
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// checkRange applies Min, Max and Choices to a canonical value.
func checkRange(p Param, v any) error {
	check := func(x float64) error {
		if math.IsNaN(x) {
			return errors.New("NaN is not allowed")
		}
		if p.Min != nil && x < *p.Min {
			return fmt.Errorf("%s is below the minimum %s", fmtNum(x), fmtNum(*p.Min))
		}
		if p.Max != nil && x > *p.Max {
			return fmt.Errorf("%s is above the maximum %s", fmtNum(x), fmtNum(*p.Max))
		}
		return nil
	}
	switch x := v.(type) {
	case int64:
		return check(float64(x))
	case float64:
		return check(x)
	case string:
		if len(p.Choices) > 0 && !slices.Contains(p.Choices, x) {
			return fmt.Errorf("%q is not one of %s", x, strings.Join(p.Choices, ", "))
		}
	case []int64:
		if err := checkLen(p, len(x)); err != nil {
			return err
		}
		for i, e := range x {
			if err := check(float64(e)); err != nil {
				return fmt.Errorf("element %d: %v", i, err)
			}
		}
	case []float64:
		if err := checkLen(p, len(x)); err != nil {
			return err
		}
		for i, e := range x {
			if err := check(e); err != nil {
				return fmt.Errorf("element %d: %v", i, err)
			}
		}
	}
	return nil
}

// checkLen applies MinLen and MaxLen to a list of n elements.
func checkLen(p Param, n int) error {
	switch {
	case p.MinLen != nil && n < *p.MinLen:
		return fmt.Errorf("%d element(s): want at least %d", n, *p.MinLen)
	case p.MaxLen != nil && n > *p.MaxLen:
		return fmt.Errorf("%d elements: want at most %d", n, *p.MaxLen)
	}
	return nil
}

// Decode validates params strictly against the schema of cfg (see [Schema])
// and stores the values in the struct cfg points to. Parameters missing
// from params get their defaults. Unknown keys, wrong types, out-of-range
// values and bad choices are errors naming the key (see [Validate]); on
// error cfg is left unchanged. A plugin calls it first thing in Train:
//
//	var cfg Config
//	if err := variant.Decode(req.Params, &cfg); err != nil {
//		return err
//	}
func Decode(params map[string]any, cfg any) error {
	rv := reflect.ValueOf(cfg)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("variant.Decode: want a non-nil pointer to a struct, got %T", cfg)
	}
	schema, err := Schema(cfg)
	if err != nil {
		return err
	}
	vals, err := Validate(schema, params)
	if err != nil {
		return err
	}
	refs, _ := fields(rv.Elem().Type(), nil)
	tmp := reflect.New(rv.Elem().Type()).Elem()
	tmp.Set(rv.Elem())
	var errs []error
	for _, r := range refs {
		f := tmp.FieldByIndex(r.index)
		if err := assign(f, vals[r.name]); err != nil {
			errs = append(errs, &ParamError{Param: r.name, Msg: err.Error()})
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	rv.Elem().Set(tmp)
	return nil
}

func assign(f reflect.Value, v any) error {
	switch f.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x := v.(int64)
		if f.OverflowInt(x) {
			return fmt.Errorf("%d does not fit in %s", x, f.Type())
		}
		f.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x := v.(int64)
		if x < 0 || f.OverflowUint(uint64(x)) {
			return fmt.Errorf("%d does not fit in %s", x, f.Type())
		}
		f.SetUint(uint64(x))
	case reflect.Float32, reflect.Float64:
		f.SetFloat(v.(float64))
	case reflect.String:
		f.SetString(v.(string))
	case reflect.Bool:
		f.SetBool(v.(bool))
	case reflect.Slice:
		var n int
		switch x := v.(type) {
		case []int64:
			n = len(x)
		case []float64:
			n = len(x)
		}
		s := reflect.MakeSlice(f.Type(), n, n)
		for i := range n {
			if err := assign(s.Index(i), reflect.ValueOf(v).Index(i).Interface()); err != nil {
				return fmt.Errorf("element %d: %v", i, err)
			}
		}
		f.Set(s)
	}
	return nil
}
