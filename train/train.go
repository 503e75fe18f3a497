// Package train is the shared training loop of aexp's variants: it turns a
// model definition into a [variant.Variant], so that a variant plugin's
// main.go is a model and a config struct, tens of lines.
//
// The loop loads the dataset named by the run, holds out a seeded
// validation split, trains with Adam on shuffled batches for the requested
// epochs, and reports per epoch train_loss, val_loss, epoch_seconds,
// samples_per_second and the model's own metrics. At the end it reports
// test_mse, the PCA baseline pca_mse for the model's code size, and the
// model's test metrics; it sends reconstructions of the first 16 test
// inputs, checkpoints (safetensors) as TrainRequest.Keep asks, and for a
// two-dimensional code the test codes with their labels. A NaN or infinite
// loss ends the run with a *variant.DivergedError; cancelling the context
// ends it within a batch.
//
// A variant:
//
//	type Config struct {
//		train.Common                      // lr, val_split, weight_decay
//		Hidden []int `default:"300,150" min:"1" doc:"encoder widths; the last is the code size"`
//	}
//
//	func main() {
//		variant.Serve(train.New(train.Spec[Config]{
//			Name: "mine", Version: "0.1.0", Doc: "...",
//			Build: func(c Config, s train.Setup) (train.Model, error) {
//				return train.NewMLP("ae", train.MLPConfig{In: s.Dim(), Hidden: c.Hidden, ...}, s.Init)
//			},
//		}))
//	}
package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/variant"
)

// Model is what a variant defines: parameters, a training objective and a
// reconstruction.
type Model interface {
	// Params lists the trainable tensors; their names key the checkpoint.
	Params() []*nn.Tensor
	// Loss returns the objective of the batch x (rows are examples) as a
	// 1×1 tensor, a mean per example (or per value). g.Train is false
	// during evaluation: training-only behaviour (input corruption) must
	// then be off. The per-epoch val_loss is Loss in evaluation.
	Loss(g *nn.Graph, x *nn.Tensor) *nn.Tensor
	// Reconstruct returns the model's deterministic reconstruction of x,
	// the shape of x; test_mse is measured on it.
	Reconstruct(g *nn.Graph, x *nn.Tensor) *nn.Tensor
	// CodeSize is the width of the code, for the PCA baseline pca_mse.
	CodeSize() int
}

// Evaluator is an optional Model capability: extra metrics of an
// evaluation batch, as means over its examples. The loop reports each as
// val_<name> every epoch and test_<name> at the end.
type Evaluator interface {
	Evaluate(g *nn.Graph, x *nn.Tensor) map[string]float64
}

// Encoder is an optional Model capability: the code of x. When the code
// has two dimensions and the data has labels, the loop records the test
// codes with their labels as a "latent" artifact.
type Encoder interface {
	Encode(g *nn.Graph, x *nn.Tensor) *nn.Tensor
}

// Generator is the Model capability of generative variants: decode codes
// (CodeSize wide, drawn from N(0, I) by the Sample capability) into data.
type Generator interface {
	Generate(g *nn.Graph, z *nn.Tensor) *nn.Tensor
}

// Common holds the parameters every variant built on this package has.
// Embed it in the config struct.
type Common struct {
	LR       float64 `aexp:"lr" default:"1e-3" min:"1e-7" max:"1" doc:"Adam learning rate (betas 0.9/0.999, eps 1e-8)"`
	ValSplit float64 `aexp:"val_split" default:"0.1" min:"0" max:"0.5" doc:"fraction of the training examples held out (always the same ones) for val_loss; 0 trains on all of them and measures val_loss on the test set"`
	// WeightDecay is AdamW's decoupled decay; 0 leaves Adam's arithmetic as it was.
	WeightDecay float64 `aexp:"weight_decay" default:"0" min:"0" max:"10" doc:"decoupled weight decay (AdamW): each step multiplies every parameter by 1 - lr*weight_decay; 0 is plain Adam"`
}

func (c *Common) common() *Common { return c }

type hasCommon interface{ common() *Common }

// Setup is what a model is built from.
type Setup struct {
	Shape []int      // one example's shape: [28 28] for MNIST, [steps 1] for a series
	Init  *rand.Rand // for the initial weights
	Noise *rand.Rand // for corruption, sampling and dropout, in training and evaluation
}

