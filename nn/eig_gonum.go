//go:build !openblas

package nn

import "gonum.org/v1/gonum/mat"

// symEig returns the eigenvalues of the n×n symmetric matrix a (ascending)
// and its eigenvectors as the columns of a column-major n×n matrix. a is
// overwritten.
func symEig(a []float64, n int) (vals, vecs []float64, ok bool) {
	var eig mat.EigenSym
	if !eig.Factorize(mat.NewSymDense(n, a), true) {
		return nil, nil, false
	}
	var v mat.Dense
	eig.VectorsTo(&v)
	vecs = make([]float64, n*n)
	mat.NewDense(n, n, vecs).Copy(v.T()) // Vᵀ row-major is V column-major
	return eig.Values(nil), vecs, true
}
