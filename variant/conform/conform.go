// Package conform holds the conformance checks for aexp variant plugins, in
// any language. `aexp conform PATH` runs them from the aexp binary (no Go
// toolchain needed); package varianttest runs them as Go subtests.
//
// [Start] launches the plugin as the host does ([variant.Launch]); the
// checks then verify that:
//   - Describe is complete: name (matching the binary's aexp-variant-<name>),
//     version, doc, a doc and a valid type, bounds and default for every
//     parameter, documented metrics, known capabilities;
//   - unknown parameters, wrong types, out-of-range values and bad choices
//     are rejected with an error naming the parameter (`parameter "lr": ...`);
//   - Train reports every epoch, numbered from 1, with finite train_loss and
//     val_loss, then one Final event with test_mse and pca_mse;
//   - every metric the run reports is documented by Describe (beyond the
//     shared train_loss, val_loss, epoch_seconds, samples_per_second,
//     test_mse and pca_mse), and every documented metric is reported;
//   - the same seed gives the same trajectory, in two separate processes;
//   - cancelling Train returns within one second;
//   - the run sends a checkpoint in safetensors format, and, when the
//     plugin declares the capabilities, Reconstruct and Sample work from
//     it; without them they answer variant.ErrUnimplemented;
//   - a plugin declaring the resume capability sends a training state
//     after every epoch (after that epoch's report), continues exactly
//     from a state it is given (Resumed, then the next epochs, equal to
//     the uninterrupted run's), and refuses or ignores a state it cannot
//     read; a plugin without it sends no states;
//   - the plugin writes nothing to stdout.
package conform

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aexp/aexp/variant"
)

// CancelDeadline is how soon Train must return after its context is
// cancelled.
const CancelDeadline = time.Second

// callTimeout bounds every call the kit makes.
const callTimeout = 10 * time.Minute

// Check is one named conformance check. Run returns its failures; none
// means it passed.
type Check struct {
	Name string
	Run  func() []error
}

// Suite is a plugin under test: one long-lived process (checks that need
// fresh processes start their own).
type Suite struct{ s *suite }

// Start launches the plugin at path for the checks. req is a small, fast
// training request (Epochs at least 2); parameters it leaves out take their
// defaults. Close the suite when done.
func Start(ctx context.Context, path string, req variant.TrainRequest) (*Suite, error) {
	s := &suite{path: path, req: req}
	p, err := s.launch(ctx)
	if err != nil {
		return nil, err
	}
	s.p = p
	return &Suite{s}, nil
}

// Close kills the plugin process.
func (s *Suite) Close() { s.s.p.Kill() }

// Checks returns the checks in the order they must run. The first is
// Describe; when it fails, the others report only that.
func (s *Suite) Checks() []Check {
	checks := []Check{{"Describe", s.s.describe}}
	for _, c := range s.s.checks() {
		checks = append(checks, Check{c.name, func() []error {
			if s.s.info.Name == "" {
				return []error{errors.New("skipped: Describe failed")}
			}
			return c.fn()
		}})
	}
	return checks
}

// Run runs every check and returns the failures, joined, each prefixed
// with its check's name; nil means the plugin conforms.
func Run(ctx context.Context, path string, req variant.TrainRequest) error {
	s, err := Start(ctx, path, req)
	if err != nil {
		return fmt.Errorf("launching the plugin: %w", err)
	}
	defer s.Close()
	var all []error
	for i, c := range s.Checks() {
		if errs := c.Run(); len(errs) > 0 {
			all = append(all, prefix(c.Name, errs))
			if i == 0 {
				break
			}
		}
	}
	return errors.Join(all...)
}

func prefix(name string, errs []error) error {
	for i, e := range errs {
		errs[i] = fmt.Errorf("%s: %w", name, e)
	}
	return errors.Join(errs...)
}

type check struct {
	name string
	fn   func() []error
}

type suite struct {
	path   string
	req    variant.TrainRequest
	p      *variant.Plugin
	info   variant.Info
	stdout syncBuffer
	stderr syncBuffer
	ckpt   *variant.Artifact
	params map[string]any // req.Params with defaults filled
	ran    *trajectory    // the Train check's run, for the Metrics check
	det    *trajectory    // a SameSeedSameTrajectory run (threads = 1), for the Resume check
}

