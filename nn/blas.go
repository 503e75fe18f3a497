package nn

import (
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/cpu"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/aexp/aexp/nn/internal/sgemm"
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

// threads is the thread count set by SetThreads, for the own kernel.
var threads atomic.Int32

func init() { threads.Store(1) }

// ownGEMM is whether products go to nn/internal/sgemm's AVX-512 kernel instead of the BLAS: when the CPU has
// AVX-512 but the BLAS's kernels for it do not use it (OpenBLAS 0.3.21 runs
// its Haswell kernels on AMD Zen 4 and 5; gonum's pure Go has none), the
// own kernel does the same products 1.3–1.9× faster. Decided once from the
// CPU and the BLAS's own choice; AEXP_GEMM=blas or AEXP_GEMM=avx512
// overrides the choice (to compare the two on one machine).
var ownGEMM = chooseOwnGEMM(BLASCore(), cpu.X86.HasAVX512F && sgemm.Available(), os.Getenv("AEXP_GEMM"))

func chooseOwnGEMM(core string, avx512 bool, override string) bool {
	switch override {
	case "blas":
		return false
	case "avx512":
		return avx512
	}
	switch strings.ToLower(core) {
	case "skylakex", "cooperlake", "sapphirerapids":
		return false // the BLAS has AVX-512 kernels for this CPU
	}
	return avx512
}

// RunGEMM computes c += op(a)·op(b) for the shape s with compact strides,
// through the same path as the training ops (nn's own kernel or the BLAS),
// so benchmarks can time a traced step's products alone.
func RunGEMM(s GEMMShape, a, b, c []float32) {
	lda, ldb := s.K, s.N
	if s.TransA {
		lda = s.M
	}
	if s.TransB {
		ldb = s.K
	}
	gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, b, ldb, 1, c, s.N)
}

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
	if ownGEMM && alpha == 1 {
		sgemm.Gemm(int(threads.Load()), ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)
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

// GEMMKernel names what does the matrix products: "avx512" (nn's own
// kernel) or "blas".
func GEMMKernel() string {
	if ownGEMM {
		return "avx512"
	}
	return "blas"
}
