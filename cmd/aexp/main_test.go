package main

import (
	"strings"
	"testing"
)

func TestHelpVersionAndTypos(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   string // in stdout
		stderr   string // in stderr
		errMatch string // in the error
	}{
		{"help", []string{"help"}, exitOK, "Commands:", "", ""},
		{"--help", []string{"--help"}, exitOK, "Commands:", "", ""},
		{"help compare", []string{"help", "compare"}, exitOK, "Usage: aexp compare", "", ""},
		{"help plan", []string{"help", "plan"}, exitOK, "Usage: aexp plan", "", ""},
		{"help typo", []string{"help", "comapre"}, exitUsage, "", "", `unknown command "comapre" (did you mean "compare"?)`},
		{"help two", []string{"help", "runs", "show"}, exitUsage, "", "", "at most one command"},
		{"--version", []string{"--version"}, exitOK, "aexp " + version + " (", "", ""},
		{"typo", []string{"comapre", "1", "2"}, exitUsage, "", "", `unknown command "comapre" (did you mean "compare"?)`},
		{"typo of help", []string{"hlep"}, exitUsage, "", "", `(did you mean "help"?)`},
		{"nothing like it", []string{"frobnicate"}, exitUsage, "", "", `unknown command "frobnicate"; 'aexp help' lists the commands`},
		{"no args", nil, exitUsage, "", "Commands:", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := cli(t, tc.args...)
			if exitOf(err) != tc.code {
				t.Fatalf("exit %d (%v), want %d", exitOf(err), err, tc.code)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, out)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errOut)
			}
			if tc.errMatch != "" && (err == nil || !strings.Contains(err.Error(), tc.errMatch)) {
				t.Errorf("error %v, want %q", err, tc.errMatch)
			}
		})
	}
}

// plan's own flags are described for plan; sweep's say they need --dry-run.
func TestPlanHelpWording(t *testing.T) {
	out, _, _ := cli(t, "help", "plan")
	if strings.Contains(out, "--dry-run/plan") || strings.Contains(out, "with --dry-run:") || !strings.Contains(out, "print the plan as JSON") {
		t.Errorf("aexp help plan:\n%s", out)
	}
	out, _, _ = cli(t, "help", "sweep")
	if !strings.Contains(out, "with --dry-run: print the plan as JSON") {
		t.Errorf("aexp help sweep:\n%s", out)
	}
}
