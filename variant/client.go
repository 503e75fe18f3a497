package variant

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aexp/aexp/variant/internal/pb"
)

// DefaultStartTimeout bounds the plugin handshake when
// [LaunchOptions.StartTimeout] is zero. A Go plugin completes it in
// milliseconds; the margin is for plugins in slow-starting languages, which
// should print the handshake before importing heavy libraries.
const DefaultStartTimeout = 30 * time.Second

// stderrTailSize is how much of a plugin's stderr the host keeps.
const stderrTailSize = 16 << 10

// LaunchOptions configures [Launch].
type LaunchOptions struct {
	// Stderr receives the plugin's stderr (its log lines), line by line.
	// Nil discards it; the last 16 KiB are kept either way for errors and
	// [Plugin.StderrTail]. Writes are serialised.
	Stderr io.Writer
	// StartTimeout bounds the handshake; zero means [DefaultStartTimeout].
	StartTimeout time.Duration
	// Env holds extra environment variables ("KEY=value") for the plugin,
	// on top of the host's environment; they win over the host's values.
	Env []string
	// Stdout receives anything the plugin writes to stdout after the
	// handshake, which a plugin must never do. Nil sends it to Stderr.
	Stdout io.Writer
}

// Plugin is a running plugin process, one per run. Its methods may be
// called concurrently. Always call [Plugin.Kill] when done.
type Plugin struct {
	path     string
	client   *plugin.Client
	rpc      pb.VariantClient
	cmd      *exec.Cmd
	pid      int
	tail     *tailBuffer
	sockDir  string
	killOnce sync.Once
}

var _ Variant = (*Plugin)(nil)
var _ Sampler = (*Plugin)(nil)
var _ Reconstructor = (*Plugin)(nil)

// hostPlugins is the set of protocol versions this host speaks.
func hostPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {pluginName: &grpcPlugin{}}}
}

// Launch starts the plugin binary at path in its own process group (with
// Pdeathsig=SIGKILL on Linux, so it dies with the host), performs the
// go-plugin handshake within opts.StartTimeout, and returns a client.
//
// Errors are meant for users: a missing or non-executable file, a plugin
// that exits before the handshake, writes something else than the
// handshake to stdout, does not answer in time, or speaks another protocol
// version each get a message saying so, with the tail of its stderr. On
// error no process is left behind (if ctx is cancelled during the
// handshake, the process is killed as soon as go-plugin lets go of it).
func Launch(ctx context.Context, path string, opts LaunchOptions) (*Plugin, error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	switch {
	case err != nil:
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	case st.IsDir():
		return nil, fmt.Errorf("plugin %s is a directory, not an executable", path)
	case st.Mode()&0o111 == 0:
		return nil, fmt.Errorf("plugin %s is not executable (chmod +x it)", path)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	p := &Plugin{path: abs, tail: newTailBuffer(stderrTailSize)}
	errOut := &lockedWriter{w: p.tail}
	if opts.Stderr != nil {
		errOut.w = io.MultiWriter(p.tail, opts.Stderr)
	}
	var stdOut io.Writer = errOut
	if opts.Stdout != nil {
		stdOut = &lockedWriter{w: opts.Stdout}
	}
	// Go plugins listen on a Unix socket; give it a directory the host
	// removes on Kill, so killed plugins leave no socket files in $TMPDIR.
	sockDir, err := os.MkdirTemp("", "aexp-plugin-")
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	}
	p.sockDir = sockDir
	cmd := exec.Command(abs)
	setProcAttr(cmd)
	p.cmd = cmd

	logger := hclog.New(&hclog.LoggerOptions{Name: "aexp-host", Level: hclog.Off})
	if os.Getenv("AEXP_PLUGIN_DEBUG") != "" {
		logger = hclog.New(&hclog.LoggerOptions{Name: "aexp-host", Level: hclog.Debug, Output: os.Stderr})
	}
	p.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: hostPlugins(),
		// go-plugin's variables (cookie, ports, client certificate, the
		// socket folder inside sockDir) win over opts.Env, which wins over
		// the host's environment.
		RunnerFunc: func(_ hclog.Logger, spec *exec.Cmd, _ string) (runner.Runner, error) {
			cmd.Env = append(append(os.Environ(), opts.Env...), spec.Env...)
			return newPipeRunner(cmd, stdOut), nil
		},
		SkipHostEnv:      true,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: sockDir},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     opts.StartTimeout,
		Stderr:           errOut,
		SyncStderr:       errOut,
		SyncStdout:       stdOut,
		Logger:           logger,
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(maxMsgSize), grpc.MaxCallSendMsgSize(maxMsgSize))},
	})

	type result struct {
		rpc pb.VariantClient
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		cp, err := p.client.Client()
		if err == nil {
			var raw any
			raw, err = cp.Dispense(pluginName)
			if err == nil {
				r.rpc = raw.(pb.VariantClient)
			}
		}
		r.err = err
		done <- r
	}()
	select {
	case r := <-done:
		if cmd.Process != nil {
			p.pid = cmd.Process.Pid
		}
		if r.err != nil {
			err := p.startError(r.err, opts.StartTimeout)
			p.Kill()
			return nil, err
		}
		p.rpc = r.rpc
		return p, nil
	case <-ctx.Done():
		go func() {
			<-done
			if cmd.Process != nil {
				p.pid = cmd.Process.Pid
			}
			p.Kill()
		}()
		return nil, ctx.Err()
	}
}

