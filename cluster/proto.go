package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"

	"github.com/aexp/aexp/variant"
)

// ProtocolVersion is carried by every message; a message of another version
// is logged and dropped.
const ProtocolVersion = 1

// Subjects and JetStream names. Everything that must survive a crash (run
// requests, events) travels on JetStream; the start handshake, cancels and
// worker heartbeats are core NATS requests that are retried or repeated.
const (
	RunsStream    = "AEXP_RUNS"   // work queue: one message per attempt
	EventsStream  = "AEXP_EVENTS" // work queue: worker -> coordinator events
	BlobBucket    = "aexp_blobs"  // object store: large payloads by sha256
	WorkersBucket = "aexp_workers"

	runSubjects   = "aexp.run.>"
	eventSubjects = "aexp.ev.>"
)

// RunSubject is where runs of one plugin build are queued: a worker only
// consumes the subjects of the plugin builds it holds.
func RunSubject(variantName, hash string) string {
	return "aexp.run." + variantName + "." + short(hash)
}

func eventSubject(coord string) string { return "aexp.ev." + coord }
func startSubject(coord string) string { return "aexp.start." + coord }
func hbSubject(coord string) string    { return "aexp.hb." + coord }
func ctlSubject(worker string) string  { return "aexp.ctl." + worker }

func short(hash string) string {
	if len(hash) > 16 {
		return hash[:16]
	}
	return hash
}

// tokenRE is what an id or a token may hold: safe as one subject token.
var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// RunMsg is the work-queue message of one attempt of a run.
type RunMsg struct {
	V       int    `json:"v"`
	Coord   string `json:"coord"` // the coordinator to report to
	Token   string `json:"token"` // names this attempt (and its generation)
	RunID   int64  `json:"run"`
	Variant string `json:"variant"`
	Version string `json:"version"`
	Hash    string `json:"hash"` // sha256 of the plugin binary
	Label   string `json:"label,omitempty"`
}

// StartMsg is a worker asking to train a delivery of a run.
type StartMsg struct {
	V        int    `json:"v"`
	Token    string `json:"token"`
	Delivery uint64 `json:"delivery"` // JetStream's delivery count of the message
	Worker   string `json:"worker"`
	Host     string `json:"host"`
}

