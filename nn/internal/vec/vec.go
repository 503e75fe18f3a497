package vec

import "math"

// Slice kernels: 16 lanes at a time in assembly where the CPU has AVX-512,
// 8 where it has AVX2+FMA, the rest (and every element on other CPUs) in Go. Vector and scalar
// paths agree to a few ulp; a given machine always takes the same path for
// a given length, so runs stay bit-reproducible.

// wide is the prefix of the k (a multiple of 8) vector elements that the
// AVX-512 copies of the kernels take, 16 lanes at a time; the AVX2 kernels
// do the rest. Both perform the same float32 operations lane for lane.
func wide(k int) int {
	if !useAVX512 || !useAVX2 {
		return 0
	}
	return k &^ 15
}

// vecLen is the prefix of n elements the assembly handles.
func vecLen(n int) int {
	if !useAVX2 {
		return 0
	}
	return n &^ 7
}

// Sigmoid: dst = 1/(1+e^-src).
func Sigmoid(dst, src []float32) {
	dst = dst[:len(src)]
	k := vecLen(len(src))
	if k > 0 {
		k16 := wide(k)
		if k16 > 0 {
			sigmoidAVX512(&dst[0], &src[0], k16)
		}
		if k > k16 {
			sigmoidAVX2(&dst[k16], &src[k16], k-k16)
		}
	}
	for i := k; i < len(src); i++ {
		dst[i] = Sigmoidf(src[i])
	}
}

// Tanh: dst = tanh(src).
func Tanh(dst, src []float32) {
	dst = dst[:len(src)]
	k := vecLen(len(src))
	if k > 0 {
		k16 := wide(k)
		if k16 > 0 {
			tanhAVX512(&dst[0], &src[0], k16)
		}
		if k > k16 {
			tanhAVX2(&dst[k16], &src[k16], k-k16)
		}
	}
	for i := k; i < len(src); i++ {
		dst[i] = Tanhf(src[i])
	}
}

// SELU: dst = selu(src).
func SELU(dst, src []float32) {
	dst = dst[:len(src)]
	k := vecLen(len(src))
	if k > 0 {
		k16 := wide(k)
		if k16 > 0 {
			seluAVX512(&dst[0], &src[0], k16)
		}
		if k > k16 {
			seluAVX2(&dst[k16], &src[k16], k-k16)
		}
	}
	for i := k; i < len(src); i++ {
		v := src[i]
		if v > 0 {
			dst[i] = SELUScale * v
		} else {
			dst[i] = SELUScale * SELUAlpha * (Expf(v) - 1)
		}
	}
}

// Exp: dst = e^src, with src clamped to [-87.34, 88] on the vector path.
func Exp(dst, src []float32) {
	dst = dst[:len(src)]
	k := vecLen(len(src))
	if k > 0 {
		k16 := wide(k)
		if k16 > 0 {
			expAVX512(&dst[0], &src[0], k16)
		}
		if k > k16 {
			expAVX2(&dst[k16], &src[k16], k-k16)
		}
	}
	for i := k; i < len(src); i++ {
		dst[i] = Expf(src[i])
	}
}

// Adam applies one fused Adam step to a parameter (see Adam.Step).
func Adam(w, g, m, v []float32, b1, b2, step, isc2, eps, decay float32) {
	n := len(g)
	w, m, v = w[:n], m[:n], v[:n]
	k := vecLen(n)
	if k > 0 {
		k16 := wide(k)
		if k16 > 0 {
			adamAVX512(&w[0], &g[0], &m[0], &v[0], k16, b1, b2, step, isc2, eps, decay)
		}
		if k > k16 {
			adamAVX2(&w[k16], &g[k16], &m[k16], &v[k16], k-k16, b1, b2, step, isc2, eps, decay)
		}
	}
	for i := k; i < n; i++ {
		gi := g[i]
		mi := b1*m[i] + (1-b1)*gi
		vi := b2*v[i] + (1-b2)*gi*gi
		m[i], v[i] = mi, vi
		w[i] = w[i]*decay - step*mi/(float32(math.Sqrt(float64(vi)))*isc2+eps)
		g[i] = 0
	}
}

// SigmoidSum: dst = σ(a + b) (a recurrent gate from its two projections).
func SigmoidSum(dst, a, b []float32) {
	dst, b = dst[:len(a)], b[:len(a)]
	k := vecLen(len(a))
	if k > 0 {
		k16 := wide(k)
		if k16 > 0 {
			sigmoidSumAVX512(&dst[0], &a[0], &b[0], k16)
		}
		if k > k16 {
			sigmoidSumAVX2(&dst[k16], &a[k16], &b[k16], k-k16)
		}
	}
	for i := k; i < len(a); i++ {
		dst[i] = Sigmoidf(a[i] + b[i])
	}
}

// TanhSum: dst = tanh(a + b).
func TanhSum(dst, a, b []float32) {
	dst, b = dst[:len(a)], b[:len(a)]
	k := vecLen(len(a))
	if k > 0 {
		k16 := wide(k)
		if k16 > 0 {
			tanhSumAVX512(&dst[0], &a[0], &b[0], k16)
		}
		if k > k16 {
			tanhSumAVX2(&dst[k16], &a[k16], &b[k16], k-k16)
		}
	}
	for i := k; i < len(a); i++ {
		dst[i] = Tanhf(a[i] + b[i])
	}
}
