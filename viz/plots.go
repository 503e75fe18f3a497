package viz

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Point is one epoch's value of a metric.
type Point struct {
	Epoch int
	Value float64
}

// Curve is one run's loss history.
type Curve struct {
	Label      string
	Train, Val []Point
}

// palette is Tableau's ten colours: distinct, and kind to colour-blind eyes.
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
	{188, 189, 34, 255}, {23, 190, 207, 255},
}

// Colour returns the i-th palette colour, cycling.
func Colour(i int) color.RGBA {
	i %= len(palette)
	if i < 0 {
		i += len(palette)
	}
	return palette[i]
}

var dashes = []vg.Length{vg.Points(5), vg.Points(3)}

// LossCurves draws every run's training (dashed) and validation (solid)
// loss per epoch on one chart, one colour per run, and returns PNG bytes.
// The y axis is logarithmic when the values span more than a factor of 30.
func LossCurves(title string, curves []Curve) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "loss"
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), math.Inf(-1)
	maxEpoch := 0
	for _, c := range curves {
		for _, s := range [][]Point{c.Train, c.Val} {
			for _, pt := range s {
				if !math.IsNaN(pt.Value) && !math.IsInf(pt.Value, 0) {
					lo, hi = math.Min(lo, pt.Value), math.Max(hi, pt.Value)
				}
				maxEpoch = max(maxEpoch, pt.Epoch)
			}
		}
	}
	logY := lo > 0 && hi/lo > 30
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Label.Text = "loss (log scale)"
	}
	if maxEpoch <= 12 {
		p.X.Tick.Marker = intTicks{}
	}
	for i, c := range curves {
		col := Colour(i)
		for j, s := range [][]Point{c.Train, c.Val} {
			xys := xyOf(s, logY)
			if len(xys) == 0 {
				continue
			}
			l, pts, err := plotter.NewLinePoints(xys)
			if err != nil {
				return nil, fmt.Errorf("curve %q: %w", c.Label, err)
			}
			l.Color, pts.Color = col, col
			l.Width = vg.Points(1.5)
			pts.Shape = draw.CircleGlyph{}
			pts.Radius = vg.Points(1.8)
			if j == 0 {
				l.Dashes = dashes
				pts.Shape = draw.RingGlyph{}
			}
			p.Add(l, pts)
			if j == 1 || len(c.Val) == 0 {
				p.Legend.Add(c.Label, l)
			}
		}
	}
	// A key for the two line styles.
	for _, k := range []struct {
		name   string
		dashed bool
	}{{"validation", false}, {"training", true}} {
		l, _ := plotter.NewLine(plotter.XYs{})
		l.Color = color.Gray{Y: 60}
		if k.dashed {
			l.Dashes = dashes
		}
		p.Legend.Add(k.name, l)
	}
	return renderLegendRight(p, 8.5*vg.Inch, 5*vg.Inch)
}

func xyOf(s []Point, logY bool) plotter.XYs {
	xys := make(plotter.XYs, 0, len(s))
	for _, pt := range s {
		if math.IsNaN(pt.Value) || math.IsInf(pt.Value, 0) || (logY && pt.Value <= 0) {
			continue
		}
		xys = append(xys, plotter.XY{X: float64(pt.Epoch), Y: pt.Value})
	}
	return xys
}

// intTicks puts a tick on every whole epoch.
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	var t []plot.Tick
	for e := math.Ceil(lo); e <= hi; e++ {
		t = append(t, plot.Tick{Value: e, Label: strconv.Itoa(int(e))})
	}
	return t
}

// gTicks are gonum's default ticks labelled without trailing zeros (25, not 25.00).
type gTicks struct{}

func (gTicks) Ticks(lo, hi float64) []plot.Tick {
	t := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range t {
		if t[i].Label != "" {
			t[i].Label = strconv.FormatFloat(t[i].Value, 'g', 6, 64)
		}
	}
	return t
}

// maxLabels is the most distinct labels a scatter colours and lists.
const maxLabels = 20

