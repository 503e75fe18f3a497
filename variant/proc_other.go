//go:build unix && !linux

package variant

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the plugin in its own process group. Outside Linux there
// is no Pdeathsig; the host kills the group on exit instead.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup sends SIGKILL to every process in the group pgid.
func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
