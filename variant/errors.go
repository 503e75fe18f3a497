package variant

import (
	"errors"
	"fmt"
)

// ErrUnimplemented is returned by the host-side [Plugin.Sample] and
// [Plugin.Reconstruct] when the plugin lacks the capability (it does not
// implement [Sampler] or [Reconstructor]). Test with errors.Is.
var ErrUnimplemented = errors.New("variant: capability not implemented by the plugin")

// ErrInvalidParams marks parameter errors: unknown keys, wrong types,
// out-of-range values, bad choices, missing required values. Every
// [*ParamError] matches it with errors.Is, and so does the host-side error
// of a Train call that the plugin rejected for its parameters.
var ErrInvalidParams = errors.New("invalid parameters")

// ErrData marks a run whose data cannot be read: a dataset file that is
// missing, unreadable or corrupt. It is the environment's fault, not the
// run's: the host stops the sweep without spending the run's attempts, and
// the next `aexp sweep` (after the data is fixed) runs it again. A Variant
// returns an error wrapping it (fmt.Errorf("%w: ...", variant.ErrData));
// the host-side Train returns one matching it with errors.Is.
var ErrData = errors.New("the run's data cannot be read")

// ParamError is one problem with one parameter. [Validate] and [Decode]
// return one per bad parameter, joined with errors.Join.
type ParamError struct {
	Param string // the parameter's name (the key in the params map)
	Msg   string // what is wrong, e.g. "5 is above the maximum 1"
}

// Error returns e.g. `parameter "lr": 5 is above the maximum 1`.
func (e *ParamError) Error() string {
	return fmt.Sprintf("parameter %q: %s", e.Param, e.Msg)
}

// Is reports whether target is [ErrInvalidParams].
func (e *ParamError) Is(target error) bool { return target == ErrInvalidParams }

// CrashError reports a plugin process that died or broke the protocol
// during a call. The host records the run as failed with StderrTail.
type CrashError struct {
	Op         string // the call that was in flight: "Train", "Describe", ...
	ExitStatus string // e.g. "exit status 2", "signal: killed"; empty if still running
	Panic      string // the first "panic: ..." or "fatal error: ..." line, if any
	StderrTail string // the last lines the plugin wrote to stderr
	Err        error  // the transport error
}

// Error names the call, the exit status, and the panic text or the last
// lines of stderr.
func (e *CrashError) Error() string {
	msg := "plugin failed during " + e.Op
	if e.ExitStatus != "" {
		msg = fmt.Sprintf("plugin process exited during %s (%s)", e.Op, e.ExitStatus)
	}
	if e.Panic != "" {
		msg += ": " + e.Panic
	} else if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.StderrTail != "" {
		msg += "\nplugin stderr (tail):\n" + e.StderrTail
	}
	return msg
}

// Unwrap returns the transport error.
func (e *CrashError) Unwrap() error { return e.Err }