// Dim is the number of values of one example.
func (s Setup) Dim() int {
	d := 1
	for _, v := range s.Shape {
		d *= v
	}
	return d
}

// Spec defines a variant. C is its config struct, which must embed
// [Common]; its parameter schema is derived from C (see variant.Schema).
type Spec[C any] struct {
	Name, Version, Doc string
	// Metrics documents the model's own metrics, shown by `aexp plugins`:
	// every key k its Evaluator returns, under the names the run reports,
	// val_k and test_k (with the prefix; the shared metrics are documented
	// already). The conformance kit checks that the documented and the
	// reported metrics are the same set.
	Metrics []variant.MetricInfo
	// Build makes a model for a config and the data's shape. An error
	// (e.g. an impossible combination of parameters) fails the run.
	Build func(cfg C, s Setup) (Model, error)
	// Generative marks variants whose models implement Generator; they
	// get the Sample capability.
	Generative bool
}

// Random streams: one run seed drives independent generators.
const (
	streamInit    = 1
	streamShuffle = 2
	streamNoise   = 3
	streamSample  = 4
	evalBatch     = 500
	// NumReconstructions is how many test inputs are reconstructed at the
	// end of a run: always the first ones, so runs can be compared.
	NumReconstructions = 16
)

// New returns the variant defined by s. It panics when C does not embed
// Common or its schema is malformed (programmer errors).
func New[C any](s Spec[C]) variant.Variant {
	var c C
	if _, ok := any(&c).(hasCommon); !ok {
		panic(fmt.Sprintf("train.New: config %T does not embed train.Common", c))
	}
	t := &trainer[C]{spec: s, params: variant.MustSchema(&c)}
	if s.Generative {
		return &generative[C]{t}
	}
	return t
}

type trainer[C any] struct {
	spec   Spec[C]
	params []variant.Param
}

type generative[C any] struct{ *trainer[C] }

var (
	_ variant.Reconstructor = (*trainer[Common])(nil)
	_ variant.Sampler       = (*generative[Common])(nil)
)

// Shared metrics every variant reports, documented once.
var sharedMetrics = []variant.MetricInfo{
	{Name: "train_loss", Doc: "training objective, mean over the epoch's batches", Goal: "minimize"},
	{Name: "val_loss", Doc: "objective on the validation split, in evaluation mode", Goal: "minimize"},
	{Name: "epoch_seconds", Doc: "wall time of the epoch, validation included", Goal: "minimize"},
	{Name: "samples_per_second", Doc: "training examples per second", Goal: "maximize"},
	{Name: "test_mse", Doc: "reconstruction MSE per value on the test set", Goal: "minimize"},
	{Name: "pca_mse", Doc: "test MSE of PCA fitted on the training examples with the same code size", Goal: "minimize"},
}

func (t *trainer[C]) Describe(ctx context.Context) (variant.Info, error) {
	caps := []string{variant.CapReconstruct, variant.CapResume}
	if t.spec.Generative {
		caps = append(caps, variant.CapSample)
	}
	return variant.Info{
		Name:         t.spec.Name,
		Version:      t.spec.Version,
		Doc:          t.spec.Doc,
		Params:       t.params,
		Metrics:      append(append([]variant.MetricInfo(nil), sharedMetrics...), t.spec.Metrics...),
		Capabilities: caps,
	}, nil
}

// run is one training run's state.
type run[C any] struct {
	name        string
	req         variant.TrainRequest
	cfg         C
	com         *Common
	model       Model
	params      []*nn.Tensor
	train, val  *dataset.Set
	test        *dataset.Set
	shape       []int
	emit        func(variant.Event) error
	eg          *nn.Graph // evaluation graph
	valFromTest bool
	noise       *rand.PCG // the source of Setup.Noise, saved in training states
}

// build decodes params and builds the model. noise is the source of the
// model's Setup.Noise (as dataset.NewRand makes it), kept for training
// states.
func (t *trainer[C]) build(params map[string]any, shape []int, seed uint64) (cfg C, m Model, noise *rand.PCG, err error) {
	if err := variant.Decode(params, &cfg); err != nil {
		return cfg, nil, nil, err
	}
	noise = rand.NewPCG(seed, streamNoise)
	m, err = t.spec.Build(cfg, Setup{
		Shape: shape,
		Init:  dataset.NewRand(seed, streamInit),
		Noise: rand.New(noise),
	})
	if err != nil {
		return cfg, nil, nil, fmt.Errorf("%s: %w", t.spec.Name, err)
	}
	if len(m.Params()) == 0 {
		return cfg, nil, nil, fmt.Errorf("%s: the model has no parameters", t.spec.Name)
	}
	return cfg, m, noise, nil
}

