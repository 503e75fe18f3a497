// Command bench measures the nn engine against PyTorch on the same models,
// data, batch size and thread count, and prints one line per case:
//
//	CPU model=<cpuinfo model name> ... blas_core=<OpenBLAS's kernel choice>
//	BENCH <case> aexp_samples_per_s=<x> torch_samples_per_s=<y> ratio=<x/y> aexp_rss_mb=<a> torch_rss_mb=<b>
//	      blas_gflops=<g> roofline=<r> gemm_gflops=<h> own_roofline=<o> torch_roofline=<q>
//
// blas_gflops is the BLAS's throughput on the case's own matrix products
// replayed alone in the same process (see roofline.go); roofline is the
// fraction of it the aexp training step reaches, torch_roofline PyTorch's;
// gemm_gflops and own_roofline the same through nn's product path (its own
// AVX-512 kernel where the BLAS lacks one); cpu_ratio compares samples per
// CPU-second, which a busy machine disturbs less than wall-clock rates
// (at 1 thread; with more, idle threads' spinning counts too). Each engine trains in its own child process (this binary with -child, and
// bench/torch_speed.py), so peak RSS is each process's own, read from
// rusage the same way for both. Only the training loop is timed; stderr
// also shows samples per CPU-second, which a busy machine disturbs less
// than wall-clock rates. -threads 1,2 (the default) measures every case at
// 1 and then at 2 threads: both engines get N OpenBLAS threads (and Go N Ps)
// while torch's intra-op pool stays at 1 (-torch-threads), the fair setting
// that avoids oversubscription.
//
//	go run -tags openblas ./bench/cmd/bench                  # dense, vae, gru, lstm at 1 and 2 threads
//	go run -tags openblas ./bench/cmd/bench -epochs 5 -limit 0 -rnn-limit 0   # the full setting
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/nn"
)

type config struct {
	cases              []string
	epochs, batch      int
	limit, rnnLimit    int
	threads            []int // each a separate round of cases
	childThreads       int
	torchThreads       int
	repeat             int
	python, script     string
	dataDir, childCase string
	cpuProfile         string
	seed               uint64
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	cases := fs.String("cases", "dense,vae,gru,lstm", "comma-separated cases: dense, vae, gru, lstm")
	fs.IntVar(&c.epochs, "epochs", 1, "training epochs per measurement")
	fs.IntVar(&c.batch, "batch", 128, "batch size")
	fs.IntVar(&c.limit, "limit", 0, "train dense/vae on the first N images (0: all 60,000)")
	fs.IntVar(&c.rnnLimit, "rnn-limit", 12800, "train gru/lstm on the first N images (0: all)")
	threads := fs.String("threads", "1,2", "comma-separated BLAS thread counts, one round of cases each, for both engines\n"+
		"(OPENBLAS_NUM_THREADS, GOMAXPROCS)")
	fs.IntVar(&c.torchThreads, "torch-threads", 1, "torch's intra-op pool (torch.set_num_threads); 1 keeps it from\n"+
		"oversubscribing the cores with OpenBLAS's threads")
	fs.IntVar(&c.repeat, "repeat", 1, "measure each engine N times (alternating) and keep the fastest; helps on a busy machine")
	fs.StringVar(&c.python, "python", defaultPython(), "Python interpreter with PyTorch")
	fs.StringVar(&c.script, "script", "bench/torch_speed.py", "the PyTorch reference script")
	fs.StringVar(&c.dataDir, "data", "", "MNIST folder (default: dataset.MNISTDir)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed for initialisation and shuffling")
	fs.StringVar(&c.childCase, "child", "", "internal: train this case in-process and print JSON")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "with -child: write a CPU profile here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.cases = strings.Split(*cases, ",")
	for _, t := range strings.Split(*threads, ",") {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			return fmt.Errorf("-threads: %q is not a positive thread count", t)
		}
		c.threads = append(c.threads, n)
	}
	c.childThreads = c.threads[0]
	if c.dataDir == "" {
		d, err := dataset.MNISTDir()
		if err != nil {
			return err
		}
		c.dataDir = d
	}
	if c.childCase != "" {
		return child(c, stdout)
	}
	return drive(c, stdout, stderr)
}

func defaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3" // Debian's python3-torch lives here, not in pyenv shims
	}
	return "python3"
}

