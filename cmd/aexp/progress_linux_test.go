package main

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns the terminal side of a new pseudo-terminal, which starts
// with no size (0×0), like a console that does not report one.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty
}

func TestSweepProgressOnTerminals(t *testing.T) {
	tty := openPTY(t)
	if prog, log := sweepProgress(tty, false, false); prog != nil || log != tty {
		t.Fatalf("a terminal of unknown size got bars (%T); want plain lines", prog)
	}
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 100}); err != nil {
		t.Fatal(err)
	}
	prog, log := sweepProgress(tty, false, false)
	if prog == nil || log == tty {
		t.Fatal("a 100-column terminal got no bars")
	}
	prog.Stop()
	if prog, _ := sweepProgress(tty, true, false); prog != nil {
		t.Error("--plain got bars")
	}
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if prog, _ := sweepProgress(f, false, false); prog != nil {
		t.Error("a file got bars")
	}
}
