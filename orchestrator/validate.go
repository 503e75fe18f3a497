package orchestrator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/internal/suggest"
	"github.com/aexp/aexp/variant"
)

// Plugin is a variant plugin the sweep uses: where its binary is and what
// it said about itself.
type Plugin struct {
	Path string
	Hash string // sha256 of the binary, recorded with every run
	Info variant.Info
}

// Checked is a plan whose every run was validated against its plugin's
// schema: ready to run.
type Checked struct {
	*Plan
	Plugins map[string]*Plugin        // variant name -> plugin
	Full    map[string]map[string]any // run key -> params with defaults filled
	DataDir string                    // MNIST's folder, when a run needs it
}

// SharedMetrics are reported by every variant.
var SharedMetrics = []string{"train_loss", "val_loss", "epoch_seconds", "samples_per_second", "test_mse", "pca_mse"}

// Check validates a plan before anything runs: it launches each plugin the
// sweep needs once, asks it to Describe itself, validates every run's
// params against the schema (filling defaults), checks the objective metric
// and resolves the dataset. Problems with the spec come back as
// [SpecErrors] naming file:line and key; a plugin that cannot start or a
// missing MNIST is an ordinary error.
func Check(ctx context.Context, pl *Plan, plugins map[string]string) (*Checked, error) {
	s := pl.Spec
	l := s.errors()
	c := &Checked{Plan: pl, Full: map[string]map[string]any{}}
	var err error
	if c.Plugins, err = describeAll(ctx, s, plugins, l); err != nil {
		return nil, err
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	for _, r := range slices.Concat(pl.Runs, pl.probes()) {
		full, err := variant.Validate(c.Plugins[r.Variant].Info.Params, r.Params)
		if err != nil {
			addParamErrors(l, s.Blocks[r.Block], r.Variant, err, func(param string) (string, bool) {
				path, ok := r.Origin[param]
				return path, ok
			})
			continue
		}
		c.Full[r.Key] = full
	}
	if err := l.err(); err != nil {
		return nil, err
	}

	if s.Dataset == "mnist" {
		dir, err := dataset.MNISTDir()
		if err != nil {
			return nil, fmt.Errorf("%s: dataset \"mnist\": %w", s.File, err)
		}
		c.DataDir = dir
	}
	return c, nil
}

// describeAll starts each plugin the spec names once and records what it
// says about itself; unknown variants and an objective metric a variant
// does not report are spec errors in l.
func describeAll(ctx context.Context, s *Spec, plugins map[string]string, l *errorList) (map[string]*Plugin, error) {
	out := map[string]*Plugin{}
	var names []string
	where := map[string]string{}
	for _, b := range s.Blocks {
		if b.Variant == "" {
			continue // a block without a name: already an error
		}
		if _, ok := where[b.Variant]; !ok {
			names = append(names, b.Variant)
			where[b.Variant] = b.Path
			if b.Path != "variant" {
				where[b.Variant] = joinPath(b.Path, "name")
			}
		}
	}
	for _, name := range names {
		path, ok := plugins[name]
		if !ok {
			known := slices.Sorted(maps.Keys(plugins))
			msg := fmt.Sprintf("unknown variant %q: no plugin binary %s%s was found", name, variant.BinaryPrefix, name)
			if g := suggest.Closest(name, known); g != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", g)
			}
			if len(known) > 0 {
				msg += "; found: " + strings.Join(known, ", ")
			} else {
				msg += " (build them with make build, or point --plugin-dir at them)"
			}
			l.add(where[name], "%s", msg)
			continue
		}
		p, err := LoadPlugin(ctx, path)
		if err != nil {
			return nil, err
		}
		out[name] = p
	}

	// the objective must be a metric every variant of the sweep reports
	for _, name := range names {
		p := out[name]
		if p == nil {
			continue
		}
		known := append([]string(nil), SharedMetrics...)
		for _, m := range p.Info.Metrics {
			known = append(known, m.Name)
		}
		if !contains(known, s.Objective.Metric) {
			msg := fmt.Sprintf("variant %s does not report %q", name, s.Objective.Metric)
			if g := suggest.Closest(s.Objective.Metric, known); g != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", g)
			}
			// plugins may list the shared metrics too: name each once
			sort.Strings(known)
			msg += "; it reports " + strings.Join(slices.Compact(known), ", ")
			l.addAt(s.pos.line("objective.metric"), "objective.metric", msg)
		}
	}
	return out, nil
}

// addParamErrors records a variant.Validate error of block blk: each bad
// parameter at the key path origin gives for it (a missing required
// parameter, which has none, at the block's params).
func addParamErrors(l *errorList, blk *Block, variantName string, err error, origin func(param string) (string, bool)) {
	for _, e := range flatten(err) {
		var pe *variant.ParamError
		if !errors.As(e, &pe) {
			l.add(blk.Path, "%s", e.Error())
			continue
		}
		path, ok := origin(pe.Param)
		msg := pe.Msg
		if ok && strings.HasPrefix(msg, "unknown parameter") {
			// the key is wrong, not one of its values: one error for the
			// key, not one per element of its list
			if i := strings.LastIndexByte(path, '['); i > 0 && strings.HasSuffix(path, "]") {
				path = path[:i]
			}
		}
		if !ok {
			path = "params"
			if blk.Path != "variant" {
				path = joinPath(blk.Path, "params")
			}
			msg = pe.Param + ": " + msg
		}
		l.add(path, "%s (variant %s)", msg, variantName)
	}
}

// checkValues validates, one by one, the parameter values a spec with
// structural errors did parse, so that its parameter errors are reported
// in the same round as the structural ones. Whole runs cannot be checked
// (the spec does not expand), so missing required parameters wait for the
// next round.
func checkValues(s *Spec, plugins map[string]*Plugin, l *errorList) {
	for _, blk := range s.Blocks {
		p := plugins[blk.Variant]
		if p == nil {
			continue
		}
		check := func(name string, v any, path string) {
			_, err := variant.Validate(p.Info.Params, map[string]any{name: v})
			var mine []error
			for _, e := range flatten(err) {
				var pe *variant.ParamError
				if errors.As(e, &pe) && pe.Param == name {
					mine = append(mine, e)
				}
			}
			if len(mine) > 0 {
				addParamErrors(l, blk, blk.Variant, errors.Join(mine...), func(string) (string, bool) { return path, true })
			}
		}
		for _, a := range blockAxes(s, blk) {
			for k, pt := range a.points {
				for j, name := range a.names {
					check(name, pt[j], a.origin(j, k))
				}
			}
		}
		for _, pt := range blk.Include {
			for _, name := range pt.Names {
				check(name, pt.Values[name], joinPath(pt.Path, name))
			}
		}
	}
}

// describePlugin launches a plugin, asks for its Info and stops it.
func describePlugin(ctx context.Context, path string) (variant.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	p, err := variant.Launch(ctx, path, variant.LaunchOptions{StartTimeout: 30 * time.Second})
	if err != nil {
		return variant.Info{}, err
	}
	defer p.Kill()
	info, err := p.Describe(ctx)
	if err != nil {
		return variant.Info{}, fmt.Errorf("plugin %s: Describe: %w", path, err)
	}
	return info, nil
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// flatten unpacks errors.Join trees.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
