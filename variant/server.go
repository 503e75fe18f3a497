package variant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aexp/aexp/variant/internal/pb"
)

// ProtocolVersion is the version of the aexp plugin protocol (the .proto)
// this package speaks. It is the second field of the go-plugin handshake
// line. It changes only when the protocol changes incompatibly.
const ProtocolVersion = 1

// The go-plugin magic cookie. The host sets MagicCookieKey=MagicCookieValue
// in the plugin's environment; a plugin started without it (e.g. by a user
// running it by hand) explains that it is a plugin and exits.
const (
	MagicCookieKey   = "AEXP_PLUGIN"
	MagicCookieValue = "aexp-variant-7d1f0c52"
)

// pluginName is the name of the one plugin in the go-plugin plugin set.
const pluginName = "variant"

// maxMsgSize raises gRPC's message limits on both sides. Artifacts travel
// in 1 MiB chunks, so this is a safety margin, not a working limit.
const maxMsgSize = 1 << 30

var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   MagicCookieKey,
	MagicCookieValue: MagicCookieValue,
}

// grpcPlugin adapts a Variant to go-plugin's GRPCPlugin.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl   Variant      // nil on the host side
	logger hclog.Logger // plugin side: the real stderr
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterVariantServer(s, &grpcServer{impl: p.impl, logger: p.logger})
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return pb.NewVariantClient(cc), nil
}

// Serve runs v as a plugin: it performs the go-plugin handshake on stdout
// and serves the aexp protocol until the host kills the process. Call it
// from main and do nothing else there:
//
//	func main() { variant.Serve(myVariant{}) }
//
// Serve never returns. A plugin must not write to stdout (the handshake
// channel) before calling Serve; after it, whatever the plugin writes to
// os.Stdout or os.Stderr, and the standard log package, reach the host's
// plugin log. Started by hand (without the host's magic cookie), the
// binary prints a note to stderr and exits with status 1.
//
// Log with the standard log package (or [LogLine] events): it writes
// straight to the process's stderr, so the last lines survive a crash and
// reach the host's record of a failed run. Writes to os.Stderr after Serve
// has started are forwarded over gRPC instead and may be lost when the
// process dies.
//
// The environment variable AEXP_PLUGIN_LOG_LEVEL (trace, debug, info, warn,
// error; default warn) sets how much the plugin side of go-plugin logs.
func Serve(v Variant) {
	if os.Getenv(MagicCookieKey) != MagicCookieValue {
		fmt.Fprintf(os.Stderr, "%s is an aexp variant plugin: aexp starts it, one process per run.\n"+
			"Put it in a plugin directory (next to aexp, in $%s or on $PATH) and run `aexp plugins`.\n",
			filepath.Base(os.Args[0]), PluginDirEnv)
		os.Exit(1)
	}
	level := hclog.LevelFromString(os.Getenv("AEXP_PLUGIN_LOG_LEVEL"))
	if level == hclog.NoLevel {
		level = hclog.Warn
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name:   "aexp-variant",
		Level:  level,
		Output: os.Stderr, // the real stderr: never stdout
	})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			ProtocolVersion: {pluginName: &grpcPlugin{impl: v, logger: logger}},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(maxMsgSize), grpc.MaxSendMsgSize(maxMsgSize))
			return grpc.NewServer(opts...)
		},
		Logger: logger,
	})
	os.Exit(0)
}

// grpcServer is the plugin side: it converts wire messages to plain Go
// types, delegates to the Variant, and converts back.
type grpcServer struct {
	pb.UnimplementedVariantServer
	impl   Variant
	logger hclog.Logger

	mu     sync.Mutex
	states map[string]*Artifact // uploaded by PutState, taken by Train
	nState int
}

// CancelGrace is how soon a Variant's Train must return after its context
// is cancelled. A plugin that takes longer logs a warning on stderr
// starting with CancelOverdueLog; one that returns in time logs (at info
// level) a line starting with CancelReturnedLog. The conformance kit waits
// for one of the two, so a loaded machine cannot make it miss the warning.
// The host has stopped listening by then and kills a process that runs on.
const CancelGrace = time.Second

// How a cancelled Train ended, as the SDKs log it (the Python SDK's lines
// start the same way).
const (
	CancelReturnedLog = "Train returned"
	CancelOverdueLog  = "Train still running"
)

