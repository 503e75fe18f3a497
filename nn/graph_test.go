package nn

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestNoGradAndReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	l := NewLinear("l", 5, 3, ActTanh, rng)
	x := NewTensor(4, 5)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	g := NewGraph()
	y1 := slices.Clone(l.Forward(g, x).Data)
	g.Reset()
	g.NoGrad = true
	y := l.Forward(g, x)
	if y.Grad != nil || !slices.Equal(y.Data, y1) {
		t.Fatalf("NoGrad forward differs or carries a gradient")
	}
	g.Backward(g.Sum(y))
	for _, v := range l.W.Grad {
		if v != 0 {
			t.Fatal("Backward under NoGrad touched a parameter gradient")
		}
	}
	// After Reset the graph hands out the same buffers in the same order.
	g.NoGrad = false
	g.Reset()
	a := l.Forward(g, x)
	g.Reset()
	if b := l.Forward(g, x); a != b || &a.Data[0] != &b.Data[0] {
		t.Error("Reset did not reuse the node")
	}
}

func TestShapeMismatchPanics(t *testing.T) {
	g := NewGraph()
	a, b := NewTensor(2, 3), NewTensor(3, 2)
	cases := map[string]func(){
		"add":     func() { g.Add(a, b) },
		"matmul":  func() { g.MatMul(a, a, false, false) },
		"mse":     func() { g.MSE(a, b) },
		"bias":    func() { g.AddBias(a, NewTensor(1, 2)) },
		"slice":   func() { g.SliceCols(a, 2, 5) },
		"split":   func() { g.SplitSteps(a, 2) },
		"reshape": func() { g.Reshape(a, 4, 2) },
		"gru":     func() { NewGRU("g", 4, 2, rand.New(rand.NewPCG(1, 1))).Forward(g, a, 2, nil) },
		"scalar":  func() { a.Scalar() },
		"dropout": func() { g.Dropout(a, 1, rand.New(rand.NewPCG(1, 1))) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}
