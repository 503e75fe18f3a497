package nn

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/aexp/aexp/nn/internal/sgemm"
)

// BenchmarkGEMM times the benchmark models' product shapes through the BLAS
// and through nn's own AVX-512 kernel (where the CPU has it) and reports
// GFLOP/s per wall-clock second and per CPU-second of the benchmark's
// thread (steadier on a busy machine; run with one BLAS thread):
//
//	OPENBLAS_NUM_THREADS=1 go test -tags openblas -run - -bench GEMM ./nn/
func BenchmarkGEMM(b *testing.B) {
	shapes := []GEMMShape{
		{false, false, 128, 300, 784}, // dense: x·W
		{true, false, 784, 300, 128},  // dense: xᵀ·dz
		{false, true, 128, 784, 300},  // dense: dz·Wᵀ
		{false, false, 128, 512, 784}, // vae
		{false, false, 128, 384, 128}, // gru step: h·Wh
		{true, false, 128, 384, 128},  // gru step: hᵀ·dG
		{false, false, 128, 128, 512}, // lstm step: dG·Whᵀ (Whᵀ formed once)
		{false, false, 3584, 384, 28}, // gru: all steps' input projections
	}
	saved := ownGEMM
	defer func() { ownGEMM = saved }()
	for _, s := range shapes {
		a, bb, c := make([]float32, s.M*s.K), make([]float32, s.K*s.N), make([]float32, s.M*s.N)
		for i := range a {
			a[i] = float32(i%7) * 0.01
		}
		for i := range bb {
			bb[i] = float32(i%5) * 0.01
		}
		for _, own := range []bool{false, true} {
			if own && !sgemm.Available() {
				continue // no AVX-512 on this CPU
			}
			name := "blas"
			if own {
				name = "avx512"
			}
			b.Run(fmt.Sprintf("%dx%dx%d_ta=%v_tb=%v/%s", s.M, s.N, s.K, s.TransA, s.TransB, name), func(b *testing.B) {
				ownGEMM = own
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0 := threadCPU()
				for b.Loop() {
					RunGEMM(s, a, bb, c)
				}
				flops := 2 * float64(s.M*s.N*s.K) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(flops/(threadCPU()-cpu0).Seconds()/1e9, "GFLOP/cpu-s")
			})
		}
	}
}

// threadCPU is the calling OS thread's CPU time.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