// watchCancel says on stderr whether Train returned within CancelGrace of
// its context's cancellation.
func (s *grpcServer) watchCancel(ctx context.Context, done <-chan struct{}) {
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	t0 := time.Now()
	t := time.NewTimer(CancelGrace)
	defer t.Stop()
	select {
	case <-done:
		if s.logger != nil {
			s.logger.Info(fmt.Sprintf("%s %v after its context was cancelled", CancelReturnedLog, time.Since(t0).Round(time.Millisecond)))
		}
	case <-t.C:
		if s.logger != nil {
			s.logger.Warn(fmt.Sprintf("%s %v after its context was cancelled; Train must return ctx.Err() promptly", CancelOverdueLog, CancelGrace))
		}
	}
}

var _ pb.VariantServer = (*grpcServer)(nil)

func (s *grpcServer) Describe(ctx context.Context, _ *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	info, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	out, err := toPBInfo(info)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return out, nil
}

func (s *grpcServer) Train(req *pb.TrainRequest, stream pb.Variant_TrainServer) error {
	ctx := stream.Context()
	var (
		mu        sync.Mutex
		finalSent bool
	)
	treq := fromPBTrainRequest(req)
	if id := req.GetResumeState(); id != "" {
		if !s.resumable() {
			return status.Error(codes.InvalidArgument, "resume_state given, but this variant does not declare the \"resume\" capability")
		}
		s.mu.Lock()
		treq.Resume = s.states[id]
		delete(s.states, id)
		s.mu.Unlock()
		if treq.Resume == nil {
			return status.Errorf(codes.InvalidArgument, "resume_state %q: no such state was uploaded with PutState", id)
		}
	}
	resumedSent, epochSent := false, false
	emit := func(e Event) error {
		mu.Lock()
		defer mu.Unlock()
		if err := ctx.Err(); err != nil {
			return err
		}
		if finalSent {
			return errors.New("variant: event emitted after the Final event")
		}
		n := 0
		for _, set := range []bool{e.Epoch != nil, e.Log != nil, e.Artifact != nil, e.Final != nil, e.Resumed != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("variant: an Event must have exactly one field set, got %d", n)
		}
		switch {
		case e.Resumed != nil:
			if treq.Resume == nil || resumedSent || epochSent || e.Resumed.Epoch != treq.Resume.Epoch {
				return errors.New("variant: a Resumed event must come once, first, naming the epoch of TrainRequest.Resume")
			}
			resumedSent = true
			return stream.Send(&pb.TrainEvent{Event: &pb.TrainEvent_Resumed{Resumed: &pb.Resumed{Epoch: int32(e.Resumed.Epoch)}}})
		case e.Epoch != nil:
			epochSent = true
			return stream.Send(&pb.TrainEvent{Event: &pb.TrainEvent_Epoch{Epoch: &pb.EpochReport{
				Epoch: int32(e.Epoch.Epoch), Metrics: e.Epoch.Metrics}}})
		case e.Log != nil:
			return stream.Send(&pb.TrainEvent{Event: &pb.TrainEvent_Log{Log: &pb.LogLine{
				Level: e.Log.Level, Text: e.Log.Text}}})
		case e.Artifact != nil:
			return sendArtifact(ctx, *e.Artifact, func(c *pb.ArtifactChunk) error {
				return stream.Send(&pb.TrainEvent{Event: &pb.TrainEvent_Artifact{Artifact: c}})
			})
		default:
			finalSent = true
			return stream.Send(&pb.TrainEvent{Event: &pb.TrainEvent_Final{Final: &pb.FinalReport{
				Metrics: e.Final.Metrics, Meta: e.Final.Meta}}})
		}
	}
	done := make(chan struct{})
	go s.watchCancel(ctx, done)
	err := s.impl.Train(ctx, treq, emit)
	close(done)
	mu.Lock()
	defer mu.Unlock()
	var de *DivergedError
	if errors.As(err, &de) {
		return stream.Send(&pb.TrainEvent{Event: &pb.TrainEvent_Diverged{Diverged: &pb.Diverged{
			Epoch: int32(de.Epoch), Reason: de.Reason}}})
	}
	if err != nil {
		return toStatus(ctx, err)
	}
	if !finalSent {
		return status.Error(codes.Internal, "variant: Train returned without emitting a Final event")
	}
	return nil
}

// toStatus maps a Variant error to a gRPC status the host understands.
func toStatus(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return status.FromContextError(ctx.Err()).Err()
	case errors.Is(err, ErrInvalidParams):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, ErrUnimplemented):
		return status.Error(codes.Unimplemented, err.Error())
	case errors.Is(err, ErrData):
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

