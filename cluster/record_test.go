package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aexp/aexp/cluster"
	"github.com/aexp/aexp/internal/buildtest"
	"github.com/aexp/aexp/orchestrator"
	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
)

// stopAfterTrain is a coordinator that goes away in the instant after its
// Remote followed a run to its end and before the engine recorded that
// end: it closes the Remote (whose events are then neither recorded nor
// acked) and stops the sweep.
type stopAfterTrain struct {
	rem  *cluster.Remote
	stop context.CancelFunc
	once sync.Once
}

func (s *stopAfterTrain) Train(ctx context.Context, t orchestrator.Task, emit func(variant.Event) error) (string, error) {
	tail, err := s.rem.Train(ctx, t, emit)
	if err != nil {
		return tail, err
	}
	s.once.Do(func() { s.rem.Close(); s.stop() })
	return tail, context.Canceled
}

// TestCoordinatorStopsBeforeRecording: the events of a run that ended on
// its worker stay in the stream until the engine has recorded the end, so
// a coordinator gone in between leaves them to the next one, which records
// the end from them instead of training the run again.
func TestCoordinatorStopsBeforeRecording(t *testing.T) {
	ns := startServer(t, t.TempDir(), 0)
	url := ns.ClientURL()
	var wlog, log1, log2 buildtest.SyncBuffer
	startWorker(t, url, 1, &wlog)
	dir := t.TempDir()
	spec := fmt.Sprintf(testSpec, "stop-before-record", "0.01", 0)
	spec = strings.Replace(strings.Replace(spec, "seeds = [0, 1]\n", "", 1), "lr = [0.5, 1.0]", "lr = 0.5", 1)
	if err := os.WriteFile(filepath.Join(dir, "s.toml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	pl := map[string]string{"test": filepath.Join(plugins(t), "aexp-variant-test")}
	dbPath := filepath.Join(dir, "aexp.db")
	_, _, _ = sweepExec(t, ctx, cluster.ConnOptions{URL: url}, dir, pl, &log1, func(rem *cluster.Remote) orchestrator.Executor {
		return &stopAfterTrain{rem: rem, stop: stop}
	})
	before := runPids(t, dbPath, "")
	if st := statusCounts(t, dbPath); st[store.StatusCanceled] != 1 || len(before) != 1 {
		t.Fatalf("after the first coordinator: %v, want the run canceled (its end not recorded)\n%s", st, &log1)
	}

	sweepWith(t, context.Background(), cluster.ConnOptions{URL: url}, dir, &log2)
	epochsOnce(t, dbPath, 1, 3)
	if !strings.Contains(log2.String(), "took back delivery 1") {
		t.Errorf("the next coordinator did not take back the ended delivery:\n%s", &log2)
	}
	for id, pid := range runPids(t, dbPath, "") {
		if pid != before[id] {
			t.Errorf("run %d: recorded plugin pid %d, was %d: it was trained again\n%s", id, pid, before[id], &log2)
		}
	}
}
