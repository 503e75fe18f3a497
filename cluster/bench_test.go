package cluster_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aexp/aexp/cluster"
	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
)

// simulated trains nothing: it reports three epochs, a small checkpoint
// and the final metrics at once, so a benchmark measures the coordinator's
// bookkeeping and the transport, not training or process starts.
type simulated struct{}

func (simulated) Train(ctx context.Context, t orchestrator.Task, emit func(variant.Event) error) (string, error) {
	if err := t.Started(orchestrator.Started{Pid: 1, Host: "sim", Threads: 1}); err != nil {
		return "", err
	}
	for ep := 1; ep <= t.Req.Epochs; ep++ {
		m := map[string]float64{"train_loss": 1 / float64(ep), "val_loss": 1.1 / float64(ep), "epoch_seconds": 0, "samples_per_second": 0}
		if err := emit(variant.Event{Epoch: &variant.EpochReport{Epoch: ep, Metrics: m}}); err != nil {
			return "", err
		}
	}
	if err := emit(variant.Event{Artifact: &variant.Artifact{Kind: variant.KindCheckpoint, Name: "model.safetensors",
		Epoch: t.Req.Epochs, Format: "safetensors", Data: make([]byte, 1024)}}); err != nil {
		return "", err
	}
	return "", emit(variant.Event{Final: &variant.FinalReport{Metrics: map[string]float64{"test_mse": 0.1, "pca_mse": 0.2}}})
}

// BenchmarkCoordinator: 2,000 runs over 64 worker slots (4 workers × 16,
// simulated training) through an embedded server into one store: the runs
// per second the coordinator records, and its time per run.
func BenchmarkCoordinator(b *testing.B) {
	const runs, workers, slots = 2000, 4, 16
	ns := startServer(b, b.TempDir(), 0)
	url := ns.ClientURL()
	bin := plugins(b)
	for range workers {
		ctx, cancel := context.WithCancel(context.Background())
		w, err := cluster.NewWorker(ctx, cluster.WorkerOptions{Conn: cluster.ConnOptions{URL: url},
			Plugins: map[string]string{"test": filepath.Join(bin, "aexp-variant-test")}, Slots: slots, Threads: 1,
			Executor: simulated{}})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); _ = w.Run(ctx) }()
		b.Cleanup(func() { cancel(); <-done })
	}
	lrs := make([]string, runs/2)
	for i := range lrs {
		lrs[i] = fmt.Sprintf("%.6f", 0.001+float64(i)*0.001)
	}
	spec := fmt.Sprintf(`name = "bench"
variant = "test"
dataset = "sines"
[budget]
epochs = 3
seeds = [0, 1]
parallel = %d
threads = 1
[params]
lr = [%s]
`, workers*slots, strings.Join(lrs, ", "))
	b.ResetTimer()
	var secs []float64
	for range b.N {
		var log buildtest.SyncBuffer
		start := time.Now()
		res, _ := sweep(b, context.Background(), url, b.TempDir(), spec, &log)
		secs = append(secs, time.Since(start).Seconds())
		if res.Counts[store.StatusDone] != runs {
			b.Fatalf("counts %v\n%s", res.Counts, &log)
		}
	}
	// the whole sweep: validation, recording the 2,000 runs, training them
	el := median(secs)
	b.ReportMetric(float64(runs)/el, "runs/s")
	b.ReportMetric(el*1000/float64(runs), "ms/run")
}

const benchSpec = `name = "%s"
variant = "dense"
dataset = "mnist"
[budget]
epochs = 2
batch_size = 128
parallel = 2
threads = 1
train_limit = 6000
test_limit = 1000
seeds = [0, 1]
[params]
hidden = [[128, 16], [128, 32]]
lr = 1e-3
[checkpoints]
keep = "best"
`

// BenchmarkDistributed: the same dense MNIST sweep (4 runs) locally with
// parallel = 2, threads = 1 and over two aexp worker processes with
// --parallel 1 --threads 1. The ratio is nats s/sweep ÷ local s/sweep.
func BenchmarkDistributed(b *testing.B) {
	if _, err := dataset.MNISTDir(); err != nil {
		b.Skip("no MNIST (make mnist)")
	}
	bin := buildtest.Binaries(b, map[string]string{"cmd/aexp": "aexp", "plugins/dense": "aexp-variant-dense"})
	ns := startServer(b, b.TempDir(), 0)
	url := ns.ClientURL()
	for range 2 {
		cmd := exec.Command(filepath.Join(bin, "aexp"), "worker", "--nats", url, "--plugin-dir", bin,
			"--parallel", "1", "--threads", "1", "--cache-dir", b.TempDir())
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME"), "AEXP_PLUGIN_DIR=", "GOMODCACHE=" + gomodcache()}
		startProc(b, cmd)
	}
	sweepOnce := func(b *testing.B, name string, remote bool) float64 {
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "s.toml"), []byte(fmt.Sprintf(benchSpec, name)), 0o644); err != nil {
			b.Fatal(err)
		}
		args := []string{"sweep", "--plugin-dir", bin, "--plain", "--db", "aexp.db"}
		if remote {
			args = append(args, "--nats", url)
		}
		cmd := exec.Command(filepath.Join(bin, "aexp"), append(args, "s.toml")...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME"), "AEXP_PLUGIN_DIR=", "GOMODCACHE=" + gomodcache(), "AEXP_DB="}
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		return time.Since(start).Seconds()
	}
	// local and distributed sweeps alternate, so that the load of a shared
	// machine weighs on both alike; the ratio is the median of the pairs'
	var local, remote, ratios []float64
	for i := range b.N {
		l := sweepOnce(b, fmt.Sprint("l", i), false)
		r := sweepOnce(b, fmt.Sprint("r", i), true)
		local, remote, ratios = append(local, l), append(remote, r), append(ratios, r/l)
	}
	b.ReportMetric(median(local), "local-s/sweep")
	b.ReportMetric(median(remote), "nats-s/sweep")
	b.ReportMetric(median(ratios), "nats/local")
}

func median(xs []float64) float64 {
	ys := slices.Clone(xs)
	slices.Sort(ys)
	return ys[len(ys)/2]
}