// recvCheckpoint reads a client stream: header in the first message,
// checkpoint bytes in every message. size reads the checkpoint size the
// first message announces, so the buffer is allocated once.
func recvCheckpoint[M any](recv func() (M, error), chunk func(M) []byte, size func(M) int64) (first M, ckpt []byte, err error) {
	for i := 0; ; i++ {
		m, err := recv()
		if err == io.EOF {
			if i == 0 {
				return first, nil, status.Error(codes.InvalidArgument, "empty request stream")
			}
			return first, ckpt, nil
		}
		if err != nil {
			return first, nil, err
		}
		if i == 0 {
			first = m
			if n := size(m); n > 0 && n < 1<<34 {
				ckpt = make([]byte, 0, n)
			}
		}
		ckpt = append(ckpt, chunk(m)...)
	}
}

func sendArtifact(ctx context.Context, a Artifact, send func(*pb.ArtifactChunk) error) error {
	for _, c := range chunks(a) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := send(c); err != nil {
			return err
		}
	}
	return nil
}

// resumable reports whether the variant declares CapResume.
func (s *grpcServer) resumable() bool {
	info, err := s.impl.Describe(context.Background())
	return err == nil && slices.Contains(info.Capabilities, CapResume)
}

// PutState keeps an uploaded training state for the Train call that
// resumes from it.
func (s *grpcServer) PutState(stream pb.Variant_PutStateServer) error {
	if !s.resumable() {
		return status.Error(codes.Unimplemented, "this variant does not resume runs (no \"resume\" capability)")
	}
	var asm assembler
	var a *Artifact
	for a == nil {
		c, err := stream.Recv()
		if err == io.EOF {
			return status.Error(codes.InvalidArgument, "PutState: the stream ended before the state's last chunk")
		}
		if err != nil {
			return err
		}
		if a, err = asm.add(c); err != nil {
			return status.Error(codes.InvalidArgument, "PutState: "+err.Error())
		}
	}
	if a.Kind != KindState {
		return status.Errorf(codes.InvalidArgument, "PutState: artifact kind %q, want %q", a.Kind, KindState)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.states == nil {
		s.states = map[string]*Artifact{}
	}
	s.nState++
	id := fmt.Sprintf("state-%d", s.nState)
	s.states[id] = a
	return stream.SendAndClose(&pb.PutStateResponse{Id: id})
}

func (s *grpcServer) Sample(stream pb.Variant_SampleServer) error {
	sm, ok := s.impl.(Sampler)
	if !ok {
		return status.Error(codes.Unimplemented, "this variant does not implement Sample")
	}
	ctx := stream.Context()
	first, ckpt, err := recvCheckpoint(stream.Recv, (*pb.SampleRequest).GetCheckpointChunk,
		func(m *pb.SampleRequest) int64 { return m.GetHeader().GetCheckpointSize() })
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return status.Error(codes.InvalidArgument, "the first Sample message has no header")
	}
	a, err := sm.Sample(ctx, SampleRequest{
		Params: fromPBParams(h.GetParams()), Checkpoint: ckpt, N: int(h.GetN()), Seed: h.GetSeed(),
	})
	if err != nil {
		return toStatus(ctx, err)
	}
	return sendArtifact(ctx, a, stream.Send)
}

func (s *grpcServer) Reconstruct(stream pb.Variant_ReconstructServer) error {
	rc, ok := s.impl.(Reconstructor)
	if !ok {
		return status.Error(codes.Unimplemented, "this variant does not implement Reconstruct")
	}
	ctx := stream.Context()
	first, ckpt, err := recvCheckpoint(stream.Recv, (*pb.ReconstructRequest).GetCheckpointChunk,
		func(m *pb.ReconstructRequest) int64 { return m.GetHeader().GetCheckpointSize() })
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return status.Error(codes.InvalidArgument, "the first Reconstruct message has no header")
	}
	a, err := rc.Reconstruct(ctx, ReconstructRequest{
		Params: fromPBParams(h.GetParams()), Checkpoint: ckpt, Dataset: h.GetDataset(),
		DataDir: h.GetDataDir(), N: int(h.GetN()), Data: fromPBData(h.GetData()),
	})
	if err != nil {
		return toStatus(ctx, err)
	}
	return sendArtifact(ctx, a, stream.Send)
}
