package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// GEMMShape is one matrix product c = op(a)·op(b) with c m×n and inner
// dimension k, as reported to a TraceGEMM hook.
type GEMMShape struct {
	TransA, TransB bool
	M, N, K        int
}

var gemmTrace func(GEMMShape)

// TraceGEMM makes every later matrix product call f with its shape (nil
// stops it). Benchmarks use it to replay a training step's products alone
// and so measure what the BLAS can do on them. Not safe to call while
// another goroutine trains.
func TraceGEMM(f func(GEMMShape)) { gemmTrace = f }

// gemm computes c = alpha·op(a)·op(b) + beta·c for row-major matrices given by
// slice and leading dimension; op is a transpose when ta/tb is set. It is the
// single entry point for matrix products, so the BLAS backend is swapped in
// one place (blas32.Use).
func gemm(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if gemmTrace != nil {
		gemmTrace(GEMMShape{ta, tb, m, n, k})
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
