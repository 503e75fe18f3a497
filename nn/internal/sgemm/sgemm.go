// Package sgemm is a float32 matrix product with an AVX-512 kernel, for
// CPUs whose BLAS has no AVX-512 kernels of its own: OpenBLAS 0.3.21 runs
// its Haswell (AVX2) kernels on AMD Zen 4/5, which leaves half of their
// 512-bit FMA throughput unused. nn decides at run time whether to use it.
//
// The kernel broadcasts each value of A straight from memory into the FMA,
// so A is read in place whether or not it is transposed, and B is read in
// place when it is not (rows of 32 contiguous values). A transposed B is
// gathered 32 columns at a time into a panel on the stack, which then
// serves every row block of C. The ragged edges (rows past a multiple of
// 12, columns past a multiple of 32) go through small zero-padded copies.
package sgemm

import (
	"fmt"
	"sync"
)

const (
	mr, nr = 12, 32 // the kernel's tile of C
	kcMax  = 256    // inner dimension per pass: a 12×kc panel of A stays in L1
)

// Available reports whether the AVX-512 kernel runs on this CPU.
func Available() bool { return hasKernel }

// minSplit is the least work (multiply-adds) per goroutine worth handing
// to a helper: a hand-over costs about a microsecond, in which the kernel
// does some 100,000 multiply-adds.
const minSplit = 1 << 20

