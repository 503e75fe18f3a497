//go:build openblas

package nn

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
char* openblas_get_corename(void);
*/
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

const backend = "openblas"

func init() { blas32.Use(netlib.Implementation{}) }

// SetThreads sets the number of OpenBLAS threads, and of goroutines a
// large product on nn's own kernel is split over (n < 1 leaves it alone).
func SetThreads(n int) {
	if n >= 1 {
		C.openblas_set_num_threads(C.int(n))
		threads.Store(int32(n))
	}
}

// BLASCore names the kernel family the BLAS chose for this CPU: OpenBLAS's
// own run-time pick (e.g. "Haswell", "SkylakeX", "Zen").
func BLASCore() string { return C.GoString(C.openblas_get_corename()) }
