package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/aexp/aexp/variant"
)

// Executor runs the lifecycle of one attempt of a run: start the plugin
// process, stream its Train events into emit, stop it when ctx ends, and
// classify how it ended. The engine keeps everything else (recording,
// pruning, timeouts, the run's status), so a run behaves the same whether
// it trains here ([LocalExecutor]) or on another machine (the NATS
// transport's executor).
type Executor interface {
	// Train runs t to its end. It calls t.Started once, when the plugin
	// runs, before any event; an error from Started stops the attempt. It
	// returns the tail of the plugin's stderr and Train's error: nil,
	// ctx's error, a *variant.CrashError, a *variant.DivergedError or any
	// other error the plugin returned. When Started was never called the
	// plugin did not start, and the error says why.
	Train(ctx context.Context, t Task, emit func(variant.Event) error) (stderrTail string, err error)
}

// ErrStopped is returned by an executor that was killed (KillAll) before
// the run's plugin started: the run stays queued.
var ErrStopped = errors.New("the executor was stopped")

// Task is one attempt of a run, as an [Executor] gets it.
type Task struct {
	RunID   int64
	Attempt int // 1-based attempt number, as the store records it
	Variant string
	Plugin  *Plugin // the plugin the sweep was validated against
	Req     variant.TrainRequest
	Threads int
	Label   string    // the run for people, for logs
	Stderr  io.Writer // the plugin's stderr lines (nil: kept only as the tail)
	// StartTimeout bounds the plugin handshake (0: variant's default).
	StartTimeout time.Duration
	// Started is called once the plugin process runs.
	Started func(Started) error
	// Recorded is closed once the engine has recorded the attempt's end
	// (or left the run queued), after Train returned. An executor that must
	// keep what it was sent until then — the cluster's events stay unacked,
	// so a coordinator killed in between takes them back — waits for it.
	// Nil: nothing to wait for.
	Recorded <-chan struct{}
}

// Started is where an attempt's plugin runs.
type Started struct {
	Pid     int
	Host    string
	Threads int // BLAS threads it was given
	// Since is when the attempt's training began, when that was before
	// Started is called: an executor that takes back a run which kept
	// training while no coordinator ran (zero: now). Training time and
	// budget.timeout count from it.
	Since time.Time
}

// LocalExecutor trains runs in plugin processes on this machine, one process
// per run in its own process group. The zero value is ready to use.
type LocalExecutor struct {
	mu    sync.Mutex
	live  map[*variant.Plugin]bool
	ended bool
}

var _ Executor = (*LocalExecutor)(nil)

// Train launches t's plugin with t.Threads BLAS threads, streams its events
// and kills its process group when it returns.
func (x *LocalExecutor) Train(ctx context.Context, t Task, emit func(variant.Event) error) (string, error) {
	env := []string{fmt.Sprintf("OPENBLAS_NUM_THREADS=%d", t.Threads), fmt.Sprintf("GOMAXPROCS=%d", t.Threads)}
	p, err := variant.Launch(ctx, t.Plugin.Path, variant.LaunchOptions{Stderr: t.Stderr, StartTimeout: t.StartTimeout, Env: env})
	if err != nil {
		return "", err
	}
	if !x.track(p) {
		p.Kill()
		return "", ErrStopped
	}
	defer func() {
		x.untrack(p)
		p.Kill()
	}()
	if t.Started != nil {
		host, _ := os.Hostname()
		if err := t.Started(Started{Pid: p.Pid(), Host: host, Threads: t.Threads}); err != nil {
			return "", err
		}
	}
	err = p.Train(ctx, t.Req, emit)
	return p.StderrTail(), err
}

// KillAll kills every plugin process group at once (a second Ctrl-C); no
// plugin starts after it.
func (x *LocalExecutor) KillAll() {
	x.mu.Lock()
	x.ended = true
	ps := make([]*variant.Plugin, 0, len(x.live))
	for p := range x.live {
		ps = append(ps, p)
	}
	x.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); p.Kill() }()
	}
	wg.Wait()
}

// Running is the number of plugin processes alive.
func (x *LocalExecutor) Running() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.live)
}

func (x *LocalExecutor) track(p *variant.Plugin) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ended {
		return false
	}
	if x.live == nil {
		x.live = map[*variant.Plugin]bool{}
	}
	x.live[p] = true
	return true
}

func (x *LocalExecutor) untrack(p *variant.Plugin) {
	x.mu.Lock()
	delete(x.live, p)
	x.mu.Unlock()
}

// LoadPlugin starts the plugin binary at path once to ask for its Info, and
// hashes the binary: what a sweep validates against and a worker offers.
func LoadPlugin(ctx context.Context, path string) (*Plugin, error) {
	info, err := describePlugin(ctx, path)
	if err != nil {
		return nil, err
	}
	hash, err := fileHash(path)
	if err != nil {
		return nil, err
	}
	return &Plugin{Path: path, Hash: hash, Info: info}, nil
}
