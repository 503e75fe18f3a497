package variant_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/variant/varianttest"
)

// outsideMain is a complete variant plugin written against the public SDK
// only, as a plugin author outside this repository would write it.
const outsideMain = `package main

import (
	"context"
	"encoding/binary"
	"math"

	"github.com/aexp/aexp/variant"
)

// Config is the parameter schema: struct tags give names, defaults, ranges and docs.
type Config struct {
	LR    float64 ` + "`" + `aexp:"lr" default:"0.1" min:"0" max:"1" doc:"how fast the toy loss decays"` + "`" + `
	Width int     ` + "`" + `aexp:"width" default:"4" min:"1" max:"64" doc:"size of the toy weight tensor"` + "`" + `
}

type outside struct{}

func (outside) Describe(ctx context.Context) (variant.Info, error) {
	return variant.Info{
		Name: "outside", Version: "1.0.0",
		Doc:    "A variant built outside the aexp repository.",
		Params: variant.MustSchema(&Config{}),
	}, nil
}

func (outside) Train(ctx context.Context, req variant.TrainRequest, emit func(variant.Event) error) error {
	var cfg Config
	if err := variant.Decode(req.Params, &cfg); err != nil {
		return err
	}
	loss := 1 + float64(req.Seed%7)/10
	for epoch := 1; epoch <= req.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		loss *= math.Exp(-cfg.LR)
		m := map[string]float64{"train_loss": loss, "val_loss": 1.1 * loss, "epoch_seconds": 0.001, "samples_per_second": 1e6}
		if err := emit(variant.Event{Epoch: &variant.EpochReport{Epoch: epoch, Metrics: m}}); err != nil {
			return err
		}
	}
	// A safetensors checkpoint with one float32 tensor "w" of Width zeros.
	hdr := []byte(` + "`" + `{"w":{"dtype":"F32","shape":[` + "`" + ` + itoa(cfg.Width) + ` + "`" + `],"data_offsets":[0,` + "`" + ` + itoa(4*cfg.Width) + ` + "`" + `]}}` + "`" + `)
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	data := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	data = append(append(data, hdr...), make([]byte, 4*cfg.Width)...)
	ckpt := &variant.Artifact{Kind: variant.KindCheckpoint, Name: "model.safetensors", Epoch: req.Epochs, Format: "safetensors", Data: data}
	if err := emit(variant.Event{Artifact: ckpt}); err != nil {
		return err
	}
	return emit(variant.Event{Final: &variant.FinalReport{Metrics: map[string]float64{"test_mse": loss, "pca_mse": 2 * loss}}})
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func main() { variant.Serve(outside{}) }
`

// TestPluginOutsideTheModule writes a plugin in a temporary directory with
// its own go.mod (replace => this checkout), builds it with the shared
// module cache and no network, and runs it through Launch/Train, the
// conformance kit and a one-run `aexp sweep`.
func TestPluginOutsideTheModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	root, err := buildtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if strings.HasPrefix(src, root+string(filepath.Separator)) {
		t.Fatalf("temp dir %s is inside the module", src)
	}
	gomod := "module example.com/outside\n\ngo 1.26\n\nrequire github.com/aexp/aexp v0.0.0\n\nreplace github.com/aexp/aexp => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(outsideMain)} {
		if err := os.WriteFile(filepath.Join(src, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pluginDir := t.TempDir()
	bin := filepath.Join(pluginDir, "aexp-variant-outside")
	build := func(env ...string) ([]byte, error) {
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir = src
		cmd.Env = append(append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off"), env...)
		return cmd.CombinedOutput()
	}
	// Offline first: the shared module cache holds everything.
	if out, err := build("GOPROXY=off"); err != nil {
		t.Logf("offline build failed (%v), retrying with the module proxy:\n%s", err, out)
		if out, err := build(); err != nil {
			t.Fatalf("go build outside the module: %v\n%s", err, out)
		}
	}

	found, err := variant.Discover(pluginDir)
	if err != nil || found["outside"] != bin {
		t.Fatalf("Discover: %v %v", found, err)
	}
	p, err := variant.Launch(context.Background(), bin, variant.LaunchOptions{StartTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	info, err := p.Describe(context.Background())
	if err != nil || info.Name != "outside" || len(info.Params) != 2 {
		t.Fatalf("Describe: %+v %v", info, err)
	}
	params, err := variant.Validate(info.Params, map[string]any{"lr": 0.5})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(context.Background(), p, variant.TrainRequest{Params: params, Epochs: 3, Seed: 2})
	if err != nil || len(evs) != 5 || evs[4].Final == nil || evs[3].Artifact == nil {
		t.Fatalf("Train: %d events, %v", len(evs), err)
	}
	// No Sample/Reconstruct capability: ErrUnimplemented, and the plugin lives on.
	if _, err := p.Sample(context.Background(), variant.SampleRequest{N: 1, Checkpoint: evs[3].Artifact.Data}); !errors.Is(err, variant.ErrUnimplemented) {
		t.Errorf("Sample: %v, want ErrUnimplemented", err)
	}
	if _, err := p.Reconstruct(context.Background(), variant.ReconstructRequest{N: 1}); !errors.Is(err, variant.ErrUnimplemented) {
		t.Errorf("Reconstruct: %v, want ErrUnimplemented", err)
	}
	if err := varianttest.Check(context.Background(), bin, variant.TrainRequest{Epochs: 2, Seed: 1}); err != nil {
		t.Errorf("conformance: %v", err)
	}

	// A one-run sweep through the real CLI.
	aexp := filepath.Join(t.TempDir(), "aexp")
	if err := buildtest.Build("cmd/aexp", aexp); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	spec := filepath.Join(work, "outside.toml")
	os.WriteFile(spec, []byte(`name = "outside-one"
variant = "outside"
dataset = "sines"

[objective]
metric = "val_loss"
goal = "minimize"

[budget]
epochs = 2
parallel = 1
seeds = [0]

[params]
lr = 0.3
`), 0o644)
	sweep := exec.Command(aexp, "sweep", "--plain", "--plugin-dir", pluginDir, "--db", filepath.Join(work, "aexp.db"), spec)
	sweep.Dir = work
	sweep.Env = append(os.Environ(), "PATH=/usr/bin:/bin", "AEXP_PLUGIN_DIR=")
	out, err := sweep.CombinedOutput()
	if err != nil {
		t.Fatalf("aexp sweep: %v\n%s", err, out)
	}
	t.Logf("aexp sweep:\n%s", out)
	if !strings.Contains(string(out), "outside") {
		t.Errorf("sweep output does not mention the variant:\n%s", out)
	}
	runs := exec.Command(aexp, "runs", "--json", "--db", filepath.Join(work, "aexp.db"))
	rout, err := runs.CombinedOutput()
	if err != nil || !strings.Contains(string(rout), `"done"`) {
		t.Errorf("aexp runs: %v\n%s", err, rout)
	}
}
