package orchestrator

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Progress shows a sweep as it runs. Methods are called from several
// goroutines.
type Progress interface {
	Start(total, done int) // runs in the sweep, runs finished before
	RunStart(id int64, label string, epochs int)
	RunEpoch(id int64, epoch int, metrics map[string]float64)
	RunLog(id int64, level, text string)
	// RunEnd ends an attempt. Status "queued": it never started;
	// StatusRetrying: it failed and goes back to the queue, so it is not
	// finished (msg says how it failed).
	RunEnd(id int64, status, msg string)
	Stop()
}

// epochSummary formats the metrics people watch: the losses first.
func epochSummary(m map[string]float64) string {
	var parts []string
	for _, k := range []string{"train_loss", "val_loss"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%.5g", k, v))
		}
	}
	var rest []string
	for k := range m {
		if k != "train_loss" && k != "val_loss" && k != "epoch_seconds" && k != "samples_per_second" {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		parts = append(parts, fmt.Sprintf("%s=%.5g", k, m[k]))
	}
	if v, ok := m["epoch_seconds"]; ok {
		parts = append(parts, fmt.Sprintf("(%.1fs)", v))
	}
	return strings.Join(parts, " ")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// logProgress writes plain lines, for logs and pipes.
type logProgress struct {
	mu       sync.Mutex
	w        io.Writer
	verbose  bool
	total    int
	finished int
	epochs   map[int64]int
}

// NewLogProgress reports progress as plain log lines on w.
func NewLogProgress(w io.Writer, verbose bool) Progress {
	return &logProgress{w: w, verbose: verbose, epochs: map[int64]int{}}
}

func (p *logProgress) Start(total, done int) {
	p.mu.Lock()
	p.total, p.finished = total, done
	p.mu.Unlock()
}

func (p *logProgress) RunStart(id int64, label string, epochs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.epochs[id] = epochs
	fmt.Fprintf(p.w, "[run %d] %s: started\n", id, label)
}

func (p *logProgress) RunEpoch(id int64, epoch int, m map[string]float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[run %d] epoch %d/%d %s\n", id, epoch, p.epochs[id], epochSummary(m))
}

func (p *logProgress) RunLog(id int64, level, text string) {
	if !p.verbose {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[run %d] %s: %s\n", id, level, text)
}

// StatusRetrying is the status [Progress.RunEnd] gets for an attempt that
// failed and will be retried.
const StatusRetrying = "retrying"

func (p *logProgress) RunEnd(id int64, status, msg string) {
	if status == "queued" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if status == StatusRetrying {
		fmt.Fprintln(p.w, endLine(id, status, msg))
		return
	}
	p.finished++
	line := endLine(id, status, msg)
	fmt.Fprintf(p.w, "%s (%d/%d finished)\n", line, p.finished, p.total)
}

func (p *logProgress) Stop() {}

// barProgress draws one live bar per running run and an overall bar, for
// terminals (github.com/vbauerster/mpb/v8).
type barProgress struct {
	mu      sync.Mutex
	out     io.Writer
	stopped bool
	p       *mpb.Progress
	overall *mpb.Bar
	bars    map[int64]*runBar
	verbose bool
}

type runBar struct {
	bar   *mpb.Bar
	start time.Time
	last  atomic.Pointer[string] // latest metrics, shown after the bar (read by mpb's renderer)
}

// NewBarProgress draws progress bars on w, a terminal. The returned
// Progress is also an io.Writer for log lines: they are printed above the
// bars while the bars are live.
func NewBarProgress(w io.Writer, verbose bool) interface {
	Progress
	io.Writer
} {
	return &barProgress{out: w, bars: map[int64]*runBar{}, verbose: verbose,
		p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(30), mpb.WithRefreshRate(150*time.Millisecond))}
}

// Write prints log lines above the bars (or straight to the terminal
// before Start and after Stop).
func (b *barProgress) Write(p []byte) (int, error) {
	b.mu.Lock()
	live := b.overall != nil && !b.stopped
	b.mu.Unlock()
	if live {
		if n, err := b.p.Write(p); err == nil {
			return n, nil
		}
	}
	return b.out.Write(p)
}

func (b *barProgress) Start(total, done int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.overall = b.p.AddBar(int64(total),
		mpb.BarPriority(1<<30), // always last
		mpb.PrependDecorators(decor.Name("sweep", decor.WC{W: 8, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.CountersNoUnit("%d/%d runs"), decor.Name(" "), decor.Elapsed(decor.ET_STYLE_GO)))
	b.overall.SetCurrent(int64(done))
}

func (b *barProgress) RunStart(id int64, label string, epochs int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rb := &runBar{start: time.Now()}
	name := fmt.Sprintf("run %d %s", id, label)
	if len(name) > 48 {
		name = name[:47] + "…"
	}
	rb.bar = b.p.AddBar(int64(epochs),
		mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Name(name, decor.WC{W: 49, C: decor.DindentRight})),
		mpb.AppendDecorators(
			decor.CountersNoUnit("%d/%d ep"),
			decor.Any(func(decor.Statistics) string {
				if s := rb.last.Load(); s != nil {
					return " " + *s
				}
				return ""
			}),
			decor.Any(func(st decor.Statistics) string { return eta(time.Since(rb.start), st.Current, st.Total) }),
		))
	b.bars[id] = rb
}

func (b *barProgress) RunEpoch(id int64, epoch int, m map[string]float64) {
	b.mu.Lock()
	rb := b.bars[id]
	if rb != nil {
		if v, ok := m["val_loss"]; ok {
			s := fmt.Sprintf("val_loss %.4g", v)
			rb.last.Store(&s)
		}
	}
	b.mu.Unlock()
	if rb != nil {
		rb.bar.SetCurrent(int64(epoch))
	}
}

func (b *barProgress) RunLog(id int64, level, text string) {
	if b.verbose {
		fmt.Fprintf(b.p, "[run %d] %s: %s\n", id, level, text)
	}
}

func (b *barProgress) RunEnd(id int64, status, msg string) {
	b.mu.Lock()
	rb := b.bars[id]
	delete(b.bars, id)
	b.mu.Unlock()
	if rb != nil {
		rb.bar.Abort(true)
	}
	if status == "queued" {
		return
	}
	fmt.Fprintln(b.p, endLine(id, status, msg))
	if status != StatusRetrying {
		b.overall.Increment()
	}
}

func (b *barProgress) Stop() {
	b.mu.Lock()
	b.stopped = true
	for _, rb := range b.bars {
		rb.bar.Abort(true)
	}
	b.mu.Unlock()
	if b.overall != nil {
		b.overall.Abort(false)
	}
	b.p.Wait()
}

// eta is the run's expected time left from its average epoch so far, or
// nothing before the first epoch (when there is no average to go by).
func eta(elapsed time.Duration, done, total int64) string {
	if done <= 0 || done >= total {
		return ""
	}
	left := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
	return " ETA " + left.Round(time.Second).String()
}

func endLine(id int64, status, msg string) string {
	line := fmt.Sprintf("[run %d] %s", id, status)
	switch {
	case msg == "":
	case status == "done":
		line += " " + firstLine(msg)
	default:
		line += ": " + firstLine(msg)
	}
	return line
}
