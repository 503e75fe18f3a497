package dataset

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Contract is the data contract of one run: the files that hold a
// dataset's examples and which of them form the training pool, the
// validation split and the test set. The host resolves it ([Resolve]) and
// sends it with every Train and Reconstruct request, so that plugins in
// every language select the same examples; Go plugins load it with
// [Contract.Load].
//
// Every file is IDX (gzip-compressed when its name ends in .gz): its first
// dimension counts examples, the rest is one example's shape; unsigned
// bytes read as value/255, every other element type as its value. Label
// files hold one unsigned byte per example.
type Contract struct {
	TrainFile, TrainLabels string // the training pool's file; labels may be ""
	TestFile, TestLabels   string
	// Pool lists the training pool: indices into TrainFile, in order
	// (TrainRequest.train_limit applied: the first ones).
	Pool []int
	// ValOrder is a permutation of the positions 0..len(Pool)-1: a run
	// holding out a fraction f for validation takes the positions
	// ValOrder[:ValCount(f, len(Pool))]; see [SplitBy].
	ValOrder []int
	// Test lists the test set: indices into TestFile, in order.
	Test []int
}

// CacheDirEnv names the folder where the host writes the files of generated
// and converted datasets (sines, csv:PATH); default: the user's cache
// folder's aexp/data (~/.cache/aexp/data), else $TMPDIR/aexp-data.
const CacheDirEnv = "AEXP_DATA_CACHE"

// Resolve returns the data contract of a dataset name (as in [Load]) for a
// run with these limits (0: all). The examples are those [Load] returns:
// MNIST's files as they are (dataDir, else [MNISTDir]); sines generated
// and csv:PATH converted into float32 IDX files in the cache folder (once;
// later calls reuse them); idx:PATH as it is. For csv and idx the training
// pool is the first 80% of the file and the test set the rest.
func Resolve(name, dataDir string, trainLimit, testLimit int) (*Contract, error) {
	c := &Contract{}
	var nTrain, nTest, testFrom int
	kind, path, _ := strings.Cut(name, ":")
	switch {
	case name == "mnist":
		if dataDir == "" {
			d, err := MNISTDir()
			if err != nil {
				return nil, err
			}
			dataDir = d
		} else if err := checkMNIST(dataDir); err != nil {
			return nil, fmt.Errorf("%w; %s: %v", ErrMNISTNotFound, dataDir, err)
		}
		if abs, err := filepath.Abs(dataDir); err == nil {
			dataDir = abs
		}
		c.TrainFile, c.TrainLabels = filepath.Join(dataDir, MNISTTrainImages), filepath.Join(dataDir, MNISTTrainLabels)
		c.TestFile, c.TestLabels = filepath.Join(dataDir, MNISTTestImages), filepath.Join(dataDir, MNISTTestLabels)
		var err error
		if nTrain, err = idxCount(c.TrainFile); err != nil {
			return nil, err
		}
		if nTest, err = idxCount(c.TestFile); err != nil {
			return nil, err
		}
	case name == "sines":
		train, test, err := Load(name, "")
		if err != nil {
			return nil, err
		}
		tag := fmt.Sprintf("sines-v1-%dx%d-%d-%d", DefaultSines.N, DefaultSines.Steps, sinesTrainSeed, sinesTestSeed)
		if c.TrainFile, err = cacheIDX(tag+"-train.idx", train); err != nil {
			return nil, err
		}
		if c.TestFile, err = cacheIDX(tag+"-test.idx", test); err != nil {
			return nil, err
		}
		nTrain, nTest = train.Len(), test.Len()
	case kind == "csv" && path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		s, err := ReadCSVFile(path)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		f, err := cacheIDX("csv-"+hex.EncodeToString(sum[:12])+".idx", s)
		if err != nil {
			return nil, err
		}
		c.TrainFile, c.TestFile = f, f
		nTrain, testFrom = holdOutSizes(s.Len())
		nTest = s.Len() - nTrain
	case kind == "idx" && path != "":
		n, err := idxCount(path)
		if err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		c.TrainFile, c.TestFile = abs, abs
		nTrain, testFrom = holdOutSizes(n)
		nTest = n - nTrain
	default:
		_, _, err := Load(name, dataDir) // the same error for an unknown name
		return nil, err
	}
	if nTrain < 1 || nTest < 1 {
		return nil, fmt.Errorf("dataset %s: %d training and %d test examples; need at least one of each", name, nTrain, nTest)
	}
	c.Pool = span(0, limit(nTrain, trainLimit))
	c.ValOrder = ValOrder(len(c.Pool))
	c.Test = span(testFrom, limit(nTest, testLimit))
	return c, nil
}

// holdOutSizes splits n examples as [Load] does for csv and idx: the last
// 20% (at least one) are the test set, which starts at index nTrain.
func holdOutSizes(n int) (nTrain, testFrom int) {
	if n < 2 {
		return 0, 0
	}
	nTrain = n - max(n/5, 1)
	return nTrain, nTrain
}

func limit(n, lim int) int {
	if lim > 0 && lim < n {
		return lim
	}
	return n
}

