package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/search"
)

// The real task: the dense autoencoder on an MNIST subset, objective
// val_loss (best epoch), every configuration trained by the dense plugin
// through the engine (a one-run sweep: spec, validation against the
// plugin's schema, a plugin process, the SQLite store). The three methods
// ask for configurations the same way the function problems do — aexp's
// TPE in-process with the engine's rounding, Optuna over stdin/stdout,
// random search — and share one evaluator, with a cache of results in
// front of it (cache.go). The engine's own tpe sweeps are run for a few
// seeds and must record exactly the in-process searches' values.

var (
	mnistActs   = []string{"relu", "selu", "elu", "tanh"}
	mnistHidden = []string{"[512, 64]", "[256, 64]", "[256, 32]", "[128, 32]", "[128, 16]", "[64, 16]"}
	mnistTied   = []string{"false", "true"}
	mnistSpace  = search.Space{Branches: []search.Branch{{Params: []search.Param{
		{Name: "lr", Kind: search.Float, Low: 1e-4, High: 1e-1, Log: true},
		{Name: "weight_decay", Kind: search.Float, Low: 1e-5, High: 1e-1, Log: true},
		{Name: "hidden", Kind: search.Categorical, N: len(mnistHidden)},
		{Name: "activation", Kind: search.Categorical, N: len(mnistActs)},
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
lr = { distribution = "log_uniform", min = 1e-4, max = 1e-1 }
weight_decay = { distribution = "log_uniform", min = 1e-5, max = 1e-1 }
hidden = [%s]
activation = ["%s"]
tied = [%s]
`, name, seed, trials, mnistBudget, strings.Join(mnistHidden, ", "), strings.Join(mnistActs, `", "`), strings.Join(mnistTied, ", "))
}

// mnistOneSpec is one configuration as a one-run sweep.
func mnistOneSpec(name string, c search.Config) string {
	v := roundLikeSpec(mnistSpace, c).Values
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return fmt.Sprintf("name = %q\nvariant = \"dense\"\ndataset = \"mnist\"\n%s[params]\nlr = %s\nweight_decay = %s\nhidden = [%s]\nactivation = %q\ntied = %s\n",
		name, mnistBudget, num(v[0]), num(v[1]), mnistHidden[int(v[2])], mnistActs[int(v[3])], mnistTied[int(v[4])])
}

// mnistEval trains configurations through the engine, each a one-run
// sweep in the store under dir, with the cache in front.
type mnistEval struct {
	pluginDir string
	cache     *resultCache
}

// eval returns the configuration's val_loss: cached, or trained.
func (m *mnistEval) eval(ctx context.Context, dir, name string, c search.Config) (float64, error) {
	c = roundLikeSpec(mnistSpace, c)
	text := mnistOneSpec(name, c)
	sp, err := orchestrator.Parse(filepath.Join(dir, "spec.toml"), []byte(text))
	if err != nil {
		return 0, err
	}
	pl, err := orchestrator.Expand(sp)
	if err != nil {
		return 0, err
	}
	key := pl.Runs[0].Key // variant, params, training seed, data and budget
	if v, ok := m.cache.get(key); ok {
		return v, nil
	}
	v, err := runSpec(ctx, dir, m.pluginDir, text)
	if err != nil {
		return 0, err
	}
	return v[0], m.cache.put(key, c, v[0])
}

// mnistCase runs the three methods for seeds × the longest budget on
// `parallel` workers, checks the engine's sweeps and the cache, and prints
// a line per budget.
// base is the sampler's options (the engine's defaults unless tuning
// flags are given; then engineSeeds must be 0: the engine uses defaults).
func mnistCase(base search.Options, pluginDir, script, cachePath, tracePath string, seeds int, budgets []int, engineSeeds, verify, parallel int) {
	ctx := context.Background()
	start := time.Now()
	trials := slices.Max(budgets)
	engineSeeds = min(engineSeeds, seeds)
	plug, err := orchestrator.LoadPlugin(ctx, filepath.Join(pluginDir, "aexp-variant-dense"))
	if err != nil {
		fail(err)
	}
	cache, err := openCache(cachePath, plug.Hash)
	if err != nil {
		fail(err)
	}
	defer cache.close()
	before := len(cache.vals)
	ev := &mnistEval{pluginDir: pluginDir, cache: cache}

	methods := []string{"aexp_tpe", "optuna_tpe", "aexp_random"}
	runs := map[string][][]float64{}
	for _, m := range methods {
		runs[m] = make([][]float64, seeds)
	}
	engine := make([][]float64, engineSeeds)
	trace := map[string][][]traceTrial{}
	for _, m := range methods {
		trace[m] = make([][]traceTrial, seeds)
	}
	// jobs: a seed's three searches, and the engine's tpe sweeps
	jobs := make(chan func(*optuna), seeds+engineSeeds)
	var mu sync.Mutex
	done := 0
	progress := func(what string) {
		mu.Lock()
		defer mu.Unlock()
		done++
		fmt.Fprintf(os.Stderr, "hpo: mnist %s done (%d/%d, %s; %d trained, %d from the cache)\n",
			what, done, seeds+engineSeeds, time.Since(start).Round(time.Second), cache.trained, cache.hits)
	}
	for k := range seeds {
		jobs <- func(opt *optuna) {
			dir := tempDir()
			defer os.RemoveAll(dir)
			i := 0
			tried := map[string][]traceTrial{}
			one := func(method string) func(search.Config) float64 {
				return func(c search.Config) float64 {
					i++
					c = roundLikeSpec(mnistSpace, c)
					v, err := ev.eval(ctx, dir, fmt.Sprintf("mnist-%s-%d-%d", method, k, i), c)
					if err != nil {
						fail(err)
					}
					tried[method] = append(tried[method], traceTrial{c.Values, v})
					return v
				}
			}
			o := base
			o.Seed = uint64(k)
			tpe := searchTPE(mnistSpace, o, trials, one("tpe"))
			ov, err := opt.study(mnistSpace, "tpe", k, trials, one("optuna"))
			if err != nil {
				fail(err)
			}
			var rv []float64
			eval := one("random")
			for n := range trials {
				rv = append(rv, eval(mnistSpace.Random(search.Rand(uint64(k), n, 0))))
			}
			mu.Lock()
			runs["aexp_tpe"][k], runs["optuna_tpe"][k], runs["aexp_random"][k] = tpe, ov, rv
			trace["aexp_tpe"][k], trace["optuna_tpe"][k], trace["aexp_random"][k] = tried["tpe"], tried["optuna"], tried["random"]
			mu.Unlock()
			progress(fmt.Sprintf("seed %d (best of %d: tpe %.5g, optuna %.5g, random %.5g; of %d: %.5g, %.5g, %.5g)", k, trials, slices.Min(tpe), slices.Min(ov), slices.Min(rv),
				budgets[0], slices.Min(tpe[:budgets[0]]), slices.Min(ov[:budgets[0]]), slices.Min(rv[:budgets[0]])))
		}
	}
	for k := range engineSeeds {
		jobs <- func(*optuna) {
			dir := tempDir()
			defer os.RemoveAll(dir)
			v, err := runSpec(ctx, dir, pluginDir, mnistTPESpec(fmt.Sprintf("mnist-tpe-%d", k), k, trials))
			if err != nil {
				fail(err)
			}
			mu.Lock()
			engine[k] = v
			mu.Unlock()
			progress(fmt.Sprintf("engine sweep %d", k))
		}
	}
	close(jobs)
	var wg sync.WaitGroup
	for range max(parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opt, err := startOptuna(script)
			if err != nil {
				fail(err)
			}
			defer opt.close()
			for job := range jobs {
				job(opt)
			}
		}()
	}
	wg.Wait()
	if tracePath != "" {
		writeTrace(tracePath, trace)
	}

	// regret against the best value any method found in any seed
	best := math.Inf(1)
	for _, rs := range runs {
		for _, r := range rs {
			best = math.Min(best, slices.Min(r))
		}
	}
	for _, b := range budgets {
		med := map[string]float64{}
		for m, rs := range runs {
			med[m] = medianBest(rs, b)
		}
		rlo, rhi := interval(runs["aexp_tpe"], runs["optuna_tpe"], b, best)
		vlo, vhi := interval(runs["aexp_tpe"], runs["aexp_random"], b, best)
		fmt.Printf("HPO mnist-dense trials=%d aexp_tpe=%.5g optuna_tpe=%.5g aexp_random=%.5g seeds=%d ratio=%.2f vs_random=%.2f best=%.5g ratio_90=%.2f-%.2f vs_random_90=%.2f-%.2f\n",
			b, med["aexp_tpe"], med["optuna_tpe"], med["aexp_random"], seeds, (med["aexp_tpe"]-best)/(med["optuna_tpe"]-best),
			(med["aexp_tpe"]-best)/(med["aexp_random"]-best), best, rlo, rhi, vlo, vhi)
	}
	if engineSeeds > 0 {
		same := 0
		for k, v := range engine {
			if slices.Equal(v, runs["aexp_tpe"][k]) {
				same++
			}
		}
		fmt.Printf("HPO mnist-dense-engine trials=%d aexp_tpe=%.5g seeds=%d same_as_in_process=%d/%d\n",
			trials, medianBest(engine, trials), engineSeeds, same, engineSeeds)
	}
	// determinism: re-train a sample of the values this invocation used
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range cache.used {
			if !yield(k) {
				return
			}
		}
	})
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	keys = keys[:min(verify, len(keys))]
	equal := 0
	for i, key := range keys {
		e := cache.vals[key]
		dir := tempDir()
		v, err := runSpec(ctx, dir, pluginDir, mnistOneSpec(fmt.Sprintf("verify-%d", i), e.Config))
		os.RemoveAll(dir)
		if err != nil {
			fail(err)
		}
		if v[0] == e.Value {
			equal++
		} else {
			fmt.Fprintf(os.Stderr, "hpo: %s: cached val_loss %v, re-trained %v\n", key, e.Value, v[0])
		}
	}
	fmt.Printf("HPO mnist-dense cache trained=%d from_cache=%d (%d entries before) retrained=%d equal=%d\n",
		cache.trained, cache.hits, before, len(keys), equal)
	fmt.Fprintf(os.Stderr, "hpo: mnist in %s\n", time.Since(start).Round(time.Second))
	if equal < len(keys) || !slices.EqualFunc(engine, runs["aexp_tpe"][:engineSeeds], slices.Equal) {
		fail(fmt.Errorf("re-trained runs or the engine's sweeps differ from the cached values: training is not deterministic here, or the in-process search is not the engine's"))
	}
}

// interval is a 90% paired bootstrap interval of a ratio of median regrets
// after b trials: seeds resampled with replacement, the same seeds for both
// methods, 2,000 times.
func interval(a, c [][]float64, b int, best float64) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(7, 7))
	rs := make([]float64, 2000)
	for i := range rs {
		var sa, sc [][]float64
		for range a {
			k := rng.IntN(len(a))
			sa, sc = append(sa, a[k]), append(sc, c[k])
		}
		rs[i] = (medianBest(sa, b) - best) / (medianBest(sc, b) - best)
	}
	slices.Sort(rs)
	return rs[len(rs)*5/100], rs[len(rs)*95/100]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "hpo:", err)
	os.Exit(1)
}

// traceTrial is one trial in the trace: the values as the space orders
// them (lr, weight_decay, then indices into mnistHidden, mnistActs,
// mnistTied) and the val_loss it got.
type traceTrial struct {
	Values []float64 `json:"values"`
	Loss   float64   `json:"val_loss"`
}

// writeTrace saves every search's trials, per method and seed, for
// looking at how the searches went (which configurations, in what order).
func writeTrace(path string, trace map[string][][]traceTrial) {
	b, err := json.Marshal(trace)
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		fail(err)
	}
}
