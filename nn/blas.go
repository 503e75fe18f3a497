package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// gemm computes c = alpha·op(a)·op(b) + beta·c for row-major matrices given by
// slice and leading dimension; op is a transpose when ta/tb is set. It is the
// single entry point for matrix products, so the BLAS backend is swapped in
// one place (blas32.Use).
func gemm(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	tA, tB := blas.NoTrans, blas.NoTrans
	ar, ac := m, k
	br, bc := k, n
	if ta {
		tA = blas.Trans
		ar, ac = k, m
	}
	if tb {
		tB = blas.Trans
		br, bc = n, k
	}
	blas32.Gemm(tA, tB, alpha,
		blas32.General{Rows: ar, Cols: ac, Stride: lda, Data: a},
		blas32.General{Rows: br, Cols: bc, Stride: ldb, Data: b},
		beta,
		blas32.General{Rows: m, Cols: n, Stride: ldc, Data: c})
}
