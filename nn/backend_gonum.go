//go:build !openblas

package nn

const backend = "gonum"

// SetThreads is a no-op: gonum's pure-Go BLAS runs single-threaded here.
func SetThreads(n int) {}
