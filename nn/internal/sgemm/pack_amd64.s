//go:build !purego

#include "textflag.h"

// func packT(dst, src *float32, ld, k int)
//
// dst[p·32 + r] = src[r·ld + p] for r < 32, p < k: 32 rows of a row-major
// matrix (leading dimension ld) become k rows of 32, as the kernel reads B.
// Two 16-lane gathers per p, their row offsets r·ld in Z30 and Z31.
TEXT ·packT(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), DX
	MOVQ k+24(FP), CX
	VMOVDQU32 rowidx<>+0(SB), Z30
	VPBROADCASTD DX, Z29
	VPMULLD Z29, Z30, Z30 // r·ld, r = 0..15
	MOVQ DX, AX
	SHLQ $4, AX           // 16·ld
	VPBROADCASTD AX, Z28
	VPADDD Z28, Z30, Z31  // r·ld, r = 16..31
packloop:
	KXNORW K1, K1, K1
	KXNORW K2, K2, K2
	VGATHERDPS (SI)(Z30*4), K1, Z0
	VGATHERDPS (SI)(Z31*4), K2, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $4, SI
	ADDQ $128, DI
	DECQ CX
	JNZ packloop
	VZEROUPPER
	RET

DATA rowidx<>+0(SB)/4, $0
DATA rowidx<>+4(SB)/4, $1
DATA rowidx<>+8(SB)/4, $2
DATA rowidx<>+12(SB)/4, $3
DATA rowidx<>+16(SB)/4, $4
DATA rowidx<>+20(SB)/4, $5
DATA rowidx<>+24(SB)/4, $6
DATA rowidx<>+28(SB)/4, $7
DATA rowidx<>+32(SB)/4, $8
DATA rowidx<>+36(SB)/4, $9
DATA rowidx<>+40(SB)/4, $10
DATA rowidx<>+44(SB)/4, $11
DATA rowidx<>+48(SB)/4, $12
DATA rowidx<>+52(SB)/4, $13
DATA rowidx<>+56(SB)/4, $14
DATA rowidx<>+60(SB)/4, $15
GLOBL rowidx<>(SB), RODATA, $64
