//go:build linux

package variant

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the plugin in its own process group and has the kernel
// kill it when the host dies (no orphans even on SIGKILL of the host).
//
// Caveats: Pdeathsig fires when the host *thread* that forked the plugin
// exits; Go only ends threads when a goroutine exits while locked with
// runtime.LockOSThread, which aexp never does. It covers the plugin itself,
// not processes the plugin starts: those die with the group on Kill, and a
// plugin that forks should set its own Pdeathsig for the case of a host
// killed with SIGKILL.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup sends SIGKILL to every process in the group pgid.
func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
