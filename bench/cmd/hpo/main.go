// Command hpo is `make hpo-bench`: aexp's TPE against Optuna's TPESampler
// (Debian python3-optuna 3.1) and random search on test functions with
// known optima, one line per problem and budget.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aexp/aexp/search"
	"github.com/aexp/aexp/search/testfn"
)

func main() {
	seeds := flag.Int("seeds", 20, "repeats per problem and method")
	budgets := flag.String("trials", "50,100", "budgets to report (the longest is run, shorter ones are its prefixes)")
	problems := flag.String("problems", strings.Join(testfn.Names, ","), "problems")
	multi := flag.Bool("multivariate", true, "aexp TPE: multivariate")
	cands := flag.Int("candidates", 0, "aexp TPE: candidates (0: default)")
	bw := flag.Float64("bandwidth", 0, "aexp TPE: multivariate bandwidth (0: default)")
	gam := flag.Float64("gamma", 0, "aexp TPE: gamma (0: default)")
	prior := flag.Float64("prior", 0, "aexp TPE: prior weight (0: default)")
	catPrior := flag.Float64("cat-prior", 0, "aexp TPE: smoothing of categorical tables (0: default)")
	maxBelow := flag.Int("max-below", 0, "aexp TPE: cap on the good set (0: default)")
	script := flag.String("optuna", "bench/hpo_optuna.py", "the Optuna driver script")
	noOptuna := flag.Bool("no-optuna", false, "skip Optuna (for tuning)")
	engine := flag.String("engine", "branin", "problems also searched end to end: the real engine, the testfn plugin, a SQLite store")
	engineTrials := flag.Int("engine-trials", 50, "budget of the end-to-end searches")
	pluginDir := flag.String("plugin-dir", "bin", "where aexp-variant-testfn (and -dense) are")
	mnistSeeds := flag.Int("mnist-seeds", 0, "seeds of the MNIST dense task (0: skip it)")
	mnistTrials := flag.String("mnist-trials", "50,100", "budgets of the MNIST dense task (the longest is run)")
	mnistEngine := flag.Int("mnist-engine-seeds", 2, "MNIST: seeds also searched by the engine's tpe sweep, which must record the in-process values")
	mnistVerify := flag.Int("mnist-verify", 30, "MNIST: configurations re-trained to check that cached values are what training gives")
	mnistCache := flag.String("mnist-cache", "", "MNIST: file that keeps trained results between invocations (\"\": this invocation only)")
	mnistTrace := flag.String("mnist-trace", "", "MNIST: write every search's configurations and values to this JSON file")
	mnistParallel := flag.Int("mnist-parallel", 2, "MNIST: searches side by side (each run uses one BLAS thread)")
	flag.Parse()

	// the sampler's options; each search sets its seed
	base := search.Options{Multivariate: *multi, Candidates: *cands, Bandwidth: *bw, Gamma: *gam, PriorWeight: *prior, MaxBelow: *maxBelow, CategoricalPrior: *catPrior}
	bs := intList(*budgets)
	maxB := slices.Max(bs)
	var opt *optuna
	if !*noOptuna {
		var err error
		if opt, err = startOptuna(*script); err != nil {
			fmt.Fprintln(os.Stderr, "hpo:", err)
			os.Exit(1)
		}
		defer opt.close()
	}
	for _, name := range strings.Split(*problems, ",") {
		if name == "" {
			continue
		}
		p := testfn.Problems[name]
		if p == nil {
			fmt.Fprintf(os.Stderr, "hpo: unknown problem %q\n", name)
			os.Exit(2)
		}
		start := time.Now()
		runs := map[string][][]float64{}
		for k := range *seeds {
			o := base
			o.Seed = uint64(k)
			runs["aexp_tpe"] = append(runs["aexp_tpe"], runTPE(p, o, maxB))
			runs["aexp_random"] = append(runs["aexp_random"], runRandom(p, uint64(k), maxB))
			if opt != nil {
				v, err := opt.study(p.Space, "tpe", k, maxB, p.Eval)
				if err != nil {
					fmt.Fprintln(os.Stderr, "hpo:", err)
					os.Exit(1)
				}
				runs["optuna_tpe"] = append(runs["optuna_tpe"], v)
			}
		}
		for _, b := range bs {
			med := map[string]float64{}
			for m, rs := range runs {
				med[m] = medianBest(rs, b) - p.Optimum
			}
			ratio := math.NaN()
			if opt != nil {
				ratio = med["aexp_tpe"] / med["optuna_tpe"]
			}
			fmt.Printf("HPO %s trials=%d aexp_tpe=%.4g optuna_tpe=%.4g aexp_random=%.4g seeds=%d ratio=%.2f vs_random=%.2f\n",
				p.Name, b, med["aexp_tpe"]+p.Optimum, med["optuna_tpe"]+p.Optimum, med["aexp_random"]+p.Optimum, *seeds, ratio, med["aexp_tpe"]/med["aexp_random"])
		}
		fmt.Fprintf(os.Stderr, "hpo: %s in %s\n", p.Name, time.Since(start).Round(time.Millisecond))
		if slices.Contains(strings.Split(*engine, ","), name) {
			start := time.Now()
			var e [][]float64
			same := 0
			for k := range *seeds {
				dir := tempDir()
				v, err := engineSweep(context.Background(), dir, *pluginDir, p, k, *engineTrials, "tpe")
				os.RemoveAll(dir)
				if err != nil {
					fmt.Fprintln(os.Stderr, "hpo: engine:", err)
					os.Exit(1)
				}
				e = append(e, v)
				if slices.Equal(v, runs["aexp_tpe"][k][:len(v)]) {
					same++
				}
			}
			b := *engineTrials
			ratio := math.NaN()
			eb := medianBest(e, b) - p.Optimum
			if opt != nil {
				ratio = eb / (medianBest(runs["optuna_tpe"], b) - p.Optimum)
			}
			fmt.Printf("HPO %s-engine trials=%d aexp_tpe=%.4g optuna_tpe=%.4g aexp_random=%.4g seeds=%d ratio=%.2f same_as_in_process=%d/%d\n",
				p.Name, b, eb+p.Optimum, medianBest(runs["optuna_tpe"], b), medianBest(runs["aexp_random"], b), *seeds, ratio, same, *seeds)
			fmt.Fprintf(os.Stderr, "hpo: %s through the engine in %s\n", p.Name, time.Since(start).Round(time.Millisecond))
		}
	}
	if *mnistSeeds > 0 {
		mnistCase(base, *pluginDir, *script, *mnistCache, *mnistTrace, *mnistSeeds, intList(*mnistTrials), *mnistEngine, *mnistVerify, *mnistParallel)
	}
}

