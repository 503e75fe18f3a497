package nn

// Backend names the BLAS implementation under gonum's blas32 API:
// "openblas" when built with the openblas tag, else "gonum" (pure Go).
func Backend() string { return backend }
