// Command quality trains the settings of aexp's quality table (issue 4)
// with the real plugin binaries and compares each with its target, the
// PyTorch 1.13 reference trained the same way (bench/torch_quality.py):
// 60,000 MNIST training images, batch 128, Adam lr 1e-3, 5 epochs, test on
// the 10,000 test images.
//
//	make quality                                   # all rows, 2 at a time, 1 BLAS thread each
//	go run -tags openblas ./bench/cmd/quality -rows dense-selu,vae-20 -parallel 1
//	go run -tags openblas ./bench/cmd/quality -rows rnn-gru -seeds 0,1,2 -set '{"init": "pytorch"}'
//
// It prints, for every metric of every row,
//
//	QUALITY <setting> <metric>=<measured> target<=<target> ok|short
//
// and then QUALITY <k>/<n> rows meet target (a row meets it when all its
// metrics do). With -seeds 0,1,2 each row trains once per seed and reports
// the mean. Progress goes to stderr. The exit status is 0 even when a
// row falls short (this is a measurement, not a test); 1 when a run fails.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/variant"
)

// target is one metric's bar.
type target struct {
	metric string
	max    float64
}

// row is one setting of the table.
type row struct {
	name    string
	plugin  string
	params  map[string]any
	targets []target
	torch   string // the PyTorch reference on the lead's machine, from the issue
}

var dense = map[string]any{"hidden": []int{300, 150}, "output": "sigmoid", "loss": "mse"}

func with(base map[string]any, kv ...any) map[string]any {
	m := map[string]any{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

var rows = []row{
	{"dense-selu", "dense", with(dense, "activation", "selu"),
		[]target{{"test_mse", 0.0044}}, "test_mse 0.0042"},
	{"dense-relu", "dense", with(dense, "activation", "relu"),
		[]target{{"test_mse", 0.0068}}, "test_mse 0.0065"},
	{"denoise-gauss", "denoise", with(dense, "activation", "selu", "noise", "gauss", "noise_std", 0.2),
		[]target{{"test_mse", 0.0050}, {"test_mse_noisy", 0.0072}}, "test_mse 0.0047, test_mse_noisy 0.0068"},
	{"denoise-dropout", "denoise", with(dense, "activation", "selu", "noise", "dropout", "noise_rate", 0.5),
		[]target{{"test_mse", 0.0092}, {"test_mse_noisy", 0.0139}}, "test_mse 0.0088, test_mse_noisy 0.0132"},
	{"vae-20", "vae", map[string]any{"hidden": []int{512, 256}, "latent": 20, "beta": 1.0},
		[]target{{"test_neg_elbo", 110}, {"test_mse", 0.016}}, "test_neg_elbo 108.1-108.7, test_mse 0.015"},
	{"vae-2", "vae", map[string]any{"hidden": []int{512, 256}, "latent": 2, "beta": 1.0},
		[]target{{"test_neg_elbo", 150}}, "test_neg_elbo 148.1-148.5"},
	{"rnn-gru", "rnn", map[string]any{"cell": "gru", "hidden": 128, "code": 32},
		[]target{{"test_mse", 0.031}}, "test_mse 0.029"},
	{"rnn-lstm", "rnn", map[string]any{"cell": "lstm", "hidden": 128, "code": 32},
		[]target{{"test_mse", 0.040}}, "test_mse 0.038"},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "quality:", err)
		os.Exit(1)
	}
}

