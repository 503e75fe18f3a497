// Command testplugin is a real aexp variant plugin used as a test fixture by
// the SDK's and the orchestrator's tests. It trains nothing: each epoch it
// reports a deterministic toy loss (a function of the seed, lr and epoch),
// and its misbehaviour is driven by parameters, so tests can exercise every
// way a plugin can fail.
//
// Build it under any name aexp-variant-<name> (e.g. with
// buildtest.Build("internal/testplugin", dir+"/aexp-variant-test")); its
// Describe name is <name> ("test" when the binary is named otherwise).
//
// Parameters (all optional):
//
//	lr            float  0.5   decay rate of the toy loss: train_loss = (1+noise(seed)) * exp(-lr*epoch)
//	sleep_ms      int    0     sleep this long in every epoch (honours cancellation unless ignore_cancel)
//	ignore_cancel bool   false keep sleeping/training after the Train context is cancelled
//	panic_at      int    0     panic at the start of this epoch (1-based; 0 = never)
//	exit_at       int    0     os.Exit(3) at the start of this epoch, without a word on stdout
//	nan_at        int    0     the loss becomes NaN at this epoch: Train returns a *variant.DivergedError
//	fail_at       int    0     Train returns an ordinary error ("testplugin: failing at epoch N")
//	stdout_at     int    0     write a line to stdout at this epoch (a protocol violation the conformance kit must catch)
//	artifact_mb   float  0.01  size of the checkpoint tensor in MiB (e.g. 40 for a 40 MiB artifact)
//	spawn_child   bool   false start a child process (in the plugin's process group) that sleeps forever
//	log_every     int    1     emit a Log event every N epochs (0 = never)
//	mode          string "toy" unused except for choices tests: one of toy, fancy
//	resume_drift  float  0     a resumed run's losses are off by this fraction (a resume bug the conformance kit must catch)
//
// With the environment variable AEXP_TESTPLUGIN_ONCE set to a folder,
// panic_at, exit_at and fail_at fire only once per run key (a marker file
// in that folder remembers it): a transient fault that a retry survives.
//
// Behaviour before the handshake is driven by the environment variable
// AEXP_TESTPLUGIN_MODE (set through LaunchOptions.Env):
//
//	stdout    print a line to stdout before the handshake, then serve
//	hang      never complete the handshake (sleep for an hour)
//	crash     write "testplugin: crashing before the handshake" to stderr and exit 1
//	version2  serve aexp plugin protocol version 2 (which the host does not speak)
//	child     (internal) the sleeping child of spawn_child
//
// Capabilities: sample, reconstruct and resume. Checkpoints are real
// safetensors files holding one float32 tensor "w"; Sample and Reconstruct
// read it back. After every epoch it emits a training state (JSON holding
// the epoch) and, given one, continues after that epoch.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/aexp/aexp/variant"
)

// Config is the parameter schema.
type Config struct {
	LR           float64 `aexp:"lr" default:"0.5" min:"0" max:"10" doc:"decay rate of the toy loss"`
	SleepMS      int     `aexp:"sleep_ms" default:"0" min:"0" doc:"sleep per epoch, in milliseconds"`
	IgnoreCancel bool    `aexp:"ignore_cancel" default:"false" doc:"keep going after the Train context is cancelled"`
	PanicAt      int     `aexp:"panic_at" default:"0" min:"0" doc:"panic at this epoch (0: never)"`
	ExitAt       int     `aexp:"exit_at" default:"0" min:"0" doc:"os.Exit(3) at this epoch (0: never)"`
	NaNAt        int     `aexp:"nan_at" default:"0" min:"0" doc:"the loss becomes NaN at this epoch (0: never)"`
	FailAt       int     `aexp:"fail_at" default:"0" min:"0" doc:"return an ordinary error at this epoch (0: never)"`
	StdoutAt     int     `aexp:"stdout_at" default:"0" min:"0" doc:"write to stdout at this epoch (0: never)"`
	ArtifactMB   float64 `aexp:"artifact_mb" default:"0.01" min:"0" max:"1024" doc:"checkpoint size in MiB"`
	SpawnChild   bool    `aexp:"spawn_child" default:"false" doc:"start a child process that sleeps forever"`
	LogEvery     int     `aexp:"log_every" default:"1" min:"0" doc:"emit a Log event every N epochs (0: never)"`
	Mode         string  `aexp:"mode" default:"toy" choices:"toy,fancy" doc:"no effect; exercises string choices"`
	ResumeDrift  float64 `aexp:"resume_drift" default:"0" min:"0" max:"1" doc:"a resumed run's losses are off by this fraction"`
}

type toy struct{ name string }

var (
	_ variant.Variant       = toy{}
	_ variant.Sampler       = toy{}
	_ variant.Reconstructor = toy{}
)