func (s *suite) launch(ctx context.Context) (*variant.Plugin, error) {
	var env []string // the Cancel check reads an info line; keep a more verbose level
	if l := strings.ToLower(os.Getenv("AEXP_PLUGIN_LOG_LEVEL")); l != "debug" && l != "trace" {
		env = []string{"AEXP_PLUGIN_LOG_LEVEL=info"}
	}
	return variant.Launch(ctx, s.path, variant.LaunchOptions{
		Stderr: &s.stderr, Stdout: &s.stdout, StartTimeout: 30 * time.Second, Env: env,
	})
}

func (s *suite) checks() []check {
	return []check{
		{"RejectsBadParams", s.badParams},
		{"Train", s.train},
		{"Metrics", s.metrics},
		{"SameSeedSameTrajectory", s.determinism},
		{"Cancel", s.cancel},
		{"Checkpoint", s.checkpoint},
		{"Resume", s.resume},
		{"NoStdout", s.noStdout},
	}
}

var paramTypes = []variant.ParamType{variant.Int, variant.Float, variant.String, variant.Bool, variant.IntList, variant.FloatList}

func (s *suite) describe() []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	info, err := s.p.Describe(ctx)
	if err != nil {
		return []error{err}
	}
	s.info = info
	if info.Name == "" {
		fail("Info.Name is empty")
	}
	if want, ok := strings.CutPrefix(filepath.Base(s.path), variant.BinaryPrefix); ok && info.Name != want {
		fail("Info.Name is %q but the binary is named %s", info.Name, filepath.Base(s.path))
	}
	if info.Version == "" {
		fail("Info.Version is empty")
	}
	if strings.TrimSpace(info.Doc) == "" {
		fail("Info.Doc is empty")
	}
	seen := map[string]bool{}
	for _, p := range info.Params {
		switch {
		case p.Name == "":
			fail("a parameter has no name")
			continue
		case seen[p.Name]:
			fail("parameter %q is declared twice", p.Name)
		}
		seen[p.Name] = true
		if !slices.Contains(paramTypes, p.Type) {
			fail("parameter %q has unknown type %q", p.Name, p.Type)
		}
		if strings.TrimSpace(p.Doc) == "" {
			fail("parameter %q has no doc", p.Name)
		}
		if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
			fail("parameter %q: min %v > max %v", p.Name, *p.Min, *p.Max)
		}
		if (p.Min != nil || p.Max != nil) && (p.Type == variant.String || p.Type == variant.Bool) {
			fail("parameter %q: bounds on a %s parameter", p.Name, p.Type)
		}
		if len(p.Choices) > 0 && p.Type != variant.String {
			fail("parameter %q: choices on a %s parameter", p.Name, p.Type)
		}
		if p.Default != nil {
			if _, err := variant.Validate([]variant.Param{p}, nil); err != nil {
				fail("default is invalid: %v", err)
			}
		}
	}
	for _, m := range info.Metrics {
		if m.Name == "" || strings.TrimSpace(m.Doc) == "" {
			fail("metric %q has no name or no doc", m.Name)
		}
		if m.Goal != "minimize" && m.Goal != "maximize" {
			fail("metric %q: goal %q is not minimize or maximize", m.Name, m.Goal)
		}
	}
	for _, c := range info.Capabilities {
		if c != variant.CapSample && c != variant.CapReconstruct && c != variant.CapResume {
			fail("unknown capability %q", c)
		}
	}
	full, err := variant.Validate(info.Params, s.req.Params)
	if err != nil {
		fail("the kit's TrainRequest.Params do not validate against the schema: %v", err)
	}
	s.params = full
	return errs
}

// withParam returns the request's params with k set to v.
func (s *suite) withParam(k string, v any) map[string]any {
	m := make(map[string]any, len(s.params)+1)
	for k, v := range s.params {
		m[k] = v
	}
	m[k] = v
	return m
}