var versionRE = regexp.MustCompile(`Plugin version: (\d+)`)

// startError turns go-plugin's start errors into messages for users.
func (p *Plugin) startError(err error, timeout time.Duration) error {
	msg := err.Error()
	name := p.path
	exitedEarly := func() error {
		return fmt.Errorf("plugin %s exited before completing the plugin handshake (%s); it is not a working aexp variant plugin (those are built with variant.Serve)%s",
			name, p.exitStatus(), p.tailNote())
	}
	switch {
	case strings.Contains(msg, "incompatible API version"):
		pv := "unknown"
		if m := versionRE.FindStringSubmatch(msg); m != nil {
			pv = m[1]
		}
		return fmt.Errorf("plugin %s speaks aexp plugin protocol version %s, but this aexp speaks version %d: rebuild the plugin against a matching github.com/aexp/aexp/variant", name, pv, ProtocolVersion)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("plugin %s did not complete the plugin handshake within %s (is it an aexp variant plugin built with variant.Serve? a plugin must print its handshake line on stdout promptly)%s",
			name, timeout, p.tailNote())
	case strings.Contains(msg, "plugin exited before we could connect"):
		p.waitExit(2 * time.Second)
		return exitedEarly()
	case strings.Contains(msg, "Unrecognized remote plugin message"):
		line := strings.TrimPrefix(strings.SplitN(msg, "\n", 2)[0], "Unrecognized remote plugin message: ")
		if line == "" {
			if p.waitExit(2 * time.Second) {
				return exitedEarly()
			}
			return fmt.Errorf("plugin %s closed stdout without printing the plugin handshake; it is not a working aexp variant plugin%s",
				name, p.tailNote())
		}
		if len(line) > 200 {
			line = line[:200] + "..."
		}
		return fmt.Errorf("plugin %s wrote %q to stdout instead of the plugin handshake line: plugins must never write to stdout (log to stderr), and a non-plugin executable does not belong in the plugin directory", name, line)
	case strings.Contains(msg, "unsupported plugin protocol"):
		return fmt.Errorf("plugin %s does not speak gRPC (%s); aexp plugins are served with variant.Serve", name, msg)
	}
	return fmt.Errorf("starting plugin %s: %v%s", name, err, p.tailNote())
}

// tailNote formats the last lines of stderr for an error message.
func (p *Plugin) tailNote() string {
	t := lastLines(p.tail.String(), 10)
	if t == "" {
		return ""
	}
	return "\nplugin stderr (tail):\n" + t
}

