package main

import (
	"io"
	"os"

	"golang.org/x/term"

	"github.com/aexp/aexp/orchestrator"
)

// sweepProgress chooses how a sweep shows its progress on stderr: live bars
// on a terminal whose size is known, else plain log lines (nil Progress).
// A terminal that reports no size (some IDE consoles, a fresh pty) cannot
// draw bars — the bar library would print nothing at all — so it gets lines.
func sweepProgress(stderr io.Writer, plain, verbose bool) (orchestrator.Progress, io.Writer) {
	if f, ok := stderr.(*os.File); ok && !plain && barsFit(int(f.Fd())) {
		bars := orchestrator.NewBarProgress(stderr, verbose)
		return bars, bars
	}
	return nil, stderr
}

// barsFit reports whether fd is a terminal with a known, usable width.
func barsFit(fd int) bool {
	if !term.IsTerminal(fd) {
		return false
	}
	w, _, err := term.GetSize(fd)
	return err == nil && w >= 40
}
