package variant

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"

	"github.com/hashicorp/go-plugin/runner"
)

// pipeRunner runs a plugin command for go-plugin (as its RunnerFunc) like
// go-plugin's own runner, with one difference: go-plugin reads the
// handshake line from the plugin's stdout and silently discards whatever
// follows, so a plugin in another language that prints to stdout would go
// unnoticed. pipeRunner hands go-plugin the first line only and copies the
// rest to after (LaunchOptions.Stdout, else the plugin's log), where the
// conformance kit's NoStdout check and a failed run's stderr tail see it.
type pipeRunner struct {
	cmd      *exec.Cmd
	after    io.Writer
	out, err *os.File // the parent's read ends
	first    *io.PipeReader
}

var _ runner.Runner = (*pipeRunner)(nil)

func newPipeRunner(cmd *exec.Cmd, after io.Writer) *pipeRunner {
	return &pipeRunner{cmd: cmd, after: after}
}

func (r *pipeRunner) Start(context.Context) error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	r.cmd.Stdout, r.cmd.Stderr = outW, errW
	err = r.cmd.Start()
	outW.Close() // the child holds its own copies
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	r.out, r.err = outR, errR
	pr, pw := io.Pipe()
	r.first = pr
	go func() {
		br := bufio.NewReader(outR)
		line, err := br.ReadBytes('\n')
		pw.Write(line) // go-plugin's scanner reads it (an exit before a full line: what there is)
		pw.Close()
		if err == nil {
			io.Copy(r.after, br)
		}
		outR.Close()
	}()
	return nil
}

func (r *pipeRunner) Stdout() io.ReadCloser { return r.first }
func (r *pipeRunner) Stderr() io.ReadCloser { return r.err }
func (r *pipeRunner) Name() string          { return r.cmd.Path }

func (r *pipeRunner) Diagnose(context.Context) string { return "" }

func (r *pipeRunner) Wait(context.Context) error { return r.cmd.Wait() }

func (r *pipeRunner) Kill(context.Context) error {
	if r.cmd.Process == nil {
		return nil
	}
	if err := r.cmd.Process.Kill(); err != nil && err != os.ErrProcessDone {
		return err
	}
	return nil
}

func (r *pipeRunner) ID() string {
	if r.cmd.Process == nil {
		return ""
	}
	return strconv.Itoa(r.cmd.Process.Pid)
}

func (r *pipeRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *pipeRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}
