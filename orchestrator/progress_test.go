package orchestrator

import (
	"testing"
	"time"
)

func TestETA(t *testing.T) {
	for _, c := range []struct {
		elapsed     time.Duration
		done, total int64
		want        string
	}{
		{3 * time.Second, 0, 5, ""}, // before the first epoch: no guess, not "0s"
		{10 * time.Second, 1, 5, " ETA 40s"},
		{90 * time.Second, 3, 4, " ETA 30s"},
		{20 * time.Second, 5, 5, ""},
	} {
		if got := eta(c.elapsed, c.done, c.total); got != c.want {
			t.Errorf("eta(%v, %d, %d) = %q, want %q", c.elapsed, c.done, c.total, got, c.want)
		}
	}
}
