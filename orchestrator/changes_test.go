package orchestrator

import (
	"slices"
	"strings"
	"testing"
)

// The changed-spec refusal names each changed field with its recorded and
// new value.
func TestChanges(t *testing.T) {
	const base = `name = "x"
variant = "dense"
[budget]
epochs = 5
parallel = 2
[params]
lr = [1e-3, 3e-3]
hidden = [[128, 32]]
`
	const families = `name = "x"
[[variants]]
name = "dense"
params = { hidden = [[64, 16]] }
[[variants]]
name = "vae"
params = { latent = [2, 10] }
`
	for _, c := range []struct {
		name, old, now string
		want           []string
	}{
		{"budget only", base, strings.Replace(base, "parallel = 2", "parallel = 1\ntimeout = \"5m\"", 1), nil},
		{"epochs", base, strings.Replace(base, "epochs = 5", "epochs = 3", 1), []string{"budget.epochs: 5 → 3"}},
		{"axis", base, strings.Replace(base, "[1e-3, 3e-3]", "[1e-3, 1e-2]", 1), []string{"params.lr: [0.001, 0.003] → [0.001, 0.01]"}},
		{"axis to constant", base, strings.Replace(base, "[1e-3, 3e-3]", "1e-3", 1), []string{"params.lr: [0.001, 0.003] → 0.001"}},
		{"list param", base, strings.Replace(base, "[[128, 32]]", "[[128, 16]]", 1), []string{"params.hidden: [128, 32] → [128, 16]"}},
		{"added and seeds", base, base + "activation = \"selu\"\n[early_stop]\nmethod = \"median\"\n", []string{
			"early_stop.method: none → median", "params.activation: (not set) → selu"}},
		{"seeds", base, strings.Replace(base, "parallel = 2", "seeds = [0, 1]", 1), []string{"budget.seeds: [0] → [0, 1]"}},
		{"order", base, strings.Replace(base, "lr = [1e-3, 3e-3]\nhidden = [[128, 32]]", "hidden = [[128, 32]]\nlr = [1e-3, 3e-3]", 1), []string{
			"params (their order, the grid's order): lr, hidden → hidden, lr"}},
		{"block param", families, strings.Replace(families, "[2, 10]", "[2, 20]", 1), []string{"variants[1].params.latent: [2, 10] → [2, 20]"}},
		{"block added", families, families + "[[variants]]\nname = \"rnn\"\n", []string{"variants: [dense, vae] → [dense, vae, rnn]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			old, err := Parse("x.toml", []byte(c.old))
			if err != nil {
				t.Fatal(err)
			}
			now, err := Parse("x.toml", []byte(c.now))
			if err != nil {
				t.Fatal(err)
			}
			got := now.Changes(old)
			if !slices.Equal(got, c.want) {
				t.Errorf("Changes:\n got %q\nwant %q", got, c.want)
			}
			if (len(got) == 0) != (now.Hash() == old.Hash()) {
				t.Errorf("Changes %q but hashes equal: %v", got, now.Hash() == old.Hash())
			}
		})
	}
}
