package viztest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is a headless Chromium driven over the DevTools protocol
// (chromedp), with every JavaScript console error and uncaught exception
// recorded.
type Browser struct {
	Ctx context.Context
	// Shots is the directory screenshots are saved in (a test temp dir,
	// or $VIZ_KEEP when set, so they can be looked at).
	Shots string

	mu     sync.Mutex
	errors []string
}

// NewBrowser starts Chromium for a test (fresh profile, no network
// services; --no-sandbox because tests run as root in CI) and stops it when
// the test ends. The test fails when Chromium is not installed: it is part
// of the suite (`apt-get install chromium`; .ci/run installs it).
func NewBrowser(t *testing.T) *Browser {
	t.Helper()
	chrome := ChromiumPath()
	if chrome == "" {
		t.Fatal("chromium not installed: apt-get install -y chromium (.ci/run installs it)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	b := &Browser{Ctx: ctx, Shots: t.TempDir()}
	if d := os.Getenv("VIZ_KEEP"); d != "" {
		b.Shots = d
	}
	// Start the browser now, so a broken install fails here.
	if err := chromedp.Do(ctx); err != nil {
		cancelC()
		cancelA()
		t.Fatalf("starting %s: %v", chrome, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.addError(fmt.Sprintf("%s at %s:%d: %s", m.Type, m.URL, m.Line+1, m.String()))
			}
		}
	}()
	t.Cleanup(func() {
		cancelC()
		cancelA()
	})
	return b
}

func (b *Browser) addError(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, s)
}

// Errors returns the console errors and exceptions seen so far.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// Run runs chromedp actions with a generous timeout (the machine is shared).
func (b *Browser) Run(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("chromium: %v (console errors: %q)", err, b.Errors())
	}
}

// Eval evaluates a JavaScript expression in the page and decodes its value.
func Eval[T any](t *testing.T, b *Browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("chromium: evaluating %.60q: %v (console errors: %q)", expr, err, b.Errors())
	}
	return v
}

// Screenshot saves a full-page PNG as name in Shots, checks that it is not
// blank, and returns its path.
func (b *Browser) Screenshot(t *testing.T, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(b.Shots, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// WaitJS polls a JavaScript boolean expression until it is true or the
// timeout passes, and reports whether it became true.
func (b *Browser) WaitJS(t *testing.T, expr string, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
