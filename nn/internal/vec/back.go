package vec

// Elementwise backward kernels: dy is scaled in place by the activation's
// derivative, written through y = act(x). The assembly performs the same
// float32 operations in the same order as the Go loops (no FMA), so both
// paths give identical bits.

// Axpy: dst += a·x.
func Axpy(dst, x []float32, a float32) {
	dst = dst[:len(x)]
	k := vecLen(len(x))
	if k > 0 {
		k16 := wide(k)
		if k16 > 0 {
			axpyAVX512(&dst[0], &x[0], k16, a)
		}
		if k > k16 {
			axpyAVX2(&dst[k16], &x[k16], k-k16, a)
		}
	}
	for i := k; i < len(x); i++ {
		dst[i] += a * x[i]
	}
}

// SigmoidBack: dy *= y(1-y).
func SigmoidBack(dy, y []float32) {
	dy = dy[:len(y)]
	k := vecLen(len(y))
	if k > 0 {
		k16 := wide(k)
		if k16 > 0 {
			sigmoidBackAVX512(&dy[0], &y[0], k16)
		}
		if k > k16 {
			sigmoidBackAVX2(&dy[k16], &y[k16], k-k16)
		}
	}
	for i := k; i < len(y); i++ {
		dy[i] *= y[i] * (1 - y[i])
	}
}

// TanhBack: dy *= 1 - y².
func TanhBack(dy, y []float32) {
	dy = dy[:len(y)]
	k := vecLen(len(y))
	if k > 0 {
		k16 := wide(k)
		if k16 > 0 {
			tanhBackAVX512(&dy[0], &y[0], k16)
		}
		if k > k16 {
			tanhBackAVX2(&dy[k16], &y[k16], k-k16)
		}
	}
	for i := k; i < len(y); i++ {
		dy[i] *= 1 - y[i]*y[i]
	}
}

// ReLUBack: dy = 0 where y ≤ 0.
func ReLUBack(dy, y []float32) {
	dy = dy[:len(y)]
	k := vecLen(len(y))
	if k > 0 {
		reluBackAVX2(&dy[0], &y[0], k)
	}
	for i := k; i < len(y); i++ {
		if y[i] <= 0 {
			dy[i] = 0
		}
	}
}

// SELUBack: dy *= scale for y > 0, else y + scale·alpha.
func SELUBack(dy, y []float32) {
	dy = dy[:len(y)]
	k := vecLen(len(y))
	if k > 0 {
		seluBackAVX2(&dy[0], &y[0], k)
	}
	const sa = float32(SELUScale * SELUAlpha)
	for i := k; i < len(y); i++ {
		if v := y[i]; v > 0 {
			dy[i] *= SELUScale
		} else {
			dy[i] *= v + sa
		}
	}
}