// LatentScatter draws 2-D codes as points coloured by their digit label,
// with a legend entry per label, and returns PNG bytes. code is [n, 2];
// label is [n] (any numeric dtype).
func LatentScatter(title string, code, label Tensor) ([]byte, error) {
	n := code.Len()
	if n == 0 || len(code.Data) != 2*n {
		return nil, fmt.Errorf("latent codes have shape %v, want [n, 2]", code.Shape)
	}
	if len(label.Data) != n {
		return nil, fmt.Errorf("%d codes but %d labels", n, len(label.Data))
	}
	byLabel := map[int]plotter.XYs{}
	for i := 0; i < n; i++ {
		x, y := float64(code.Data[2*i]), float64(code.Data[2*i+1])
		if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			continue
		}
		k := int(label.Data[i])
		byLabel[k] = append(byLabel[k], plotter.XY{X: x, Y: y})
	}
	keys := make([]int, 0, len(byLabel))
	for k := range byLabel {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	merged := len(keys) > maxLabels
	if merged { // not class labels: one colour, no legend
		var all plotter.XYs
		for _, k := range keys {
			all = append(all, byLabel[k]...)
		}
		byLabel = map[int]plotter.XYs{0: all}
		keys = []int{0}
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "z₁"
	p.Y.Label.Text = "z₂"
	p.Add(plotter.NewGrid())
	for _, k := range keys {
		s, err := plotter.NewScatter(byLabel[k])
		if err != nil {
			return nil, err
		}
		s.GlyphStyle.Color = Colour(k)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		s.GlyphStyle.Radius = vg.Points(1.6)
		p.Add(s)
		key, _ := plotter.NewScatter(plotter.XYs{{}}) // a bigger dot for the legend
		key.GlyphStyle = s.GlyphStyle
		key.GlyphStyle.Radius = vg.Points(3.5)
		if !merged {
			p.Legend.Add(strconv.Itoa(k), key)
		}
	}
	p.Y.Tick.Marker = gTicks{}
	p.X.Tick.Marker = gTicks{}
	return renderLegendRight(p, 6*vg.Inch, 5.5*vg.Inch)
}

// SequencePlot draws up to n examples of sequence reconstructions as small
// line charts: the input solid, the reconstruction dashed, one colour per
// plotted feature. in and out are [n, T, F] (or [n, T] for one feature);
// T and F come from dims. With more than three features the three that vary
// most in the inputs are plotted, so the panels stay readable.
func SequencePlot(title string, in, out Tensor, dims []int, n int) ([]byte, error) {
	t, f := 0, 1
	switch len(dims) {
	case 1:
		t = dims[0]
	case 2:
		t, f = dims[0], dims[1]
	default:
		return nil, fmt.Errorf("sequence examples have shape %v, want [T] or [T, F]", dims)
	}
	if in.Len() == 0 || in.Len() != out.Len() || len(in.Data) != len(out.Data) || len(in.Data) != in.Len()*t*f {
		return nil, fmt.Errorf("sequence inputs %v and outputs %v do not match [n, %d, %d]", in.Shape, out.Shape, t, f)
	}
	n = min(max(n, 1), in.Len())
	feats := pickFeatures(in, t, f, 3)
	cols := min(n, 4)
	rows := (n + cols - 1) / cols
	plots := make([][]*plot.Plot, rows)
	for r := range plots {
		plots[r] = make([]*plot.Plot, cols)
		for c := range plots[r] {
			i := r*cols + c
			p := plot.New()
			plots[r][c] = p
			if i >= n {
				p.HideAxes()
				continue
			}
			p.Title.Text = fmt.Sprintf("test example %d", i)
			p.X.Label.Text = "step"
			p.X.Tick.Marker = gTicks{}
			p.Add(plotter.NewGrid())
			for k, j := range feats {
				for which, src := range []Tensor{in, out} {
					row := src.Row(i)
					xys := make(plotter.XYs, t)
					for s := 0; s < t; s++ {
						xys[s] = plotter.XY{X: float64(s), Y: float64(row[s*f+j])}
					}
					l, err := plotter.NewLine(xys)
					if err != nil {
						return nil, err
					}
					l.Color = Colour(k)
					l.Width = vg.Points(1.2)
					if which == 1 {
						l.Dashes = dashes
						l.Color = darker(Colour(k))
					}
					p.Add(l)
					if i == 0 && f > 1 {
						name := "input"
						if which == 1 {
							name = "reconstruction"
						}
						if f > 1 {
							name = fmt.Sprintf("%s f%d", name, j)
						}
						p.Legend.Add(name, l)
					}
				}
			}
			p.Legend.Top = true
		}
	}
	w, h := vg.Length(cols)*3*vg.Inch, vg.Length(rows)*2.4*vg.Inch+0.4*vg.Inch
	cv := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(cv)
	if title != "" {
		head := plot.New().Title.TextStyle
		head.Font.Size = vg.Points(13)
		head.XAlign = draw.XCenter
		head.YAlign = draw.YTop
		dc.FillText(head, vg.Point{X: w / 2, Y: h - 0.08*vg.Inch}, title)
		dc.Max.Y -= 0.4 * vg.Inch
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(6), PadY: vg.Points(6),
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(4)}
	canvases := plot.Align(plots, tiles, dc)
	for r := range plots {
		for c := range plots[r] {
			if r*cols+c < n {
				plots[r][c].Draw(canvases[r][c])
			}
		}
	}
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: cv}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// pickFeatures returns up to k feature indices, those with the largest
// variance over the inputs, in index order.
func pickFeatures(in Tensor, t, f, k int) []int {
	idx := make([]int, f)
	for j := range idx {
		idx[j] = j
	}
	if f <= k {
		return idx
	}
	v := make([]float64, f)
	for j := 0; j < f; j++ {
		var s, ss, m float64
		for i := 0; i < in.Len(); i++ {
			row := in.Row(i)
			for st := 0; st < t; st++ {
				x := float64(row[st*f+j])
				s += x
				ss += x * x
				m++
			}
		}
		v[j] = ss/m - (s/m)*(s/m)
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
	idx = idx[:k]
	sort.Ints(idx)
	return idx
}

func darker(c color.RGBA) color.RGBA {
	return color.RGBA{c.R / 2, c.G / 2, c.B / 2, 255}
}

// renderLegendRight draws p with its legend in a column to the right of the
// plot, where it hides no data.
func renderLegendRight(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	leg := p.Legend
	p.Legend = plot.NewLegend()
	leg.Left, leg.Top = true, true
	cv := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseBackgroundColor(color.White))
	c := draw.New(cv)
	legW := leg.Rectangle(c).Size().X + vg.Points(14)
	p.Draw(draw.Crop(c, 0, -legW, 0, 0))
	top := vg.Points(4)
	if p.Title.Text != "" {
		top += p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
	}
	leg.Draw(draw.Crop(c, w-legW+vg.Points(8), 0, 0, -top))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: cv}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