func (t *trainer[C]) Train(ctx context.Context, req variant.TrainRequest, emit func(variant.Event) error) error {
	if req.Epochs <= 0 {
		req.Epochs = 5
	}
	if req.BatchSize <= 0 {
		req.BatchSize = 128
	}
	switch req.Keep {
	case "":
		req.Keep = "last"
	case "last", "best", "all":
	default:
		return fmt.Errorf("unknown checkpoint policy %q (want last, best or all)", req.Keep)
	}
	if req.Threads > 0 {
		nn.SetThreads(req.Threads)
	}
	// Decode first: bad parameters fail before any data is read.
	var probe C
	if err := variant.Decode(req.Params, &probe); err != nil {
		return err
	}
	// The host sends the data contract; a caller in the same process may
	// leave it to be resolved here, the same way.
	data := req.Data
	if data == nil {
		var err error
		if data, err = dataset.Resolve(req.Dataset, req.DataDir, req.TrainLimit, req.TestLimit); err != nil {
			return fmt.Errorf("%w: %w", variant.ErrData, err)
		}
	}
	all, test, err := data.Load()
	if err != nil {
		return fmt.Errorf("%w: %w", variant.ErrData, err)
	}
	r := &run[C]{name: t.spec.Name, req: req, emit: emit, test: test, shape: all.Shape(), eg: nn.NewGraph()}
	r.eg.Train, r.eg.NoGrad = false, true
	r.cfg, r.model, r.noise, err = t.build(req.Params, r.shape, req.Seed)
	if err != nil {
		return err
	}
	r.com = any(&r.cfg).(hasCommon).common()
	r.params = r.model.Params()
	r.train, r.val = dataset.SplitBy(all, r.com.ValSplit, data.ValOrder)
	if r.val.Len() == 0 {
		r.val, r.valFromTest = test, true
		if err := r.log("warn", "val_split = 0: training on all training examples; val_loss is measured on the test set"); err != nil {
			return err
		}
	}
	if err := r.log("info", fmt.Sprintf("%s on %s: %d training, %d validation, %d test examples of shape %v; %d parameters; BLAS %s",
		t.spec.Name, req.Dataset, r.train.Len(), r.val.Len(), test.Len(), r.shape, nn.CountParams(r.params), nn.Backend())); err != nil {
		return err
	}
	if err := r.loop(ctx); err != nil {
		return err
	}
	return r.finish(ctx)
}

func (r *run[C]) log(level, text string) error {
	return r.emit(variant.Event{Log: &variant.LogLine{Level: level, Text: text}})
}

