package vec

// Per-row BPTT kernels of the recurrent layers. h is the hidden size; the
// AVX-512 assembly runs when h is a multiple of 16, the AVX2 one when it
// is a multiple of 8 and gives results bit-identical
// to the Go loops (same operations, same order, no FMA).

// GRUBackward turns dL/dh_t of one batch row into pre-activation gradients.
// st holds r, z, n and h·Whn+bhn (4h values); hp is h_{t-1}; dout is the
// gradient arriving from the layer's output at step t; c is the gradient
// carried from step t+1 on input and d·z (the direct path to h_{t-1}) on
// output. dx receives [dr, dz, dn] and dh [dr, dz, dn·r] (3h values each).
func GRUBackward(st, hp, dout, c, dx, dh []float32, h int) {
	st, hp, dout, c, dx, dh = st[:4*h], hp[:h], dout[:h], c[:h], dx[:3*h], dh[:3*h]
	if useAVX2 && useAVX512 && h%16 == 0 {
		gruBackAVX512(&st[0], &hp[0], &dout[0], &c[0], &dx[0], &dh[0], h)
		return
	}
	if useAVX2 && h%8 == 0 {
		gruBackAVX2(&st[0], &hp[0], &dout[0], &c[0], &dx[0], &dh[0], h)
		return
	}
	rg, zg, ng, hn := st[:h], st[h:2*h], st[2*h:3*h], st[3*h:4*h]
	for j := range h {
		r, z, n := rg[j], zg[j], ng[j]
		d := dout[j] + c[j]
		dn := d * (1 - z) * (1 - n*n)
		dz := d * (hp[j] - n) * z * (1 - z)
		dr := dn * hn[j] * r * (1 - r)
		dx[j], dx[h+j], dx[2*h+j] = dr, dz, dn
		dh[j], dh[h+j], dh[2*h+j] = dr, dz, dn*r
		c[j] = d * z
	}
}

// LSTMBackward does the same for an LSTM row. st holds i, f, g, o (4h);
// cs holds c_t and tanh(c_t) (2h); cp is c_{t-1} (zeros at t = 0); ch is
// the hidden-state gradient carried from step t+1; cc is the cell gradient
// carried from t+1 on input and dc·f on output; d receives the four gate
// pre-activation gradients (4h).
func LSTMBackward(st, cs, cp, dout, ch, cc, d []float32, h int) {
	st, cs, cp, dout, ch, cc, d = st[:4*h], cs[:2*h], cp[:h], dout[:h], ch[:h], cc[:h], d[:4*h]
	if useAVX2 && useAVX512 && h%16 == 0 {
		lstmBackAVX512(&st[0], &cs[0], &cp[0], &dout[0], &ch[0], &cc[0], &d[0], h)
		return
	}
	if useAVX2 && h%8 == 0 {
		lstmBackAVX2(&st[0], &cs[0], &cp[0], &dout[0], &ch[0], &cc[0], &d[0], h)
		return
	}
	ig, fg, gg, og := st[:h], st[h:2*h], st[2*h:3*h], st[3*h:4*h]
	tcs := cs[h : 2*h]
	for j := range h {
		i, f, g, o, tc := ig[j], fg[j], gg[j], og[j], tcs[j]
		dh := dout[j] + ch[j]
		dc := cc[j] + dh*o*(1-tc*tc)
		d[j] = dc * g * i * (1 - i)
		d[h+j] = dc * cp[j] * f * (1 - f)
		d[2*h+j] = dc * i * (1 - g*g)
		d[3*h+j] = dh * tc * o * (1 - o)
		cc[j] = dc * f
	}
}

// LSTMCell finishes an LSTM row once its gates st = [i, f, g, o] are
// activated: c = i·g + f·cp, cs = [c, tanh c], out = o·tanh c.
func LSTMCell(st, cp, cs, out []float32, h int) {
	st, cp, cs, out = st[:4*h], cp[:h], cs[:2*h], out[:h]
	if useAVX2 && useAVX512 && h%16 == 0 {
		lstmCellAVX512(&st[0], &cp[0], &cs[0], &out[0], h)
		return
	}
	if useAVX2 && h%8 == 0 {
		lstmCellAVX2(&st[0], &cp[0], &cs[0], &out[0], h)
		return
	}
	for j := range h {
		c := st[j]*st[2*h+j] + st[h+j]*cp[j]
		tc := Tanhf(c)
		cs[j], cs[h+j], out[j] = c, tc, st[3*h+j]*tc
	}
}

// GRUCell finishes a GRU row once st = [r, z, ·, hn] holds the activated r
// and z and hn = h·Whn + bhn: n = tanh(axn + r·hn) goes into st's third
// block and out = n + z·(hp - n).
func GRUCell(axn, st, hp, out []float32, h int) {
	axn, st, hp, out = axn[:h], st[:4*h], hp[:h], out[:h]
	if useAVX2 && useAVX512 && h%16 == 0 {
		gruCellAVX512(&axn[0], &st[0], &hp[0], &out[0], h)
		return
	}
	if useAVX2 && h%8 == 0 {
		gruCellAVX2(&axn[0], &st[0], &hp[0], &out[0], h)
		return
	}
	for j := range h {
		n := Tanhf(axn[j] + st[j]*st[3*h+j])
		st[2*h+j] = n
		out[j] = n + st[h+j]*(hp[j]-n)
	}
}
