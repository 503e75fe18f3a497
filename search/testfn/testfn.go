// Package testfn holds standard hyperparameter-search test functions with
// known optima, as search spaces and objectives. The testfn variant plugin
// evaluates them as "training runs" and the HPO benchmark searches them.
package testfn

import (
	"fmt"
	"math"

	"github.com/aexp/aexp/search"
)

// Problem is a test function over a search space.
type Problem struct {
	Name    string
	Space   search.Space
	Optimum float64 // the known minimum
	// Eval is the objective of a configuration of Space (categoricals as
	// indices).
	Eval func(c search.Config) float64
	// Choices names the categorical choices per parameter name, for
	// problems that have them (the plugin takes them as strings).
	Choices map[string][]string
}

// Problems are the benchmark's functions, by name.
var Problems = map[string]*Problem{}

// Names lists the problems in benchmark order.
var Names = []string{"branin", "hartmann6", "hpo10", "cond"}

func init() {
	for _, p := range []*Problem{branin(), hartmann6(), hpo10(), cond()} {
		Problems[p.Name] = p
	}
}

func one(params ...search.Param) search.Space {
	return search.Space{Branches: []search.Branch{{Params: params}}}
}

func uniform(name string, lo, hi float64) search.Param {
	return search.Param{Name: name, Kind: search.Float, Low: lo, High: hi}
}

// Branin on [-5, 10] × [0, 15]; minimum 0.397887 at three points.
func branin() *Problem {
	return &Problem{
		Name: "branin", Optimum: 0.39788735772973816,
		Space: one(uniform("x1", -5, 10), uniform("x2", 0, 15)),
		Eval: func(c search.Config) float64 {
			return Branin(c.Values[0], c.Values[1])
		},
	}
}

// Branin is the Branin–Hoo function.
func Branin(x1, x2 float64) float64 {
	b, cc := 5.1/(4*math.Pi*math.Pi), 5/math.Pi
	t := 1 / (8 * math.Pi)
	return math.Pow(x2-b*x1*x1+cc*x1-6, 2) + 10*(1-t)*math.Cos(x1) + 10
}

// Hartmann-6 on [0, 1]^6; minimum −3.32237.
func hartmann6() *Problem {
	var ps []search.Param
	for i := range 6 {
		ps = append(ps, uniform(fmt.Sprintf("x%d", i+1), 0, 1))
	}
	return &Problem{
		Name: "hartmann6", Optimum: -3.3223680114155147, Space: one(ps...),
		Eval: func(c search.Config) float64 { return Hartmann6(c.Values) },
	}
}

