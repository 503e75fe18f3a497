package orchestrator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
)

// Load reads the spec at path with the --set overrides applied (see
// [WithSets]) and expands it; given plugins (nil: no validation) it also
// validates every run against its plugin, as [Check] does. Every problem
// with the spec — its structure, its expansion, its parameters — comes back
// in one [SpecErrors], so one round of `aexp plan` shows all of them: when
// the spec's structure is broken, the parameter values it does give are
// still checked against the plugins' schemas. A file that cannot be read, a
// plugin that does not start or a missing MNIST is an ordinary error.
func Load(ctx context.Context, path string, sets []string, plugins map[string]string) (*Checked, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, SpecErrors{{File: path, Msg: "is a directory; give the spec file (e.g. " + filepath.Join(path, "sweep.toml") + ")"}}
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text, labels, err := WithSets(text, sets)
	if err != nil {
		var se *SpecError
		if errors.As(err, &se) {
			return nil, SpecErrors{se}
		}
		return nil, err
	}
	sp, l := parse(path, text, labels)
	if sp == nil {
		return nil, l.err()
	}
	var plan *Plan
	if len(l.errs) == 0 {
		if plan, err = Expand(sp); err != nil && !l.merge(err) {
			return nil, err
		}
	}
	switch {
	case plugins == nil:
		if err := l.err(); err != nil {
			return nil, err
		}
		return &Checked{Plan: plan}, nil
	case plan != nil:
		c, err := Check(ctx, plan, plugins)
		if err != nil && l.merge(err) {
			return nil, l.err()
		}
		return c, err
	}
	// the structure is broken: check the values that parsed, in this round
	found, err := describeAll(ctx, sp, plugins, l)
	if err != nil {
		if serr := l.err(); serr != nil {
			return nil, serr // the spec's problems first; the plugin's come next round
		}
		return nil, err
	}
	checkValues(sp, found, l)
	return nil, l.err()
}
