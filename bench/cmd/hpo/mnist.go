package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aexp/aexp/search"
)

// The real task: the dense autoencoder on an MNIST subset, objective
// val_loss (best epoch), every run trained by the dense plugin through the
// engine. aexp's TPE is a tpe sweep; Optuna's TPE and random search
// propose configurations that each run as a one-run sweep of the same
// spec, so all three are trained and measured the same way.

var (
	mnistActs   = []string{"relu", "selu", "tanh", "elu"}
	mnistHidden = []string{"[256, 32]", "[128, 32]", "[64, 32]"}
	mnistTied   = []string{"false", "true"}
	mnistSpace  = search.Space{Branches: []search.Branch{{Params: []search.Param{
		{Name: "lr", Kind: search.Float, Low: 1e-4, High: 3e-1, Log: true},
		{Name: "activation", Kind: search.Categorical, N: len(mnistActs)},
		{Name: "hidden", Kind: search.Categorical, N: len(mnistHidden)},
		{Name: "tied", Kind: search.Categorical, N: len(mnistTied)},
	}}}}
	mnistBudget = "[objective]\nmetric = \"val_loss\"\n[budget]\nepochs = 2\nbatch_size = 64\ntrain_limit = 2000\ntest_limit = 200\nthreads = 1\n"
)

func mnistTPESpec(name string, seed, trials int) string {
	return fmt.Sprintf(`name = %q
variant = "dense"
dataset = "mnist"
[search]
method = "tpe"
seed = %d
samples = %d
%s[params]
lr = { distribution = "log_uniform", min = 1e-4, max = 3e-1 }
activation = ["%s"]
hidden = [%s]
tied = [%s]
`, name, seed, trials, mnistBudget, strings.Join(mnistActs, `", "`), strings.Join(mnistHidden, ", "), strings.Join(mnistTied, ", "))
}

func mnistOneSpec(name string, c search.Config) string {
	v := c.Values
	return fmt.Sprintf("name = %q\nvariant = \"dense\"\ndataset = \"mnist\"\n%s[params]\nlr = %s\nactivation = %q\nhidden = [%s]\ntied = %s\n",
		name, mnistBudget, strconv.FormatFloat(roundLikeSpec(mnistSpace, c).Values[0], 'g', -1, 64),
		mnistActs[int(v[1])], mnistHidden[int(v[2])], mnistTied[int(v[3])])
}

// mnistCase runs the three methods for seeds × trials and prints one line.
func mnistCase(pluginDir string, opt *optuna, seeds, trials int) {
	ctx := context.Background()
	start := time.Now()
	runs := map[string][][]float64{}
	for k := range seeds {
		dir := tempDir()
		v, err := runSpec(ctx, dir, pluginDir, mnistTPESpec(fmt.Sprintf("mnist-tpe-%d", k), k, trials))
		if err != nil {
			fail(err)
		}
		runs["aexp_tpe"] = append(runs["aexp_tpe"], v)
		i := 0
		one := func(method string) func(search.Config) float64 {
			return func(c search.Config) float64 {
				i++
				v, err := runSpec(ctx, dir, pluginDir, mnistOneSpec(fmt.Sprintf("mnist-%s-%d-%d", method, k, i), c))
				if err != nil {
					fail(err)
				}
				return v[0]
			}
		}
		if opt != nil {
			v, err := opt.study(mnistSpace, "tpe", k, trials, one("optuna"))
			if err != nil {
				fail(err)
			}
			runs["optuna_tpe"] = append(runs["optuna_tpe"], v)
		}
		var rv []float64
		eval := one("random")
		for n := range trials {
			rv = append(rv, eval(mnistSpace.Random(search.Rand(uint64(k), n, 0))))
		}
		runs["aexp_random"] = append(runs["aexp_random"], rv)
		os.RemoveAll(dir)
		fmt.Fprintf(os.Stderr, "hpo: mnist seed %d done (%s)\n", k, time.Since(start).Round(time.Second))
	}
	// regret against the best value any method found
	best := math.Inf(1)
	for _, rs := range runs {
		for _, r := range rs {
			best = math.Min(best, slices.Min(r))
		}
	}
	med := map[string]float64{}
	for m, rs := range runs {
		med[m] = medianBest(rs, trials)
	}
	fmt.Printf("HPO mnist-dense trials=%d aexp_tpe=%.5g optuna_tpe=%.5g aexp_random=%.5g seeds=%d ratio=%.2f vs_random=%.2f best=%.5g\n",
		trials, med["aexp_tpe"], med["optuna_tpe"], med["aexp_random"], seeds, (med["aexp_tpe"]-best)/(med["optuna_tpe"]-best),
		(med["aexp_tpe"]-best)/(med["aexp_random"]-best), best)
	fmt.Fprintf(os.Stderr, "hpo: mnist in %s\n", time.Since(start).Round(time.Second))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "hpo:", err)
	os.Exit(1)
}
