package orchestrator

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const setBase = `name = "x"
variant = "dense"
[budget]
epochs = 5
[params]
lr = [1e-3, 3e-3]
hidden = [[128, 32]]
`

const setFamilies = `name = "x"
[params]
lr = 1e-3
[[variants]]
name = "dense"
params = { hidden = [[64, 16]] }
[[variants]]
name = "vae"
params = { latent = [2, 10], lr = 3e-3 }
`

// loadSets loads a spec text with --set flags, without plugins.
func loadSets(t *testing.T, text string, sets ...string) (*Plan, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(context.Background(), path, sets, nil)
	if err != nil {
		return nil, err
	}
	return c.Plan, nil
}

func TestSetOverrides(t *testing.T) {
	for _, c := range []struct {
		name string
		text string
		sets []string
		want string // the plan's params of block 0 and the budget, formatted
	}{
		{"scalar", setBase, []string{"lr=3e-4"}, "lr=[0.0003] hidden=[[128 32]] epochs=5"},
		{"axis", setBase, []string{"lr=[1e-4, 1e-3]"}, "lr=[0.0001 0.001] hidden=[[128 32]] epochs=5"},
		{"list param", setBase, []string{"hidden=[[256,32]]"}, "lr=[0.001 0.003] hidden=[[256 32]] epochs=5"},
		{"bare word", setBase, []string{"activation=selu"}, "lr=[0.001 0.003] hidden=[[128 32]] activation=[selu] epochs=5"},
		{"key path", setBase, []string{"budget.epochs=2"}, "lr=[0.001 0.003] hidden=[[128 32]] epochs=2"},
		{"new table", setBase, []string{"search.seed=9", "lr=1e-2"}, "lr=[0.01] hidden=[[128 32]] epochs=5"},
		{"last wins", setBase, []string{"lr=1", "lr=2"}, "lr=[2] hidden=[[128 32]] epochs=5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pl, err := loadSets(t, c.text, c.sets...)
			if err != nil {
				t.Fatal(err)
			}
			if got := describeBlock(pl.Spec); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			// the stored text says it all: parsing it again gives the same spec
			again, err := Parse("stored.toml", []byte(pl.Spec.Text))
			if err != nil {
				t.Fatalf("the stored text does not parse: %v\n%s", err, pl.Spec.Text)
			}
			if again.Hash() != pl.Spec.Hash() {
				t.Errorf("the stored text gives another spec:\n%s", pl.Spec.Text)
			}
			plain, _ := Parse("s.toml", []byte(c.text))
			if plain.Hash() == pl.Spec.Hash() {
				t.Error("the override did not change the spec's hash")
			}
		})
	}
	// a parameter only a [[variants]] block sets is replaced there alone
	pl0, err := loadSets(t, setFamilies, "latent=[4]")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range pl0.Runs {
		if _, has := r.Params["latent"]; has != (r.Variant == "vae") || has && r.Params["latent"] != int64(4) {
			t.Errorf("--set latent=[4]: run %s: %v", r.Variant, r.Params)
		}
	}
	// a bare parameter is replaced wherever the spec sets it
	pl, err := loadSets(t, setFamilies, "lr=0.01", "variants[1].params.latent=[4]")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range pl.Runs {
		if r.Params["lr"] != 0.01 || r.Variant == "vae" && r.Params["latent"] != int64(4) {
			t.Errorf("run %s: %v", r.Variant, r.Params)
		}
	}
}

func TestSetErrors(t *testing.T) {
	for _, c := range []struct {
		name, text string
		sets       []string
		want       string
	}{
		{"no value", setBase, []string{"lr"}, "--set lr: want KEY=VALUE, e.g. --set lr=3e-4 or --set budget.epochs=2"},
		{"not TOML", setBase, []string{"lr=[1,"}, `--set lr=[1,: lr: "[1," is not a TOML value (numbers as 3e-4, lists as [1, 2], lists of lists as [[256, 32]], strings as relu or "a b")`},
		{"out of range", setBase, []string{"budget.epochs=0"}, "--set budget.epochs=0: budget.epochs: must be between 1 and 1000000 (got 0)"},
		{"empty axis", setBase, []string{"lr=[]"}, "--set lr=[]: params.lr: empty list: a list is an axis and needs at least one value (a list-typed parameter is written as a list of lists, e.g. [[512, 256]])"},
		{"unknown spec key", setBase, []string{"budget.epoch=3"}, `--set budget.epoch=3: budget.epoch: unknown key "epoch" (did you mean "epochs"?)`},
		{"no such block", setBase, []string{"variants[3].params.lr=1"}, "--set variants[3].params.lr=1: variants[3].params.lr: the spec has no variants[3]"},
		{"zipped", "name = \"x\"\nvariant = \"dense\"\n[[zip]]\nlr = [1, 2]\ncode = [3, 4]\n", []string{"lr=5"},
			"--set lr=5: lr: lr is zipped (zip[0]): set the zipped list instead, e.g. --set 'zip[0].lr=[...]'"},
		{"with the file's own errors", setBase + "[search]\nmethod = \"gird\"\n", []string{"budget.epochs=0"},
			"--set budget.epochs=0: budget.epochs: must be between 1 and 1000000 (got 0)\n" +
				`s.toml:9: search.method: "gird" is not one of "grid", "random" or "tpe" (did you mean "grid"?)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadSets(t, c.text, c.sets...)
			if err == nil || !IsSpecError(err) {
				t.Fatalf("err %v, want a spec error", err)
			}
			got := regexp.MustCompile(`/\S*/s\.toml`).ReplaceAllString(err.Error(), "s.toml")
			if got != c.want {
				t.Errorf("error\n got: %s\nwant: %s", got, c.want)
			}
		})
	}
}

// describeBlock prints the first block's params (name=values, in grid
// order) and the epochs.
func describeBlock(s *Spec) string {
	var parts []string
	for _, p := range s.Blocks[0].Params {
		parts = append(parts, p.Name+"="+strings.ReplaceAll(strings.ReplaceAll(canonicalish(p.Values), ",", " "), `"`, ""))
	}
	return strings.Join(parts, " ") + " epochs=" + formatValue(int64(s.Budget.Epochs))
}

func canonicalish(v []any) string { return canonical(v) }