func (t toy) Describe(ctx context.Context) (variant.Info, error) {
	return variant.Info{
		Name:         t.name,
		Version:      "0.1.0",
		Doc:          "A test fixture: reports a deterministic toy loss and misbehaves on request.",
		Params:       variant.MustSchema(&Config{}),
		Metrics:      []variant.MetricInfo{{Name: "toy_metric", Doc: "twice the final train loss", Goal: "minimize"}},
		Capabilities: []string{variant.CapSample, variant.CapReconstruct, variant.CapResume},
	}, nil
}

func (t toy) Train(ctx context.Context, req variant.TrainRequest, emit func(variant.Event) error) error {
	var cfg Config
	if err := variant.Decode(req.Params, &cfg); err != nil {
		return err
	}
	if cfg.SpawnChild {
		exe, _ := os.Executable()
		c := exec.Command(exe)
		c.Env = append(os.Environ(), "AEXP_TESTPLUGIN_MODE=child")
		if err := c.Start(); err != nil {
			return err
		}
		log.Printf("testplugin: started child %d", c.Process.Pid)
		_ = emit(variant.Event{Log: &variant.LogLine{Level: "info", Text: fmt.Sprintf("child pid %d", c.Process.Pid)}})
	}
	rng := rand.New(rand.NewPCG(req.Seed, 0x7e57))
	noise := 1 + 0.1*rng.Float64()
	loss := func(epoch int) float64 { return noise * math.Exp(-cfg.LR*float64(epoch)) }
	var last float64 = noise
	first := 1
	if req.Resume != nil {
		var st struct{ Epoch int }
		if err := json.Unmarshal(req.Resume.Data, &st); err != nil || st.Epoch < 1 || st.Epoch > req.Epochs {
			return fmt.Errorf("testplugin: bad state %q", req.Resume.Data)
		}
		if err := emit(variant.Event{Resumed: &variant.Resumed{Epoch: st.Epoch}}); err != nil {
			return err
		}
		noise *= 1 + cfg.ResumeDrift
		first, last = st.Epoch+1, loss(st.Epoch)
	}
	for epoch := first; epoch <= req.Epochs; epoch++ {
		start := time.Now()
		if (epoch == cfg.PanicAt || epoch == cfg.ExitAt || epoch == cfg.FailAt) && firstTime(req.RunKey, epoch) {
			switch epoch {
			case cfg.PanicAt:
				panic(fmt.Sprintf("testplugin: panic at epoch %d", epoch))
			case cfg.ExitAt:
				log.Printf("testplugin: exiting with status 3 at epoch %d", epoch)
				os.Exit(3)
			case cfg.FailAt:
				return fmt.Errorf("testplugin: failing at epoch %d", epoch)
			}
		}
		if epoch == cfg.StdoutAt {
			fmt.Println("testplugin: this line on stdout is a protocol violation")
		}
		if cfg.SleepMS > 0 {
			d := time.Duration(cfg.SleepMS) * time.Millisecond
			if cfg.IgnoreCancel {
				time.Sleep(d)
			} else {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(d):
				}
			}
		}
		if !cfg.IgnoreCancel && ctx.Err() != nil {
			return ctx.Err()
		}
		last = loss(epoch)
		if epoch == cfg.NaNAt {
			last = math.NaN()
		}
		if math.IsNaN(last) {
			return &variant.DivergedError{Epoch: epoch, Reason: "train_loss is NaN"}
		}
		secs := time.Since(start).Seconds()
		m := map[string]float64{
			"train_loss": last, "val_loss": 1.1 * last,
			"epoch_seconds": secs, "samples_per_second": 1000 / math.Max(secs, 1e-6),
		}
		if err := emit(variant.Event{Epoch: &variant.EpochReport{Epoch: epoch, Metrics: m}}); err != nil {
			return err
		}
		if cfg.LogEvery > 0 && epoch%cfg.LogEvery == 0 {
			if err := emit(variant.Event{Log: &variant.LogLine{Level: "info", Text: fmt.Sprintf("epoch %d: train_loss %.4f", epoch, last)}}); err != nil {
				return err
			}
		}
		if req.Keep == "all" || req.Keep == "best" {
			if err := emit(variant.Event{Artifact: checkpoint(cfg, req.Seed, epoch)}); err != nil {
				return err
			}
		}
		st := &variant.Artifact{Kind: variant.KindState, Name: "state.json", Epoch: epoch, Format: "json",
			Data: fmt.Appendf(nil, `{"epoch":%d}`, epoch)}
		if err := emit(variant.Event{Artifact: st}); err != nil {
			return err
		}
	}
	if req.Keep != "all" && req.Keep != "best" {
		if err := emit(variant.Event{Artifact: checkpoint(cfg, req.Seed, req.Epochs)}); err != nil {
			return err
		}
	}
	return emit(variant.Event{Final: &variant.FinalReport{
		Metrics: map[string]float64{"test_mse": 1.2 * last, "pca_mse": 1.5 * noise, "toy_metric": 2 * last},
		Meta:    map[string]string{"blas": "none", "params": "1"},
	}})
}