// result is what each child prints.
type result struct {
	SamplesPerS float64 `json:"samples_per_s"`
	Seconds     float64 `json:"seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"` // process CPU time of the loop: robust to a busy machine
	Loss        float64 `json:"loss"`
	Backend     string  `json:"backend,omitempty"`
	// The step's matrix products: FLOPs per sample, and their throughput
	// replayed alone (aexp's child only).
	FlopsPerSample float64 `json:"flops_per_sample,omitempty"`
	BLASGflops     float64 `json:"blas_gflops,omitempty"`
	GEMMGflops     float64 `json:"gemm_gflops,omitempty"` // through nn's own product path
	// Peak RSS before the replay's scratch matrices (aexp's child only).
	RSSMB float64 `json:"rss_mb,omitempty"`
	rssMB float64
}

func drive(c config, stdout, stderr io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	torchErr := exec.Command(c.python, "-c", "import torch").Run()
	if torchErr == nil {
		if _, err := os.Stat(c.script); err != nil {
			return fmt.Errorf("PyTorch reference script: %v (run from the repository root or pass -script)", err)
		}
	}
	fmt.Fprintf(stderr, "# bench: backend=%s threads=%v torch-threads=%d epochs=%d batch=%d limit=%d rnn-limit=%d repeat=%d\n",
		nn.Backend(), c.threads, c.torchThreads, c.epochs, c.batch, c.limit, c.rnnLimit, c.repeat)
	fmt.Fprintln(stdout, cpuLine())
	if torchErr != nil {
		fmt.Fprintf(stderr, "# PyTorch not found for %s (%v): printing the Go figures only.\n"+
			"# Install the reference with `sudo apt-get install python3-torch` (Debian/Ubuntu) or `pip install torch`,\n"+
			"# or point -python at an interpreter that has it.\n", c.python, torchErr)
	}
	for _, threads := range c.threads {
		for _, cs := range c.cases {
			if err := benchCase(c, cs, threads, torchErr == nil, self, stdout, stderr); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchCase measures one case at one thread count and prints its BENCH line.
func benchCase(c config, cs string, threads int, torch bool, self string, stdout, stderr io.Writer) error {
	{
		limit := c.limit
		if cs == "gru" || cs == "lstm" {
			limit = c.rnnLimit
		}
		common := []string{"-epochs", strconv.Itoa(c.epochs), "-batch", strconv.Itoa(c.batch),
			"-limit", strconv.Itoa(limit), "-seed", strconv.FormatUint(c.seed, 10), "-data", c.dataDir}
		goCmd := func() *exec.Cmd {
			return exec.Command(self, append([]string{"-child", cs, "-threads", strconv.Itoa(threads)}, common...)...)
		}
		pyCmd := func() *exec.Cmd {
			return exec.Command(c.python, c.script, "--case", cs, "--epochs", strconv.Itoa(c.epochs),
				"--batch", strconv.Itoa(c.batch), "--limit", strconv.Itoa(limit),
				"--threads", strconv.Itoa(c.torchThreads), "--seed", strconv.FormatUint(c.seed, 10), "--data", c.dataDir)
		}
		var best, bestT *result
		for range c.repeat {
			r, err := measure(goCmd(), threads, stderr)
			if err != nil {
				return fmt.Errorf("%s (aexp): %w", cs, err)
			}
			fmt.Fprintf(stderr, "#   %s aexp:  %s\n", cs, r)
			best = faster(best, r)
			if torch {
				t, err := measure(pyCmd(), threads, stderr)
				if err != nil {
					return fmt.Errorf("%s (torch): %w", cs, err)
				}
				fmt.Fprintf(stderr, "#   %s torch: %s\n", cs, t)
				bestT = faster(bestT, t)
			}
		}
		name := cs
		if threads != 1 {
			name = fmt.Sprintf("%s_t%d", cs, threads)
		}
		gflops := func(r *result) float64 { return r.perCPUSecond() * best.FlopsPerSample / 1e9 } // as the replay: per CPU-second
		roofs := fmt.Sprintf("blas_gflops=%.1f roofline=%.2f gemm_gflops=%.1f own_roofline=%.2f",
			best.BLASGflops, gflops(best)/best.BLASGflops, best.GEMMGflops, gflops(best)/best.GEMMGflops)
		if bestT == nil {
			fmt.Fprintf(stdout, "BENCH %s aexp_samples_per_s=%.0f torch_samples_per_s=NA ratio=NA aexp_rss_mb=%.0f torch_rss_mb=NA %s torch_roofline=NA\n",
				name, best.SamplesPerS, best.rssMB, roofs)
			return nil
		}
		fmt.Fprintf(stdout, "BENCH %s aexp_samples_per_s=%.0f torch_samples_per_s=%.0f ratio=%.2f aexp_rss_mb=%.0f torch_rss_mb=%.0f %s torch_roofline=%.2f cpu_ratio=%.2f\n",
			name, best.SamplesPerS, bestT.SamplesPerS, best.SamplesPerS/bestT.SamplesPerS, best.rssMB, bestT.rssMB,
			roofs, gflops(bestT)/best.BLASGflops, best.perCPUSecond()/bestT.perCPUSecond())
	}
	return nil
}

// perCPUSecond is samples per CPU-second of the training loop.
func (r *result) perCPUSecond() float64 { return r.SamplesPerS * r.Seconds / r.CPUSeconds }

func (r *result) String() string {
	return fmt.Sprintf("%6.0f samples/s (%6.0f per CPU-second), %4.0f MB peak RSS, loss %.4f",
		r.SamplesPerS, r.perCPUSecond(), r.rssMB, r.Loss)
}

func faster(a, b *result) *result {
	if a == nil || b.SamplesPerS > a.SamplesPerS {
		return b
	}
	return a
}

// measure runs one child with the thread settings both engines share and
// returns its JSON result and peak RSS.
func measure(cmd *exec.Cmd, threads int, stderr io.Writer) (*result, error) {
	t := strconv.Itoa(threads)
	cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS="+t, "OMP_NUM_THREADS="+t, "MKL_NUM_THREADS="+t, "GOMAXPROCS="+t)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, lastLines(errb.String(), 5))
	}
	var r result
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		return nil, fmt.Errorf("bad output %q: %v", out.String(), err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return nil, errors.New("no rusage on this platform")
	}
	r.rssMB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
	if r.RSSMB > 0 {
		r.rssMB = r.RSSMB // the engine's own, before the roofline's scratch matrices
	}
	return &r, nil
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}

// cpuTime is the process's user+system CPU time in seconds.
func cpuTime() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// child trains one case and prints its result as JSON.
func child(c config, stdout io.Writer) error {
	nn.SetThreads(c.childThreads)
	runtime.GOMAXPROCS(c.childThreads)
	train, err := loadTrainImages(c.dataDir)
	if err != nil {
		return err
	}
	if c.limit > 0 && c.limit < train.Len() {
		train = train.Head(c.limit)
	}
	rng := rand.New(rand.NewPCG(c.seed, 0))
	m, err := newModel(c.childCase, rng)
	if err != nil {
		return err
	}
	opt := nn.NewAdam(m.params(), 1e-3)
	g := nn.NewGraph()
	batches := dataset.NewBatches(train, c.batch, rng)
	x := &nn.Tensor{Cols: train.Dim()}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	step := func(xs []float32, n int) float32 {
		g.Reset()
		x.Rows, x.Data = n, xs
		loss := m.loss(g, x)
		g.Backward(loss)
		opt.Step()
		return loss.Scalar()
	}
	var total float64
	seen := 0
	start, cpu0 := time.Now(), cpuTime()
	for range c.epochs {
		batches.Shuffle()
		for xs, n := range batches.All() {
			total += float64(step(xs, n)) * float64(n)
			seen += n
		}
	}
	secs, cpu := time.Since(start).Seconds(), cpuTime()-cpu0
	pprof.StopCPUProfile()
	// One more full-batch step, traced, for the roofline (after the timing).
	batches.Rewind()
	xs, n, _ := batches.Next()
	shapes := traceStep(func() { step(xs, n) })
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(result{SamplesPerS: float64(seen) / secs, Seconds: secs, CPUSeconds: cpu,
		Loss: total / float64(seen), Backend: nn.Backend(),
		RSSMB: float64(ru.Maxrss) / 1024, FlopsPerSample: gemmFlops(shapes) / float64(n), BLASGflops: replayGEMMs(shapes, false, 500*time.Millisecond), GEMMGflops: replayGEMMs(shapes, true, 500*time.Millisecond)})
}