// Gemm computes c = op(a)·op(b) + beta·c for row-major matrices (c m×n,
// inner dimension k); op(a) is aᵀ when ta (a stored k×m), op(b) is bᵀ when
// tb (b stored n×k). With threads > 1 a large product is split by columns
// over that many goroutines. Call it only when Available.
func Gemm(threads int, ta, tb bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	checkSizes(ta, tb, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	parts := min(threads, m*n*k/minSplit, (n+nr-1)/nr)
	if parts < 2 || !pool.TryLock() { // busy: another product is using the helpers
		gemm(job{ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc})
		return
	}
	defer pool.Unlock()
	for len(pool.helpers) < parts-1 {
		h := helper{jobs: make(chan job), done: make(chan struct{})}
		go h.run()
		pool.helpers = append(pool.helpers, h)
	}
	panels := (n + nr - 1) / nr
	j0 := 0
	for i := range parts {
		j1 := min(n, (i+1)*panels/parts*nr)
		bj := b[j0:] // columns j0… of op(b)
		if tb {
			bj = b[j0*ldb:]
		}
		part := job{ta, tb, m, j1 - j0, k, a, lda, bj, ldb, beta, c[j0:], ldc}
		if i == parts-1 {
			gemm(part)
			break
		}
		pool.helpers[i].jobs <- part
		j0 = j1
	}
	for _, h := range pool.helpers[:parts-1] {
		<-h.done
	}
}

// pool holds the goroutines that take the other column blocks of a split
// product; they live for the process, so a split allocates nothing.
var pool struct {
	sync.Mutex
	helpers []helper
}

type helper struct {
	jobs chan job
	done chan struct{}
}

func (h helper) run() {
	for j := range h.jobs {
		gemm(j)
		h.done <- struct{}{}
	}
}

// job is one product's arguments.
type job struct {
	ta, tb  bool
	m, n, k int
	a       []float32
	lda     int
	b       []float32
	ldb     int
	beta    float32
	c       []float32
	ldc     int
}

// gemm is Gemm on one goroutine.
func gemm(j job) {
	ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc := j.ta, j.tb, j.m, j.n, j.k, j.a, j.lda, j.b, j.ldb, j.beta, j.c, j.ldc
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
	if k == 0 {
		return
	}
	rs, ps := lda, 1 // a[r·rs + p·ps] is op(a)[r, p]
	if ta {
		rs, ps = 1, lda
	}
	var (
		aEdge [4 * kcMax]float32  // the last m%4 rows of op(a), p-major, zero-padded to 4
		bPan  [kcMax * nr]float32 // 32 columns of op(b), as kc rows of 32
		tile  [mr * nr]float32    // an edge tile of c
	)
	mEdge, nFull := m-m%4, n-n%nr
	passes := (k + kcMax - 1) / kcMax
	kc := (k + passes - 1) / passes
	// block adds op(a)[i0:i0+rows, k0:k0+kb]·(B panel at bp) to c's tile
	// (i0, j0), straight into c when the tile is whole.
	block := func(i0, rows, j0, k0, kb int, bp *float32, bld int) {
		ap, ars, aps := &aEdge[0], 1, 4
		if i0 < mEdge {
			ap, ars, aps = &a[i0*rs+k0*ps], rs, ps
		}
		if i0 < mEdge && j0 < nFull {
			kern(rows, kb, ap, ars, aps, bp, bld, &c[i0*ldc+j0], ldc)
			return
		}
		clear(tile[:rows*nr])
		kern(max(rows, 4), kb, ap, ars, aps, bp, bld, &tile[0], nr)
		for r := range rows {
			crow := c[(i0+r)*ldc+j0 : (i0+r)*ldc+min(j0+nr, n)]
			for j := range crow {
				crow[j] += tile[r*nr+j]
			}
		}
	}
	for k0 := 0; k0 < k; k0 += kc {
		kb := min(kc, k-k0)
		if mEdge < m {
			clear(aEdge[:4*kb])
			for r := mEdge; r < m; r++ {
				for p := range kb {
					aEdge[p*4+r-mEdge] = a[r*rs+(k0+p)*ps]
				}
			}
		}
		if tb { // gather each B panel once, then use it for every row block
			for j0 := 0; j0 < n; j0 += nr {
				if j0 < nFull && gatherable(ldb) {
					packT(&bPan[0], &b[j0*ldb+k0], ldb, kb)
				} else {
					clear(bPan[:kb*nr])
					for jj := range min(nr, n-j0) {
						for p := range kb {
							bPan[p*nr+jj] = b[(j0+jj)*ldb+k0+p]
						}
					}
				}
				for i0, rows := 0, 0; i0 < m; i0 += rows {
					rows = blockRows(m - i0)
					block(i0, rows, j0, k0, kb, &bPan[0], nr)
				}
			}
			continue
		}
		if nFull < n {
			clear(bPan[:kb*nr])
			for p := range kb {
				copy(bPan[p*nr:p*nr+n-nFull], b[(k0+p)*ldb+nFull:(k0+p)*ldb+n])
			}
		}
		for i0, rows := 0, 0; i0 < m; i0 += rows {
			rows = blockRows(m - i0)
			for j0 := 0; j0 < n; j0 += nr {
				if j0 < nFull {
					block(i0, rows, j0, k0, kb, &b[k0*ldb+j0], ldb)
				} else {
					block(i0, rows, j0, k0, kb, &bPan[0], nr)
				}
			}
		}
	}
}

// blockRows is how many of the rest rows of c the next kernel call takes:
// 12, 8 or 4 read in place, then the last m%4 from a zero-padded copy.
func blockRows(rest int) int {
	switch {
	case rest >= 12:
		return 12
	case rest >= 8:
		return 8
	case rest >= 4:
		return 4
	}
	return rest
}

// kern runs the kernel for a block of rows = 12, 8 or 4 rows.
func kern(rows, k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int) {
	switch rows {
	case 12:
		kern12x32(k, a, rs, ps, b, ldb, c, ldc)
	case 8:
		kern8x32(k, a, rs, ps, b, ldb, c, ldc)
	case 4:
		kern4x32(k, a, rs, ps, b, ldb, c, ldc)
	default:
		panic("sgemm: no kernel for this many rows")
	}
}

// checkSizes panics, as gonum's BLAS does, when a matrix is shorter than
// its shape and leading dimension say: the assembly reads and writes
// through pointers, past any slice bounds.
func checkSizes(ta, tb bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	short := func(rows, cols, ld, l int) bool {
		return ld < cols || rows > 0 && cols > 0 && l < (rows-1)*ld+cols
	}
	if short(ar, ac, lda, la) || short(br, bc, ldb, lb) || short(m, n, ldc, lc) {
		panic(fmt.Sprintf("sgemm: short matrix for %dx%dx%d (ta=%v tb=%v): len(a)=%d lda=%d, len(b)=%d ldb=%d, len(c)=%d ldc=%d",
			m, n, k, ta, tb, la, lda, lb, ldb, lc, ldc))
	}
}

// gatherable: packT's 32-bit gather offsets (r·ld·4 bytes, r < 32) fit.
func gatherable(ld int) bool { return ld < 1<<24 }