var (
	hA = [4][6]float64{
		{10, 3, 17, 3.5, 1.7, 8},
		{0.05, 10, 17, 0.1, 8, 14},
		{3, 3.5, 1.7, 10, 17, 8},
		{17, 8, 0.05, 10, 0.1, 14},
	}
	hP = [4][6]float64{
		{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
		{0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
		{0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
		{0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381},
	}
	hAlpha = [4]float64{1, 1.2, 3, 3.2}
)

// Hartmann6 is the 6-dimensional Hartmann function.
func Hartmann6(x []float64) float64 {
	var s float64
	for i := range 4 {
		var in float64
		for j := range 6 {
			d := x[j] - hP[i][j]
			in += hA[i][j] * d * d
		}
		s += hAlpha[i] * math.Exp(-in)
	}
	return -s
}

// hpo10 is a 10-dimensional stand-in for a training run's response: four
// log-scaled rates, three integers (one on a step of 16) and three
// uniform fractions, an ill-conditioned bowl with a coupled valley between
// the learning rate and the batch size. Its minimum 0 sits on the grid.
func hpo10() *Problem {
	type dim struct {
		p      search.Param
		opt, w float64
	}
	dims := []dim{
		{search.Param{Name: "lr", Kind: search.Float, Low: 1e-5, High: 1, Log: true}, 3e-3, 4},
		{search.Param{Name: "weight_decay", Kind: search.Float, Low: 1e-7, High: 1e-1, Log: true}, 1e-4, 1},
		{search.Param{Name: "eps", Kind: search.Float, Low: 1e-10, High: 1e-2, Log: true}, 1e-6, 0.25},
		{search.Param{Name: "warmup", Kind: search.Float, Low: 1e-4, High: 1, Log: true}, 3e-2, 0.5},
		{search.Param{Name: "layers", Kind: search.Int, Low: 1, High: 8}, 3, 2},
		{search.Param{Name: "width", Kind: search.Int, Low: 16, High: 1024, Step: 16}, 256, 1},
		{search.Param{Name: "batch", Kind: search.Int, Low: 8, High: 512}, 64, 1},
		{uniform("momentum", 0, 0.99), 0.9, 3},
		{uniform("dropout", 0, 0.8), 0.2, 1},
		{uniform("label_smoothing", 0, 0.3), 0.1, 0.5},
	}
	var ps []search.Param
	for _, d := range dims {
		ps = append(ps, d.p)
	}
	z := func(d dim, v float64) float64 { // distance to the optimum as a share of the range
		if d.p.Log {
			return (math.Log(v) - math.Log(d.opt)) / (math.Log(d.p.High) - math.Log(d.p.Low))
		}
		return (v - d.opt) / (d.p.High - d.p.Low)
	}
	return &Problem{
		Name: "hpo10", Optimum: 0, Space: one(ps...),
		Eval: func(c search.Config) float64 {
			var s float64
			zs := make([]float64, len(dims))
			for i, d := range dims {
				zs[i] = z(d, c.Values[i])
				s += 10 * d.w * zs[i] * zs[i]
			}
			// the learning rate's best value moves with the batch size
			s += 20 * math.Pow(zs[0]-0.5*zs[6], 2)
			return s
		},
	}
}

// cond is a conditional space: an optimizer choice, each optimizer with
// its own parameters, and a categorical activation in both. Minimum 0 at
// adam, lr 1e-3, beta1 0.95, activation tanh.
func cond() *Problem {
	acts := []string{"relu", "tanh", "sigmoid"}
	act := search.Param{Name: "activation", Kind: search.Categorical, N: 3}
	sgd := search.Branch{Name: "sgd", Params: []search.Param{
		{Name: "lr", Kind: search.Float, Low: 1e-4, High: 1, Log: true},
		uniform("momentum", 0, 1), act,
	}}
	adam := search.Branch{Name: "adam", Params: []search.Param{
		{Name: "lr", Kind: search.Float, Low: 1e-5, High: 1e-1, Log: true},
		uniform("beta1", 0.5, 0.999), act,
	}}
	return &Problem{
		Name: "cond", Optimum: 0,
		Space:   search.Space{Branches: []search.Branch{sgd, adam}},
		Choices: map[string][]string{"activation": acts, "optimizer": {"sgd", "adam"}},
		Eval: func(c search.Config) float64 {
			v := c.Values
			if c.Branch == 0 {
				return CondSGD(v[0], v[1], acts[int(v[2])])
			}
			return CondAdam(v[0], v[1], acts[int(v[2])])
		},
	}
}

// CondSGD is cond's objective on its sgd branch (best 0.5).
func CondSGD(lr, momentum float64, act string) float64 {
	pen := map[string]float64{"relu": 0, "tanh": 0.3, "sigmoid": 0.6}[act]
	return 0.5 + math.Pow(math.Log10(lr)+1.5, 2)/2 + 4*math.Pow(momentum-0.9, 2) + pen
}

// CondAdam is cond's objective on its adam branch (best 0).
func CondAdam(lr, beta1 float64, act string) float64 {
	pen := map[string]float64{"relu": 0.2, "tanh": 0, "sigmoid": 0.5}[act]
	return math.Pow(math.Log10(lr)+3, 2)/2 + 10*math.Pow(beta1-0.95, 2) + pen
}
