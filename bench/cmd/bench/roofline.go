package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/cpu"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/aexp/aexp/nn"
)

// The roofline of a case is what its training step would reach if it did
// nothing but its matrix products at the speed the BLAS does them alone:
// the step's products are recorded once (nn.TraceGEMM), replayed back to
// back on scratch matrices of the same shapes, and timed. blas_gflops is
// that replay's throughput; roofline = the step's achieved FLOP/s (its
// products' FLOPs × steps per second) ÷ blas_gflops, i.e. the fraction of
// the step's time spent in the products at the BLAS's own rate. Both rates
// are per CPU-second of the process (on an idle machine at one thread the
// same as per second), so that other processes on a shared machine, which
// take wall-clock time from the training and the replay at different
// moments, do not skew the quotient (at 2 threads they are per core).
// Where nn does products on its own AVX-512 kernel (gemm=avx512 in the CPU
// line), the step can beat the BLAS (roofline > 1); gemm_gflops is then
// the replay through nn's own product path and own_roofline the fraction
// of that the step reaches, i.e. the share of its time spent in products.

// traceStep runs step once and returns the products it made.
func traceStep(step func()) []nn.GEMMShape {
	var shapes []nn.GEMMShape
	nn.TraceGEMM(func(s nn.GEMMShape) { shapes = append(shapes, s) })
	defer nn.TraceGEMM(nil)
	step()
	return shapes
}

// gemmFlops is 2·m·n·k summed over shapes.
func gemmFlops(shapes []nn.GEMMShape) float64 {
	f := 0.0
	for _, s := range shapes {
		f += 2 * float64(s.M) * float64(s.N) * float64(s.K)
	}
	return f
}

// replayGEMMs runs shapes in order through the BLAS (own=false) or
// through nn's product path (own=true: its AVX-512 kernel where nn uses it),
// timing each pass by the process's CPU time, repeatedly for at least minTime, and
// returns the products' throughput in GFLOP/s in the fastest pass (the
// first warms up; the best is what the BLAS can do, least disturbed by
// other processes on a shared machine).
func replayGEMMs(shapes []nn.GEMMShape, own bool, minTime time.Duration) float64 {
	maxA, maxB, maxC := 0, 0, 0
	for _, s := range shapes {
		maxA, maxB, maxC = max(maxA, s.M*s.K), max(maxB, s.K*s.N), max(maxC, s.M*s.N)
	}
	a, b, c := make([]float32, maxA), make([]float32, maxB), make([]float32, maxC)
	for i := range a {
		a[i] = float32(i%7) * 0.01
	}
	for i := range b {
		b[i] = float32(i%5) * 0.01
	}
	pass := func() {
		for _, s := range shapes {
			if own {
				nn.RunGEMM(s, a, b, c)
				continue
			}
			tA, tB := blas.NoTrans, blas.NoTrans
			ar, ac, br, bc := s.M, s.K, s.K, s.N
			if s.TransA {
				tA, ar, ac = blas.Trans, s.K, s.M
			}
			if s.TransB {
				tB, br, bc = blas.Trans, s.N, s.K
			}
			blas32.Gemm(tA, tB, 1,
				blas32.General{Rows: ar, Cols: ac, Stride: ac, Data: a},
				blas32.General{Rows: br, Cols: bc, Stride: bc, Data: b},
				1, blas32.General{Rows: s.M, Cols: s.N, Stride: s.N, Data: c})
		}
	}
	best, start := math.Inf(1), time.Now()
	for time.Since(start) < minTime {
		t := cpuTime()
		pass()
		best = min(best, cpuTime()-t)
	}
	return gemmFlops(shapes) / best / 1e9
}

// cpuLine describes the CPU and the BLAS kernels chosen for it, so that
// results from different machines say what they were measured on.
func cpuLine() string {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	return fmt.Sprintf("CPU model=%q arch=%s cores=%d avx2=%s avx512=%s avx512bf16=%s blas=%s blas_core=%s gemm=%s",
		model, runtime.GOARCH, runtime.NumCPU(), yn(cpu.X86.HasAVX2 && cpu.X86.HasFMA), yn(cpu.X86.HasAVX512F),
		yn(cpu.X86.HasAVX512BF16), nn.Backend(), nn.BLASCore(), nn.GEMMKernel())
}
