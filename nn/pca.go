package nn

import (
	"errors"
	"fmt"
)

// PCA is a fitted principal component analysis: the baseline every linear
// autoencoder should reach at the same code size.
type PCA struct {
	Cols       int
	K          int
	Mean       []float32 // per-feature mean
	Components []float32 // Cols×K, orthonormal columns, by decreasing variance
	Variances  []float64 // all Cols eigenvalues of the covariance (1/n), decreasing
}

// pcaChunk rows are multiplied in float32 (fast BLAS) and accumulated in
// float64, so large datasets keep an accurate covariance.
const pcaChunk = 512

// FitPCA fits a rank-k PCA to data, a row-major rows×cols matrix.
func FitPCA(data []float32, rows, cols, k int) (*PCA, error) {
	if rows < 1 || cols < 1 || len(data) != rows*cols {
		return nil, fmt.Errorf("pca: %d values for %dx%d data", len(data), rows, cols)
	}
	return FitPCARows(rows, cols, k, func(dst []float32, from int) { copy(dst, data[from*cols:]) })
}

// FitPCARows is [FitPCA] for data that is not held as one matrix (e.g. a
// uint8 dataset): read fills dst with the len(dst)/cols rows starting at
// row from. It is called twice for every chunk of rows, so only a chunk is
// ever held as float32.
func FitPCARows(rows, cols, k int, read func(dst []float32, from int)) (*PCA, error) {
	if rows < 1 || cols < 1 {
		return nil, fmt.Errorf("pca: %dx%d data", rows, cols)
	}
	if k < 0 || k > cols {
		return nil, fmt.Errorf("pca: rank %d outside [0, %d]", k, cols)
	}
	chunk := make([]float32, pcaChunk*cols)
	mean64 := make([]float64, cols)
	for r0 := 0; r0 < rows; r0 += pcaChunk {
		c := chunk[:min(pcaChunk, rows-r0)*cols]
		read(c, r0)
		for i := 0; i < len(c); i += cols {
			for j, v := range c[i : i+cols] {
				mean64[j] += float64(v)
			}
		}
	}
	mean := make([]float32, cols)
	for j := range mean64 {
		mean[j] = float32(mean64[j] / float64(rows))
	}
	cov := make([]float64, cols*cols)
	part := make([]float32, cols*cols)
	for r0 := 0; r0 < rows; r0 += pcaChunk {
		n := min(pcaChunk, rows-r0)
		c := chunk[:n*cols]
		read(c, r0)
		for i := range n {
			row := c[i*cols : (i+1)*cols]
			for j := range row {
				row[j] -= mean[j]
			}
		}
		gemm(true, false, cols, cols, n, 1, c, cols, c, cols, 0, part, cols)
		for i, v := range part {
			cov[i] += float64(v)
		}
	}
	for i := range cov {
		cov[i] /= float64(rows)
	}
	vals, vecs, ok := symEig(cov, cols) // ascending; vectors column-major
	if !ok {
		return nil, errors.New("pca: eigendecomposition did not converge")
	}
	p := &PCA{Cols: cols, K: k, Mean: mean, Components: make([]float32, cols*k), Variances: make([]float64, cols)}
	for i := range cols {
		p.Variances[i] = max(vals[cols-1-i], 0) // round-off can make tiny ones negative
	}
	for c := range k {
		src := cols - 1 - c
		for j := range cols {
			p.Components[j*k+c] = float32(vecs[src*cols+j])
		}
	}
	return p, nil
}

// TrainMSE is the reconstruction MSE per element on the fitted data itself:
// the variance left in the discarded directions.
func (p *PCA) TrainMSE() float64 {
	var s float64
	for _, v := range p.Variances[p.K:] {
		s += v
	}
	return s / float64(p.Cols)
}

// MSE is the reconstruction MSE per element of data (rows×Cols) projected on
// the fitted components: mean ‖(x-μ) - PPᵀ(x-μ)‖² / Cols.
func (p *PCA) MSE(data []float32, rows int) float64 {
	cols, k := p.Cols, p.K
	if len(data) != rows*cols {
		panic(fmt.Sprintf("nn: PCA.MSE: %d values for %dx%d", len(data), rows, cols))
	}
	if rows == 0 {
		return 0
	}
	c := make([]float32, pcaChunk*cols)
	code := make([]float32, pcaChunk*max(k, 1))
	var s float64
	for r0 := 0; r0 < rows; r0 += pcaChunk {
		n := min(pcaChunk, rows-r0)
		x := c[:n*cols]
		for i := range n {
			for j, v := range data[(r0+i)*cols : (r0+i+1)*cols] {
				x[i*cols+j] = v - p.Mean[j]
			}
		}
		if k > 0 {
			gemm(false, false, n, k, cols, 1, x, cols, p.Components, k, 0, code, k)
			gemm(false, true, n, cols, k, -1, code, k, p.Components, k, 1, x, cols) // residual
		}
		for _, v := range x {
			s += float64(v) * float64(v)
		}
	}
	return s / float64(rows*cols)
}

// PCAError is the reconstruction MSE per element of the best rank-k linear
// projection of data (row-major rows×cols) onto itself.
func PCAError(data []float32, rows, cols, k int) (float64, error) {
	p, err := FitPCA(data, rows, cols, k)
	if err != nil {
		return 0, err
	}
	return p.TrainMSE(), nil
}
