//go:build !purego

package vec

//go:generate sh gen_avx512.sh

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels; they need AVX2 and FMA (and an OS
// that saves the YMM registers, which x/sys/cpu checks).
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// useAVX512 selects the 16-lane copies of the kernels (vec_avx512_amd64.s,
// generated from the AVX2 ones) on CPUs with AVX-512; they are used only
// together with the AVX2 ones, which take the last 8 lanes.
var useAVX512 = cpu.X86.HasAVX512F

//go:noescape
func sigmoidAVX2(dst, src *float32, n int)

//go:noescape
func tanhAVX2(dst, src *float32, n int)

//go:noescape
func expAVX2(dst, src *float32, n int)

//go:noescape
func seluAVX2(dst, src *float32, n int)

//go:noescape
func adamAVX2(w, gr, m, v *float32, n int, b1, b2, step, isc2, eps, decay float32)

//go:noescape
func gruBackAVX2(st, hp, dout, c, dx, dh *float32, h int)

//go:noescape
func lstmBackAVX2(st, cs, cp, dout, ch, cc, d *float32, h int)

//go:noescape
func sigmoidSumAVX2(dst, a, b *float32, n int)

//go:noescape
func tanhSumAVX2(dst, a, b *float32, n int)

//go:noescape
func lstmCellAVX2(st, cp, cs, out *float32, h int)

//go:noescape
func gruCellAVX2(axn, st, hp, out *float32, h int)

//go:noescape
func axpyAVX2(dst, x *float32, n int, a float32)

//go:noescape
func sigmoidBackAVX2(dy, y *float32, n int)

//go:noescape
func tanhBackAVX2(dy, y *float32, n int)

//go:noescape
func reluBackAVX2(dy, y *float32, n int)

//go:noescape
func seluBackAVX2(dy, y *float32, n int)

//go:noescape
func bceAVX2(grad, x, t *float32, n int, inv float32) float64

//go:noescape
func sigmoidAVX512(dst, src *float32, n int)

//go:noescape
func tanhAVX512(dst, src *float32, n int)

//go:noescape
func expAVX512(dst, src *float32, n int)

//go:noescape
func seluAVX512(dst, src *float32, n int)

//go:noescape
func adamAVX512(w, gr, m, v *float32, n int, b1, b2, step, isc2, eps, decay float32)

//go:noescape
func gruBackAVX512(st, hp, dout, c, dx, dh *float32, h int)

//go:noescape
func lstmBackAVX512(st, cs, cp, dout, ch, cc, d *float32, h int)

//go:noescape
func sigmoidSumAVX512(dst, a, b *float32, n int)

//go:noescape
func tanhSumAVX512(dst, a, b *float32, n int)

//go:noescape
func lstmCellAVX512(st, cp, cs, out *float32, h int)

//go:noescape
func gruCellAVX512(axn, st, hp, out *float32, h int)

//go:noescape
func axpyAVX512(dst, x *float32, n int, a float32)

//go:noescape
func sigmoidBackAVX512(dy, y *float32, n int)

//go:noescape
func tanhBackAVX512(dy, y *float32, n int)