// firstTime reports whether a fault at epoch should fire: always, unless
// AEXP_TESTPLUGIN_ONCE names a folder where it already fired for this run.
func firstTime(runKey string, epoch int) bool {
	dir := os.Getenv("AEXP_TESTPLUGIN_ONCE")
	if dir == "" {
		return true
	}
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%s-%d", runKey, epoch)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// checkpoint builds a deterministic safetensors file with one tensor "w".
func checkpoint(cfg Config, seed uint64, epoch int) *variant.Artifact {
	n := max(1, int(cfg.ArtifactMB*(1<<20)/4))
	w := make([]float32, n)
	rng := rand.New(rand.NewPCG(seed, uint64(epoch)))
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	return &variant.Artifact{
		Kind: variant.KindCheckpoint, Name: "model.safetensors", Epoch: epoch, Format: "safetensors",
		Data: safetensors(map[string][]float32{"w": w}, map[string][]int{"w": {n}}),
		Meta: map[string]string{"epoch": fmt.Sprint(epoch)},
	}
}

func safetensors(ts map[string][]float32, shapes map[string][]int) []byte {
	hdr := map[string]any{}
	off := 0
	names := make([]string, 0, len(ts))
	for k := range ts {
		names = append(names, k)
	}
	slices.Sort(names) // deterministic order
	for _, k := range names {
		n := 4 * len(ts[k])
		hdr[k] = map[string]any{"dtype": "F32", "shape": shapes[k], "data_offsets": []int{off, off + n}}
		off += n
	}
	h, _ := json.Marshal(hdr)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := make([]byte, 8, 8+len(h)+off)
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	out = append(out, h...)
	for _, k := range names {
		for _, x := range ts[k] {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
		}
	}
	return out
}

// readW parses a checkpoint and returns the number of elements of "w".
func readW(b []byte) (int, error) {
	if len(b) < 8 {
		return 0, errors.New("checkpoint too short")
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return 0, errors.New("bad safetensors header length")
	}
	var hdr map[string]struct {
		Shape []int `json:"shape"`
	}
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		return 0, fmt.Errorf("bad safetensors header: %v", err)
	}
	w, ok := hdr["w"]
	if !ok || len(w.Shape) != 1 {
		return 0, errors.New("checkpoint has no tensor \"w\"")
	}
	return w.Shape[0], nil
}

func (t toy) Sample(ctx context.Context, req variant.SampleRequest) (variant.Artifact, error) {
	if _, err := readW(req.Checkpoint); err != nil {
		return variant.Artifact{}, err
	}
	rng := rand.New(rand.NewPCG(req.Seed, 1))
	s := make([]float32, req.N*4)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return variant.Artifact{Kind: variant.KindSample, Name: "sample.safetensors", Format: "safetensors",
		Data: safetensors(map[string][]float32{"sample": s}, map[string][]int{"sample": {req.N, 4}}),
		Meta: map[string]string{"shape": "2,2"}}, nil
}

func (t toy) Reconstruct(ctx context.Context, req variant.ReconstructRequest) (variant.Artifact, error) {
	if _, err := readW(req.Checkpoint); err != nil {
		return variant.Artifact{}, err
	}
	in := make([]float32, req.N*4)
	out := make([]float32, req.N*4)
	for i := range in {
		in[i] = float32(i%7) / 7
		out[i] = in[i] * 0.9
	}
	return variant.Artifact{Kind: variant.KindReconstruction, Name: "reconstruction.safetensors", Format: "safetensors",
		Data: safetensors(map[string][]float32{"input": in, "output": out},
			map[string][]int{"input": {req.N, 4}, "output": {req.N, 4}}),
		Meta: map[string]string{"shape": "2,2"}}, nil
}

func main() {
	switch os.Getenv("AEXP_TESTPLUGIN_MODE") {
	case "child":
		time.Sleep(time.Hour)
		return
	case "stdout":
		fmt.Println("hello from a plugin that logs to stdout")
	case "hang":
		fmt.Fprintln(os.Stderr, "testplugin: hanging before the handshake")
		time.Sleep(time.Hour)
		return
	case "crash":
		fmt.Fprintln(os.Stderr, "testplugin: crashing before the handshake")
		os.Exit(1)
	case "version2":
		serveVersion2()
		return
	}
	name := "test"
	if n, ok := strings.CutPrefix(filepath.Base(os.Args[0]), variant.BinaryPrefix); ok && n != "" {
		name = n
	}
	variant.Serve(toy{name: name})
}

// serveVersion2 speaks a protocol version the host does not know.
func serveVersion2() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  2,
			MagicCookieKey:   variant.MagicCookieKey,
			MagicCookieValue: variant.MagicCookieValue,
		},
		VersionedPlugins: map[int]plugin.PluginSet{2: {"variant": v2Plugin{}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}

type v2Plugin struct{ plugin.NetRPCUnsupportedPlugin }

func (v2Plugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }
func (v2Plugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("unused")
}
