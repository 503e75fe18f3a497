//go:build !openblas

package nn

const backend = "gonum"
