package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Param types stored in params.type (the variant SDK's names, plus "json"
// for anything else).
const (
	TypeInt       = "int"
	TypeFloat     = "float"
	TypeString    = "string"
	TypeBool      = "bool"
	TypeIntList   = "int_list"
	TypeFloatList = "float_list"
	TypeJSON      = "json"
)

// typedParam is one row of the params table.
type typedParam struct {
	key, typ, value string // value: text form; lists and json as JSON
	num             any    // float64 or nil
	json            string // the value as canonical JSON
}

// typeParams converts a run's params into typed rows, sorted by key.
func typeParams(params map[string]any) ([]typedParam, error) {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]typedParam, 0, len(keys))
	for _, k := range keys {
		p, err := typeParam(k, params[k])
		if err != nil {
			return nil, fmt.Errorf("param %q: %w", k, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func typeParam(key string, v any) (typedParam, error) {
	p := typedParam{key: key}
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			v = i
		} else if f, err := x.Float64(); err == nil {
			v = f
		}
	}
	rv := reflect.ValueOf(v)
	switch {
	case v == nil:
		p.typ, p.value, p.json = TypeJSON, "null", "null"
		return p, nil
	case isInt(rv):
		i := intOf(rv)
		p.typ, p.value, p.num = TypeInt, strconv.FormatInt(i, 10), float64(i)
		p.json = p.value
		return p, nil
	case isFloat(rv):
		f := rv.Float()
		s, err := floatJSON(f)
		if err != nil {
			return p, err
		}
		p.typ, p.value, p.num, p.json = TypeFloat, s, f, s
		return p, nil
	case rv.Kind() == reflect.String:
		b, _ := json.Marshal(rv.String())
		p.typ, p.value, p.json = TypeString, rv.String(), string(b)
		return p, nil
	case rv.Kind() == reflect.Bool:
		p.typ, p.value, p.json = TypeBool, strconv.FormatBool(rv.Bool()), strconv.FormatBool(rv.Bool())
		if rv.Bool() {
			p.num = 1.0
		} else {
			p.num = 0.0
		}
		return p, nil
	case rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array:
		if s, ok := numList(rv); ok {
			p.typ, p.value, p.json = s.typ, s.text, s.text
			return p, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return p, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return p, err
	}
	p.typ, p.value, p.json = TypeJSON, buf.String(), buf.String()
	return p, nil
}

func isInt(rv reflect.Value) bool {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func intOf(rv reflect.Value) int64 {
	switch rv.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint())
	}
	return rv.Int()
}

func isFloat(rv reflect.Value) bool {
	return rv.Kind() == reflect.Float32 || rv.Kind() == reflect.Float64
}

// floatJSON formats f as JSON that reads back as a float: 1 -> 1.0.
func floatJSON(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("value %v is not a finite number", f)
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s, nil
}

type listText struct{ typ, text string }

// numList formats a slice whose elements are all ints (int_list) or all
// numbers with at least one float (float_list).
func numList(rv reflect.Value) (listText, bool) {
	n := rv.Len()
	allInt := true
	for i := 0; i < n; i++ {
		e := rv.Index(i)
		for e.Kind() == reflect.Interface && !e.IsNil() {
			e = e.Elem()
		}
		switch {
		case isInt(e):
		case isFloat(e):
			allInt = false
		default:
			return listText{}, false
		}
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		e := rv.Index(i)
		for e.Kind() == reflect.Interface {
			e = e.Elem()
		}
		if allInt {
			b.WriteString(strconv.FormatInt(intOf(e), 10))
			continue
		}
		var f float64
		if isInt(e) {
			f = float64(intOf(e))
		} else {
			f = e.Float()
		}
		s, err := floatJSON(f)
		if err != nil {
			return listText{}, false
		}
		b.WriteString(s)
	}
	b.WriteByte(']')
	if allInt {
		return listText{TypeIntList, b.String()}, true
	}
	return listText{TypeFloatList, b.String()}, true
}

// paramsJSON is the canonical JSON object of typed params (keys sorted).
func paramsJSON(ps []typedParam) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.key)
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(p.json)
	}
	b.WriteByte('}')
	return b.String()
}

