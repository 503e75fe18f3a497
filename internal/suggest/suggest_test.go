package suggest

import "testing"

func TestClosest(t *testing.T) {
	cands := []string{"epochs", "batch_size", "parallel", "threads", "early_stop"}
	for _, c := range []struct{ in, want string }{
		{"epoch", "epochs"},              // prefix
		{"paralel", "parallel"},          // one deletion
		{"thraeds", "threads"},           // transposition = two edits
		{"early_stopping", "early_stop"}, // the candidate is a prefix
		{"seed", ""},                     // nothing close
		{"ep", ""},                       // too short for a prefix match
	} {
		if got := Closest(c.in, cands); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if d := distance("kitten", "sitting"); d != 3 {
		t.Errorf("distance(kitten, sitting) = %d, want 3", d)
	}
}
