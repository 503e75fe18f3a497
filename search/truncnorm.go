package search

import (
	"math"
	"math/rand/v2"
)

// Standard normal helpers, accurate in the tails that the kernels reach.

const logSqrt2Pi = 0.91893853320467274178 // log(√(2π))

// normCDF is Φ(z).
func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// normQuantile is Φ⁻¹(p).
func normQuantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }

// logGaussMass is log(Φ(b) − Φ(a)) for a ≤ b, computed in the tail where
// the difference is accurate.
func logGaussMass(a, b float64) float64 {
	switch {
	case a >= b:
		return math.Inf(-1)
	case a > 0: // the right tail: mirror it to the left
		return logGaussMass(-b, -a)
	case b <= 0:
		pa, pb := normCDF(a), normCDF(b)
		if pb > 0 && pb-pa > 0 {
			return math.Log(pb - pa)
		}
		// both underflow (z below about −37): the mass is the density at
		// the upper end times the width, to first order
		return -b*b/2 - logSqrt2Pi + math.Log(math.Min(b-a, 1/(-b)))
	default: // a ≤ 0 < b: the central mass
		return math.Log1p(-normCDF(a) - normCDF(-b))
	}
}

// truncNormSample draws from N(mu, sigma²) truncated to [lo, hi] by
// inverting the CDF. mu is always inside [lo, hi] here (kernels sit on
// observations), so the CDF values are not both in a far tail.
func truncNormSample(rng *rand.Rand, mu, sigma, lo, hi float64) float64 {
	a, b := (lo-mu)/sigma, (hi-mu)/sigma
	pa, pb := normCDF(a), normCDF(b)
	u := pa + rng.Float64()*(pb-pa)
	z := normQuantile(u)
	if math.IsInf(z, 0) || math.IsNaN(z) {
		z = math.Max(a, math.Min(b, 0))
	}
	return math.Max(lo, math.Min(hi, mu+sigma*z))
}

// truncNormLogPDF is the log density at x of N(mu, sigma²) truncated to
// [lo, hi].
func truncNormLogPDF(x, mu, sigma, lo, hi float64) float64 {
	z := (x - mu) / sigma
	return -z*z/2 - logSqrt2Pi - math.Log(sigma) - logGaussMass((lo-mu)/sigma, (hi-mu)/sigma)
}

// truncNormLogMass is the log probability that the truncated normal falls
// in the grid cell [x−q/2, x+q/2] (clipped to the bounds).
func truncNormLogMass(x, q, mu, sigma, lo, hi float64) float64 {
	l, u := math.Max(x-q/2, lo), math.Min(x+q/2, hi)
	return logGaussMass((l-mu)/sigma, (u-mu)/sigma) - logGaussMass((lo-mu)/sigma, (hi-mu)/sigma)
}
