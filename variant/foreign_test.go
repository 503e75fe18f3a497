package variant_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/variant"
)

// TestForeignPlugin launches a plugin that implements the protocol from
// aexp.proto by hand (plain gRPC over TCP, manual handshake and AutoMTLS,
// no go-plugin, no SDK), standing in for a plugin in another language.
func TestForeignPlugin(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "aexp-variant-foreign")
	if err := buildtest.Build("variant/internal/foreignplugin", bin); err != nil {
		t.Fatal(err)
	}
	p, err := variant.Launch(context.Background(), bin, variant.LaunchOptions{StartTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	ctx := context.Background()
	info, err := p.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "foreign" || len(info.Params) != 1 || info.Params[0].Default != 0.5 {
		t.Fatalf("%+v", info)
	}
	params, err := variant.Validate(info.Params, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(ctx, p, variant.TrainRequest{Params: params, Epochs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 5 || evs[3].Artifact == nil || evs[4].Final == nil {
		t.Fatalf("%d events", len(evs))
	}
	a := evs[3].Artifact
	want := make([]byte, 3<<20)
	for i := range want {
		want[i] = byte(i % 251)
	}
	if a.Name != "blob.bin" || !bytes.Equal(a.Data, want) {
		t.Errorf("artifact %q: %d bytes, intact %v", a.Name, len(a.Data), bytes.Equal(a.Data, want))
	}
	_, err = collect(ctx, p, variant.TrainRequest{Params: map[string]any{"lr": 1.0}, Epochs: 1})
	var de *variant.DivergedError
	if !errors.As(err, &de) {
		t.Errorf("diverged: %v", err)
	}
	_, err = collect(ctx, p, variant.TrainRequest{Params: map[string]any{"nope": 1}, Epochs: 1})
	if !errors.Is(err, variant.ErrInvalidParams) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("bad params: %v", err)
	}
	if _, err := p.Sample(ctx, variant.SampleRequest{N: 1}); !errors.Is(err, variant.ErrUnimplemented) {
		t.Errorf("Sample: %v", err)
	}
	pid := p.Pid()
	p.Kill()
	waitGroupGone(t, pid)
}