type result struct {
	metrics map[string]float64
	secs    float64
	err     error
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quality", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "bin", "folder holding the aexp-variant-<name> binaries (make build)")
	only := fs.String("rows", "", "comma-separated settings to run (default all): "+names())
	parallel := fs.Int("parallel", 2, "runs at a time")
	threads := fs.Int("threads", 1, "BLAS threads per run")
	epochs := fs.Int("epochs", 5, "epochs per run")
	seedList := fs.String("seeds", "0", "comma-separated run seeds; with several, each row reports the mean over them")
	trainLimit := fs.Int("train-limit", 0, "cap on training images (0: all 60,000; the targets assume all)")
	testLimit := fs.Int("test-limit", 0, "cap on test images (0: all 10,000)")
	verbose := fs.Bool("v", false, "pass the plugins' logs to stderr")
	set := fs.String("set", "", `extra params for every selected row, a JSON object: -set '{"init": "pytorch", "lr": 2e-3}'`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var extra []any // key, value, ... for with
	if *set != "" {
		var m map[string]any
		if err := json.Unmarshal([]byte(*set), &m); err != nil {
			return fmt.Errorf("-set: want a JSON object of params: %v", err)
		}
		for k, v := range m {
			extra = append(extra, k, v)
		}
	}
	selected := rows
	if *only != "" {
		selected = nil
		for _, n := range strings.Split(*only, ",") {
			i := index(n)
			if i < 0 {
				return fmt.Errorf("unknown row %q; rows: %s", n, names())
			}
			selected = append(selected, rows[i])
		}
	}
	var seeds []uint64
	for _, f := range strings.Split(*seedList, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return fmt.Errorf("-seeds: %q is not a seed", f)
		}
		seeds = append(seeds, v)
	}
	dir, err := dataset.MNISTDir()
	if err != nil {
		return err
	}
	for _, r := range selected {
		if _, err := os.Stat(filepath.Join(*bin, "aexp-variant-"+r.plugin)); err != nil {
			return fmt.Errorf("%v (run make build first, or pass -bin)", err)
		}
	}

	type job struct {
		row  row
		seed uint64
		res  result
	}
	var jobs []*job
	for _, r := range selected {
		for _, sd := range seeds {
			jobs = append(jobs, &job{row: r, seed: sd})
		}
	}
	sem := make(chan struct{}, max(*parallel, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := j.row
			name := fmt.Sprintf("%s seed %d", r.name, j.seed)
			mu.Lock()
			params := with(r.params, append([]any{"val_split", 0.0, "lr", 1e-3}, extra...)...)
			fmt.Fprintf(stderr, "quality: %s: training (%s %v)\n", name, r.plugin, params)
			mu.Unlock()
			var logs io.Writer
			if *verbose {
				logs = &prefixWriter{w: stderr, mu: &mu, prefix: name + ": "}
			}
			req := variant.TrainRequest{
				RunKey: fmt.Sprintf("quality-%s-%d", r.name, j.seed), Params: params,
				Seed: j.seed, Dataset: "mnist", DataDir: dir, Epochs: *epochs, BatchSize: 128,
				TrainLimit: *trainLimit, TestLimit: *testLimit, Threads: *threads, Keep: "last",
			}
			res := trainOne(ctx, filepath.Join(*bin, "aexp-variant-"+r.plugin), req, logs, func(ep *variant.EpochReport) {
				mu.Lock()
				fmt.Fprintf(stderr, "quality: %s: epoch %d train_loss=%.6g val_loss=%.6g (%.0fs)\n",
					name, ep.Epoch, ep.Metrics["train_loss"], ep.Metrics["val_loss"], ep.Metrics["epoch_seconds"])
				mu.Unlock()
			})
			mu.Lock()
			if res.err != nil {
				fmt.Fprintf(stderr, "quality: %s: %v\n", name, res.err)
			} else {
				fmt.Fprintf(stderr, "quality: %s: done in %.0fs: %v (PyTorch reference: %s)\n", name, res.secs, res.metrics, r.torch)
			}
			mu.Unlock()
			j.res = res
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	// Per row: the mean over its seeds; a failed seed fails the row.
	results := make([]result, len(selected))
	for i, r := range selected {
		sum := map[string]float64{}
		for _, j := range jobs {
			if j.row.name != r.name {
				continue
			}
			if j.res.err != nil {
				results[i].err = j.res.err
			}
			for k, v := range j.res.metrics {
				sum[k] += v / float64(len(seeds))
			}
		}
		results[i].metrics = sum
	}

	met, failed := 0, 0
	for i, r := range selected {
		res := results[i]
		if res.err != nil {
			failed++
			for _, t := range r.targets {
				fmt.Fprintf(stdout, "QUALITY %s %s=failed target<=%g short\n", r.name, t.metric, t.max)
			}
			continue
		}
		ok := true
		for _, t := range r.targets {
			v, have := res.metrics[t.metric]
			verdict := "ok"
			if !have || !(v <= t.max) {
				verdict, ok = "short", false
			}
			fmt.Fprintf(stdout, "QUALITY %s %s=%.4g target<=%g %s\n", r.name, t.metric, v, t.max, verdict)
		}
		if ok {
			met++
		}
	}
	fmt.Fprintf(stdout, "QUALITY %d/%d rows meet target\n", met, len(selected))
	if failed > 0 {
		return fmt.Errorf("%d run(s) failed", failed)
	}
	return nil
}

func trainOne(ctx context.Context, path string, req variant.TrainRequest, logs io.Writer, epoch func(*variant.EpochReport)) result {
	start := time.Now()
	p, err := variant.Launch(ctx, path, variant.LaunchOptions{Stderr: logs})
	if err != nil {
		return result{err: err}
	}
	defer p.Kill()
	var final *variant.FinalReport
	err = p.Train(ctx, req, func(e variant.Event) error {
		switch {
		case e.Epoch != nil:
			epoch(e.Epoch)
		case e.Final != nil:
			final = e.Final
		case e.Log != nil && logs != nil:
			fmt.Fprintf(logs, "%s %s\n", e.Log.Level, e.Log.Text)
		}
		return nil
	})
	if err == nil && final == nil {
		err = fmt.Errorf("no final report")
	}
	if err != nil {
		if tail := p.StderrTail(); tail != "" {
			err = fmt.Errorf("%w\n%s", err, tail)
		}
		return result{err: err}
	}
	return result{metrics: final.Metrics, secs: time.Since(start).Seconds()}
}

type prefixWriter struct {
	w      io.Writer
	mu     *sync.Mutex
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			fmt.Fprint(p.w, p.prefix+line)
		}
	}
	return len(b), nil
}

func index(name string) int {
	for i, r := range rows {
		if r.name == name {
			return i
		}
	}
	return -1
}

func names() string {
	var n []string
	for _, r := range rows {
		n = append(n, r.name)
	}
	return strings.Join(n, ",")
}
