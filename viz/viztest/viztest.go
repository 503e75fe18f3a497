// Package viztest builds realistic artifacts for tests of viz and of the
// commands that draw pictures: real MNIST test images when the module cache
// holds them (synthetic strokes otherwise), plausible reconstructions,
// samples, 2-D latent codes and sequences, all encoded as real safetensors
// bytes with nn's writer, exactly as the variant plugins store them.
package viztest

import (
	"bytes"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/variant"
)

// Side is the height and width of a test image.
const Side = 28

// Images returns the first n MNIST test images (n×784 values in [0, 1]) and
// their labels. real reports whether they are MNIST; without the module
// cache they are synthetic strokes labelled i%10.
func Images(n int) (pix []float32, labels []int, real bool) {
	mnistOnce.Do(loadMNIST)
	if len(mnistLabels) >= n {
		pix = make([]float32, n*Side*Side)
		for i := range pix {
			pix[i] = float32(mnistPix[i]) / 255
		}
		labels = make([]int, n)
		for i := range labels {
			labels[i] = int(mnistLabels[i])
		}
		return pix, labels, true
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pix = make([]float32, n*Side*Side)
	labels = make([]int, n)
	for i := 0; i < n; i++ {
		labels[i] = i % 10
		img := pix[i*Side*Side : (i+1)*Side*Side]
		// A thick ring or bar, depending on the label.
		cx, cy := 14+rng.Float64()*2-1, 14+rng.Float64()*2-1
		for y := 0; y < Side; y++ {
			for x := 0; x < Side; x++ {
				dx, dy := float64(x)-cx, float64(y)-cy
				var d float64
				if labels[i]%2 == 0 {
					d = math.Abs(math.Hypot(dx, dy*0.8) - 7)
				} else {
					d = math.Abs(dx + dy*0.2*float64(labels[i]-5))
					if math.Abs(dy) > 9 {
						d = 9
					}
				}
				img[y*Side+x] = float32(math.Max(0, 1-d/2.5))
			}
		}
	}
	return pix, labels, false
}

var (
	mnistOnce   sync.Once
	mnistPix    []uint8
	mnistLabels []uint8
)

// loadMNIST reads the MNIST test set once per test process, if it is there.
func loadMNIST() {
	dir, err := dataset.MNISTDir()
	if err != nil {
		return
	}
	im, err1 := dataset.ReadIDXFile(filepath.Join(dir, dataset.MNISTTestImages))
	lb, err2 := dataset.ReadIDXFile(filepath.Join(dir, dataset.MNISTTestLabels))
	if err1 == nil && err2 == nil && len(im.U8) == len(lb.U8)*Side*Side {
		mnistPix, mnistLabels = im.U8, lb.U8
	}
}

// Blur is a plausible reconstruction of n h×w images: a 3×3 box blur,
// slightly dimmed, as an undertrained autoencoder would give.
func Blur(pix []float32, n, h, w int) []float32 {
	out := make([]float32, len(pix))
	for i := 0; i < n; i++ {
		src, dst := pix[i*h*w:(i+1)*h*w], out[i*h*w:(i+1)*h*w]
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var s float32
				var c float32
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						yy, xx := y+dy, x+dx
						if yy >= 0 && yy < h && xx >= 0 && xx < w {
							s += src[yy*w+xx]
							c++
						}
					}
				}
				dst[y*w+x] = 0.9 * s / c
			}
		}
	}
	return out
}

