//go:build openblas

package nn

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

const backend = "openblas"

func init() { blas32.Use(netlib.Implementation{}) }
