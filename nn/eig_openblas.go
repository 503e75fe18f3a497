//go:build openblas

package nn

/*
#cgo LDFLAGS: -lopenblas
#include <stddef.h>
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n,
	double *a, const int *lda, const double *vl, const double *vu, const int *il,
	const int *iu, const double *abstol, int *m, double *w, double *z, const int *ldz,
	int *isuppz, double *work, const int *lwork, int *iwork, const int *liwork, int *info,
	size_t, size_t, size_t);
*/
import "C"

// symEig returns the eigenvalues of the n×n symmetric matrix a (ascending)
// and its eigenvectors as the columns of a column-major n×n matrix, through
// LAPACK's dsyevr (relatively robust representations) in OpenBLAS: about
// ten times faster than gonum's QR iteration for PCA's 784×784. a is
// overwritten.
func symEig(a []float64, n int) (vals, vecs []float64, ok bool) {
	if n == 0 {
		return nil, nil, true
	}
	vals, vecs = make([]float64, n), make([]float64, n*n)
	isuppz := make([]C.int, 2*n)
	cn, zero, izero := C.int(n), C.double(0), C.int(0)
	var m, info C.int
	jobz, rng, uplo := C.char('V'), C.char('A'), C.char('U')
	call := func(work []float64, lwork C.int, iwork []C.int, liwork C.int) {
		C.dsyevr_(&jobz, &rng, &uplo, &cn, (*C.double)(&a[0]), &cn, &zero, &zero, &izero, &izero,
			&zero, &m, (*C.double)(&vals[0]), (*C.double)(&vecs[0]), &cn, &isuppz[0],
			(*C.double)(&work[0]), &lwork, &iwork[0], &liwork, &info, 1, 1, 1)
	}
	wq, iq := []float64{0}, []C.int{0}
	call(wq, -1, iq, -1) // workspace query
	if info != 0 {
		return nil, nil, false
	}
	work, iwork := make([]float64, int(wq[0])), make([]C.int, int(iq[0]))
	call(work, C.int(len(work)), iwork, C.int(len(iwork)))
	return vals, vecs, info == 0 && int(m) == n
}
