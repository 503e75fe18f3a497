package varianttest_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/variant/varianttest"
)

var req = variant.TrainRequest{Dataset: "sines", Epochs: 3, BatchSize: 16, Seed: 7}

func TestConformanceTestPlugin(t *testing.T) {
	bin := varianttest.Build(t, "../../internal/testplugin")
	if filepath.Base(bin) != "aexp-variant-testplugin" {
		t.Fatalf("binary %s", bin)
	}
	varianttest.Run(t, bin, req)
}

// The kit must catch misbehaving plugins.
func TestConformanceCatchesViolations(t *testing.T) {
	bin := varianttest.Build(t, "../../internal/testplugin")
	for _, c := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"stdout_at": 2}, "NoStdout: the plugin wrote to stdout"},
		{map[string]any{"sleep_ms": 3000, "ignore_cancel": true}, "Cancel: the plugin's Train kept running"},
		{map[string]any{"nan_at": 2}, "Train: Train: diverged at epoch 2"},
		{map[string]any{"resume_drift": 0.01}, "Resume: epoch 2: train_loss is "},
	} {
		r := req
		r.Params = c.params
		err := varianttest.Check(context.Background(), bin, r)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v\nwant %q", c.params, err, c.want)
		}
	}
}
