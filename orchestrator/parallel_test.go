package orchestrator

import "testing"

// Flags override the spec, the spec overrides the defaults, and by default
// the cores are shared out between the runs side by side.
func TestParallelAndThreads(t *testing.T) {
	cases := []struct {
		name                        string
		optPar, optThr, bPar, bThr  int
		cores, wantPar, wantThreads int
	}{
		{"defaults", 0, 0, 0, 0, 8, 8, 1},
		{"spec parallel shares the cores", 0, 0, 2, 0, 8, 2, 4},
		{"uneven share rounds down", 0, 0, 3, 0, 8, 3, 2},
		{"more runs than cores", 0, 0, 16, 0, 8, 16, 1},
		{"spec threads", 0, 0, 2, 1, 8, 2, 1},
		{"flag parallel beats spec", 1, 0, 4, 0, 2, 1, 2},
		{"flag threads beats spec", 0, 3, 2, 1, 8, 2, 3},
		{"negative options ignored", -1, -2, 2, 0, 4, 2, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp := &Spec{Budget: Budget{Parallel: c.bPar, Threads: c.bThr}}
			e := &Engine{c: &Checked{Plan: &Plan{Spec: sp}}, opts: Options{Parallel: c.optPar, Threads: c.optThr, Cores: c.cores}}
			if p, th := e.Parallel(); p != c.wantPar || th != c.wantThreads {
				t.Errorf("got parallel %d, threads %d; want %d, %d", p, th, c.wantPar, c.wantThreads)
			}
		})
	}
}