// Safetensors encodes entries with nn's writer.
func Safetensors(tb testing.TB, meta map[string]string, entries ...nn.Entry) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := nn.WriteSafetensors(&b, entries, meta); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// Reconstruction is a reconstruction artifact of the first n test images
// (input) and their blurred copies (output), shape "28,28".
func Reconstruction(tb testing.TB, n, epoch int) (a variant.Artifact, in, out []float32) {
	tb.Helper()
	in, _, _ = Images(n)
	out = Blur(in, n, Side, Side)
	data := Safetensors(tb, nil,
		nn.Entry{Name: "input", Shape: []int{n, Side * Side}, Data: in},
		nn.Entry{Name: "output", Shape: []int{n, Side * Side}, Data: out})
	return variant.Artifact{Kind: variant.KindReconstruction, Name: "reconstruction.safetensors", Epoch: epoch,
		Format: "safetensors", Data: data, Meta: map[string]string{"shape": "28,28"}}, in, out
}

// Sample is a sample artifact of n images: blurred test images shifted by
// a seeded offset, standing in for decoded draws from N(0, I).
func Sample(tb testing.TB, n int, seed uint64) (variant.Artifact, []float32) {
	tb.Helper()
	pix, _, _ := Images(n + int(seed%7))
	pix = Blur(pix[int(seed%7)*Side*Side:], n, Side, Side)
	data := Safetensors(tb, nil, nn.Entry{Name: "sample", Shape: []int{n, Side * Side}, Data: pix})
	return variant.Artifact{Kind: variant.KindSample, Name: "sample.safetensors", Format: "safetensors",
		Data: data, Meta: map[string]string{"shape": "28,28"}}, pix
}

// Latent is a latent artifact: n 2-D codes clustered by digit label, as a
// trained 2-D VAE gives.
func Latent(tb testing.TB, n int) variant.Artifact {
	tb.Helper()
	_, labels, _ := Images(n)
	rng := rand.New(rand.NewPCG(3, 4))
	code := make([]float32, 2*n)
	lab := make([]float32, n)
	for i, l := range labels {
		ang := 2 * math.Pi * float64(l) / 10
		code[2*i] = float32(2*math.Cos(ang) + 0.45*rng.NormFloat64())
		code[2*i+1] = float32(2*math.Sin(ang) + 0.45*rng.NormFloat64())
		lab[i] = float32(l)
	}
	data := Safetensors(tb, nil,
		nn.Entry{Name: "code", Shape: []int{n, 2}, Data: code},
		nn.Entry{Name: "label", Shape: []int{n}, Data: lab})
	return variant.Artifact{Kind: variant.KindLatent, Name: "latent.safetensors", Format: "safetensors", Data: data}
}

// Sequences is a reconstruction artifact of n sine-mixture series of t
// steps and one feature (shape "t,1"), with slightly damped reconstructions.
func Sequences(tb testing.TB, n, t int) variant.Artifact {
	tb.Helper()
	in := make([]float32, n*t)
	out := make([]float32, n*t)
	for i := 0; i < n; i++ {
		f1, f2 := 1+float64(i%3), 2.5+float64(i%2)
		for s := 0; s < t; s++ {
			x := float64(s) / float64(t) * 2 * math.Pi
			v := 0.6*math.Sin(f1*x+float64(i)) + 0.3*math.Sin(f2*x)
			in[i*t+s] = float32(v)
			out[i*t+s] = float32(0.85*v + 0.05*math.Sin(7*x))
		}
	}
	data := Safetensors(tb, nil,
		nn.Entry{Name: "input", Shape: []int{n, t, 1}, Data: in},
		nn.Entry{Name: "output", Shape: []int{n, t, 1}, Data: out})
	return variant.Artifact{Kind: variant.KindReconstruction, Name: "reconstruction.safetensors", Format: "safetensors",
		Data: data, Meta: map[string]string{"shape": strconv.Itoa(t) + ",1"}}
}

// Losses is a plausible per-epoch loss curve: decaying from start towards
// end over epochs, validation slightly above training.
func Losses(epochs int, start, end float64) (train, val []float64) {
	for e := 1; e <= epochs; e++ {
		f := math.Exp(-float64(e-1) / 1.5)
		tr := end + (start-end)*f
		train = append(train, tr)
		val = append(val, tr*1.04+0.001)
	}
	return train, val
}
