package viz

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Grid geometry. Cells are separated by white gaps so that MNIST digits
// (white on black) stand apart; pairs of rows (original over reconstruction)
// are separated by a wider gap.
const (
	gap      = 2 // pixels between cells, unscaled
	blockGap = 6 // extra pixels between original/reconstruction row pairs
	maxCols  = 10
)

// Layout places h×w examples, scaled by Scale, on a grid of Rows×Cols cells.
// When Paired, rows come in pairs (original, reconstruction) with a wider gap
// after each pair. Left is a margin for row labels.
type Layout struct {
	H, W       int
	Scale      int
	Rows, Cols int
	Paired     bool
	Left       int
}

// Origin is the top-left pixel of cell (row, col).
func (l Layout) Origin(row, col int) image.Point {
	x := l.Left + gap + col*(l.W*l.Scale+gap)
	y := gap + row*(l.H*l.Scale+gap)
	if l.Paired {
		y += (row / 2) * blockGap
	}
	return image.Pt(x, y)
}

// Size is the whole image's width and height.
func (l Layout) Size() image.Point {
	end := l.Origin(l.Rows, l.Cols)
	if l.Paired && l.Rows%2 == 0 && l.Rows > 0 {
		end.Y -= blockGap // no gap after the last pair
	}
	return end
}

// ImageShape returns the height and width of one example when the examples
// of t are images: from meta "shape" ("28,28") when present, else from t's
// own dimensions, else a square feature count. ok is false for data that is
// not image-shaped (e.g. a 1-feature sequence).
func ImageShape(t Tensor, meta map[string]string) (h, w int, ok bool) {
	dims := ExampleDims(t, meta)
	feat := 1
	for _, d := range dims {
		feat *= d
	}
	switch {
	case len(dims) == 2 && dims[0] >= 4 && dims[1] >= 4:
		return dims[0], dims[1], true
	case len(dims) == 1:
		s := int(math.Sqrt(float64(feat)))
		if s >= 4 && s*s == feat {
			return s, s, true
		}
	}
	return 0, 0, false
}

// ExampleDims is the shape of one example: meta "shape" if it names as many
// values as an example holds, else t's shape without its first dimension.
func ExampleDims(t Tensor, meta map[string]string) []int {
	n := t.Len()
	per := 0
	if n > 0 {
		per = len(t.Data) / n
	}
	if s, ok := meta["shape"]; ok {
		var dims []int
		prod := 1
		for _, f := range strings.Split(s, ",") {
			d, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || d <= 0 {
				dims = nil
				break
			}
			dims = append(dims, d)
			prod *= d
		}
		if len(dims) > 0 && prod == per {
			return dims
		}
	}
	if len(t.Shape) > 1 {
		return append([]int(nil), t.Shape[1:]...)
	}
	return []int{per}
}

// Pixel maps a value (nominally in [0, 1]) to a gray level, clamping.
func Pixel(v float32) uint8 {
	if !(v > 0) { // also NaN
		return 0
	}
	if v >= 1 {
		return 255
	}
	return uint8(math.Round(float64(v) * 255))
}

// GridOptions tune a grid. Zero values pick defaults.
type GridOptions struct {
	N     int // examples to show; 0: all (at most 100)
	Cols  int // examples per row; 0: min(N, 10)
	Scale int // integer pixel scale; 0: 1
}

func (o GridOptions) resolve(n int) GridOptions {
	if o.N <= 0 || o.N > n {
		o.N = min(n, 100)
	}
	if o.Cols <= 0 {
		o.Cols = min(o.N, maxCols)
	}
	if o.Scale <= 0 {
		o.Scale = 1
	}
	return o
}

