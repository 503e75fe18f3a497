//go:build !purego

package sgemm

//go:generate go run gen_kern.go

import "golang.org/x/sys/cpu"

// hasKernel: the kernel needs AVX-512F (and an OS that saves the zmm
// registers, which x/sys/cpu checks).
var hasKernel = cpu.X86.HasAVX512F

//go:noescape
func kern12x32(k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func kern8x32(k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func kern4x32(k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func packT(dst, src *float32, ld, k int)
