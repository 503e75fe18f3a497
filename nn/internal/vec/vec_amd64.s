//go:build !purego

#include "textflag.h"

// AVX2+FMA kernels for the elementwise hot spots. Each processes n floats,
// n a positive multiple of 8; callers (vec.go) do the tail in Go.

// LOADC puts a float32 constant, given by its bits, in all lanes of Y.
#define LOADC(bits, Y) \
	MOVL $bits, AX \
	VMOVD AX, X0 \
	VBROADCASTSS X0, Y

// Exp constants (Cephes expf): clamps, log2(e), ln2 in two parts, the
// polynomial, 1.0 and the exponent bias.
#define EXPCONSTS \
	LOADC(0x42b00000, Y15) /* 88.0: e^88 < MaxFloat32 */ \
	LOADC(0xc2aeac4f, Y14) /* -87.33654 */ \
	LOADC(0x3fb8aa3b, Y13) /* log2(e) */ \
	LOADC(0x3f318000, Y12) /* 0.693359375 */ \
	LOADC(0xb95e8083, Y11) /* -2.12194440e-4 */ \
	LOADC(0x39506967, Y10) /* 1.9875691500e-4 */ \
	LOADC(0x3ab743ce, Y9)  /* 1.3981999507e-3 */ \
	LOADC(0x3c088908, Y8)  /* 8.3334519073e-3 */ \
	LOADC(0x3d2aa9c1, Y7)  /* 4.1665795894e-2 */ \
	LOADC(0x3e2aaaaa, Y6)  /* 1.6666665459e-1 */ \
	LOADC(0x3f000000, Y5)  /* 0.5 */ \
	LOADC(0x3f800000, Y4)  /* 1.0 */ \
	MOVL $127, AX \
	VMOVD AX, X0 \
	VPBROADCASTD X0, Y3

// EXP replaces Y0 by e^Y0 (clamped to [-87.34, 88]); uses Y1, Y2.
#define EXP \
	VMINPS Y15, Y0, Y0 \
	VMAXPS Y14, Y0, Y0 \
	VMULPS Y13, Y0, Y1 \
	VCVTPS2DQ Y1, Y2 \
	VCVTDQ2PS Y2, Y1 \
	VFNMADD231PS Y12, Y1, Y0 \
	VFNMADD231PS Y11, Y1, Y0 \
	VMOVAPS Y10, Y1 \
	VFMADD213PS Y9, Y0, Y1 \
	VFMADD213PS Y8, Y0, Y1 \
	VFMADD213PS Y7, Y0, Y1 \
	VFMADD213PS Y6, Y0, Y1 \
	VFMADD213PS Y5, Y0, Y1 \
	VMULPS Y0, Y1, Y1 \
	VFMADD213PS Y0, Y0, Y1 \
	VADDPS Y4, Y1, Y1 \
	VPADDD Y3, Y2, Y2 \
	VPSLLD $23, Y2, Y2 \
	VMULPS Y2, Y1, Y0

// func sigmoidAVX2(dst, src *float32, n int)
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-24
	EXPCONSTS
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
sigloop:
	VMOVUPS (SI), Y0
	VXORPS Y1, Y1, Y1
	VSUBPS Y0, Y1, Y0 // -x
	EXP
	VADDPS Y4, Y0, Y0 // 1 + e^-x
	VDIVPS Y0, Y4, Y0 // 1 / (1 + e^-x)
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ sigloop
	VZEROUPPER
	RET

// func tanhAVX2(dst, src *float32, n int): 2/(1+e^-2x) - 1
TEXT ·tanhAVX2(SB), NOSPLIT, $0-24
	EXPCONSTS
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
tanhloop:
	VMOVUPS (SI), Y0
	VADDPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VSUBPS Y0, Y1, Y0 // -2x
	EXP
	VADDPS Y4, Y0, Y0 // 1 + e^-2x
	VADDPS Y4, Y4, Y1 // 2
	VDIVPS Y0, Y1, Y0 // 2 / (1 + e^-2x)
	VSUBPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ tanhloop
	VZEROUPPER
	RET

// func expAVX2(dst, src *float32, n int)
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	EXPCONSTS
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
exploop:
	VMOVUPS (SI), Y0
	EXP
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ exploop
	VZEROUPPER
	RET