func (p *Plugin) waitExit(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !p.client.Exited() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func (p *Plugin) exitStatus() string {
	if !p.client.Exited() || p.cmd.ProcessState == nil {
		return "still running"
	}
	return p.cmd.ProcessState.String()
}

// Path returns the absolute path of the plugin binary.
func (p *Plugin) Path() string { return p.path }

// Pid returns the plugin's process id, which is also its process group id.
func (p *Plugin) Pid() int { return p.pid }

// Exited reports whether the plugin process has ended.
func (p *Plugin) Exited() bool { return p.client.Exited() }

// StderrTail returns the last 16 KiB the plugin wrote to stderr.
func (p *Plugin) StderrTail() string { return p.tail.String() }

// killWait bounds how long Kill waits for go-plugin's cleanup. It only
// matters when something outside the process group (a daemonised
// grandchild) still holds the plugin's stderr open.
const killWait = 5 * time.Second

// Kill kills the plugin's whole process group with SIGKILL and waits until
// the plugin process has been reaped (at most a few seconds). It is safe to
// call more than once and from several goroutines.
func (p *Plugin) Kill() {
	p.killOnce.Do(func() {
		if p.pid > 0 {
			killGroup(p.pid)
		}
		done := make(chan struct{})
		go func() {
			p.client.Kill()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(killWait):
		}
		if p.pid > 0 {
			killGroup(p.pid) // anything the plugin forked meanwhile
		}
		if p.sockDir != "" {
			os.RemoveAll(p.sockDir)
		}
	})
}

// callError classifies the error of an RPC: cancellation, bad parameters,
// missing capability, an error the variant returned, or a crash.
func (p *Plugin) callError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.InvalidArgument:
		return fmt.Errorf("%w: %s", ErrInvalidParams, strings.TrimPrefix(st.Message(), ErrInvalidParams.Error()+": "))
	case codes.Unimplemented:
		return fmt.Errorf("%w: %s", ErrUnimplemented, st.Message())
	case codes.FailedPrecondition:
		return fmt.Errorf("%w: %s", ErrData, strings.TrimPrefix(st.Message(), ErrData.Error()+": "))
	case codes.Unknown:
		// The variant returned an error; the process is fine.
		if !p.client.Exited() {
			return fmt.Errorf("plugin %s: %s", op, st.Message())
		}
	}
	// The transport broke: the process most likely died. Give it a moment
	// so that its stderr (a panic's stack trace) has been read.
	exited := p.waitExit(2 * time.Second)
	ce := &CrashError{Op: op, Err: err, StderrTail: p.tail.String()}
	if exited {
		ce.ExitStatus = p.exitStatus()
	}
	ce.Panic = panicLine(ce.StderrTail)
	if ce.Panic == "" {
		ce.StderrTail = lastLines(ce.StderrTail, 20)
	} else {
		ce.StderrTail = fromPanic(ce.StderrTail, 40)
	}
	return ce
}

// Describe asks the plugin for its name, version, schema and capabilities.
func (p *Plugin) Describe(ctx context.Context) (Info, error) {
	r, err := p.rpc.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return Info{}, p.callError(ctx, "Describe", err)
	}
	return fromPBInfo(r), nil
}

