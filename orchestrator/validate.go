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
	l := &errorList{file: s.File, pos: s.pos}
	c := &Checked{Plan: pl, Plugins: map[string]*Plugin{}, Full: map[string]map[string]any{}}

	// which plugins, and where the spec names each
	var names []string
	where := map[string]string{}
	for _, b := range s.Blocks {
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
		info, err := describePlugin(ctx, path)
		if err != nil {
			return nil, err
		}
		hash, err := fileHash(path)
		if err != nil {
			return nil, err
		}
		c.Plugins[name] = &Plugin{Path: path, Hash: hash, Info: info}
	}
	if err := l.err(); err != nil {
		return nil, err
	}

	// the objective must be a metric every variant of the sweep reports
	for _, name := range names {
		known := append([]string(nil), SharedMetrics...)
		for _, m := range c.Plugins[name].Info.Metrics {
			known = append(known, m.Name)
		}
		if !contains(known, s.Objective.Metric) {
			msg := fmt.Sprintf("variant %s does not report %q", name, s.Objective.Metric)
			if g := suggest.Closest(s.Objective.Metric, known); g != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", g)
			}
			sort.Strings(known)
			msg += "; it reports " + strings.Join(known, ", ")
			l.addAt(s.pos.line("objective.metric"), "objective.metric", msg)
		}
	}

	for _, r := range pl.Runs {
		p := c.Plugins[r.Variant]
		full, err := variant.Validate(p.Info.Params, r.Params)
		if err != nil {
			blk := s.Blocks[r.Block]
			for _, e := range flatten(err) {
				var pe *variant.ParamError
				if !errors.As(e, &pe) {
					l.add(blk.Path, "%s", e.Error())
					continue
				}
				path, ok := r.Origin[pe.Param]
				msg := pe.Msg
				if !ok {
					// a missing required parameter: name the block's params
					path = "params"
					if blk.Path != "variant" {
						path = joinPath(blk.Path, "params")
					}
					msg = pe.Param + ": " + msg
				}
				l.add(path, "%s (variant %s)", msg, r.Variant)
			}
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
