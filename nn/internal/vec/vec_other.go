//go:build !amd64 || purego

package vec

const useAVX2 = false

const useAVX512 = false

func sigmoidAVX2(dst, src *float32, n int) { panic("unreachable") }
func tanhAVX2(dst, src *float32, n int)    { panic("unreachable") }
func expAVX2(dst, src *float32, n int)     { panic("unreachable") }
func seluAVX2(dst, src *float32, n int)    { panic("unreachable") }
func adamAVX2(w, gr, m, v *float32, n int, b1, b2, step, isc2, eps, decay float32) {
	panic("unreachable")
}

func gruBackAVX2(st, hp, dout, c, dx, dh *float32, h int) { panic("unreachable") }

func lstmBackAVX2(st, cs, cp, dout, ch, cc, d *float32, h int) { panic("unreachable") }

func sigmoidSumAVX2(dst, a, b *float32, n int)     { panic("unreachable") }
func tanhSumAVX2(dst, a, b *float32, n int)        { panic("unreachable") }
func lstmCellAVX2(st, cp, cs, out *float32, h int) { panic("unreachable") }
func gruCellAVX2(axn, st, hp, out *float32, h int) { panic("unreachable") }

func axpyAVX2(dst, x *float32, n int, a float32) { panic("unreachable") }
func sigmoidBackAVX2(dy, y *float32, n int)      { panic("unreachable") }
func tanhBackAVX2(dy, y *float32, n int)         { panic("unreachable") }
func reluBackAVX2(dy, y *float32, n int)         { panic("unreachable") }
func seluBackAVX2(dy, y *float32, n int)         { panic("unreachable") }

func bceAVX2(grad, x, t *float32, n int, inv float32) float64 { panic("unreachable") }

func sigmoidAVX512(dst, src *float32, n int) { panic("unreachable") }
func tanhAVX512(dst, src *float32, n int)    { panic("unreachable") }
func expAVX512(dst, src *float32, n int)     { panic("unreachable") }
func seluAVX512(dst, src *float32, n int)    { panic("unreachable") }
func adamAVX512(w, gr, m, v *float32, n int, b1, b2, step, isc2, eps, decay float32) {
	panic("unreachable")
}
func gruBackAVX512(st, hp, dout, c, dx, dh *float32, h int)      { panic("unreachable") }
func lstmBackAVX512(st, cs, cp, dout, ch, cc, d *float32, h int) { panic("unreachable") }
func sigmoidSumAVX512(dst, a, b *float32, n int)                 { panic("unreachable") }
func tanhSumAVX512(dst, a, b *float32, n int)                    { panic("unreachable") }
func lstmCellAVX512(st, cp, cs, out *float32, h int)             { panic("unreachable") }
func gruCellAVX512(axn, st, hp, out *float32, h int)             { panic("unreachable") }
func axpyAVX512(dst, x *float32, n int, a float32)               { panic("unreachable") }
func sigmoidBackAVX512(dy, y *float32, n int)                    { panic("unreachable") }
func tanhBackAVX512(dy, y *float32, n int)                       { panic("unreachable") }