// StartReply answers a StartMsg: go, with the request to train, or not.
type StartReply struct {
	V      int    `json:"v"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
	// Drop tells the worker to remove the message (the attempt is over or
	// unknown); otherwise a refused worker leaves it alone.
	Drop    bool     `json:"drop,omitempty"`
	Request *Blob    `json:"request,omitempty"` // JSON of variant.TrainRequest
	Data    *DataRef `json:"data,omitempty"`    // a csv:/idx: file to fetch
}

// DataRef is a dataset file published by the coordinator.
type DataRef struct {
	Prefix string `json:"prefix"` // "csv:" or "idx:"
	Name   string `json:"name"`   // base name (keeps .gz)
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Blob is a payload checked by sha256: inline when small, else an object
// in the blob bucket named by its sha256.
type Blob struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Data   []byte `json:"data,omitempty"`
	Object bool   `json:"object,omitempty"`
	// Name is the object's name when it is not its sha256: an artifact is
	// stored once per event, since the coordinator deletes it once recorded
	// and two runs may send the same bytes at once.
	Name string `json:"name,omitempty"`
}

// object is the name the blob is stored under.
func (b *Blob) object() string {
	if b.Name != "" {
		return b.Name
	}
	return b.SHA256
}

// check verifies inline data against the blob's size and hash.
func (b *Blob) check(data []byte) error {
	if int64(len(data)) != b.Size {
		return fmt.Errorf("blob %s: %d bytes, want %d", short(b.SHA256), len(data), b.Size)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != b.SHA256 {
		return fmt.Errorf("blob %s: sha256 mismatch (got %s)", short(b.SHA256), short(hex.EncodeToString(sum[:])))
	}
	return nil
}

// EventMsg is one event of one delivery of a run, worker -> coordinator.
// Exactly one of the pointer fields is set.
type EventMsg struct {
	V        int    `json:"v"`
	Token    string `json:"token"`
	Delivery uint64 `json:"delivery"`
	Seq      uint64 `json:"seq"` // 1, 2, ... within the delivery
	Worker   string `json:"worker"`

	Started  *Started     `json:"started,omitempty"`
	Epoch    *EpochMsg    `json:"epoch,omitempty"`
	Log      *LogMsg      `json:"log,omitempty"`
	Artifact *ArtifactMsg `json:"artifact,omitempty"`
	Final    *FinalMsg    `json:"final,omitempty"`
	Resumed  *ResumedMsg  `json:"resumed,omitempty"`
	End      *End         `json:"end,omitempty"`
}

// ResumedMsg is variant.Resumed on the wire: the plugin continues from the
// training state of this epoch.
type ResumedMsg struct {
	Epoch int `json:"epoch"`
}

// Started says the plugin process runs.
type Started struct {
	Pid     int    `json:"pid"`
	Host    string `json:"host"`
	Threads int    `json:"threads"`
}

// EpochMsg is variant.EpochReport on the wire.
type EpochMsg struct {
	Epoch   int     `json:"epoch"`
	Metrics Metrics `json:"metrics"`
}

// LogMsg is variant.LogLine on the wire.
type LogMsg struct {
	Level string `json:"level"`
	Text  string `json:"text"`
}

// ArtifactMsg is variant.Artifact on the wire; its bytes are a Blob.
type ArtifactMsg struct {
	Kind   string            `json:"kind"`
	Name   string            `json:"name"`
	Epoch  int               `json:"epoch"`
	Format string            `json:"format"`
	Meta   map[string]string `json:"meta,omitempty"`
	Blob   Blob              `json:"blob"`
}

// FinalMsg is variant.FinalReport on the wire.
type FinalMsg struct {
	Metrics Metrics           `json:"metrics"`
	Meta    map[string]string `json:"meta,omitempty"`
}

// End kinds: how Train returned on the worker.
const (
	EndOK       = "ok"
	EndCanceled = "canceled" // stopped by a cancel from the coordinator
	EndCrash    = "crash"    // *variant.CrashError
	EndDiverged = "diverged" // *variant.DivergedError
	EndError    = "error"    // any other error of the plugin
	EndStart    = "start"    // the plugin did not start
)

// End closes a delivery: how Train returned, with the plugin's stderr tail.
type End struct {
	Kind       string `json:"kind"`
	Msg        string `json:"msg,omitempty"`
	Op         string `json:"op,omitempty"` // crash
	ExitStatus string `json:"exit_status,omitempty"`
	Panic      string `json:"panic,omitempty"`
	Epoch      int    `json:"epoch,omitempty"` // diverged
	StderrTail string `json:"stderr_tail,omitempty"`
}

// CtlMsg tells a worker to stop a run.
type CtlMsg struct {
	V      int    `json:"v"`
	Token  string `json:"token"`
	Reason string `json:"reason"`
	// Superseded: another delivery of the run is the one that counts, so
	// the worker must stop without acking (an ack that late could be taken
	// for the new delivery's: nats-server issue #4786).
	Superseded bool `json:"superseded,omitempty"`
}

// HeartbeatMsg lists the deliveries a worker holds for one coordinator.
type HeartbeatMsg struct {
	V      int    `json:"v"`
	Worker string `json:"worker"`
	Held   []Held `json:"held"`
}

// Held is one delivery a worker trains.
type Held struct {
	Token    string `json:"token"`
	Delivery uint64 `json:"delivery"`
}

// WorkerInfo is what a worker says about itself in the registry.
type WorkerInfo struct {
	V        int           `json:"v"`
	ID       string        `json:"id"`
	Host     string        `json:"host"`
	Slots    int           `json:"slots"`
	Threads  int           `json:"threads"`
	Variants []VariantInfo `json:"variants"`
	Runs     []string      `json:"runs"` // labels of the runs in flight
	Since    string        `json:"since"`
}

// VariantInfo is one plugin build a worker holds.
type VariantInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Hash    string `json:"hash"`
}

// Metrics are metric values on the wire: JSON has no NaN or Inf, so those
// travel as the strings "NaN", "+Inf" and "-Inf".
type Metrics map[string]float64

// MarshalJSON writes non-finite values as strings.
func (m Metrics) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			out[k] = strconv.FormatFloat(v, 'g', -1, 64)
		} else {
			out[k] = v
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads numbers and the strings NaN, +Inf, -Inf.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Metrics, len(raw))
	for k, r := range raw {
		var f float64
		if err := json.Unmarshal(r, &f); err == nil {
			out[k] = f
			continue
		}
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return fmt.Errorf("metric %q: not a number", k)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(math.IsNaN(f) || math.IsInf(f, 0)) {
			return fmt.Errorf("metric %q: %q is not NaN or ±Inf", k, s)
		}
		out[k] = f
	}
	*m = out
	return nil
}

// encode marshals a message.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("cluster: encoding %T: %v", v, err)) // our own types always encode
	}
	return b
}

// decode parses a message strictly and checks its version and fields.
func decode[T any, P interface {
	*T
	validate() error
}](data []byte) (*T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%T: %v", v, err)
	}
	if err := P(&v).validate(); err != nil {
		return nil, fmt.Errorf("%T: %v", v, err)
	}
	return &v, nil
}

var errVersion = fmt.Errorf("protocol version is not %d", ProtocolVersion)

func checkToken(what, s string) error {
	if !tokenRE.MatchString(s) {
		return fmt.Errorf("bad %s %q", what, s)
	}
	return nil
}

func (m *RunMsg) validate() error {
	if m.V != ProtocolVersion {
		return errVersion
	}
	if m.RunID <= 0 {
		return errors.New("no run id")
	}
	return errors.Join(checkToken("coordinator", m.Coord), checkToken("token", m.Token),
		checkToken("variant", m.Variant), checkToken("hash", m.Hash))
}

func (m *StartMsg) validate() error {
	if m.V != ProtocolVersion {
		return errVersion
	}
	if m.Delivery == 0 {
		return errors.New("no delivery")
	}
	return errors.Join(checkToken("token", m.Token), checkToken("worker", m.Worker))
}

func (m *StartReply) validate() error {
	if m.V != ProtocolVersion {
		return errVersion
	}
	if m.OK && m.Request == nil {
		return errors.New("no request")
	}
	if m.Request != nil {
		if err := m.Request.validate(); err != nil {
			return err
		}
	}
	if d := m.Data; d != nil {
		if d.Prefix != "csv:" && d.Prefix != "idx:" {
			return fmt.Errorf("bad dataset prefix %q", d.Prefix)
		}
		if d.Name == "" || d.Name == "." || d.Name == ".." || bytes.ContainsAny([]byte(d.Name), "/\\\x00") {
			return fmt.Errorf("bad dataset name %q", d.Name)
		}
		if err := checkSHA(d.SHA256); err != nil {
			return err
		}
	}
	return nil
}

func checkSHA(s string) error {
	if len(s) != 64 {
		return fmt.Errorf("bad sha256 %q", s)
	}
	if _, err := hex.DecodeString(s); err != nil {
		return fmt.Errorf("bad sha256 %q", s)
	}
	return nil
}

func (b *Blob) validate() error {
	if err := checkSHA(b.SHA256); err != nil {
		return err
	}
	if b.Size < 0 {
		return errors.New("negative blob size")
	}
	if b.Name != "" && (!b.Object || !tokenRE.MatchString(b.Name)) {
		return fmt.Errorf("bad blob name %q", b.Name)
	}
	if !b.Object {
		return b.check(b.Data)
	}
	if len(b.Data) > 0 {
		return errors.New("blob both inline and an object")
	}
	return nil
}

func (m *EventMsg) validate() error {
	if m.V != ProtocolVersion {
		return errVersion
	}
	if m.Delivery == 0 || m.Seq == 0 {
		return errors.New("no delivery or sequence number")
	}
	if err := errors.Join(checkToken("token", m.Token), checkToken("worker", m.Worker)); err != nil {
		return err
	}
	n := 0
	for _, set := range []bool{m.Started != nil, m.Epoch != nil, m.Log != nil, m.Artifact != nil, m.Final != nil, m.Resumed != nil, m.End != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%d event fields set, want 1", n)
	}
	switch {
	case m.Epoch != nil && m.Epoch.Epoch < 1:
		return fmt.Errorf("epoch %d", m.Epoch.Epoch)
	case m.Resumed != nil && m.Resumed.Epoch < 0:
		return fmt.Errorf("resumed from epoch %d", m.Resumed.Epoch)
	case m.Artifact != nil:
		if m.Artifact.Kind == "" || m.Artifact.Epoch < 0 {
			return errors.New("artifact without kind or with a negative epoch")
		}
		return m.Artifact.Blob.validate()
	case m.End != nil:
		switch m.End.Kind {
		case EndOK, EndCanceled, EndCrash, EndDiverged, EndError, EndStart:
		default:
			return fmt.Errorf("unknown end kind %q", m.End.Kind)
		}
	}
	return nil
}

func (m *CtlMsg) validate() error {
	if m.V != ProtocolVersion {
		return errVersion
	}
	return checkToken("token", m.Token)
}

func (m *HeartbeatMsg) validate() error {
	if m.V != ProtocolVersion {
		return errVersion
	}
	if err := checkToken("worker", m.Worker); err != nil {
		return err
	}
	for _, h := range m.Held {
		if err := checkToken("token", h.Token); err != nil {
			return err
		}
	}
	return nil
}

func (m *WorkerInfo) validate() error {
	if m.V != ProtocolVersion {
		return errVersion
	}
	return checkToken("worker", m.ID)
}

// endOf turns the error of a Train call into an End.
func endOf(err error, tail string) *End {
	e := &End{Kind: EndOK, StderrTail: tail}
	var crash *variant.CrashError
	var div *variant.DivergedError
	switch {
	case err == nil:
	case errors.As(err, &div):
		e.Kind, e.Epoch, e.Msg = EndDiverged, div.Epoch, div.Reason
	case errors.As(err, &crash):
		e.Kind, e.Op, e.ExitStatus, e.Panic = EndCrash, crash.Op, crash.ExitStatus, crash.Panic
		if crash.Err != nil {
			e.Msg = crash.Err.Error()
		}
	default:
		e.Kind, e.Msg = EndError, err.Error()
	}
	return e
}

// Err turns an End back into the error the local plugin client would have
// returned, so the engine classifies a remote run exactly as a local one.
func (e *End) Err() error {
	switch e.Kind {
	case EndOK:
		return nil
	case EndDiverged:
		return &variant.DivergedError{Epoch: e.Epoch, Reason: e.Msg}
	case EndCrash:
		ce := &variant.CrashError{Op: e.Op, ExitStatus: e.ExitStatus, Panic: e.Panic, StderrTail: e.StderrTail}
		if e.Msg != "" {
			ce.Err = errors.New(e.Msg)
		}
		return ce
	case EndCanceled:
		return fmt.Errorf("canceled on the worker: %s", e.Msg)
	}
	return errors.New(e.Msg)
}
