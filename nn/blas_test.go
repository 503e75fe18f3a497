package nn

import "testing"

func TestTraceGEMM(t *testing.T) {
	g := NewGraph()
	a, b := NewParam("a", 3, 4), NewParam("b", 5, 4)
	var got []GEMMShape
	TraceGEMM(func(s GEMMShape) { got = append(got, s) })
	defer TraceGEMM(nil)
	out := g.MatMul(a, b, false, true) // 3×5 = a·bᵀ
	g.Backward(g.Sum(out))
	TraceGEMM(nil)
	g.MatMul(a, b, false, true) // not traced
	want := []GEMMShape{{false, true, 3, 5, 4}, {false, false, 3, 4, 5}, {true, false, 5, 4, 3}}
	if len(got) != len(want) {
		t.Fatalf("traced %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("product %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