// Train runs req in the plugin and calls emit for every event, in order:
// Epoch, Log and (reassembled) Artifact events, then one Final event.
// emit runs on the caller's goroutine; if it returns an error, the stream
// is cancelled and Train returns that error.
//
// Train returns nil after the Final event; a [*DivergedError] if the run
// diverged; ctx.Err() when ctx is cancelled (the plugin's Train context is
// cancelled at once); an error matching [ErrInvalidParams] when the plugin
// rejected the parameters; a [*CrashError] (with the panic text and stderr
// tail) when the plugin process died; any other error for other failures.
func (p *Plugin) Train(ctx context.Context, req TrainRequest, emit func(Event) error) error {
	if req.Data == nil {
		var err error
		if req.Data, req.DataDir, err = resolveData(req.Dataset, req.DataDir, req.TrainLimit, req.TestLimit); err != nil {
			return err
		}
	}
	preq, err := toPBTrainRequest(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidParams, err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if req.Resume != nil {
		if preq.ResumeState, err = p.putState(sctx, *req.Resume); err != nil {
			return p.callError(ctx, "PutState", err)
		}
	}
	stream, err := p.rpc.Train(sctx, preq)
	if err != nil {
		return p.callError(ctx, "Train", err)
	}
	var (
		asm      assembler
		final    bool
		diverged *DivergedError
	)
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return p.callError(ctx, "Train", err)
		}
		if final || diverged != nil {
			return fmt.Errorf("plugin protocol error: Train event after the final event")
		}
		var out Event
		switch e := ev.GetEvent().(type) {
		case *pb.TrainEvent_Epoch:
			out.Epoch = &EpochReport{Epoch: int(e.Epoch.GetEpoch()), Metrics: e.Epoch.GetMetrics()}
		case *pb.TrainEvent_Log:
			out.Log = &LogLine{Level: e.Log.GetLevel(), Text: e.Log.GetText()}
		case *pb.TrainEvent_Artifact:
			a, err := asm.add(e.Artifact)
			if err != nil {
				return fmt.Errorf("plugin %s", err)
			}
			if a == nil {
				continue
			}
			out.Artifact = a
		case *pb.TrainEvent_Final:
			final = true
			out.Final = &FinalReport{Metrics: e.Final.GetMetrics(), Meta: e.Final.GetMeta()}
		case *pb.TrainEvent_Resumed:
			if req.Resume == nil {
				return fmt.Errorf("plugin protocol error: resumed event, but no state was sent")
			}
			out.Resumed = &Resumed{Epoch: int(e.Resumed.GetEpoch())}
		case *pb.TrainEvent_Diverged:
			diverged = &DivergedError{Epoch: int(e.Diverged.GetEpoch()), Reason: e.Diverged.GetReason()}
			continue
		default:
			continue // an event type from a newer protocol revision
		}
		if !final && asm.pending() {
			return fmt.Errorf("plugin protocol error: event interleaved with an artifact's chunks")
		}
		if err := emit(out); err != nil {
			return err
		}
	}
	switch {
	case asm.pending():
		return fmt.Errorf("plugin protocol error: Train ended in the middle of an artifact")
	case diverged != nil:
		return diverged
	case !final:
		return fmt.Errorf("plugin protocol error: Train ended without a final report")
	}
	return nil
}

// putState uploads a training state in chunks and returns its id.
func (p *Plugin) putState(ctx context.Context, a Artifact) (string, error) {
	if a.Kind != KindState {
		return "", fmt.Errorf("resume: artifact kind %q, want %q", a.Kind, KindState)
	}
	s, err := p.rpc.PutState(ctx)
	if err != nil {
		return "", err
	}
	for _, c := range chunks(a) {
		if err := s.Send(c); err != nil {
			break // the reply below has the server's status
		}
	}
	r, err := s.CloseAndRecv()
	if err != nil {
		return "", err
	}
	return r.GetId(), nil
}

type artifactStream interface {
	Recv() (*pb.ArtifactChunk, error)
}

func recvArtifact(s artifactStream) (Artifact, error) {
	var asm assembler
	for {
		c, err := s.Recv()
		if err != nil {
			if err == io.EOF {
				err = errors.New("plugin protocol error: reply ended without a complete artifact")
			}
			return Artifact{}, err
		}
		a, err := asm.add(c)
		if err != nil {
			return Artifact{}, fmt.Errorf("plugin %s", err)
		}
		if a != nil {
			return *a, nil
		}
	}
}

