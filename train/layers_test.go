package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// init = "orthogonal": zero biases (the LSTM's forget gate at 1), orthogonal
// recurrent blocks, Glorot input weights; "pytorch" keeps U(±1/√H).
func TestRecurrentInit(t *testing.T) {
	const in, h = 5, 8
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cell := range []string{"gru", "lstm"} {
		l, err := NewRecurrent(cell, "orthogonal", "l", in, h, rng)
		if err != nil {
			t.Fatal(err)
		}
		ps := l.Params()
		wx, wh := ps[0], ps[1]
		lim := float32(math.Sqrt(6 / float64(wx.Rows+wx.Cols)))
		for _, v := range wx.Data {
			if v < -lim || v > lim {
				t.Fatalf("%s: input weight %g outside Glorot's ±%g", cell, v, lim)
			}
		}
		for b := 0; b < wh.Cols; b += h { // column j of block b has unit norm
			for j := b; j < b+h; j++ {
				var s float64
				for i := range h {
					s += float64(wh.Data[i*wh.Cols+j]) * float64(wh.Data[i*wh.Cols+j])
				}
				if math.Abs(s-1) > 1e-5 {
					t.Fatalf("%s: recurrent column %d has squared norm %g, want 1", cell, j, s)
				}
			}
		}
		for _, bias := range ps[2:] {
			for i, v := range bias.Data {
				want := float32(0)
				if cell == "lstm" && i >= h && i < 2*h {
					want = 1
				}
				if v != want {
					t.Fatalf("%s: %s[%d] = %g, want %g", cell, bias.Name, i, v, want)
				}
			}
		}
		py, err := NewRecurrent(cell, "pytorch", "l", in, h, rng)
		if err != nil {
			t.Fatal(err)
		}
		k := float32(1 / math.Sqrt(h))
		for _, v := range py.Params()[1].Data {
			if v < -k || v > k {
				t.Fatalf("%s pytorch: recurrent weight %g outside ±%g", cell, v, k)
			}
		}
	}
	if _, err := NewRecurrent("gru", "xavier", "l", in, h, rng); err == nil || !strings.Contains(err.Error(), "xavier") {
		t.Errorf("unknown init: %v", err)
	}
}
