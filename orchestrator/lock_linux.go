//go:build linux

package orchestrator

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"path/filepath"
	"syscall"
)

// lockDB tells whether this is the only aexp process running a sweep on the
// store at path. It binds an abstract unix socket named after the store's
// absolute path: the kernel releases it when the process dies (even by
// SIGKILL), and it leaves no file behind. When exclusive, every run left
// "running" in the store belongs to a dead process and can be reclaimed at
// once, without waiting for its heartbeat to grow stale.
//
// (A lock file would do too; flock on the database file itself would not:
// closing any descriptor of the file drops SQLite's own POSIX locks.)
func lockDB(path string) (exclusive bool, unlock func(), err error) {
	return lockName(path, "")
}

// lockSweep makes sure one sweep of a store runs in one aexp process at a
// time: it returns held = false when another live process runs it.
func lockSweep(path, sweep string) (held bool, unlock func(), err error) {
	return lockName(path, sweep)
}

func lockName(path, sweep string) (bool, func(), error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false, func() {}, err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	sum := sha256.Sum256([]byte(abs + "\x00" + sweep))
	l, err := net.Listen("unix", "@aexp-sweep-"+hex.EncodeToString(sum[:12]))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return false, func() {}, nil
		}
		// no abstract sockets here: fall back to heartbeats alone
		return false, func() {}, nil
	}
	return true, func() { l.Close() }, nil
}