func (r *run[C]) loop(ctx context.Context) error {
	opt := nn.NewAdam(r.params, float32(r.com.LR))
	opt.WeightDecay = float32(r.com.WeightDecay)
	batches := dataset.NewBatches(r.train, r.req.BatchSize, dataset.NewRand(r.req.Seed, streamShuffle))
	g := nn.NewGraph()
	dim := r.train.Dim()
	best := math.Inf(1)
	first := 1
	if r.req.Resume != nil {
		st, err := r.loadState(r.req.Resume, opt)
		if err != nil {
			// start over rather than fail: the host drops the old epochs
			if err := r.log("warn", fmt.Sprintf("not resuming (%v): training from epoch 1", err)); err != nil {
				return err
			}
		} else {
			for range st.epoch {
				batches.Shuffle() // the shuffle stream and order as they were
			}
			first, best = st.epoch+1, st.best
			if err := r.emit(variant.Event{Resumed: &variant.Resumed{Epoch: st.epoch}}); err != nil {
				return err
			}
		}
	}
	for epoch := first; epoch <= r.req.Epochs; epoch++ {
		start := time.Now()
		batches.Shuffle()
		var sum float64
		seen := 0
		for b := 1; ; b++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			x, n, ok := batches.Next()
			if !ok {
				break
			}
			g.Reset()
			in := g.Input(n, dim)
			copy(in.Data, x)
			loss := r.model.Loss(g, in)
			l := float64(loss.Scalar())
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return &variant.DivergedError{Epoch: epoch, Reason: fmt.Sprintf("training loss is %v at batch %d", l, b)}
			}
			g.Backward(loss)
			opt.Step()
			sum += l * float64(n)
			seen += n
		}
		trainSecs := time.Since(start).Seconds()
		valLoss, extras, err := r.evaluate(ctx, r.val, false)
		if err != nil {
			return err
		}
		if math.IsNaN(valLoss) || math.IsInf(valLoss, 0) {
			return &variant.DivergedError{Epoch: epoch, Reason: fmt.Sprintf("validation loss is %v", valLoss)}
		}
		m := map[string]float64{
			"train_loss":         sum / float64(seen),
			"val_loss":           valLoss,
			"epoch_seconds":      time.Since(start).Seconds(),
			"samples_per_second": float64(seen) / trainSecs,
		}
		for k, v := range extras {
			m["val_"+k] = v
		}
		if err := r.emit(variant.Event{Epoch: &variant.EpochReport{Epoch: epoch, Metrics: m}}); err != nil {
			return err
		}
		keep := r.req.Keep == "all" || (r.req.Keep == "best" && valLoss < best) || (r.req.Keep == "last" && epoch == r.req.Epochs)
		best = min(best, valLoss)
		if keep {
			if err := r.checkpoint(epoch, valLoss); err != nil {
				return err
			}
		}
		// The state comes last: once the host has it, it has everything
		// of this epoch, and a resumed run continues right after it.
		st, err := r.saveState(epoch, opt, best)
		if err != nil {
			return err
		}
		if err := r.emit(variant.Event{Artifact: &st}); err != nil {
			return err
		}
	}
	return nil
}

// evaluate returns the mean loss over s, the model's extra metrics and,
// when withMSE, "mse" of the reconstruction among the extras.
func (r *run[C]) evaluate(ctx context.Context, s *dataset.Set, withMSE bool) (float64, map[string]float64, error) {
	ev, _ := r.model.(Evaluator)
	sums := map[string]float64{}
	var loss float64
	dim := s.Dim()
	batches := dataset.NewBatches(s, evalBatch, nil)
	for x, n := range batches.All() {
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		g := r.eg
		g.Reset()
		in := g.Input(n, dim)
		copy(in.Data, x)
		loss += float64(r.model.Loss(g, in).Scalar()) * float64(n)
		if withMSE {
			g.Reset()
			in := g.Input(n, dim)
			copy(in.Data, x)
			out := r.model.Reconstruct(g, in)
			var se float64
			for i, v := range out.Data {
				d := float64(v - x[i])
				se += d * d
			}
			sums["mse"] += se / float64(dim)
		}
		if ev != nil {
			g.Reset()
			in := g.Input(n, dim)
			copy(in.Data, x)
			for k, v := range ev.Evaluate(g, in) {
				sums[k] += v * float64(n)
			}
		}
	}
	for k := range sums {
		sums[k] /= float64(s.Len())
	}
	return loss / float64(s.Len()), sums, nil
}

func shapeString(shape []int) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = strconv.Itoa(d)
	}
	return strings.Join(s, ",")
}

func parseShape(s string) ([]int, error) {
	var shape []int
	for _, f := range strings.Split(s, ",") {
		d, err := strconv.Atoi(f)
		if err != nil || d < 1 {
			return nil, fmt.Errorf("bad shape %q in the checkpoint", s)
		}
		shape = append(shape, d)
	}
	return shape, nil
}

func (r *run[C]) checkpoint(epoch int, valLoss float64) error {
	var buf bytes.Buffer
	meta := map[string]string{
		"dataset":  r.req.Dataset,
		"shape":    shapeString(r.shape),
		"epoch":    strconv.Itoa(epoch),
		"val_loss": strconv.FormatFloat(valLoss, 'g', -1, 64),
		"run_key":  r.req.RunKey,
		"variant":  r.name,
	}
	if err := nn.SaveCheckpoint(&buf, r.params, nil, meta); err != nil {
		return err
	}
	return r.emit(variant.Event{Artifact: &variant.Artifact{
		Kind: variant.KindCheckpoint, Name: fmt.Sprintf("model-epoch%d.safetensors", epoch), Epoch: epoch,
		Format: "safetensors", Data: buf.Bytes(),
		Meta: map[string]string{"val_loss": meta["val_loss"], "shape": meta["shape"]},
	}})
}

