package main

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aexp/aexp/dataset"
)

// loadTrainImages reads MNIST's training images straight into one
// exact-size uint8 buffer (47 MB), so the benchmark's peak RSS is the
// engine's, not a reader's transient copies. The test set is not needed.
func loadTrainImages(dir string) (*dataset.Set, error) {
	path := filepath.Join(dir, dataset.MNISTTrainImages)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var h [16]byte
	if _, err := io.ReadFull(zr, h[:]); err != nil {
		return nil, fmt.Errorf("%s: header: %v", path, err)
	}
	magic := binary.BigEndian.Uint32(h[0:])
	n, rows, cols := int(binary.BigEndian.Uint32(h[4:])), int(binary.BigEndian.Uint32(h[8:])), int(binary.BigEndian.Uint32(h[12:]))
	if magic != 0x803 || n <= 0 || n > 1<<20 || rows != 28 || cols != 28 {
		return nil, fmt.Errorf("%s: not MNIST images (magic %#x, %dx%dx%d)", path, magic, n, rows, cols)
	}
	data := make([]uint8, n*rows*cols)
	if _, err := io.ReadFull(zr, data); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return dataset.FromUint8([]int{rows, cols}, data, nil), nil
}