DATA seluc<>+0(SB)/4, $0x3fe10966 // scale·alpha = 1.7580993
DATA seluc<>+4(SB)/4, $0x3f867d5f // scale = 1.0507010
GLOBL seluc<>(SB), RODATA|NOPTR, $8

// func seluAVX2(dst, src *float32, n int): s·max(x,0) + s·a·(e^min(x,0) - 1)
TEXT ·seluAVX2(SB), NOSPLIT, $0-24
	EXPCONSTS
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
seluloop:
	VMOVUPS (SI), Y0
	VXORPS Y1, Y1, Y1
	VMINPS Y1, Y0, Y0
	EXP
	VSUBPS Y4, Y0, Y0
	VBROADCASTSS seluc<>+0(SB), Y1
	VMULPS Y1, Y0, Y0
	VMOVUPS (SI), Y2
	VXORPS Y1, Y1, Y1
	VMAXPS Y1, Y2, Y2
	VBROADCASTSS seluc<>+4(SB), Y1
	VFMADD231PS Y1, Y2, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ seluloop
	VZEROUPPER
	RET

// func adamAVX2(w, gr, m, v *float32, n int, b1, b2, step, isc2, eps, decay float32)
// m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²; w = decay·w - step·m/(√v·isc2 + eps); g = 0
TEXT ·adamAVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), DI
	MOVQ gr+8(FP), SI
	MOVQ m+16(FP), BX
	MOVQ v+24(FP), DX
	MOVQ n+32(FP), CX
	VBROADCASTSS b1+40(FP), Y8
	VBROADCASTSS b2+44(FP), Y10
	VBROADCASTSS step+48(FP), Y14
	VBROADCASTSS isc2+52(FP), Y12
	VBROADCASTSS eps+56(FP), Y13
	VBROADCASTSS decay+60(FP), Y15
	LOADC(0x3f800000, Y6)
	VSUBPS Y8, Y6, Y9  // 1 - b1
	VSUBPS Y10, Y6, Y11 // 1 - b2
	VXORPS Y7, Y7, Y7