func span(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

// ValOrder is the order in which the n examples of a training pool are
// drawn for validation: a permutation of 0..n-1 from a PCG generator with
// seed 0, so that every run (whatever its seed) holds out the same ones.
func ValOrder(n int) []int {
	return NewRand(0, streamSplit).Perm(n)
}

// ValCount is how many of n examples a validation fraction frac in [0, 1)
// holds out: round(frac·n), but at least 1 and at most n-1 when frac > 0
// and n >= 2.
func ValCount(frac float64, n int) int {
	nv := int(frac*float64(n) + 0.5)
	if frac > 0 && n >= 2 {
		nv = min(max(nv, 1), n-1)
	}
	return nv
}

// SplitBy holds out the examples at positions order[:ValCount(frac, Len())]
// as the validation set; both parts keep the examples in their original
// order. order is a permutation of 0..Len()-1, e.g. [Contract.ValOrder].
func SplitBy(s *Set, frac float64, order []int) (train, val *Set) {
	if frac < 0 || frac >= 1 {
		panic(fmt.Sprintf("dataset: split fraction %v not in [0, 1)", frac))
	}
	if len(order) != s.n {
		panic(fmt.Sprintf("dataset: split order of %d for %d examples", len(order), s.n))
	}
	inVal := make([]bool, s.n)
	for _, i := range order[:ValCount(frac, s.n)] {
		inVal[i] = true
	}
	var tr, va []int
	for i := range s.n {
		if inVal[i] {
			va = append(va, i)
		} else {
			tr = append(tr, i)
		}
	}
	return s.Subset(tr), s.Subset(va)
}

// Load reads the contract's files and returns the training pool and the
// test set, with labels when the contract names label files.
func (c *Contract) Load() (pool, test *Set, err error) {
	if pool, err = c.load(c.TrainFile, c.TrainLabels, c.Pool); err != nil {
		return nil, nil, err
	}
	if test, err = c.load(c.TestFile, c.TestLabels, c.Test); err != nil {
		return nil, nil, err
	}
	if !equalShape(pool.Shape(), test.Shape()) {
		return nil, nil, fmt.Errorf("training examples of shape %v but test examples of shape %v", pool.Shape(), test.Shape())
	}
	return pool, test, nil
}

// LoadTest is [Contract.Load] for the test set alone.
func (c *Contract) LoadTest() (*Set, error) { return c.load(c.TestFile, c.TestLabels, c.Test) }

func (c *Contract) load(file, labels string, idx []int) (*Set, error) {
	n, err := idxCount(file)
	if err != nil {
		return nil, err
	}
	rows := 0 // the examples up to the last one asked for
	for _, i := range idx {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("%s: example %d requested, the file holds %d", file, i, n)
		}
		rows = max(rows, i+1)
	}
	s, err := readIDXSet(file, labels, rows)
	if err != nil {
		return nil, err
	}
	return s.Subset(idx), nil
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// idxCache keeps the sets read from files, so that a process training many
// runs (tests) reads MNIST once.
var idxCache = struct {
	sync.Mutex
	m map[string]*Set
}{m: map[string]*Set{}}

// readIDXSet reads the first rows examples of an IDX file (0: all), with
// an IDX file of byte labels unless labels is "".
func readIDXSet(file, labels string, rows int) (*Set, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s\x00%s\x00%d\x00%d\x00%d", file, labels, st.Size(), st.ModTime().UnixNano(), rows)
	idxCache.Lock()
	defer idxCache.Unlock()
	if s, ok := idxCache.m[key]; ok {
		return s, nil
	}
	m, err := readIDXFile(file, rows)
	if err != nil {
		return nil, err
	}
	s := m.Set()
	if labels != "" {
		lb, err := readIDXFile(labels, rows)
		if err != nil {
			return nil, err
		}
		if lb.Type != 0x08 || len(lb.Dims) != 1 || lb.Dims[0] != s.Len() {
			return nil, fmt.Errorf("%s: want %d unsigned-byte labels, got type 0x%02x dims %v", labels, s.Len(), lb.Type, lb.Dims)
		}
		l := make([]int32, len(lb.U8))
		for i, v := range lb.U8 {
			l[i] = int32(v)
		}
		s.labels = l
	}
	if len(idxCache.m) > 8 {
		clear(idxCache.m)
	}
	idxCache.m[key] = s
	return s, nil
}

// idxCount reads the number of examples (the first dimension) from an IDX
// file's header.
func idxCount(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		defer z.Close()
		r = z
	}
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, fmt.Errorf("%s: reading the IDX header: %w", path, noEOF(err))
	}
	if head[0] != 0 || head[1] != 0 || idxSize[head[2]] == 0 || head[3] == 0 {
		return 0, fmt.Errorf("%s: not an IDX file (header % x)", path, head[:4])
	}
	return int(binary.BigEndian.Uint32(head[4:])), nil
}

// cacheDir is where generated and converted datasets are written: the
// user's cache folder, or the temporary folder when there is none (no
// $HOME, as under some service managers).
func cacheDir() string {
	if d := os.Getenv(CacheDirEnv); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "aexp", "data")
	}
	return filepath.Join(os.TempDir(), "aexp-data")
}

// cacheIDX writes s as a float32 IDX file named name in the cache folder,
// unless it is there already, and returns its path. The file appears
// atomically, so concurrent runs never read half of it.
func cacheIDX(name string, s *Set) (string, error) {
	dir := cacheDir()
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, name+".tmp*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriter(f)
	err = WriteIDXFloat32(w, append([]int{s.Len()}, s.Shape()...), s.Range(nil, 0, s.Len()))
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// WriteIDXFloat32 writes data as an IDX file of float32 elements (type
// 0x0D) with the given dimensions.
func WriteIDXFloat32(w io.Writer, dims []int, data []float32) error {
	n := 1
	for _, d := range dims {
		n *= d
	}
	if len(dims) == 0 || len(dims) > 255 || n != len(data) {
		return errors.New("idx: dimensions do not match the data")
	}
	head := []byte{0, 0, 0x0D, byte(len(dims))}
	for _, d := range dims {
		head = binary.BigEndian.AppendUint32(head, uint32(d))
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	buf := make([]byte, 4*len(data))
	for i, v := range data {
		binary.BigEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	_, err := w.Write(buf)
	return err
}
