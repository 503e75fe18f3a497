package train

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/variant"
)

// stateFormat names the layout of the training states this package writes;
// a state of another format is not resumed from (the run starts over).
const stateFormat = "aexp.train.state/1"

// resumable is what a training state holds beyond the model's tensors. The
// shuffle order is not stored: it is the result of `epoch` shuffles by the
// shuffle stream, which the resumed run replays (a few milliseconds).
type resumable struct {
	epoch int
	best  float64 // best val_loss so far, for keep = "best"
	noise []byte  // the noise stream's PCG state
}

// saveState is the run's training state after epoch: weights, Adam's
// moments and step, the noise generator, the best val_loss so far.
func (r *run[C]) saveState(epoch int, opt *nn.Adam, best float64) (variant.Artifact, error) {
	noise, err := r.noise.MarshalBinary()
	if err != nil {
		return variant.Artifact{}, err
	}
	meta := map[string]string{
		"format":  stateFormat,
		"epoch":   strconv.Itoa(epoch),
		"best":    strconv.FormatFloat(best, 'g', -1, 64),
		"noise":   hex.EncodeToString(noise),
		"run_key": r.req.RunKey,
		"variant": r.name,
	}
	var buf bytes.Buffer
	if err := nn.SaveCheckpoint(&buf, r.params, opt, meta); err != nil {
		return variant.Artifact{}, err
	}
	return variant.Artifact{
		Kind: variant.KindState, Name: "state.safetensors", Epoch: epoch, Format: "safetensors",
		Data: buf.Bytes(), Meta: map[string]string{"format": stateFormat},
	}, nil
}

// loadState restores a state written by saveState into the run's model,
// opt and noise generator. It changes nothing when it fails.
func (r *run[C]) loadState(a *variant.Artifact, opt *nn.Adam) (resumable, error) {
	var st resumable
	_, meta, err := nn.ReadSafetensors(a.Data)
	if err != nil {
		return st, fmt.Errorf("reading the training state: %w", err)
	}
	if meta["format"] != stateFormat {
		return st, fmt.Errorf("training state of format %q, want %q", meta["format"], stateFormat)
	}
	if meta["variant"] != r.name {
		return st, fmt.Errorf("training state of variant %q, not %q", meta["variant"], r.name)
	}
	if st.epoch, err = strconv.Atoi(meta["epoch"]); err != nil || st.epoch < 1 || st.epoch != a.Epoch {
		return st, fmt.Errorf("training state: bad epoch %q (artifact epoch %d)", meta["epoch"], a.Epoch)
	}
	if st.epoch > r.req.Epochs {
		return st, fmt.Errorf("training state of epoch %d, but the run has %d epochs", st.epoch, r.req.Epochs)
	}
	if st.best, err = strconv.ParseFloat(meta["best"], 64); err != nil {
		st.best = math.Inf(1)
	}
	if st.noise, err = hex.DecodeString(meta["noise"]); err != nil {
		return st, fmt.Errorf("training state: bad noise generator state")
	}
	var probe rand.PCG
	if err := probe.UnmarshalBinary(st.noise); err != nil {
		return st, fmt.Errorf("training state: noise generator: %w", err)
	}
	if _, err := nn.LoadCheckpoint(a.Data, r.params, opt); err != nil {
		return st, fmt.Errorf("training state: %w", err)
	}
	*r.noise = probe
	return st, nil
}