// ReconGrid draws the classic autoencoder figure: originals on top, their
// reconstructions directly below, Cols examples per row pair. in and out
// hold the same number of h×w examples.
func ReconGrid(in, out Tensor, h, w int, o GridOptions) (*image.Gray, Layout, error) {
	if err := checkImages(in, h, w); err != nil {
		return nil, Layout{}, fmt.Errorf("originals: %w", err)
	}
	if err := checkImages(out, h, w); err != nil {
		return nil, Layout{}, fmt.Errorf("reconstructions: %w", err)
	}
	if in.Len() != out.Len() {
		return nil, Layout{}, fmt.Errorf("%d originals but %d reconstructions", in.Len(), out.Len())
	}
	o = o.resolve(in.Len())
	blocks := (o.N + o.Cols - 1) / o.Cols
	l := Layout{H: h, W: w, Scale: o.Scale, Rows: 2 * blocks, Cols: o.Cols, Paired: true}
	img := blank(l)
	for i := 0; i < o.N; i++ {
		b, c := i/o.Cols, i%o.Cols
		drawCell(img, l.Origin(2*b, c), in.Row(i), h, w, o.Scale)
		drawCell(img, l.Origin(2*b+1, c), out.Row(i), h, w, o.Scale)
	}
	return img, l, nil
}

// SampleGrid draws N h×w examples, Cols per row.
func SampleGrid(t Tensor, h, w int, o GridOptions) (*image.Gray, Layout, error) {
	if err := checkImages(t, h, w); err != nil {
		return nil, Layout{}, err
	}
	o = o.resolve(t.Len())
	l := Layout{H: h, W: w, Scale: o.Scale, Rows: (o.N + o.Cols - 1) / o.Cols, Cols: o.Cols}
	img := blank(l)
	for i := 0; i < o.N; i++ {
		drawCell(img, l.Origin(i/o.Cols, i%o.Cols), t.Row(i), h, w, o.Scale)
	}
	return img, l, nil
}

// LabeledRows draws one labelled row per tensor, the first N examples of
// each: the side-by-side figure of several runs' reconstructions of the same
// test images (row 0 the originals, then one row per run).
func LabeledRows(rows []Tensor, labels []string, h, w int, o GridOptions) (*image.Gray, Layout, error) {
	if len(rows) == 0 || len(rows) != len(labels) {
		return nil, Layout{}, fmt.Errorf("%d rows but %d labels", len(rows), len(labels))
	}
	n := rows[0].Len()
	for i, t := range rows {
		if err := checkImages(t, h, w); err != nil {
			return nil, Layout{}, fmt.Errorf("row %q: %w", labels[i], err)
		}
		n = min(n, t.Len())
	}
	o = o.resolve(n)
	o.Cols = o.N // one row each
	face := basicfont.Face7x13
	left := 0
	for _, s := range labels {
		left = max(left, font.MeasureString(face, s).Ceil()+8)
	}
	l := Layout{H: h, W: w, Scale: o.Scale, Rows: len(rows), Cols: o.Cols, Left: left}
	img := blank(l)
	for r, t := range rows {
		for c := 0; c < o.N; c++ {
			drawCell(img, l.Origin(r, c), t.Row(c), h, w, o.Scale)
		}
		y := l.Origin(r, 0).Y + (h*o.Scale)/2 + 4
		d := font.Drawer{Dst: img, Src: image.NewUniform(color.Gray{Y: 0}), Face: face, Dot: fixed.P(4, y)}
		d.DrawString(labels[r])
	}
	return img, l, nil
}

func checkImages(t Tensor, h, w int) error {
	if t.Len() == 0 {
		return fmt.Errorf("no examples")
	}
	if per := len(t.Data) / t.Len(); per != h*w {
		return fmt.Errorf("examples have %d values, not %d×%d", per, h, w)
	}
	return nil
}

func blank(l Layout) *image.Gray {
	s := l.Size()
	img := image.NewGray(image.Rect(0, 0, s.X, s.Y))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.Gray{Y: 255}), image.Point{}, draw.Src)
	return img
}

func drawCell(img *image.Gray, at image.Point, v []float32, h, w, scale int) {
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g := Pixel(v[y*w+x])
			for dy := 0; dy < scale; dy++ {
				off := img.PixOffset(at.X+x*scale, at.Y+y*scale+dy)
				for dx := 0; dx < scale; dx++ {
					img.Pix[off+dx] = g
				}
			}
		}
	}
}

// EncodePNG encodes img as PNG bytes.
func EncodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
