// Package sgemm is a float32 matrix product with an AVX-512 kernel, for
// CPUs whose BLAS has no AVX-512 kernels of its own: OpenBLAS 0.3.21 runs
// its Haswell (AVX2) kernels on AMD Zen 4/5, which leaves half of their
// 512-bit FMA throughput unused. nn decides at run time whether to use it.
//
// The kernel broadcasts each value of A straight from memory into the FMA,
// so A is read in place whether or not it is transposed, and B is read in
// place when it is not (rows of 32 contiguous values); only the ragged
// edges (rows past a multiple of 12, columns past a multiple of 32) go
// through small zero-padded copies on the stack. Products with a
// transposed B are left to the BLAS.
package sgemm

import "sync"

const (
	mr, nr = 12, 32 // the kernel's tile of C
	kcMax  = 256    // inner dimension per pass: a 12×kc panel of A stays in L1
)

// Available reports whether the AVX-512 kernel runs on this CPU.
func Available() bool { return hasKernel }

// minSplit is the least work (multiply-adds) per goroutine worth starting
// one for: a goroutine costs about a microsecond, the kernel does some
// 100,000 multiply-adds in that time.
const minSplit = 1 << 20

// Gemm computes c = op(a)·b + beta·c for row-major matrices (c m×n, inner
// dimension k); op(a) is aᵀ when ta (a stored k×m). With threads > 1 a
// large product is split by columns over that many goroutines. Call it
// only when Available.
func Gemm(threads int, ta bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	parts := min(threads, m*n*k/minSplit, (n+nr-1)/nr)
	if parts < 2 || !pool.TryLock() { // busy: another product is using the helpers
		gemm(ta, m, n, k, a, lda, b, ldb, beta, c, ldc)
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
		if i == parts-1 {
			gemm(ta, m, j1-j0, k, a, lda, b[j0:], ldb, beta, c[j0:], ldc)
			break
		}
		pool.helpers[i].jobs <- job{ta, m, j1 - j0, k, a, lda, b[j0:], ldb, beta, c[j0:], ldc}
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

type job struct {
	ta      bool
	m, n, k int
	a       []float32
	lda     int
	b       []float32
	ldb     int
	beta    float32
	c       []float32
	ldc     int
}

func (h helper) run() {
	for j := range h.jobs {
		gemm(j.ta, j.m, j.n, j.k, j.a, j.lda, j.b, j.ldb, j.beta, j.c, j.ldc)
		h.done <- struct{}{}
	}
}

// gemm is Gemm on one goroutine.
func gemm(ta bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
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
		aEdge [mr * kcMax]float32 // the last m%12 rows of op(a), p-major, zero-padded
		bEdge [kcMax * nr]float32 // the last n%32 columns of b, zero-padded
		tile  [mr * nr]float32    // an edge tile of c
	)
	mFull, nFull := m-m%mr, n-n%nr
	passes := (k + kcMax - 1) / kcMax
	kc := (k + passes - 1) / passes
	for k0 := 0; k0 < k; k0 += kc {
		kb := min(kc, k-k0)
		if mFull < m {
			clear(aEdge[:mr*kb])
			for r := mFull; r < m; r++ {
				for p := range kb {
					aEdge[p*mr+r-mFull] = a[r*rs+(k0+p)*ps]
				}
			}
		}
		if nFull < n {
			clear(bEdge[:kb*nr])
			for p := range kb {
				copy(bEdge[p*nr:p*nr+n-nFull], b[(k0+p)*ldb+nFull:(k0+p)*ldb+n])
			}
		}
		for i0 := 0; i0 < m; i0 += mr {
			ap, ars, aps := &a[0], rs, ps
			if i0 < mFull {
				ap = &a[i0*rs+k0*ps]
			} else {
				ap, ars, aps = &aEdge[0], 1, mr
			}
			for j0 := 0; j0 < n; j0 += nr {
				bp, bld := &bEdge[0], nr
				if j0 < nFull {
					bp, bld = &b[k0*ldb+j0], ldb
				}
				if i0 < mFull && j0 < nFull {
					kern12x32(kb, ap, ars, aps, bp, bld, &c[i0*ldc+j0], ldc)
					continue
				}
				tile = [mr * nr]float32{}
				kern12x32(kb, ap, ars, aps, bp, bld, &tile[0], nr)
				for r := range min(mr, m-i0) {
					crow := c[(i0+r)*ldc+j0 : (i0+r)*ldc+min(j0+nr, n)]
					for j := range crow {
						crow[j] += tile[r*nr+j]
					}
				}
			}
		}
	}
}