// decodeParams reads canonical params JSON back into Go values: integers
// as int64, numbers with a point or exponent as float64, int lists as
// []int64, number lists as []float64.
func decodeParams(s string) (map[string]any, error) {
	if m, ok := decodeFlat(s); ok {
		return m, nil
	}
	return decodeJSON(s)
}

// decodeJSON is decodeParams through encoding/json.
func decodeJSON(s string) (map[string]any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	for k, v := range m {
		m[k] = fromJSON(v)
	}
	return m, nil
}

func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		return number(x)
	case []any:
		allInt, allNum := true, true
		for _, e := range x {
			n, ok := e.(json.Number)
			if !ok {
				allNum = false
				break
			}
			if _, isI := number(n).(int64); !isI {
				allInt = false
			}
		}
		switch {
		case allNum && allInt && len(x) > 0:
			out := make([]int64, len(x))
			for i, e := range x {
				out[i] = number(e.(json.Number)).(int64)
			}
			return out
		case allNum && len(x) > 0:
			out := make([]float64, len(x))
			for i, e := range x {
				f, _ := e.(json.Number).Float64()
				out[i] = f
			}
			return out
		}
		for i, e := range x {
			x[i] = fromJSON(e)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = fromJSON(e)
		}
		return x
	}
	return v
}

func number(n json.Number) any {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		if i, err := n.Int64(); err == nil {
			return i
		}
	}
	f, _ := n.Float64()
	return f
}

// decodeFlat is a fast path of decodeParams for what paramsJSON writes in
// almost every case: a flat object of numbers, plain strings, booleans and
// lists of numbers. It reports false for anything else.
func decodeFlat(s string) (map[string]any, bool) {
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' || s[j] < 0x20 || s[j] >= 0x80 {
				return "", false
			}
			j++
		}
		if j >= len(s) {
			return "", false
		}
		v := s[i+1 : j]
		i = j + 1
		return v, true
	}
	num := func() (any, bool) {
		j := i
		for j < len(s) && strings.IndexByte("+-0123456789.eE", s[j]) >= 0 {
			j++
		}
		if j == i {
			return nil, false
		}
		v := number(json.Number(s[i:j]))
		i = j
		return v, true
	}
	skip()
	if i >= len(s) || s[i] != '{' {
		return nil, false
	}
	i++
	m := make(map[string]any, 8)
	skip()
	if i < len(s) && s[i] == '}' {
		return m, i+1 == len(s)
	}
	for {
		skip()
		k, ok := str()
		if !ok {
			return nil, false
		}
		skip()
		if i >= len(s) || s[i] != ':' {
			return nil, false
		}
		i++
		skip()
		if i >= len(s) {
			return nil, false
		}
		switch c := s[i]; {
		case c == '"':
			v, ok := str()
			if !ok {
				return nil, false
			}
			m[k] = v
		case strings.HasPrefix(s[i:], "true"):
			m[k], i = true, i+4
		case strings.HasPrefix(s[i:], "false"):
			m[k], i = false, i+5
		case c == '[':
			i++
			var ints []int64
			var floats []float64
			isFloat := false
			for {
				skip()
				if i < len(s) && s[i] == ']' && len(ints)+len(floats) == 0 {
					return nil, false // empty list: type unknown, let json decide
				}
				v, ok := num()
				if !ok {
					return nil, false
				}
				switch x := v.(type) {
				case int64:
					ints = append(ints, x)
					floats = append(floats, float64(x))
				case float64:
					isFloat = true
					floats = append(floats, x)
				}
				skip()
				if i < len(s) && s[i] == ',' {
					i++
					continue
				}
				if i < len(s) && s[i] == ']' {
					i++
					break
				}
				return nil, false
			}
			if isFloat {
				m[k] = floats
			} else {
				m[k] = ints
			}
		default:
			v, ok := num()
			if !ok {
				return nil, false
			}
			m[k] = v
		}
		skip()
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		if i < len(s) && s[i] == '}' {
			i++
			skip()
			return m, i == len(s)
		}
		return nil, false
	}
}
