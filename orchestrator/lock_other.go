//go:build !linux

package orchestrator

// lockDB: without Linux's abstract sockets, stale runs are found by their
// heartbeat alone.
func lockDB(path string) (exclusive bool, unlock func(), err error) {
	return false, func() {}, nil
}

func lockSweep(path, sweep string) (held bool, unlock func(), err error) {
	return true, func() {}, nil
}