// checkpointCall runs a Sample or Reconstruct call: it opens the stream,
// sends the checkpoint in 1 MiB pieces (msg builds each request; the first
// carries the header), closes the send side and receives the artifact.
func checkpointCall[Req any](ctx context.Context, p *Plugin, op string,
	open func(context.Context, ...grpc.CallOption) (grpc.BidiStreamingClient[Req, pb.ArtifactChunk], error),
	ckpt []byte, msg func(first bool, chunk []byte) *Req) (Artifact, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := open(sctx)
	if err != nil {
		return Artifact{}, p.callError(ctx, op, err)
	}
	for first := true; err == nil && (first || len(ckpt) > 0); first = false {
		n := min(len(ckpt), chunkSize)
		err = s.Send(msg(first, ckpt[:n]))
		ckpt = ckpt[n:]
	}
	if err == nil {
		err = s.CloseSend()
	}
	var a Artifact
	if err == nil || err == io.EOF {
		// On io.EOF the server ended the call early; Recv has its status.
		a, err = recvArtifact(s)
	}
	if err != nil {
		return Artifact{}, p.callError(ctx, op, err)
	}
	return a, nil
}

// Sample asks a generative plugin for req.N new examples decoded from
// N(0, I) with req.Checkpoint. It returns an error matching
// [ErrUnimplemented] when the plugin has no "sample" capability.
func (p *Plugin) Sample(ctx context.Context, req SampleRequest) (Artifact, error) {
	params, err := toPBParams(req.Params)
	if err != nil {
		return Artifact{}, fmt.Errorf("%w: %v", ErrInvalidParams, err)
	}
	hdr := &pb.SampleHeader{Params: params, N: int32(req.N), Seed: req.Seed, CheckpointSize: int64(len(req.Checkpoint))}
	return checkpointCall(ctx, p, "Sample", p.rpc.Sample, req.Checkpoint, func(first bool, c []byte) *pb.SampleRequest {
		m := &pb.SampleRequest{CheckpointChunk: c}
		if first {
			m.Header = hdr
		}
		return m
	})
}

// Reconstruct asks the plugin to reconstruct the first req.N test inputs
// with req.Checkpoint. It returns an error matching [ErrUnimplemented] when
// the plugin has no "reconstruct" capability.
func (p *Plugin) Reconstruct(ctx context.Context, req ReconstructRequest) (Artifact, error) {
	params, err := toPBParams(req.Params)
	if err != nil {
		return Artifact{}, fmt.Errorf("%w: %v", ErrInvalidParams, err)
	}
	if req.Data == nil {
		if req.Data, req.DataDir, err = resolveData(req.Dataset, req.DataDir, 0, 0); err != nil {
			return Artifact{}, err
		}
	}
	hdr := &pb.ReconstructHeader{Params: params, Dataset: req.Dataset, DataDir: req.DataDir, N: int32(req.N),
		CheckpointSize: int64(len(req.Checkpoint)), Data: toPBData(req.Data)}
	return checkpointCall(ctx, p, "Reconstruct", p.rpc.Reconstruct, req.Checkpoint, func(first bool, c []byte) *pb.ReconstructRequest {
		m := &pb.ReconstructRequest{CheckpointChunk: c}
		if first {
			m.Header = hdr
		}
		return m
	})
}

// tailBuffer keeps the last n bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	n   int
	buf []byte
}

func newTailBuffer(n int) *tailBuffer { return &tailBuffer{n: n} }

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.n; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// lockedWriter serialises writes from go-plugin's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var panicRE = regexp.MustCompile(`(?m)^(panic: |fatal error: ).*$`)

func panicLine(s string) string {
	return strings.TrimSpace(panicRE.FindString(s))
}

// fromPanic returns up to n lines of s starting at the panic line.
func fromPanic(s string, n int) string {
	loc := panicRE.FindStringIndex(s)
	if loc == nil {
		return lastLines(s, n)
	}
	lines := strings.Split(strings.TrimRight(s[loc[0]:], "\n"), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return string(bytes.TrimSpace([]byte(strings.Join(lines, "\n"))))
}
