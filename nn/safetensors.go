package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Entry is one named tensor of a safetensors file.
type Entry struct {
	Name  string
	Shape []int
	Data  []float32
}

type stHeader struct {
	Dtype   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the JSON header a reader accepts (the reference
// implementation uses the same 100 MB limit).
const maxHeader = 100 << 20

// WriteSafetensors writes entries in the safetensors format: an 8-byte
// little-endian header length, a JSON header (dtype F32, shape, data
// offsets, optional __metadata__ strings) padded to 8 bytes, then the data.
// Entries are laid out in the given order; names must be unique.
func WriteSafetensors(w io.Writer, entries []Entry, meta map[string]string) error {
	hdr := make(map[string]any, len(entries)+1)
	var off int64
	for _, e := range entries {
		n := 1
		for _, d := range e.Shape {
			n *= d
		}
		if n != len(e.Data) {
			return fmt.Errorf("safetensors: %q: shape %v holds %d values, have %d", e.Name, e.Shape, n, len(e.Data))
		}
		if e.Name == "" || e.Name == "__metadata__" {
			return fmt.Errorf("safetensors: bad tensor name %q", e.Name)
		}
		if _, dup := hdr[e.Name]; dup {
			return fmt.Errorf("safetensors: duplicate tensor %q", e.Name)
		}
		shape := e.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[e.Name] = stHeader{Dtype: "F32", Shape: shape, Offsets: [2]int64{off, off + 4*int64(n)}}
		off += 4 * int64(n)
	}
	if len(meta) > 0 {
		hdr["__metadata__"] = meta
	}
	js, err := json.Marshal(hdr) // map keys sorted: the bytes are deterministic
	if err != nil {
		return err
	}
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	var pre [8]byte
	binary.LittleEndian.PutUint64(pre[:], uint64(len(js)))
	bw := &errWriter{w: w}
	bw.write(pre[:])
	bw.write(js)
	var buf [4096]byte
	for _, e := range entries {
		for len(e.Data) > 0 {
			n := min(len(e.Data), len(buf)/4)
			for i, v := range e.Data[:n] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			bw.write(buf[:4*n])
			e.Data = e.Data[n:]
		}
	}
	return bw.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

// ReadSafetensors parses a safetensors file held in b. F32 and F64 tensors
// are returned as float32, in file order. A malformed, truncated or
// inconsistent file is an error, never a panic.
func ReadSafetensors(b []byte) ([]Entry, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, errors.New("safetensors: file shorter than its 8-byte header length")
	}
	hl := binary.LittleEndian.Uint64(b)
	if hl > maxHeader || hl > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("safetensors: header length %d exceeds file size %d", hl, len(b))
	}
	js, data := b[8:8+hl], b[8+hl:]
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header: %v", err)
	}
	if rest := strings.TrimSpace(string(js[dec.InputOffset():])); rest != "" {
		return nil, nil, errors.New("safetensors: trailing bytes after header JSON")
	}
	var meta map[string]string
	type item struct {
		name string
		h    stHeader
	}
	var items []item
	for name, r := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(r, &meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors: __metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		var h stHeader
		d := json.NewDecoder(bytes.NewReader(r))
		d.DisallowUnknownFields()
		if err := d.Decode(&h); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %v", name, err)
		}
		items = append(items, item{name, h})
	}
	// File order, so the data must tile the buffer without gaps or overlap.
	slices.SortFunc(items, func(a, b item) int {
		if c := cmpInt64(a.h.Offsets[0], b.h.Offsets[0]); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	entries := make([]Entry, 0, len(items))
	var pos int64
	for _, it := range items {
		h := it.h
		size := int64(0)
		switch h.Dtype {
		case "F32":
			size = 4
		case "F64":
			size = 8
		default:
			return nil, nil, fmt.Errorf("safetensors: tensor %q: unsupported dtype %q (want F32 or F64)", it.name, h.Dtype)
		}
		n := int64(1)
		for _, d := range h.Shape {
			if d < 0 || (d > 0 && n > int64(len(data))/int64(d)) {
				return nil, nil, fmt.Errorf("safetensors: tensor %q: bad shape %v", it.name, h.Shape)
			}
			n *= int64(d)
		}
		if h.Offsets[0] != pos || h.Offsets[1] < h.Offsets[0] || h.Offsets[1] > int64(len(data)) {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: data offsets %v out of place (expected start %d, data size %d)", it.name, h.Offsets, pos, len(data))
		}
		if h.Offsets[1]-h.Offsets[0] != n*size {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %d bytes for shape %v of %s", it.name, h.Offsets[1]-h.Offsets[0], h.Shape, h.Dtype)
		}
		raw := data[h.Offsets[0]:h.Offsets[1]]
		vals := make([]float32, n)
		for i := range vals {
			if size == 4 {
				vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			} else {
				vals[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
			}
		}
		entries = append(entries, Entry{Name: it.name, Shape: append([]int{}, h.Shape...), Data: vals})
		pos = h.Offsets[1]
	}
	if pos != int64(len(data)) {
		return nil, nil, fmt.Errorf("safetensors: %d bytes of data after the last tensor", int64(len(data))-pos)
	}
	return entries, meta, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SaveCheckpoint writes params (by Name, shaped Rows×Cols) and, when opt is
// not nil, the optimizer state, plus meta, as safetensors.
func SaveCheckpoint(w io.Writer, params []*Tensor, opt Optimizer, meta map[string]string) error {
	all := map[string]string{}
	for k, v := range meta {
		all[k] = v
	}
	ts := params
	if opt != nil {
		st, m := opt.State()
		ts = append(append([]*Tensor(nil), params...), st...)
		for k, v := range m {
			all[k] = v
		}
	}
	entries := make([]Entry, len(ts))
	for i, t := range ts {
		entries[i] = Entry{Name: t.Name, Shape: []int{t.Rows, t.Cols}, Data: t.Data}
	}
	return WriteSafetensors(w, entries, all)
}

// LoadCheckpoint reads a file written by SaveCheckpoint into params (and
// opt, when not nil), matching by name and checking sizes, and returns its
// metadata. Nothing is modified unless the whole file fits.
func LoadCheckpoint(b []byte, params []*Tensor, opt Optimizer) (map[string]string, error) {
	entries, meta, err := ReadSafetensors(b)
	if err != nil {
		return nil, err
	}
	byName := make(map[string][]float32, len(entries))
	for _, e := range entries {
		byName[e.Name] = e.Data
	}
	for _, p := range params {
		d, ok := byName[p.Name]
		if !ok {
			return nil, fmt.Errorf("checkpoint: parameter %q missing", p.Name)
		}
		if len(d) != p.Len() {
			return nil, fmt.Errorf("checkpoint: parameter %q has %d values, model wants %d (%dx%d)", p.Name, len(d), p.Len(), p.Rows, p.Cols)
		}
	}
	if opt != nil {
		if err := opt.Restore(byName, meta); err != nil {
			return nil, fmt.Errorf("checkpoint: %v", err)
		}
	}
	for _, p := range params {
		copy(p.Data, byName[p.Name])
	}
	return meta, nil
}
