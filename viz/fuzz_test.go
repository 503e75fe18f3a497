package viz_test

import (
	"testing"

	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/viz"
	"github.com/aexp/aexp/viz/viztest"
)

// FuzzFigures feeds arbitrary artifact bytes and shape metadata to every
// picture: a damaged or hostile artifact may cost its picture, never the
// report (no panic).
func FuzzFigures(f *testing.F) {
	recon, _, _ := viztest.Reconstruction(f, 3, 1)
	sample, _ := viztest.Sample(f, 4, 0)
	f.Add(recon.Data, "28,28")
	f.Add(sample.Data, "28,28")
	f.Add(viztest.Latent(f, 5).Data, "")
	f.Add(viztest.Sequences(f, 2, 9).Data, "9,1")
	f.Add(viztest.Safetensors(f, nil,
		nn.Entry{Name: "input", Shape: []int{2, 3}, Data: make([]float32, 6)},
		nn.Entry{Name: "output", Shape: []int{3, 2}, Data: make([]float32, 6)},
		nn.Entry{Name: "sample", Shape: []int{0, 5}, Data: nil},
		nn.Entry{Name: "code", Shape: []int{3, 2}, Data: make([]float32, 6)},
		nn.Entry{Name: "label", Shape: []int{3}, Data: []float32{-1, 1e9, 3}}), "0,-1")
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}'}, "x")
	f.Fuzz(func(t *testing.T, data []byte, shape string) {
		meta := map[string]string{"shape": shape}
		var arts []viz.Artifact
		for _, k := range []string{variant.KindReconstruction, variant.KindSample, variant.KindLatent} {
			arts = append(arts, viz.Artifact{Kind: k, Name: k, Meta: meta, Data: data})
		}
		runs := []viz.Run{{ID: 1, Variant: "rnn", Artifacts: arts}, {ID: 2, Variant: "dense", Artifacts: arts}}
		figs, _ := viz.Figures(runs, viz.FigureOptions{N: 3, Samples: 4, Scale: 1})
		for _, fig := range figs {
			if len(fig.PNG) == 0 {
				t.Fatalf("%s: empty picture", fig.File)
			}
		}
	})
}
