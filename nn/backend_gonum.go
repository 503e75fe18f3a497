//go:build !openblas

package nn

const backend = "gonum"

// SetThreads is a no-op: gonum's pure-Go BLAS runs single-threaded here.
func SetThreads(n int) {}

// BLASCore names the kernel family the BLAS chose for this CPU; gonum's
// pure-Go kernels are the same everywhere.
func BLASCore() string { return "go" }