func (r *run[C]) finish(ctx context.Context) error {
	// The PCA baseline runs while the test set is evaluated; it cannot be
	// interrupted, so the loop waits for it under the context.
	k := min(r.model.CodeSize(), r.train.Dim())
	pcaDone := make(chan pcaResult, 1)
	go func() { pcaDone <- pcaBaseline(r.train, r.test, k) }()

	_, extras, err := r.evaluate(ctx, r.test, true)
	if err != nil {
		return err
	}
	metrics := map[string]float64{}
	for k, v := range extras {
		metrics["test_"+k] = v
	}
	for k, v := range metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return &variant.DivergedError{Epoch: r.req.Epochs, Reason: fmt.Sprintf("%s is %v", k, v)}
		}
	}
	if err := r.reconstructions(); err != nil {
		return err
	}
	if err := r.latent(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case p := <-pcaDone:
		if p.err != nil {
			return r.finalReport(metrics, fmt.Sprintf("PCA baseline failed: %v", p.err))
		}
		metrics["pca_mse"] = p.mse
	}
	return r.finalReport(metrics, "")
}

func (r *run[C]) finalReport(metrics map[string]float64, warn string) error {
	if warn != "" {
		if err := r.log("warn", warn); err != nil {
			return err
		}
	}
	meta := map[string]string{
		"blas":           nn.Backend(),
		"params":         strconv.Itoa(nn.CountParams(r.params)),
		"train_examples": strconv.Itoa(r.train.Len()),
		"val_examples":   strconv.Itoa(r.val.Len()),
		"test_examples":  strconv.Itoa(r.test.Len()),
		"code_size":      strconv.Itoa(r.model.CodeSize()),
	}
	if r.req.Threads > 0 {
		meta["threads"] = strconv.Itoa(r.req.Threads)
	}
	if r.valFromTest {
		meta["val_set"] = "test"
	}
	return r.emit(variant.Event{Final: &variant.FinalReport{Metrics: metrics, Meta: meta}})
}

type pcaResult struct {
	mse float64
	err error
}

func pcaBaseline(train, test *dataset.Set, k int) (res pcaResult) {
	defer func() {
		if p := recover(); p != nil {
			res.err = fmt.Errorf("%v", p)
		}
	}()
	if train.Len() < 2 {
		return pcaResult{err: errors.New("fewer than 2 training examples")}
	}
	// The training examples are read chunk by chunk rather than copied
	// whole to float32 (170 MB for MNIST).
	dim := train.Dim()
	p, err := nn.FitPCARows(train.Len(), dim, k, func(dst []float32, from int) { train.Range(dst, from, len(dst)/dim) })
	if err != nil {
		return pcaResult{err: err}
	}
	y := test.Range(nil, 0, test.Len())
	return pcaResult{mse: p.MSE(y, test.Len())}
}

// reconstructions sends the first NumReconstructions test inputs and their
// reconstructions.
func (r *run[C]) reconstructions() error {
	a, err := reconstruct(r.model, r.eg, r.test, NumReconstructions)
	if err != nil {
		return err
	}
	a.Epoch = r.req.Epochs
	return r.emit(variant.Event{Artifact: &a})
}

func reconstruct(m Model, g *nn.Graph, s *dataset.Set, n int) (variant.Artifact, error) {
	n = min(n, s.Len())
	x := s.Range(nil, 0, n)
	g.Reset()
	in := g.Input(n, s.Dim())
	copy(in.Data, x)
	out := m.Reconstruct(g, in)
	shape := append([]int{n}, s.Shape()...)
	var buf bytes.Buffer
	err := nn.WriteSafetensors(&buf, []nn.Entry{
		{Name: "input", Shape: shape, Data: x},
		{Name: "output", Shape: shape, Data: append([]float32(nil), out.Data...)},
	}, nil)
	if err != nil {
		return variant.Artifact{}, err
	}
	return variant.Artifact{
		Kind: variant.KindReconstruction, Name: "reconstructions.safetensors", Format: "safetensors",
		Data: buf.Bytes(), Meta: map[string]string{"shape": shapeString(s.Shape())},
	}, nil
}