adamloop:
	VMOVUPS (SI), Y0
	VMOVUPS (BX), Y1
	VMOVUPS (DX), Y2
	VMULPS Y8, Y1, Y1
	VFMADD231PS Y9, Y0, Y1
	VMULPS Y10, Y2, Y2
	VMULPS Y0, Y0, Y3
	VFMADD231PS Y11, Y3, Y2
	VMOVUPS Y1, (BX)
	VMOVUPS Y2, (DX)
	VSQRTPS Y2, Y3
	VMULPS Y12, Y3, Y3
	VADDPS Y13, Y3, Y3
	VMULPS Y14, Y1, Y4
	VDIVPS Y3, Y4, Y4
	VMOVUPS (DI), Y5
	VMULPS Y15, Y5, Y5
	VSUBPS Y4, Y5, Y5
	VMOVUPS Y5, (DI)
	VMOVUPS Y7, (SI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, BX
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ adamloop
	VZEROUPPER
	RET

// func gruBackAVX2(st, hp, dout, c, dx, dh *float32, h int)
// Lane for lane the same operations, in the same order, as GRUBackward's loop.
TEXT ·gruBackAVX2(SB), NOSPLIT, $0-56
	MOVQ st+0(FP), SI
	MOVQ hp+8(FP), R8
	MOVQ dout+16(FP), R9
	MOVQ c+24(FP), R10
	MOVQ dx+32(FP), DI
	MOVQ dh+40(FP), R11
	MOVQ h+48(FP), CX
	MOVQ CX, R12
	SHLQ $2, R12        // h in bytes: the stride between gate blocks
	LEAQ (R12)(R12*2), BX
	ADDQ SI, BX         // BX -> block 3 of st (h·Whn + bhn)
	MOVL $0x3f800000, AX
	VMOVD AX, X15
	VBROADCASTSS X15, Y15 // 1.0
grubloop:
	VMOVUPS (SI), Y0        // r
	VMOVUPS (SI)(R12*1), Y1 // z
	VMOVUPS (SI)(R12*2), Y2 // n
	VMOVUPS (BX), Y3        // h·Whn + bhn
	VMOVUPS (R9), Y4
	VADDPS (R10), Y4, Y4    // d = dout + c
	VSUBPS Y1, Y15, Y5      // 1 - z
	VMULPS Y2, Y2, Y6
	VSUBPS Y6, Y15, Y6      // 1 - n²
	VMULPS Y5, Y4, Y7
	VMULPS Y6, Y7, Y7       // dn = d(1-z)(1-n²)
	VMOVUPS (R8), Y8
	VSUBPS Y2, Y8, Y8       // hp - n
	VMULPS Y8, Y4, Y8
	VMULPS Y1, Y8, Y8
	VMULPS Y5, Y8, Y8       // dz = d(hp-n)z(1-z)
	VSUBPS Y0, Y15, Y9      // 1 - r
	VMULPS Y3, Y7, Y10
	VMULPS Y0, Y10, Y10
	VMULPS Y9, Y10, Y10     // dr = dn·hn·r(1-r)
	VMULPS Y0, Y7, Y11      // dn·r
	VMULPS Y1, Y4, Y12      // d·z
	VMOVUPS Y10, (DI)
	VMOVUPS Y8, (DI)(R12*1)
	VMOVUPS Y7, (DI)(R12*2)
	VMOVUPS Y10, (R11)
	VMOVUPS Y8, (R11)(R12*1)
	VMOVUPS Y11, (R11)(R12*2)
	VMOVUPS Y12, (R10)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, DI
	ADDQ $32, R11
	SUBQ $8, CX
	JNZ grubloop
	VZEROUPPER
	RET

// func lstmBackAVX2(st, cs, cp, dout, ch, cc, d *float32, h int)
// Lane for lane the same operations, in the same order, as LSTMBackward's loop.
TEXT ·lstmBackAVX2(SB), NOSPLIT, $0-64
	MOVQ st+0(FP), SI
	MOVQ cs+8(FP), R8
	MOVQ cp+16(FP), R9
	MOVQ dout+24(FP), R10
	MOVQ ch+32(FP), R11
	MOVQ cc+40(FP), DX
	MOVQ d+48(FP), DI
	MOVQ h+56(FP), CX
	MOVQ CX, R12
	SHLQ $2, R12        // h in bytes
	LEAQ (R12)(R12*2), R13
	MOVQ SI, BX
	ADDQ R13, BX        // BX -> o block of st
	MOVQ DI, R13
	LEAQ (R12)(R12*2), AX
	ADDQ AX, R13        // R13 -> o block of d
	MOVL $0x3f800000, AX
	VMOVD AX, X15
	VBROADCASTSS X15, Y15 // 1.0
lstmbloop:
	VMOVUPS (SI), Y0        // i
	VMOVUPS (SI)(R12*1), Y1 // f
	VMOVUPS (SI)(R12*2), Y2 // g
	VMOVUPS (BX), Y3        // o
	VMOVUPS (R8)(R12*1), Y4 // tanh(c)
	VMOVUPS (R10), Y5
	VADDPS (R11), Y5, Y5    // dh = dout + ch
	VMULPS Y3, Y5, Y6
	VMULPS Y4, Y4, Y7
	VSUBPS Y7, Y15, Y7      // 1 - tc²
	VMULPS Y7, Y6, Y6
	VMOVUPS (DX), Y7
	VADDPS Y6, Y7, Y6       // dc = cc + dh·o(1-tc²)
	VMULPS Y2, Y6, Y7
	VMULPS Y0, Y7, Y7
	VSUBPS Y0, Y15, Y8
	VMULPS Y8, Y7, Y7       // di = dc·g·i(1-i)
	VMOVUPS Y7, (DI)
	VMULPS (R9), Y6, Y7
	VMULPS Y1, Y7, Y7
	VSUBPS Y1, Y15, Y8
	VMULPS Y8, Y7, Y7       // df = dc·cp·f(1-f)
	VMOVUPS Y7, (DI)(R12*1)
	VMULPS Y0, Y6, Y7
	VMULPS Y2, Y2, Y8
	VSUBPS Y8, Y15, Y8
	VMULPS Y8, Y7, Y7       // dg = dc·i(1-g²)
	VMOVUPS Y7, (DI)(R12*2)
	VMULPS Y4, Y5, Y7
	VMULPS Y3, Y7, Y7
	VSUBPS Y3, Y15, Y8
	VMULPS Y8, Y7, Y7       // do = dh·tc·o(1-o)
	VMOVUPS Y7, (R13)
	VMULPS Y1, Y6, Y7
	VMOVUPS Y7, (DX)        // cc = dc·f
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $32, R13
	SUBQ $8, CX
	JNZ lstmbloop
	VZEROUPPER
	RET

// func sigmoidSumAVX2(dst, a, b *float32, n int): dst = σ(a + b)
TEXT ·sigmoidSumAVX2(SB), NOSPLIT, $0-32
	EXPCONSTS
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
sigsloop:
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VXORPS Y1, Y1, Y1
	VSUBPS Y0, Y1, Y0
	EXP
	VADDPS Y4, Y0, Y0
	VDIVPS Y0, Y4, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ sigsloop
	VZEROUPPER
	RET

// TANH replaces Y0 by tanh(Y0) = 2/(1+e^-2x) - 1; uses Y1, Y2.
#define TANH \
	VADDPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VSUBPS Y0, Y1, Y0 \
	EXP \
	VADDPS Y4, Y0, Y0 \
	VADDPS Y4, Y4, Y1 \
	VDIVPS Y0, Y1, Y0 \
	VSUBPS Y4, Y0, Y0

// func tanhSumAVX2(dst, a, b *float32, n int): dst = tanh(a + b)
TEXT ·tanhSumAVX2(SB), NOSPLIT, $0-32
	EXPCONSTS
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
tanhsloop:
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	TANH
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ tanhsloop
	VZEROUPPER
	RET

// func lstmCellAVX2(st, cp, cs, out *float32, h int)
// c = i·g + f·cp; tc = tanh(c); out = o·tc; cs = [c, tc].
TEXT ·lstmCellAVX2(SB), NOSPLIT, $0-40
	EXPCONSTS
	MOVQ st+0(FP), SI
	MOVQ cp+8(FP), R8
	MOVQ cs+16(FP), R9
	MOVQ out+24(FP), DI
	MOVQ h+32(FP), CX
	MOVQ CX, R12
	SHLQ $2, R12
	LEAQ (R12)(R12*2), BX
	ADDQ SI, BX // o block
lstmcloop:
	VMOVUPS (SI), Y0
	VMULPS (SI)(R12*2), Y0, Y0 // i·g
	VMOVUPS (SI)(R12*1), Y1
	VMULPS (R8), Y1, Y1        // f·cp
	VADDPS Y1, Y0, Y0          // c
	VMOVUPS Y0, (R9)
	TANH
	VMOVUPS Y0, (R9)(R12*1)
	VMULPS (BX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ lstmcloop
	VZEROUPPER
	RET

// func gruCellAVX2(axn, st, hp, out *float32, h int)
// n = tanh(axn + r·hn); out = n + z·(hp - n); st = [r, z, n, hn].
TEXT ·gruCellAVX2(SB), NOSPLIT, $0-40
	EXPCONSTS
	MOVQ axn+0(FP), DX
	MOVQ st+8(FP), SI
	MOVQ hp+16(FP), R8
	MOVQ out+24(FP), DI
	MOVQ h+32(FP), CX
	MOVQ CX, R12
	SHLQ $2, R12
	LEAQ (R12)(R12*2), BX
	ADDQ SI, BX // hn block
grucloop:
	VMOVUPS (SI), Y0
	VMULPS (BX), Y0, Y0 // r·hn
	VADDPS (DX), Y0, Y0
	TANH                // n
	VMOVUPS Y0, (SI)(R12*2)
	VMOVUPS (R8), Y1
	VSUBPS Y0, Y1, Y1   // hp - n
	VMULPS (SI)(R12*1), Y1, Y1
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ grucloop
	VZEROUPPER
	RET

// func axpyAVX2(dst, x *float32, n int, a float32): dst += a·x (no FMA, as Go)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y15
axpyloop:
	VMULPS (SI), Y15, Y0
	VADDPS (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ axpyloop
	VZEROUPPER
	RET

// ONE puts 1.0 in all lanes of Y15.
#define ONE \
	MOVL $0x3f800000, AX \
	VMOVD AX, X15 \
	VBROADCASTSS X15, Y15

// func sigmoidBackAVX2(dy, y *float32, n int): dy *= y(1-y)
TEXT ·sigmoidBackAVX2(SB), NOSPLIT, $0-24
	MOVQ dy+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ n+16(FP), CX
	ONE
sigbloop:
	VMOVUPS (SI), Y0
	VSUBPS Y0, Y15, Y1
	VMULPS Y1, Y0, Y0
	VMULPS (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ sigbloop
	VZEROUPPER
	RET

// func tanhBackAVX2(dy, y *float32, n int): dy *= 1 - y²
TEXT ·tanhBackAVX2(SB), NOSPLIT, $0-24
	MOVQ dy+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ n+16(FP), CX
	ONE
tanhbloop:
	VMOVUPS (SI), Y0
	VMULPS Y0, Y0, Y0
	VSUBPS Y0, Y15, Y0
	VMULPS (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ tanhbloop
	VZEROUPPER
	RET

// func reluBackAVX2(dy, y *float32, n int): dy = 0 where y ≤ 0
TEXT ·reluBackAVX2(SB), NOSPLIT, $0-24
	MOVQ dy+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y15, Y15, Y15
relubloop:
	VMOVUPS (SI), Y0
	VCMPPS $0x1e, Y15, Y0, Y0 // y > 0 (ordered): all ones, else zero
	VANDPS (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ relubloop
	VZEROUPPER
	RET

// func seluBackAVX2(dy, y *float32, n int): dy *= y > 0 ? scale : y + scale·alpha
TEXT ·seluBackAVX2(SB), NOSPLIT, $0-24
	MOVQ dy+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS seluc<>+0(SB), Y14 // scale·alpha
	VBROADCASTSS seluc<>+4(SB), Y13 // scale
	VXORPS Y15, Y15, Y15
selubloop:
	VMOVUPS (SI), Y0
	VCMPPS $0x1e, Y15, Y0, Y1 // y > 0
	VADDPS Y14, Y0, Y2        // y + scale·alpha
	VBLENDVPS Y1, Y13, Y2, Y2 // y > 0 ? scale : y + scale·alpha
	VMULPS (DI), Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ selubloop
	VZEROUPPER
	RET

// Vector constants for the memory-operand kernels below: 8 lanes each.
DATA vc<>+0(SB)/4, $0x42b00000 // 88.0
DATA vc<>+4(SB)/4, $0x42b00000
DATA vc<>+8(SB)/4, $0x42b00000
DATA vc<>+12(SB)/4, $0x42b00000
DATA vc<>+16(SB)/4, $0x42b00000
DATA vc<>+20(SB)/4, $0x42b00000
DATA vc<>+24(SB)/4, $0x42b00000
DATA vc<>+28(SB)/4, $0x42b00000
DATA vc<>+32(SB)/4, $0xc2aeac4f // -87.33654
DATA vc<>+36(SB)/4, $0xc2aeac4f
DATA vc<>+40(SB)/4, $0xc2aeac4f
DATA vc<>+44(SB)/4, $0xc2aeac4f
DATA vc<>+48(SB)/4, $0xc2aeac4f
DATA vc<>+52(SB)/4, $0xc2aeac4f
DATA vc<>+56(SB)/4, $0xc2aeac4f
DATA vc<>+60(SB)/4, $0xc2aeac4f
DATA vc<>+64(SB)/4, $0x3fb8aa3b // log2(e)
DATA vc<>+68(SB)/4, $0x3fb8aa3b
DATA vc<>+72(SB)/4, $0x3fb8aa3b
DATA vc<>+76(SB)/4, $0x3fb8aa3b
DATA vc<>+80(SB)/4, $0x3fb8aa3b
DATA vc<>+84(SB)/4, $0x3fb8aa3b
DATA vc<>+88(SB)/4, $0x3fb8aa3b
DATA vc<>+92(SB)/4, $0x3fb8aa3b
DATA vc<>+96(SB)/4, $0x3f318000 // ln2 hi
DATA vc<>+100(SB)/4, $0x3f318000
DATA vc<>+104(SB)/4, $0x3f318000
DATA vc<>+108(SB)/4, $0x3f318000
DATA vc<>+112(SB)/4, $0x3f318000
DATA vc<>+116(SB)/4, $0x3f318000
DATA vc<>+120(SB)/4, $0x3f318000
DATA vc<>+124(SB)/4, $0x3f318000
DATA vc<>+128(SB)/4, $0xb95e8083 // ln2 lo
DATA vc<>+132(SB)/4, $0xb95e8083
DATA vc<>+136(SB)/4, $0xb95e8083
DATA vc<>+140(SB)/4, $0xb95e8083
DATA vc<>+144(SB)/4, $0xb95e8083
DATA vc<>+148(SB)/4, $0xb95e8083
DATA vc<>+152(SB)/4, $0xb95e8083
DATA vc<>+156(SB)/4, $0xb95e8083
DATA vc<>+160(SB)/4, $0x39506967 // p0
DATA vc<>+164(SB)/4, $0x39506967
DATA vc<>+168(SB)/4, $0x39506967
DATA vc<>+172(SB)/4, $0x39506967
DATA vc<>+176(SB)/4, $0x39506967
DATA vc<>+180(SB)/4, $0x39506967
DATA vc<>+184(SB)/4, $0x39506967
DATA vc<>+188(SB)/4, $0x39506967
DATA vc<>+192(SB)/4, $0x3ab743ce // p1
DATA vc<>+196(SB)/4, $0x3ab743ce
DATA vc<>+200(SB)/4, $0x3ab743ce
DATA vc<>+204(SB)/4, $0x3ab743ce
DATA vc<>+208(SB)/4, $0x3ab743ce
DATA vc<>+212(SB)/4, $0x3ab743ce
DATA vc<>+216(SB)/4, $0x3ab743ce
DATA vc<>+220(SB)/4, $0x3ab743ce
DATA vc<>+224(SB)/4, $0x3c088908 // p2
DATA vc<>+228(SB)/4, $0x3c088908
DATA vc<>+232(SB)/4, $0x3c088908
DATA vc<>+236(SB)/4, $0x3c088908
DATA vc<>+240(SB)/4, $0x3c088908
DATA vc<>+244(SB)/4, $0x3c088908
DATA vc<>+248(SB)/4, $0x3c088908
DATA vc<>+252(SB)/4, $0x3c088908
DATA vc<>+256(SB)/4, $0x3d2aa9c1 // p3
DATA vc<>+260(SB)/4, $0x3d2aa9c1
DATA vc<>+264(SB)/4, $0x3d2aa9c1
DATA vc<>+268(SB)/4, $0x3d2aa9c1
DATA vc<>+272(SB)/4, $0x3d2aa9c1
DATA vc<>+276(SB)/4, $0x3d2aa9c1
DATA vc<>+280(SB)/4, $0x3d2aa9c1
DATA vc<>+284(SB)/4, $0x3d2aa9c1
DATA vc<>+288(SB)/4, $0x3e2aaaaa // p4
DATA vc<>+292(SB)/4, $0x3e2aaaaa
DATA vc<>+296(SB)/4, $0x3e2aaaaa
DATA vc<>+300(SB)/4, $0x3e2aaaaa
DATA vc<>+304(SB)/4, $0x3e2aaaaa
DATA vc<>+308(SB)/4, $0x3e2aaaaa
DATA vc<>+312(SB)/4, $0x3e2aaaaa
DATA vc<>+316(SB)/4, $0x3e2aaaaa
DATA vc<>+320(SB)/4, $0x3f000000 // p5
DATA vc<>+324(SB)/4, $0x3f000000
DATA vc<>+328(SB)/4, $0x3f000000
DATA vc<>+332(SB)/4, $0x3f000000
DATA vc<>+336(SB)/4, $0x3f000000
DATA vc<>+340(SB)/4, $0x3f000000
DATA vc<>+344(SB)/4, $0x3f000000
DATA vc<>+348(SB)/4, $0x3f000000
DATA vc<>+352(SB)/4, $0x3f800000 // 1.0
DATA vc<>+356(SB)/4, $0x3f800000
DATA vc<>+360(SB)/4, $0x3f800000
DATA vc<>+364(SB)/4, $0x3f800000
DATA vc<>+368(SB)/4, $0x3f800000
DATA vc<>+372(SB)/4, $0x3f800000
DATA vc<>+376(SB)/4, $0x3f800000
DATA vc<>+380(SB)/4, $0x3f800000
DATA vc<>+384(SB)/4, $0x0000007f // exponent bias 127 (int32)
DATA vc<>+388(SB)/4, $0x0000007f
DATA vc<>+392(SB)/4, $0x0000007f
DATA vc<>+396(SB)/4, $0x0000007f
DATA vc<>+400(SB)/4, $0x0000007f
DATA vc<>+404(SB)/4, $0x0000007f
DATA vc<>+408(SB)/4, $0x0000007f
DATA vc<>+412(SB)/4, $0x0000007f
DATA vc<>+416(SB)/4, $0x40000000 // 2.0
DATA vc<>+420(SB)/4, $0x40000000
DATA vc<>+424(SB)/4, $0x40000000
DATA vc<>+428(SB)/4, $0x40000000
DATA vc<>+432(SB)/4, $0x40000000
DATA vc<>+436(SB)/4, $0x40000000
DATA vc<>+440(SB)/4, $0x40000000
DATA vc<>+444(SB)/4, $0x40000000
DATA vc<>+448(SB)/4, $0x7fffffff // abs mask
DATA vc<>+452(SB)/4, $0x7fffffff
DATA vc<>+456(SB)/4, $0x7fffffff
DATA vc<>+460(SB)/4, $0x7fffffff
DATA vc<>+464(SB)/4, $0x7fffffff
DATA vc<>+468(SB)/4, $0x7fffffff
DATA vc<>+472(SB)/4, $0x7fffffff
DATA vc<>+476(SB)/4, $0x7fffffff
DATA vc<>+480(SB)/4, $0x3d888889 // 1/15
DATA vc<>+484(SB)/4, $0x3d888889
DATA vc<>+488(SB)/4, $0x3d888889
DATA vc<>+492(SB)/4, $0x3d888889
DATA vc<>+496(SB)/4, $0x3d888889
DATA vc<>+500(SB)/4, $0x3d888889
DATA vc<>+504(SB)/4, $0x3d888889
DATA vc<>+508(SB)/4, $0x3d888889
DATA vc<>+512(SB)/4, $0x3d9d89d9 // 1/13
DATA vc<>+516(SB)/4, $0x3d9d89d9
DATA vc<>+520(SB)/4, $0x3d9d89d9
DATA vc<>+524(SB)/4, $0x3d9d89d9
DATA vc<>+528(SB)/4, $0x3d9d89d9
DATA vc<>+532(SB)/4, $0x3d9d89d9
DATA vc<>+536(SB)/4, $0x3d9d89d9
DATA vc<>+540(SB)/4, $0x3d9d89d9
DATA vc<>+544(SB)/4, $0x3dba2e8c // 1/11
DATA vc<>+548(SB)/4, $0x3dba2e8c
DATA vc<>+552(SB)/4, $0x3dba2e8c
DATA vc<>+556(SB)/4, $0x3dba2e8c
DATA vc<>+560(SB)/4, $0x3dba2e8c
DATA vc<>+564(SB)/4, $0x3dba2e8c
DATA vc<>+568(SB)/4, $0x3dba2e8c
DATA vc<>+572(SB)/4, $0x3dba2e8c
DATA vc<>+576(SB)/4, $0x3de38e39 // 1/9
DATA vc<>+580(SB)/4, $0x3de38e39
DATA vc<>+584(SB)/4, $0x3de38e39
DATA vc<>+588(SB)/4, $0x3de38e39
DATA vc<>+592(SB)/4, $0x3de38e39
DATA vc<>+596(SB)/4, $0x3de38e39
DATA vc<>+600(SB)/4, $0x3de38e39
DATA vc<>+604(SB)/4, $0x3de38e39
DATA vc<>+608(SB)/4, $0x3e124925 // 1/7
DATA vc<>+612(SB)/4, $0x3e124925
DATA vc<>+616(SB)/4, $0x3e124925
DATA vc<>+620(SB)/4, $0x3e124925
DATA vc<>+624(SB)/4, $0x3e124925
DATA vc<>+628(SB)/4, $0x3e124925
DATA vc<>+632(SB)/4, $0x3e124925
DATA vc<>+636(SB)/4, $0x3e124925
DATA vc<>+640(SB)/4, $0x3e4ccccd // 1/5
DATA vc<>+644(SB)/4, $0x3e4ccccd
DATA vc<>+648(SB)/4, $0x3e4ccccd
DATA vc<>+652(SB)/4, $0x3e4ccccd
DATA vc<>+656(SB)/4, $0x3e4ccccd
DATA vc<>+660(SB)/4, $0x3e4ccccd
DATA vc<>+664(SB)/4, $0x3e4ccccd
DATA vc<>+668(SB)/4, $0x3e4ccccd
DATA vc<>+672(SB)/4, $0x3eaaaaab // 1/3
DATA vc<>+676(SB)/4, $0x3eaaaaab
DATA vc<>+680(SB)/4, $0x3eaaaaab
DATA vc<>+684(SB)/4, $0x3eaaaaab
DATA vc<>+688(SB)/4, $0x3eaaaaab
DATA vc<>+692(SB)/4, $0x3eaaaaab
DATA vc<>+696(SB)/4, $0x3eaaaaab
DATA vc<>+700(SB)/4, $0x3eaaaaab
GLOBL vc<>(SB), RODATA|NOPTR, $704

// EXPM replaces Y0 by e^Y0 like EXP, with its constants in memory so that
// Y3-Y15 stay free for the caller; uses Y1, Y2.
#define EXPM \
	VMINPS vc<>+0(SB), Y0, Y0 \
	VMAXPS vc<>+32(SB), Y0, Y0 \
	VMULPS vc<>+64(SB), Y0, Y1 \
	VCVTPS2DQ Y1, Y2 \
	VCVTDQ2PS Y2, Y1 \
	VFNMADD231PS vc<>+96(SB), Y1, Y0 \
	VFNMADD231PS vc<>+128(SB), Y1, Y0 \
	VMOVUPS vc<>+160(SB), Y1 \
	VFMADD213PS vc<>+192(SB), Y0, Y1 \
	VFMADD213PS vc<>+224(SB), Y0, Y1 \
	VFMADD213PS vc<>+256(SB), Y0, Y1 \
	VFMADD213PS vc<>+288(SB), Y0, Y1 \
	VFMADD213PS vc<>+320(SB), Y0, Y1 \
	VMULPS Y0, Y1, Y1 \
	VFMADD213PS Y0, Y0, Y1 \
	VADDPS vc<>+352(SB), Y1, Y1 \
	VPADDD vc<>+384(SB), Y2, Y2 \
	VPSLLD $23, Y2, Y2 \
	VMULPS Y2, Y1, Y0

// func bceAVX2(grad, x, t *float32, n int, inv float32) float64
// Per lane: loss = max(x,0) - x·t + log1p(e^-|x|), summed in float64;
// grad = (σ(x) - t)·inv. log1p(e) = 2·atanh(e/(2+e)) as an odd series,
// exact to float32 for every e in (0, 1].
TEXT ·bceAVX2(SB), NOSPLIT, $0-48
	MOVQ grad+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ t+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS inv+32(FP), Y14
	VXORPS Y15, Y15, Y15
	VXORPD Y11, Y11, Y11
	VXORPD Y12, Y12, Y12
bceloop:
	VMOVUPS (SI), Y8           // x
	VMOVUPS (DX), Y9           // t
	VANDPS vc<>+448(SB), Y8, Y10 // |x|
	VSUBPS Y10, Y15, Y0        // -|x|
	EXPM                       // e = e^-|x|
	VADDPS vc<>+416(SB), Y0, Y1 // 2 + e
	VDIVPS Y1, Y0, Y1          // s = e/(2+e)
	VMULPS Y1, Y1, Y2          // z = s²
	VMOVUPS vc<>+480(SB), Y3   // 1/15
	VFMADD213PS vc<>+512(SB), Y2, Y3
	VFMADD213PS vc<>+544(SB), Y2, Y3
	VFMADD213PS vc<>+576(SB), Y2, Y3
	VFMADD213PS vc<>+608(SB), Y2, Y3
	VFMADD213PS vc<>+640(SB), Y2, Y3
	VFMADD213PS vc<>+672(SB), Y2, Y3
	VFMADD213PS vc<>+352(SB), Y2, Y3 // ... + 1
	VMULPS Y1, Y3, Y3
	VADDPS Y3, Y3, Y3          // log1p(e)
	VMAXPS Y15, Y8, Y4         // max(x, 0)
	VMULPS Y9, Y8, Y5          // x·t
	VSUBPS Y5, Y4, Y4
	VADDPS Y3, Y4, Y4          // loss per lane
	VCVTPS2PD X4, Y6
	VADDPD Y6, Y11, Y11
	VEXTRACTF128 $1, Y4, X7
	VCVTPS2PD X7, Y7
	VADDPD Y7, Y12, Y12
	VADDPS vc<>+352(SB), Y0, Y6 // 1 + e
	VCMPPS $0x1d, Y15, Y8, Y7  // x >= 0
	VBLENDVPS Y7, vc<>+352(SB), Y0, Y13 // x >= 0 ? 1 : e
	VDIVPS Y6, Y13, Y13        // σ(x)
	VSUBPS Y9, Y13, Y13
	VMULPS Y14, Y13, Y13
	VMOVUPS Y13, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ bceloop
	VADDPD Y12, Y11, Y11
	VEXTRACTF128 $1, Y11, X12
	VADDPD X12, X11, X11
	VHADDPD X11, X11, X11
	VZEROUPPER
	MOVSD X11, ret+40(FP)
	RET
