//go:build openblas

package nn

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
*/
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

const backend = "openblas"

func init() { blas32.Use(netlib.Implementation{}) }

// SetThreads sets the number of OpenBLAS threads (n < 1 leaves it alone).
func SetThreads(n int) {
	if n >= 1 {
		C.openblas_set_num_threads(C.int(n))
	}
}