// latent sends the 2-D codes of the test set with their labels.
func (r *run[C]) latent(ctx context.Context) error {
	enc, ok := r.model.(Encoder)
	if !ok || r.model.CodeSize() != 2 || !r.test.HasLabels() {
		return nil
	}
	n := r.test.Len()
	codes := make([]float32, 0, 2*n)
	labels := make([]float32, n)
	batches := dataset.NewBatches(r.test, evalBatch, nil)
	for x, bn := range batches.All() {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.eg.Reset()
		in := r.eg.Input(bn, r.test.Dim())
		copy(in.Data, x)
		codes = append(codes, enc.Encode(r.eg, in).Data...)
	}
	for i := range labels {
		labels[i] = float32(r.test.Label(i))
	}
	var buf bytes.Buffer
	if err := nn.WriteSafetensors(&buf, []nn.Entry{
		{Name: "code", Shape: []int{n, 2}, Data: codes},
		{Name: "label", Shape: []int{n}, Data: labels},
	}, nil); err != nil {
		return err
	}
	return r.emit(variant.Event{Artifact: &variant.Artifact{
		Kind: variant.KindLatent, Name: "latent.safetensors", Epoch: r.req.Epochs, Format: "safetensors", Data: buf.Bytes(),
	}})
}

// load rebuilds a model from params and a checkpoint written by Train.
func (t *trainer[C]) load(params map[string]any, ckpt []byte) (Model, []int, error) {
	_, meta, err := nn.ReadSafetensors(ckpt)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the checkpoint: %w", err)
	}
	shape, err := parseShape(meta["shape"])
	if err != nil {
		return nil, nil, err
	}
	_, m, _, err := t.build(params, shape, 0)
	if err != nil {
		return nil, nil, err
	}
	if _, err := nn.LoadCheckpoint(ckpt, m.Params(), nil); err != nil {
		return nil, nil, fmt.Errorf("the checkpoint does not fit these parameters: %w", err)
	}
	return m, shape, nil
}

// Reconstruct reconstructs the first req.N test inputs of req.Dataset with
// a stored checkpoint.
func (t *trainer[C]) Reconstruct(ctx context.Context, req variant.ReconstructRequest) (variant.Artifact, error) {
	m, shape, err := t.load(req.Params, req.Checkpoint)
	if err != nil {
		return variant.Artifact{}, err
	}
	data := req.Data
	if data == nil {
		if data, err = dataset.Resolve(req.Dataset, req.DataDir, 0, 0); err != nil {
			return variant.Artifact{}, err
		}
	}
	test, err := data.LoadTest()
	if err != nil {
		return variant.Artifact{}, err
	}
	if !reflect.DeepEqual(test.Shape(), shape) {
		return variant.Artifact{}, fmt.Errorf("dataset %s has examples of shape %v; the checkpoint was trained on %v", req.Dataset, test.Shape(), shape)
	}
	n := req.N
	if n <= 0 {
		n = NumReconstructions
	}
	g := nn.NewGraph()
	g.Train, g.NoGrad = false, true
	return reconstruct(m, g, test, n)
}

// Sample decodes req.N codes drawn from N(0, I) with a stored checkpoint.
func (t *generative[C]) Sample(ctx context.Context, req variant.SampleRequest) (variant.Artifact, error) {
	m, shape, err := t.load(req.Params, req.Checkpoint)
	if err != nil {
		return variant.Artifact{}, err
	}
	gen, ok := m.(Generator)
	if !ok {
		return variant.Artifact{}, fmt.Errorf("%s: the model cannot generate", t.spec.Name)
	}
	n := req.N
	if n <= 0 {
		n = 64
	}
	g := nn.NewGraph()
	g.Train, g.NoGrad = false, true
	z := g.Normal(n, m.CodeSize(), 1, dataset.NewRand(req.Seed, streamSample))
	out := gen.Generate(g, z)
	var buf bytes.Buffer
	if err := nn.WriteSafetensors(&buf, []nn.Entry{
		{Name: "sample", Shape: append([]int{n}, shape...), Data: out.Data},
	}, nil); err != nil {
		return variant.Artifact{}, err
	}
	return variant.Artifact{
		Kind: variant.KindSample, Name: "samples.safetensors", Format: "safetensors", Data: buf.Bytes(),
		Meta: map[string]string{"shape": shapeString(shape)},
	}, nil
}
