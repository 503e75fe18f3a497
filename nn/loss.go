package nn

import (
	"github.com/aexp/aexp/nn/internal/vec"
)

func init() {
	backwardFns[opMSE] = backLoss
	backwardFns[opBCELogits] = backLoss
	backwardFns[opKL] = backKL
}

// MSE returns the 1×1 mean over all elements of (pred - target)². The
// gradient is computed in the same pass and kept for Backward.
func (g *Graph) MSE(pred, target *Tensor) *Tensor {
	sameShape("MSE", pred, target)
	out := g.node(1, 1, pred.Grad != nil || target.Grad != nil)
	grad := g.buf(pred.Len())
	s := 2 / float32(pred.Len())
	var acc float64
	t := target.Data[:len(pred.Data)]
	for i, p := range pred.Data {
		d := p - t[i]
		acc += float64(d * d)
		grad[i] = s * d
	}
	out.Data[0] = float32(acc / float64(pred.Len()))
	g.record(entry{op: opMSE, out: out, a: pred, b: target, buf: grad})
	return out
}

// BCEWithLogits returns the 1×1 mean over all elements of the binary cross
// entropy between sigmoid(logits) and target ∈ [0,1], computed stably as
// max(x,0) - x·t + log(1+e^-|x|). Multiply by the feature count for nats
// per example.
func (g *Graph) BCEWithLogits(logits, target *Tensor) *Tensor {
	sameShape("BCEWithLogits", logits, target)
	out := g.node(1, 1, logits.Grad != nil || target.Grad != nil)
	grad := g.buf(logits.Len())
	inv := 1 / float32(logits.Len())
	acc := vec.BCELogits(grad, logits.Data, target.Data, inv)
	out.Data[0] = float32(acc) * inv
	g.record(entry{op: opBCELogits, out: out, a: logits, b: target, buf: grad})
	return out
}

// backLoss applies a loss gradient computed in the forward pass. Targets
// get the MSE gradient's negation; for BCE, d/dt = -x/n.
func backLoss(g *Graph, e *entry) {
	d := e.out.Grad[0]
	if e.a.Grad != nil {
		axpy(e.a.Grad, e.buf, d)
	}
	if e.b.Grad != nil {
		if e.op == opMSE {
			axpy(e.b.Grad, e.buf, -d)
		} else {
			axpy(e.b.Grad, e.a.Data, -d/float32(e.a.Len()))
		}
	}
}

// KLNormal returns KL(N(mu, exp(logvar)) ‖ N(0, I)), summed over the latent
// dimensions and averaged over the batch (rows): nats per example.
func (g *Graph) KLNormal(mu, logvar *Tensor) *Tensor {
	sameShape("KLNormal", mu, logvar)
	out := g.node(1, 1, mu.Grad != nil || logvar.Grad != nil)
	ev := g.buf(mu.Len()) // keeps exp(logvar) for the backward pass
	var acc float64
	for i, m := range mu.Data {
		lv := logvar.Data[i]
		e := vec.Expf(lv)
		ev[i] = e
		acc += float64(1 + lv - m*m - e)
	}
	out.Data[0] = float32(-0.5 * acc / float64(mu.Rows))
	g.record(entry{op: opKL, out: out, a: mu, b: logvar, buf: ev})
	return out
}

func backKL(g *Graph, e *entry) {
	s := e.out.Grad[0] / float32(e.a.Rows)
	if e.a.Grad != nil {
		axpy(e.a.Grad, e.a.Data, s)
	}
	if e.b.Grad != nil {
		gb := e.b.Grad
		for i, ev := range e.buf {
			gb[i] += 0.5 * s * (ev - 1)
		}
	}
}
