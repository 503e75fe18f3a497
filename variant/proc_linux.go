//go:build linux

package variant

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the plugin in its own process group and has the kernel
// kill it when the host dies (no orphans even on SIGKILL of the host).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup sends SIGKILL to every process in the group pgid.
func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
