//go:build !amd64 || purego

package sgemm

const hasKernel = false

func kern12x32(k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int) {
	panic("unreachable")
}

func kern8x32(k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int) {
	panic("unreachable")
}

func kern4x32(k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int) {
	panic("unreachable")
}

func packT(dst, src *float32, ld, k int) { panic("unreachable") }
