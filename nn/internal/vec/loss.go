package vec

// BCELogits computes, for logits x and targets t, the sum over elements of
// the binary cross-entropy max(x,0) - x·t + log(1+e^-|x|) (in float64) and
// writes its gradient (σ(x) - t)·inv into grad.
func BCELogits(grad, x, t []float32, inv float32) float64 {
	grad, t = grad[:len(x)], t[:len(x)]
	k := vecLen(len(x))
	var acc float64
	if k > 0 {
		acc = bceAVX2(&grad[0], &x[0], &t[0], k, inv)
	}
	for i := k; i < len(x); i++ {
		xi, ti := x[i], t[i]
		e := Expf(-max(xi, -xi))
		acc += float64(max(xi, 0) - xi*ti + Log1pf(e))
		s := 1 / (1 + e) // σ(x) from the same exponential
		if xi < 0 {
			s = e / (1 + e)
		}
		grad[i] = inv * (s - ti)
	}
	return acc
}
