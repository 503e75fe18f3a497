// Package variant is the SDK for aexp variant plugins.
//
// A variant is one member of the autoencoder family (dense, denoise, vae,
// rnn, ...). It lives in its own binary named aexp-variant-<name> and is
// started by the aexp process once per run. Authors implement [Variant] with
// plain Go types and call [Serve] from main; the gRPC transport, go-plugin
// handshake and message chunking stay inside this package.
//
// Where to start:
//   - plugin authors: [Variant], [Schema] and [Decode] (a config struct is
//     the parameter schema), [Serve]; test with package varianttest;
//   - hosts: [Discover] and [SearchDirs] to find plugins, [Launch] to start
//     one per run, [Validate] to check a run's parameters, [Plugin.Train]
//     to stream its events, [Plugin.Kill] to end it;
//   - authors in other languages: the commented protocol in
//     variant/internal/pb/aexp.proto.
package variant

import (
	"context"
	"fmt"

	"github.com/aexp/aexp/dataset"
)

// Variant is what a plugin author implements.
type Variant interface {
	// Describe returns the variant's name, version, parameter schema and
	// capabilities. It must be cheap: the host calls it to validate specs.
	Describe(ctx context.Context) (Info, error)

	// Train trains one run and reports progress through emit, in order:
	// any number of Epoch, Log and Artifact events, then exactly one Final
	// event. When ctx is cancelled Train must return promptly (within a
	// second) with ctx.Err(). A NaN/Inf loss is reported by returning a
	// *DivergedError.
	Train(ctx context.Context, req TrainRequest, emit func(Event) error) error
}

// Sampler is an optional capability of generative variants: decode codes
// drawn from N(0, I) with the weights of a stored checkpoint.
type Sampler interface {
	Sample(ctx context.Context, req SampleRequest) (Artifact, error)
}

// Reconstructor is an optional capability: reconstruct test inputs with the
// weights of a stored checkpoint.
type Reconstructor interface {
	Reconstruct(ctx context.Context, req ReconstructRequest) (Artifact, error)
}

// Info describes a variant. It is returned by Describe.
type Info struct {
	Name    string // e.g. "dense"; the binary is aexp-variant-<Name>
	Version string // the plugin's own version, e.g. "0.1.0"
	Doc     string // one paragraph for `aexp plugins`
	Params  []Param
	Metrics []MetricInfo // variant-specific metrics beyond the shared ones
	// Capabilities lists optional features: CapSample, CapReconstruct.
	Capabilities []string
}

// Capability names.
const (
	CapSample      = "sample"      // implements Sampler; a generative variant
	CapReconstruct = "reconstruct" // implements Reconstructor
	// CapResume: Train emits a KindState artifact after every epoch and
	// accepts TrainRequest.Resume (see there).
	CapResume = "resume"
)

// ParamType is the type of a parameter value.
type ParamType string

// Parameter types. Values travel as JSON: ints as int64, floats as float64.
const (
	Int       ParamType = "int"
	Float     ParamType = "float"
	String    ParamType = "string"
	Bool      ParamType = "bool"
	IntList   ParamType = "int_list"
	FloatList ParamType = "float_list"
)

// Param is one entry of a variant's parameter schema.
type Param struct {
	Name    string
	Type    ParamType
	Default any      // a value of Type; nil means required
	Min     *float64 // inclusive bound for Int/Float (and each list element)
	Max     *float64
	// MinLen and MaxLen bound the length of an IntList/FloatList (nil:
	// unbounded); e.g. layer widths need at least one element.
	MinLen, MaxLen *int
	Choices        []string // allowed values for String
	Doc            string
}

// MetricInfo documents a metric a variant reports.
type MetricInfo struct {
	Name string
	Doc  string
	Goal string // "minimize" or "maximize"
}

