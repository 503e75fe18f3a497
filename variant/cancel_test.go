package variant

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/aexp/aexp/internal/buildtest"
)

// The server says on stderr whether a cancelled Train returned within the
// grace: the conformance kit's Cancel check waits for one of the two lines.
func TestWatchCancelSaysHowTrainEnded(t *testing.T) {
	for _, c := range []struct {
		runsFor time.Duration // how long Train runs on after the cancel
		want    string
	}{
		{300 * time.Millisecond, CancelReturnedLog},
		{CancelGrace + 500*time.Millisecond, CancelOverdueLog},
	} {
		var out buildtest.SyncBuffer
		s := &grpcServer{logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: &out})}
		ctx, cancel := context.WithCancel(context.Background())
		done, watched := make(chan struct{}), make(chan struct{})
		go func() { s.watchCancel(ctx, done); close(watched) }()
		cancel()
		time.AfterFunc(c.runsFor, func() { close(done) })
		<-watched
		if got := out.String(); !strings.Contains(got, c.want) || strings.Count(got, "\n") != 1 {
			t.Errorf("Train running %v after the cancel: logged %q, want one line with %q", c.runsFor, got, c.want)
		}
	}

	// A Train that ends without a cancel logs nothing.
	var out buildtest.SyncBuffer
	s := &grpcServer{logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: &out})}
	done := make(chan struct{})
	close(done)
	s.watchCancel(context.Background(), done)
	if got := out.String(); got != "" {
		t.Errorf("Train that was not cancelled: logged %q", got)
	}
}