func (s *suite) badParams() []error {
	type bad struct {
		what   string
		key    string
		params map[string]any
	}
	cases := []bad{{"an unknown parameter", "aexp_conformance_unknown", s.withParam("aexp_conformance_unknown", 1)}}
	for _, p := range s.info.Params {
		wrong := any("not-a-number")
		if p.Type == variant.String {
			wrong = 42
		}
		cases = append(cases, bad{"a value of the wrong type", p.Name, s.withParam(p.Name, wrong)})
		step := func(x float64) float64 { return math.Max(1, math.Abs(x)) }
		for _, b := range []struct {
			bound *float64
			sign  float64
		}{{p.Min, -1}, {p.Max, 1}} {
			if b.bound == nil {
				continue
			}
			x := *b.bound + b.sign*step(*b.bound)
			var v any
			switch p.Type {
			case variant.Int:
				v = int64(math.Round(x))
			case variant.Float:
				v = x
			case variant.IntList:
				v = []int64{int64(math.Round(x))}
			case variant.FloatList:
				v = []float64{x}
			default:
				continue
			}
			cases = append(cases, bad{"an out-of-range value", p.Name, s.withParam(p.Name, v)})
		}
		if len(p.Choices) > 0 {
			cases = append(cases, bad{"a value outside the choices", p.Name, s.withParam(p.Name, "aexp-conformance-no-such-choice")})
		}
	}
	var errs []error
	for _, c := range cases {
		req := s.req
		req.Params = c.params
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		err := s.p.Train(ctx, req, func(variant.Event) error { return nil })
		cancel()
		switch {
		case err == nil:
			errs = append(errs, fmt.Errorf("Train accepted %s for %q: %v", c.what, c.key, c.params[c.key]))
		case !errors.Is(err, variant.ErrInvalidParams):
			errs = append(errs, fmt.Errorf("%s for %q: the error does not match variant.ErrInvalidParams (return variant.Decode's error): %v", c.what, c.key, err))
		case !strings.Contains(err.Error(), fmt.Sprintf("%q", c.key)):
			errs = append(errs, fmt.Errorf("%s for %q: the error does not name the parameter: %v", c.what, c.key, err))
		}
		if s.p.Exited() {
			return append(errs, fmt.Errorf("the plugin died: %v", err))
		}
	}
	return errs
}

// trajectory is what a run reported.
type trajectory struct {
	epochs  []variant.EpochReport
	final   *variant.FinalReport
	ckpt    *variant.Artifact // the last checkpoint; earlier ones are not kept
	states  []state
	resumed *variant.Resumed
	early   bool // Resumed came after an epoch report
	events  int
}

// state is a training state a run sent, and how many epoch reports came
// before it.
type state struct {
	art     *variant.Artifact
	reports int
}

func train(ctx context.Context, p *variant.Plugin, req variant.TrainRequest) (trajectory, error) {
	var tr trajectory
	err := p.Train(ctx, req, func(e variant.Event) error {
		tr.events++
		switch {
		case e.Epoch != nil:
			tr.epochs = append(tr.epochs, *e.Epoch)
		case e.Final != nil:
			tr.final = e.Final
		case e.Resumed != nil:
			tr.resumed, tr.early = e.Resumed, len(tr.epochs) > 0
		case e.Artifact != nil && e.Artifact.Kind == variant.KindCheckpoint:
			tr.ckpt = e.Artifact
		case e.Artifact != nil && e.Artifact.Kind == variant.KindState:
			tr.states = append(tr.states, state{e.Artifact, len(tr.epochs)})
		}
		return nil
	})
	return tr, err
}

func (s *suite) train() []error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	req := s.req
	req.Params = s.params
	tr, err := train(ctx, s.p, req)
	if err != nil {
		return []error{fmt.Errorf("Train: %v\nplugin stderr (tail):\n%s", err, tail(s.stderr.String()))}
	}
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(tr.epochs) != req.Epochs {
		fail("%d epoch reports for %d epochs", len(tr.epochs), req.Epochs)
	}
	for i, e := range tr.epochs {
		if e.Epoch != i+1 {
			fail("epoch report %d is numbered %d", i+1, e.Epoch)
		}
		if len(e.Metrics) == 0 {
			fail("epoch %d has no metrics", e.Epoch)
		}
		for _, k := range []string{"train_loss", "val_loss"} {
			v, ok := e.Metrics[k]
			if !ok {
				fail("epoch %d lacks %s", e.Epoch, k)
			} else if math.IsNaN(v) || math.IsInf(v, 0) {
				fail("epoch %d: %s is %v", e.Epoch, k, v)
			}
		}
	}
	if tr.final == nil {
		fail("no Final event")
	} else {
		for _, k := range []string{"test_mse", "pca_mse"} {
			if _, ok := tr.final.Metrics[k]; !ok {
				fail("the Final event lacks %s", k)
			}
		}
	}
	if tr.ckpt != nil {
		s.ckpt = tr.ckpt
	}
	s.ran = &tr
	return errs
}

