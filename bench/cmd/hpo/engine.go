package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/search"
	"github.com/aexp/aexp/search/testfn"
	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
)

// specFor writes a problem as an aexp sweep spec over the testfn plugin:
// one block, or one [[variants]] block per branch (the conditional space).
func specFor(p *testfn.Problem, seed, trials int, method string) string {
	var b strings.Builder
	if len(p.Space.Branches) == 1 {
		b.WriteString("variant = \"testfn\"\n")
	}
	fmt.Fprintf(&b, "name = %q\ndataset = \"sines\"\n[search]\nmethod = %q\nseed = %d\nsamples = %d\n", p.Name+"-"+method, method, seed, trials)
	fmt.Fprintf(&b, "[budget]\nepochs = 1\n[params]\nproblem = %q\n", p.Name)
	param := func(q search.Param) string {
		num := func(x float64) string {
			s := strconv.FormatFloat(x, 'g', -1, 64)
			if q.Kind == search.Float && !strings.ContainsAny(s, ".e") {
				s += ".0"
			}
			return s
		}
		switch q.Kind {
		case search.Categorical:
			return `["` + strings.Join(p.Choices[q.Name], `", "`) + `"]`
		case search.Int:
			s := fmt.Sprintf(`{ distribution = "int_uniform", min = %s, max = %s`, num(q.Low), num(q.High))
			if q.Step > 0 {
				s += ", q = " + num(q.Step)
			}
			return s + " }"
		}
		kind := "uniform"
		if q.Log {
			kind = "log_uniform"
		}
		return fmt.Sprintf(`{ distribution = %q, min = %s, max = %s }`, kind, num(q.Low), num(q.High))
	}
	if len(p.Space.Branches) == 1 {
		for _, q := range p.Space.Branches[0].Params {
			fmt.Fprintf(&b, "%s = %s\n", q.Name, param(q))
		}
		return b.String()
	}
	for _, br := range p.Space.Branches {
		fmt.Fprintf(&b, "[[variants]]\nname = \"testfn\"\n[variants.params]\noptimizer = %q\n", br.Name)
		for _, q := range br.Params {
			fmt.Fprintf(&b, "%s = %s\n", q.Name, param(q))
		}
	}
	return b.String()
}

// engineSweep runs a problem's sweep through the real engine (the testfn
// plugin in its own process per run, a SQLite store in dir) and returns
// the objective of every run in the order they were recorded.
func engineSweep(ctx context.Context, dir, pluginDir string, p *testfn.Problem, seed, trials int, method string) ([]float64, error) {
	return runSpec(ctx, dir, pluginDir, specFor(p, seed, trials, method))
}

// runSpec runs a sweep spec through the engine with the store dir/aexp.db
// and returns the best objective of each of its runs, in recorded order.
func runSpec(ctx context.Context, dir, pluginDir, text string) ([]float64, error) {
	sp, err := orchestrator.Parse(filepath.Join(dir, "spec.toml"), []byte(text))
	if err != nil {
		return nil, err
	}
	pl, err := orchestrator.Expand(sp)
	if err != nil {
		return nil, err
	}
	plugins, err := variant.Discover(pluginDir)
	if err != nil {
		return nil, err
	}
	c, err := orchestrator.Check(ctx, pl, plugins)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(filepath.Join(dir, "aexp.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	res, err := orchestrator.NewEngine(c, db, orchestrator.Options{Parallel: 1, Threads: 1, Log: io.Discard}).Run(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := db.ListRuns(ctx, store.RunFilter{SweepID: res.SweepID})
	if err != nil {
		return nil, err
	}
	var vals []float64
	for _, r := range runs {
		if r.BestObjective == nil {
			return nil, fmt.Errorf("run %d (%s) has no objective: %s", r.RunID, r.Status, r.Error)
		}
		vals = append(vals, *r.BestObjective)
	}
	return vals, nil
}

// roundLikeSpec rounds a proposal the way the engine records values
// (int_uniform as integers, other numbers to 5 significant digits), so
// the in-process driver and the engine see the same history.
func roundLikeSpec(s search.Space, c search.Config) search.Config {
	out := search.Config{Branch: c.Branch, Values: make([]float64, len(c.Values))}
	for j, q := range s.Branches[c.Branch].Params {
		v := c.Values[j]
		if q.Kind == search.Float && q.Step == 0 {
			v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 5, 64), 64)
		}
		out.Values[j] = v
	}
	return out
}

func tempDir() string {
	d, err := os.MkdirTemp("", "aexp-hpo-")
	if err != nil {
		panic(err)
	}
	return d
}