func intList(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "hpo: bad budget %q in %q\n", f, s)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

func runTPE(p *testfn.Problem, o search.Options, n int) []float64 {
	return searchTPE(p.Space, o, n, p.Eval)
}

// searchTPE searches in-process as the engine does: the same sampler, the
// history built the way the engine builds it (sequential: nothing in
// flight), values rounded as the engine records them, and a configuration
// tried before drawn again with the next retry number.
func searchTPE(s search.Space, o search.Options, n int, eval func(search.Config) float64) []float64 {
	t := search.NewTPE(s, o)
	var hist []search.Trial
	var vals []float64
	seen := map[string]bool{}
	for i := range n {
		var c search.Config
		for r := 0; ; r++ {
			c, _ = t.Propose(i, r, hist)
			c = roundLikeSpec(s, c)
			if k := fmt.Sprint(c); !seen[k] || r == 199 {
				seen[k] = true
				break
			}
		}
		v := eval(c)
		hist = append(hist, search.Trial{Config: c, State: search.Complete, Value: v})
		vals = append(vals, v)
	}
	return vals
}

func runRandom(p *testfn.Problem, seed uint64, n int) []float64 {
	var vals []float64
	for i := range n {
		vals = append(vals, p.Eval(p.Space.Random(search.Rand(seed, i, 0))))
	}
	return vals
}

// medianBest is the median over repeats of the best value among the first b.
func medianBest(runs [][]float64, b int) float64 {
	if len(runs) == 0 {
		return math.NaN()
	}
	var best []float64
	for _, r := range runs {
		best = append(best, slices.Min(r[:min(b, len(r))]))
	}
	slices.Sort(best)
	m := len(best)
	if m%2 == 1 {
		return best[m/2]
	}
	return (best[m/2-1] + best[m/2]) / 2
}