// SharedMetrics are the metrics every variant reports; Describe need not
// document them.
var SharedMetrics = []string{"train_loss", "val_loss", "epoch_seconds", "samples_per_second", "test_mse", "pca_mse"}

// metrics checks that the metrics the Train check's run reported and the
// ones Describe documents are the same set, shared ones aside.
func (s *suite) metrics() []error {
	if s.ran == nil {
		return []error{errors.New("skipped: the Train check did not complete a run")}
	}
	reported := map[string]bool{}
	for _, e := range s.ran.epochs {
		for k := range e.Metrics {
			reported[k] = true
		}
	}
	if s.ran.final != nil {
		for k := range s.ran.final.Metrics {
			reported[k] = true
		}
	}
	documented := map[string]bool{}
	for _, m := range s.info.Metrics {
		documented[m.Name] = true
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(reported)) {
		if !documented[k] && !slices.Contains(SharedMetrics, k) {
			errs = append(errs, fmt.Errorf("metric %q is reported but not documented by Describe (add it to Info.Metrics, with its val_/test_ prefix)", k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(documented)) {
		if !reported[k] {
			errs = append(errs, fmt.Errorf("metric %q is documented by Describe but the run never reported it", k))
		}
	}
	return errs
}

func (s *suite) determinism() []error {
	req := s.req
	req.Params = s.params
	if req.Threads == 0 {
		req.Threads = 1 // multi-threaded reductions may reorder sums
	}
	var trs [2]trajectory
	for i := range trs {
		// Separate processes: no state may leak between runs.
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		p, err := s.launch(ctx)
		if err != nil {
			cancel()
			return []error{err}
		}
		trs[i], err = train(ctx, p, req)
		p.Kill()
		cancel()
		if err != nil {
			return []error{fmt.Errorf("Train: %v", err)}
		}
	}
	a, b := trs[0], trs[1]
	s.det = &trs[0]
	if len(a.epochs) != len(b.epochs) {
		return []error{fmt.Errorf("%d vs %d epochs with the same seed", len(a.epochs), len(b.epochs))}
	}
	return sameEpochs(a.epochs, b.epochs, "in one run and", "in the other with the same seed")
}

// sameEpochs compares the losses of two runs' epoch reports, epoch by
// epoch; b may start later than a (a resumed run).
func sameEpochs(a, b []variant.EpochReport, how, other string) []error {
	var errs []error
	byEpoch := map[int]variant.EpochReport{}
	for _, e := range a {
		byEpoch[e.Epoch] = e
	}
	for _, e := range b {
		for _, k := range []string{"train_loss", "val_loss"} {
			x, y := byEpoch[e.Epoch].Metrics[k], e.Metrics[k]
			if x != y && math.Abs(x-y) > 1e-9*math.Max(math.Abs(x), math.Abs(y)) {
				errs = append(errs, fmt.Errorf("epoch %d: %s is %v %s %v %s", e.Epoch, k, x, how, y, other))
			}
		}
	}
	return errs
}

func (s *suite) cancel() []error {
	req := s.req
	req.Params = s.params
	req.Epochs = 1 << 20
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- s.p.Train(ctx, req, func(e variant.Event) error {
			if e.Epoch != nil {
				once.Do(func() { close(first) })
			}
			return nil
		})
	}()
	select {
	case <-first:
	case err := <-done:
		return []error{fmt.Errorf("Train with %d epochs ended before the first epoch report: %v", req.Epochs, err)}
	case <-time.After(callTimeout):
		return []error{errors.New("no epoch report within the time limit")}
	}
	logged := len(s.stderr.String())
	t0 := time.Now()
	cancel()
	var errs []error
	select {
	case err := <-done:
		if d := time.Since(t0); d > CancelDeadline {
			errs = append(errs, fmt.Errorf("Train returned %v after cancellation; the limit is %v", d.Round(time.Millisecond), CancelDeadline))
		}
		if !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("Train returned %v after cancellation, want context.Canceled", err))
		}
	case <-time.After(CancelDeadline + 5*time.Second):
		return []error{fmt.Errorf("Train did not return within %v of cancellation", CancelDeadline+5*time.Second)}
	}
	// The host stops listening at once; the plugin's own Train must return
	// too. The SDKs' servers log "Train returned" when it did within the
	// grace and "Train still running" when it did not. Wait for either: on
	// a loaded machine the line can take seconds to cross the plugin's
	// stderr pipe. A plugin built without the SDKs logs neither, and passes.
	for end := t0.Add(variant.CancelGrace + 15*time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		out := s.stderr.String()[logged:]
		if strings.Contains(out, variant.CancelOverdueLog) {
			errs = append(errs, fmt.Errorf("the plugin's Train kept running for more than %v after its context was cancelled", variant.CancelGrace))
			break
		}
		if strings.Contains(out, variant.CancelReturnedLog) {
			break
		}
	}
	// The plugin must still answer after a cancelled run.
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	if _, err := s.p.Describe(dctx); err != nil {
		errs = append(errs, fmt.Errorf("Describe after a cancelled Train: %v", err))
	}
	return errs
}

