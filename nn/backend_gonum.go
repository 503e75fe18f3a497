//go:build !openblas

package nn

const backend = "gonum"

// SetThreads sets how many goroutines a large product on nn's own kernel
// is split over (n < 1 leaves it alone); gonum's BLAS itself runs
// single-threaded here.
func SetThreads(n int) {
	if n >= 1 {
		threads.Store(int32(n))
	}
}

// BLASCore names the kernel family the BLAS chose for this CPU; gonum's
// pure-Go kernels are the same everywhere.
func BLASCore() string { return "go" }
