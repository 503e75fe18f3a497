//go:build !purego

package vec

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels; they need AVX2 and FMA (and an OS
// that saves the YMM registers, which x/sys/cpu checks).
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

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