func (s *suite) checkpoint() []error {
	if s.ckpt == nil {
		req := s.req
		req.Params = s.params
		req.Keep = "last"
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		tr, err := train(ctx, s.p, req)
		cancel()
		if err != nil {
			return []error{err}
		}
		if tr.ckpt == nil {
			return []error{errors.New("Train sent no checkpoint artifact (kind \"checkpoint\")")}
		}
		s.ckpt = tr.ckpt
	}
	var errs []error
	c := s.ckpt
	if c.Format != "safetensors" {
		errs = append(errs, fmt.Errorf("checkpoint format is %q, want safetensors", c.Format))
	}
	if err := checkSafetensors(c.Data); err != nil {
		errs = append(errs, fmt.Errorf("checkpoint %q: %v", c.Name, err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	has := func(cp string) bool { return slices.Contains(s.info.Capabilities, cp) }

	a, err := s.p.Reconstruct(ctx, variant.ReconstructRequest{
		Params: s.params, Checkpoint: c.Data, Dataset: s.req.Dataset, DataDir: s.req.DataDir, N: 4,
	})
	switch {
	case has(variant.CapReconstruct) && err != nil:
		errs = append(errs, fmt.Errorf("Reconstruct from the checkpoint: %v", err))
	case has(variant.CapReconstruct):
		if a.Kind != variant.KindReconstruction || len(a.Data) == 0 {
			errs = append(errs, fmt.Errorf("Reconstruct returned kind %q with %d bytes", a.Kind, len(a.Data)))
		} else if err := checkSafetensors(a.Data); a.Format == "safetensors" && err != nil {
			errs = append(errs, fmt.Errorf("reconstruction: %v", err))
		}
	case !errors.Is(err, variant.ErrUnimplemented):
		errs = append(errs, fmt.Errorf("Reconstruct without the capability returned %v, want variant.ErrUnimplemented", err))
	}

	a, err = s.p.Sample(ctx, variant.SampleRequest{Params: s.params, Checkpoint: c.Data, N: 4, Seed: 1})
	switch {
	case has(variant.CapSample) && err != nil:
		errs = append(errs, fmt.Errorf("Sample from the checkpoint: %v", err))
	case has(variant.CapSample):
		if a.Kind != variant.KindSample || len(a.Data) == 0 {
			errs = append(errs, fmt.Errorf("Sample returned kind %q with %d bytes", a.Kind, len(a.Data)))
		}
	case !errors.Is(err, variant.ErrUnimplemented):
		errs = append(errs, fmt.Errorf("Sample without the capability returned %v, want variant.ErrUnimplemented", err))
	}
	return errs
}

// resume checks what the host relies on to continue an interrupted run.
func (s *suite) resume() []error {
	declared := slices.Contains(s.info.Capabilities, variant.CapResume)
	if s.ran == nil {
		return []error{errors.New("skipped: the Train check did not complete a run")}
	}
	if !declared {
		if n := len(s.ran.states); n > 0 {
			return []error{fmt.Errorf("Train sent training states (kind %q, %d of them) but Describe does not declare the %q capability, so they are never sent back", variant.KindState, n, variant.CapResume)}
		}
		return nil
	}
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(s.ran.states) != len(s.ran.epochs) {
		fail("%d training states for %d epochs: with the %q capability, send one after every epoch", len(s.ran.states), len(s.ran.epochs), variant.CapResume)
	}
	for _, st := range s.ran.states {
		if st.art.Epoch != st.reports {
			fail("the training state of epoch %d came after %d epoch reports: send it after its epoch's report, before the next", st.art.Epoch, st.reports)
		}
	}
	if s.det == nil || len(s.det.states) == 0 || len(s.det.epochs) < 2 {
		return append(errs, errors.New("skipped: needs a SameSeedSameTrajectory run of at least 2 epochs with training states"))
	}
	if len(errs) > 0 {
		return errs
	}
	from := s.det.states[0].art
	run := func(a *variant.Artifact) (trajectory, error) {
		req := s.req
		req.Params = s.params
		if req.Threads == 0 {
			req.Threads = 1 // as the SameSeedSameTrajectory run
		}
		req.Resume = a
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		p, err := s.launch(ctx) // a fresh process, as after a crash
		if err != nil {
			return trajectory{}, err
		}
		defer p.Kill()
		return train(ctx, p, req)
	}

	// From the state of epoch 1: Resumed{1} first, then epochs 2.., equal
	// to the uninterrupted run's.
	tr, err := run(from)
	switch {
	case err != nil:
		fail("Train resuming from the state of epoch %d: %v\nplugin stderr (tail):\n%s", from.Epoch, err, tail(s.stderr.String()))
	case tr.resumed == nil || tr.early:
		fail("given the state of epoch %d, Train did not send Resumed before its first epoch report", from.Epoch)
	case tr.resumed.Epoch != from.Epoch:
		fail("given the state of epoch %d, Train sent Resumed{%d}", from.Epoch, tr.resumed.Epoch)
	case len(tr.epochs) == 0 || tr.epochs[0].Epoch != from.Epoch+1 || len(tr.epochs) != len(s.det.epochs)-from.Epoch:
		var got []int
		for _, e := range tr.epochs {
			got = append(got, e.Epoch)
		}
		fail("resumed from epoch %d, Train reported epochs %v, want %d to %d", from.Epoch, got, from.Epoch+1, len(s.det.epochs))
	default:
		errs = append(errs, sameEpochs(s.det.epochs, tr.epochs, "uninterrupted and", "resumed from the state of epoch 1 (same seed, threads = 1)")...)
	}

	// A state it cannot read: refuse it (an error) or start over at epoch
	// 1, never claim to continue from it.
	bad := *from
	bad.Data = []byte("aexp conformance kit: not a training state")
	tr, err = run(&bad)
	switch {
	case err == nil && tr.resumed != nil:
		fail("given a state it cannot read, Train sent Resumed{%d}; it must fail or start over", tr.resumed.Epoch)
	case err == nil && (len(tr.epochs) == 0 || tr.epochs[0].Epoch != 1):
		fail("given a state it cannot read, Train neither failed nor started over at epoch 1")
	}
	return errs
}

// checkSafetensors checks the framing of a safetensors file: an 8-byte
// little-endian header length, a JSON header whose tensors lie inside the
// data.
func checkSafetensors(b []byte) error {
	if len(b) < 8 {
		return errors.New("not safetensors: shorter than 8 bytes")
	}
	n := binary.LittleEndian.Uint64(b)
	if n == 0 || n > uint64(len(b)-8) {
		return fmt.Errorf("not safetensors: header length %d for %d bytes", n, len(b))
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		return fmt.Errorf("not safetensors: bad JSON header: %v", err)
	}
	data := uint64(len(b)) - 8 - n
	tensors := 0
	for k, raw := range hdr {
		if k == "__metadata__" {
			continue
		}
		var t struct {
			Dtype   string   `json:"dtype"`
			Shape   []int    `json:"shape"`
			Offsets []uint64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &t); err != nil || len(t.Offsets) != 2 || t.Offsets[0] > t.Offsets[1] || t.Offsets[1] > data {
			return fmt.Errorf("tensor %q: bad entry %s", k, raw)
		}
		tensors++
	}
	if tensors == 0 {
		return errors.New("no tensors")
	}
	return nil
}

func (s *suite) noStdout() []error {
	// Give go-plugin's stdio stream a moment to deliver late writes.
	time.Sleep(200 * time.Millisecond)
	if out := s.stdout.String(); out != "" {
		return []error{fmt.Errorf("the plugin wrote to stdout (log to stderr instead): %q", truncate(out, 300))}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// syncBuffer is a bytes.Buffer safe for a process's output goroutines to
// write while the checks read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
