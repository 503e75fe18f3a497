package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// IDX is the content of one IDX file (the format MNIST ships in): a header
// naming the element type and the dimensions, then the elements big-endian.
// Unsigned-byte files keep their bytes in U8; every other type is converted
// to float32 in F32.
type IDX struct {
	Type byte  // 0x08 ubyte, 0x09 byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
	Dims []int // e.g. [60000 28 28]
	U8   []uint8
	F32  []float32
}

// maxIDXElems bounds what a header may claim, so that a corrupt or hostile
// file cannot make the reader allocate without limit.
const maxIDXElems = 1 << 31

var idxSize = map[byte]int{0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}

// ReadIDX parses an IDX stream (not compressed; see [ReadIDXFile]).
func ReadIDX(r io.Reader) (*IDX, error) { return readIDX(r, 0) }

// readIDX parses an IDX stream, all of it when rows is 0, else its first
// rows rows (along the first dimension; the rest of the stream is left
// unread, so a run on a 2,000-image subset of MNIST decompresses 1.6 MB of
// its 47). A file with fewer rows is an error.
func readIDX(r io.Reader, rows int) (*IDX, error) {
	br := bufio.NewReader(r)
	var head [4]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return nil, fmt.Errorf("idx: reading the header: %w", noEOF(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("idx: bad magic %02x%02x (an IDX file starts with two zero bytes)", head[0], head[1])
	}
	size, ok := idxSize[head[2]]
	if !ok {
		return nil, fmt.Errorf("idx: unknown element type 0x%02x", head[2])
	}
	nd := int(head[3])
	if nd == 0 {
		return nil, errors.New("idx: zero dimensions")
	}
	m := &IDX{Type: head[2], Dims: make([]int, nd)}
	total := 1
	for i := range m.Dims {
		var d [4]byte
		if _, err := io.ReadFull(br, d[:]); err != nil {
			return nil, fmt.Errorf("idx: reading dimension %d: %w", i, noEOF(err))
		}
		m.Dims[i] = int(binary.BigEndian.Uint32(d[:]))
		if m.Dims[i] == 0 {
			return nil, fmt.Errorf("idx: dimension %d is zero", i)
		}
		if total > maxIDXElems/m.Dims[i] {
			return nil, fmt.Errorf("idx: dimensions %v too large", m.Dims[:i+1])
		}
		total *= m.Dims[i]
	}
	prefix := rows > 0 && rows < m.Dims[0]
	if prefix {
		total = total / m.Dims[0] * rows
		m.Dims[0] = rows
	} else if rows > m.Dims[0] {
		return nil, fmt.Errorf("idx: %d rows wanted, the file holds %d", rows, m.Dims[0])
	}
	// Read in steps so that a header claiming more than the stream holds
	// fails on a short read instead of allocating the claim up front: the
	// buffer starts at 16 MiB at most and grows fourfold (never past the
	// claim), so a stream that holds its data is copied at most a few
	// times and the last allocation is exactly its size.
	want := total * size
	raw := make([]byte, 0, min(want, 1<<24))
	for len(raw) < want {
		if len(raw) == cap(raw) {
			grown := make([]byte, len(raw), min(want, 4*cap(raw)))
			copy(grown, raw)
			raw = grown
		}
		start := len(raw)
		raw = raw[:cap(raw)]
		if _, err := io.ReadFull(br, raw[start:]); err != nil {
			return nil, fmt.Errorf("idx: header %v promises %d bytes of data: %w", m.Dims, want, noEOF(err))
		}
	}
	if _, err := br.ReadByte(); err == nil && !prefix {
		return nil, fmt.Errorf("idx: trailing data after %d elements of %v", total, m.Dims)
	}
	if m.Type == 0x08 {
		m.U8 = raw
		return m, nil
	}
	m.F32 = make([]float32, total)
	for i := range m.F32 {
		b := raw[i*size : (i+1)*size]
		var v float64
		switch m.Type {
		case 0x09:
			v = float64(int8(b[0]))
		case 0x0B:
			v = float64(int16(binary.BigEndian.Uint16(b)))
		case 0x0C:
			v = float64(int32(binary.BigEndian.Uint32(b)))
		case 0x0D:
			v = float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
		case 0x0E:
			v = math.Float64frombits(binary.BigEndian.Uint64(b))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("idx: element %d is %v", i, v)
		}
		m.F32[i] = float32(v)
	}
	return m, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadIDXFile reads an IDX file, gunzipping it when its name ends in .gz.
func ReadIDXFile(path string) (*IDX, error) { return readIDXFile(path, 0) }

// readIDXFile is [ReadIDXFile] for the file's first rows rows (0: all).
func readIDXFile(path string, rows int) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer z.Close()
		r = z
	}
	m, err := readIDX(r, rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Set turns the IDX data into a set whose first dimension counts examples.
// Unsigned bytes become values/255; other types are taken as they are. A
// one-dimensional file is a set of scalars.
func (m *IDX) Set() *Set {
	shape := []int{1}
	if len(m.Dims) > 1 {
		shape = m.Dims[1:]
	}
	if m.U8 != nil {
		return FromUint8(shape, m.U8, nil)
	}
	return FromFloat32(shape, m.F32, nil)
}