// TrainRequest is everything a run needs. The host fills defaults, so Params
// holds a value for every parameter in the schema.
type TrainRequest struct {
	RunKey    string         // deterministic run key, for logs
	Params    map[string]any // validated against Describe's schema
	Seed      uint64         // controls initialisation, shuffling, noise
	Dataset   string         // "mnist", "sines", "csv:PATH", "idx:PATH"
	DataDir   string         // where MNIST's IDX files are, resolved by the host
	Epochs    int
	BatchSize int
	// TrainLimit caps the number of training examples (0: all); tests and
	// quick sweeps use it. TestLimit does the same for the test set.
	TrainLimit int
	TestLimit  int
	Threads    int    // BLAS threads this run may use (the host avoids oversubscription)
	Keep       string // checkpoints: "last" (default), "best" or "all"
	// Data is the data contract: the files and the examples of each split.
	// [Plugin.Train] resolves it from Dataset, DataDir and the limits when
	// it is nil, so plugins always receive it.
	Data *dataset.Contract

	// Resume is set when the run is resumed: it is the latest KindState
	// artifact the run emitted in an earlier attempt (an earlier process,
	// perhaps on another machine), byte for byte. The host sends it only to
	// variants that declare CapResume. Train then emits a Resumed event
	// first and continues with epoch Resume.Epoch+1, so that the run ends
	// exactly as it would have uninterrupted. A variant that cannot use
	// the state (say, written by an incompatible version) may ignore it and
	// start at epoch 1 without a Resumed event; the host then discards the
	// epochs recorded before. Plugins built on package train get all of
	// this without code of their own.
	Resume *Artifact
}

// Event is one message of the Train stream. Exactly one field is set.
type Event struct {
	Epoch    *EpochReport
	Log      *LogLine
	Artifact *Artifact
	Final    *FinalReport
	Resumed  *Resumed
}

// Resumed tells the host that Train continues from TrainRequest.Resume: the
// next epoch it reports is Epoch+1. Emit it before any EpochReport.
type Resumed struct {
	Epoch int // the last completed epoch, the state's
}

// EpochReport carries the metrics of one finished epoch (1-based), always
// including train_loss and val_loss.
type EpochReport struct {
	Epoch   int
	Metrics map[string]float64
}

// LogLine is a human-readable line for the host's log.
type LogLine struct {
	Level string // "debug", "info", "warn"
	Text  string
}

// Artifact kinds.
const (
	KindCheckpoint     = "checkpoint"     // safetensors weights (and optimizer state)
	KindReconstruction = "reconstruction" // safetensors: "input" and "output", [n, features...]
	KindSample         = "sample"         // safetensors: "sample", [n, features...]
	KindLatent         = "latent"         // safetensors: "code" [n, 2] and "label" [n]
	// KindState is a training state to resume from (CapResume), in the
	// variant's own format; the host stores only the latest one of a run
	// and never shows it. Emit the state of epoch k (Artifact.Epoch = k)
	// after everything else of epoch k (its EpochReport and checkpoint):
	// a run resumed from it continues with epoch k+1, and the host drops
	// whatever it recorded after epoch k.
	KindState = "state"
)

// Artifact is a binary result. Data may be many megabytes: the transport
// streams it in chunks, so no message-size limit applies.
type Artifact struct {
	Kind   string
	Name   string // e.g. "model.safetensors"
	Epoch  int    // the epoch it belongs to; 0 for none
	Format string // "safetensors"
	Data   []byte
	Meta   map[string]string // e.g. "shape": "28,28" for image data
}

// FinalReport closes a successful Train stream with the test-set metrics
// (test_mse, pca_mse, ...) and facts about the run.
type FinalReport struct {
	Metrics map[string]float64
	// Meta holds facts such as "blas" (backend), "params" (parameter count).
	Meta map[string]string
}

// SampleRequest asks a generative variant for N new examples.
type SampleRequest struct {
	Params     map[string]any // the run's params
	Checkpoint []byte         // the run's safetensors checkpoint
	N          int
	Seed       uint64
}

// ReconstructRequest asks for reconstructions of the first N test inputs.
type ReconstructRequest struct {
	Params     map[string]any
	Checkpoint []byte
	Dataset    string
	DataDir    string
	N          int
	// Data is the data contract (its test set); [Plugin.Reconstruct]
	// resolves it from Dataset and DataDir when it is nil.
	Data *dataset.Contract
}

// DivergedError reports a run whose loss became NaN or Inf. Train returns
// it; the host records the run as "diverged".
type DivergedError struct {
	Epoch  int
	Reason string
}

// Error returns e.g. "diverged at epoch 3: train_loss is NaN".
func (e *DivergedError) Error() string {
	return fmt.Sprintf("diverged at epoch %d: %s", e.Epoch, e.Reason)
}
