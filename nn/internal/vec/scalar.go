// Package vec holds nn's elementwise kernels: float32 exp, sigmoid and
// tanh, and slice versions of them (and of the Adam update) that run 8 lanes
// at a time in AVX2+FMA assembly where the CPU has it. It is a separate
// package because a package using cgo (nn with -tags openblas) cannot hold
// Go assembly.
package vec

import "math"

// Expf is e^x in float32 arithmetic (Cephes Expf: range reduction by ln 2
// and a degree-6 polynomial), within 2 ulp of math.Exp and several times
// faster than going through float64. Activations and losses spend most of
// their time here.
func Expf(x float32) float32 {
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	if x < -87.33654 {
		return 0
	}
	if x != x {
		return x
	}
	t := x * 1.442695041 // x·log2(e)
	var n int32
	if t >= 0 {
		n = int32(t + 0.5)
	} else {
		n = int32(t - 0.5)
	}
	fn := float32(n)
	r := x - fn*0.693359375 - fn*-2.12194440e-4 // x - n·ln2 in two parts
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	// Scale by 2^n in two halves so n = ±127/128 stays representable.
	h := n / 2
	return y * math.Float32frombits(uint32(h+127)<<23) * math.Float32frombits(uint32(n-h+127)<<23)
}

// Sigmoidf is 1/(1+e^-x) without overflow for any x.
func Sigmoidf(x float32) float32 {
	if x >= 0 {
		return 1 / (1 + Expf(-x))
	}
	e := Expf(x)
	return e / (1 + e)
}

// Tanhf is tanh(x) = 1 - 2/(e^{2x}+1), saturating cleanly for large |x|.
func Tanhf(x float32) float32 {
	if x > 9 {
		return 1
	}
	if x < -9 {
		return -1
	}
	if x > -0.0625 && x < 0.0625 {
		// Near 0 the subtraction loses digits; the odd series is exact enough.
		x2 := x * x
		return x * (1 - x2*(1.0/3-x2*(2.0/15)))
	}
	return 1 - 2/(Expf(2*x)+1)
}

// SELU constants (Klambauer et al. 2017).
const (
	SELUAlpha = 1.6732632423543772848170429916717
	SELUScale = 1.0507009873554804934193349852946
)

// Logf is the natural logarithm in float32 arithmetic (within 2 ulp of
// math.Log): u = m·2^e with m in [√½, √2), then log m = 2·atanh(s) with
// s = (m-1)/(m+1) as an odd series.
func Logf(u float32) float32 {
	if !(u >= 1.1754944e-38) || u > math.MaxFloat32 { // ≤0, NaN, subnormal, +Inf
		return float32(math.Log(float64(u)))
	}
	b := math.Float32bits(u)
	e := int32(b>>23) - 127
	m := math.Float32frombits(b&0x7fffff | 0x3f800000)
	if m > 1.4142135 {
		m *= 0.5
		e++
	}
	s := (m - 1) / (m + 1)
	s2 := s * s
	p := float32(1.0 / 9)
	p = p*s2 + 1.0/7
	p = p*s2 + 1.0/5
	p = p*s2 + 1.0/3
	p = p*s2 + 1
	// e·ln2 in two parts keeps the sum exact for large e.
	fe := float32(e)
	return fe*0.693359375 + (2*s*p + fe*-2.12194440e-4)
}

// Log1pf is log(1+x) in float32 arithmetic, accurate for tiny x: the
// rounding of 1+x is undone by the factor x/((1+x)-1).
func Log1pf(x float32) float32 {
	u := 1 + x
	if u == 1 {
		return x
	}
	if u > math.MaxFloat32 || !(u > 0) {
		return float32(math.Log1p(float64(x)))
	}
	return Logf(u) * (x / (u - 1))
}
