// Command aexp-variant-testfn evaluates standard hyperparameter-search test
// functions (Branin, Hartmann-6, hpo10, cond; see package search/testfn) as
// if they were training runs: no training, the function's value is the
// run's val_loss. It lets the HPO benchmark and the tests drive the real
// engine and plugin protocol end to end in milliseconds per run.
//
// Epoch e of E reports val_loss = f(x) + (E−e)/E, a learning curve that
// ends at f(x) and ranks configurations the same at every epoch, so
// pruning sees honest intermediate values.
package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/search"
	"github.com/aexp/aexp/search/testfn"
	"github.com/aexp/aexp/variant"
)

type testFn struct{}

func f(v float64) *float64 { return &v }

// schema is the union of the problems' parameters (a parameter shared by
// two problems has the wider range); each problem uses its own.
func schema() []variant.Param {
	ps := []variant.Param{
		{Name: "problem", Type: variant.String, Default: "branin", Choices: testfn.Names, Doc: "the test function"},
		{Name: "sleep_ms", Type: variant.Int, Default: int64(0), Min: f(0), Max: f(60000), Doc: "milliseconds to wait per epoch, to stand in for training time"},
	}
	type span struct {
		lo, hi float64
		kind   search.Kind
		cats   []string
	}
	seen := map[string]*span{}
	var order []string
	for _, name := range testfn.Names {
		p := testfn.Problems[name]
		for _, b := range p.Space.Branches {
			for _, q := range b.Params {
				s := seen[q.Name]
				if s == nil {
					s = &span{lo: q.Low, hi: q.High, kind: q.Kind, cats: p.Choices[q.Name]}
					seen[q.Name] = s
					order = append(order, q.Name)
				}
				s.lo, s.hi = math.Min(s.lo, q.Low), math.Max(s.hi, q.High)
			}
		}
	}
	for _, n := range order {
		s := seen[n]
		switch s.kind {
		case search.Categorical:
			ps = append(ps, variant.Param{Name: n, Type: variant.String, Default: s.cats[0], Choices: s.cats, Doc: "a categorical parameter of the problems that have it"})
		case search.Int:
			ps = append(ps, variant.Param{Name: n, Type: variant.Int, Default: int64(s.lo), Min: f(s.lo), Max: f(s.hi), Doc: "an integer parameter of the problems that have it"})
		default:
			ps = append(ps, variant.Param{Name: n, Type: variant.Float, Default: s.lo, Min: f(s.lo), Max: f(s.hi), Doc: "a real parameter of the problems that have it"})
		}
	}
	ps = append(ps, variant.Param{Name: "optimizer", Type: variant.String, Default: "sgd", Choices: testfn.Problems["cond"].Choices["optimizer"], Doc: "cond: the branch (sgd has momentum, adam has beta1)"})
	return ps
}

func (testFn) Describe(context.Context) (variant.Info, error) {
	return variant.Info{
		Name: "testfn", Version: "0.1.0",
		Doc:    "Hyperparameter-search test functions with known optima (branin, hartmann6, hpo10, cond) evaluated as runs: val_loss is the function's value. For benchmarks and tests of search methods.",
		Params: schema(),
		Metrics: []variant.MetricInfo{
			{Name: "value", Doc: "the function's value at the parameters (the last epoch's val_loss)", Goal: "minimize"},
			{Name: "regret", Doc: "value minus the problem's known minimum", Goal: "minimize"},
		},
	}, nil
}

// config reads a problem's configuration from the run's params.
func config(p *testfn.Problem, params map[string]any) (search.Config, error) {
	c := search.Config{}
	if len(p.Space.Branches) > 1 {
		c.Branch = slices.Index(p.Choices["optimizer"], fmt.Sprint(params["optimizer"]))
	}
	for _, q := range p.Space.Branches[c.Branch].Params {
		v := params[q.Name]
		switch x := v.(type) {
		case string:
			k := slices.Index(p.Choices[q.Name], x)
			if k < 0 {
				return c, fmt.Errorf("%s: %q is not one of %v", q.Name, x, p.Choices[q.Name])
			}
			c.Values = append(c.Values, float64(k))
		case int64:
			c.Values = append(c.Values, float64(x))
		case float64:
			c.Values = append(c.Values, x)
		default:
			return c, fmt.Errorf("%s: unexpected value %v", q.Name, v)
		}
		if q.Kind != search.Categorical && (c.Values[len(c.Values)-1] < q.Low || c.Values[len(c.Values)-1] > q.High) {
			return c, fmt.Errorf("%s = %v is outside [%g, %g] for problem %s", q.Name, v, q.Low, q.High, p.Name)
		}
	}
	return c, nil
}

func (testFn) Train(ctx context.Context, req variant.TrainRequest, emit func(variant.Event) error) error {
	params, err := variant.Validate(schema(), req.Params)
	if err != nil {
		return err
	}
	p := testfn.Problems[params["problem"].(string)]
	c, err := config(p, params)
	if err != nil {
		return fmt.Errorf("%w: %v", variant.ErrInvalidParams, err)
	}
	value := p.Eval(c)
	sleep := time.Duration(params["sleep_ms"].(int64)) * time.Millisecond
	for e := 1; e <= req.Epochs; e++ {
		if sleep > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(sleep):
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		v := value + float64(req.Epochs-e)/float64(req.Epochs)
		if err := emit(variant.Event{Epoch: &variant.EpochReport{Epoch: e, Metrics: map[string]float64{"train_loss": v, "val_loss": v}}}); err != nil {
			return err
		}
	}
	var ck bytes.Buffer
	xs := make([]float32, len(c.Values))
	for i, x := range c.Values {
		xs[i] = float32(x)
	}
	if err := nn.WriteSafetensors(&ck, []nn.Entry{{Name: "x", Shape: []int{len(xs)}, Data: xs}}, map[string]string{"problem": p.Name}); err != nil {
		return err
	}
	if err := emit(variant.Event{Artifact: &variant.Artifact{Kind: variant.KindCheckpoint, Name: "x.safetensors", Epoch: req.Epochs, Format: "safetensors", Data: ck.Bytes()}}); err != nil {
		return err
	}
	return emit(variant.Event{Final: &variant.FinalReport{
		Metrics: map[string]float64{"value": value, "regret": value - p.Optimum, "test_mse": value, "pca_mse": 0},
		Meta:    map[string]string{"problem": p.Name},
	}})
}

func main() { variant.Serve(testFn{}) }
