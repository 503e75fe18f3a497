package orchestrator

import (
	"fmt"
	"math"

	"github.com/aexp/aexp/search"
)

// Model-based search (method = "tpe"): the spec's variant blocks become a
// search.Space — each block a branch, so a parameter exists only in its
// block — and the sampler proposes configurations as results come in. The
// first `startup` configurations are random and are planned up front like
// random search; the engine asks the model for the rest (see proposer).

// tpeOptions reads the TPE-only keys of [search].
func (p *parser) tpeOptions(m map[string]any) {
	sp := p.spec
	tpe := sp.Search.Method == "tpe"
	for _, k := range []string{"startup", "multivariate", "candidates"} {
		if _, ok := m[k]; ok && !tpe {
			p.l.add("search."+k, `applies to method = "tpe" only`)
		}
	}
	sp.Search.Startup = p.intRange(m, "startup", "search.startup", search.DefaultStartup, 1, maxRuns)
	sp.Search.Candidates = p.intRange(m, "candidates", "search.candidates", search.DefaultCandidates, 1, 10000)
	sp.Search.Multivariate = true
	if v, ok := m["multivariate"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			p.l.add("search.multivariate", "expected true or false, got %s", describe(v))
		}
		sp.Search.Multivariate = b
	}
}

// checkTPE checks what TPE needs once the blocks are read.
func (p *parser) checkTPE() {
	sp := p.spec
	if sp.Search.Method != "tpe" {
		return
	}
	if sp.Search.Startup >= sp.Search.Samples && sp.Search.Samples > 0 {
		if p.spec.pos.line("search.startup") > 0 {
			p.l.add("search.startup", "is %d but samples is %d: the model would never propose; lower startup", sp.Search.Startup, sp.Search.Samples)
		} else {
			sp.Search.Startup = sp.Search.Samples
		}
	}
	for _, blk := range sp.Blocks {
		for _, pt := range blk.Include {
			p.l.add(pt.Path, `include entries are not used by method = "tpe" (the model chooses every configuration); remove them or use method = "random"`)
		}
	}
}

// tpeDim is one searched dimension of a block: a distribution, a list of
// values (categorical) or a zip (categorical over its tuples).
type tpeDim struct {
	ps  *ParamSpace
	zip *Zip
}

// tpeModel is a TPE sweep's space and sampler.
type tpeModel struct {
	space   search.Space
	dims    [][]tpeDim // per block, aligned with space.Branches[b].Params
	sampler *search.TPE
	opts    search.Options
}

func newTPEModel(s *Spec) *tpeModel {
	m := &tpeModel{}
	for _, blk := range s.Blocks {
		var params []search.Param
		var dims []tpeDim
		for _, ps := range blk.Params {
			switch {
			case ps.Dist != nil:
				d := ps.Dist
				sp := search.Param{Name: ps.Name, Kind: search.Float, Low: d.Min, High: d.Max, Step: d.Q, Log: d.Kind == "log_uniform"}
				if d.Kind == "int_uniform" {
					sp.Kind = search.Int
				}
				params = append(params, sp)
			case len(ps.Values) > 1:
				params = append(params, search.Param{Name: ps.Name, Kind: search.Categorical, N: len(ps.Values)})
			default:
				continue // a constant
			}
			dims = append(dims, tpeDim{ps: ps})
		}
		for _, z := range blk.Zips {
			if len(z.Points) > 1 {
				params = append(params, search.Param{Name: z.Path, Kind: search.Categorical, N: len(z.Points)})
				dims = append(dims, tpeDim{zip: z})
			}
		}
		m.space.Branches = append(m.space.Branches, search.Branch{Name: blk.Variant, Params: params})
		m.dims = append(m.dims, dims)
	}
	m.opts = search.Options{Seed: s.Search.Seed, Startup: s.Search.Startup, Candidates: s.Search.Candidates, Multivariate: s.Search.Multivariate}
	m.sampler = search.NewTPE(m.space, m.opts)
	return m
}

// config turns a point of the space into a block's parameters: the block's
// constants and zips of one tuple, and the searched values.
func (m *tpeModel) config(s *Spec, c search.Config) config {
	blk := s.Blocks[c.Branch]
	out := config{params: map[string]any{}, origin: map[string]string{}}
	for _, ps := range blk.Params {
		if ps.Dist == nil && len(ps.Values) == 1 {
			out.params[ps.Name], out.origin[ps.Name] = ps.Values[0], ps.Path
		}
	}
	for _, z := range blk.Zips {
		if len(z.Points) == 1 {
			for j, n := range z.Names {
				out.params[n], out.origin[n] = z.Points[0][j], indexPath(z.Paths[j], 0)
			}
		}
	}
	for j, d := range m.dims[c.Branch] {
		v := c.Values[j]
		switch {
		case d.zip != nil:
			k := int(v)
			for i, n := range d.zip.Names {
				out.params[n], out.origin[n] = d.zip.Points[k][i], indexPath(d.zip.Paths[i], k)
			}
		case d.ps.Dist == nil:
			k := int(v)
			out.params[d.ps.Name], out.origin[d.ps.Name] = d.ps.Values[k], indexPath(d.ps.ListPath, k)
		case d.ps.Dist.Kind == "int_uniform":
			out.params[d.ps.Name], out.origin[d.ps.Name] = int64(math.Round(v)), d.ps.Path
		default:
			out.params[d.ps.Name], out.origin[d.ps.Name] = quantize(v, d.ps.Dist), d.ps.Path
		}
	}
	return out
}

// decode finds the point of the space a recorded run's parameters are: the
// first block of its variant whose constants and dimensions all match.
func (m *tpeModel) decode(s *Spec, variant string, params map[string]any) (search.Config, bool) {
	for bi, blk := range s.Blocks {
		if blk.Variant != variant {
			continue
		}
		if c, ok := m.decodeBlock(s, bi, params); ok {
			return c, true
		}
	}
	return search.Config{}, false
}

func (m *tpeModel) decodeBlock(s *Spec, bi int, params map[string]any) (search.Config, bool) {
	blk := s.Blocks[bi]
	same := func(name string, want any) bool {
		v, ok := params[name]
		return ok && canonical(v) == canonical(want)
	}
	for _, ps := range blk.Params {
		if ps.Dist == nil && len(ps.Values) == 1 && !same(ps.Name, ps.Values[0]) {
			return search.Config{}, false
		}
	}
	c := search.Config{Branch: bi}
	for _, d := range m.dims[bi] {
		switch {
		case d.zip != nil:
			k := -1
			for i, pt := range d.zip.Points {
				ok := true
				for j, n := range d.zip.Names {
					ok = ok && same(n, pt[j])
				}
				if ok {
					k = i
					break
				}
			}
			if k < 0 {
				return search.Config{}, false
			}
			c.Values = append(c.Values, float64(k))
		case d.ps.Dist == nil:
			k := -1
			for i, v := range d.ps.Values {
				if same(d.ps.Name, v) {
					k = i
					break
				}
			}
			if k < 0 {
				return search.Config{}, false
			}
			c.Values = append(c.Values, float64(k))
		default:
			var x float64
			switch v := params[d.ps.Name].(type) {
			case float64:
				x = v
			case int64:
				x = float64(v)
			default:
				return search.Config{}, false
			}
			if x < d.ps.Dist.Min || x > d.ps.Dist.Max {
				return search.Config{}, false
			}
			c.Values = append(c.Values, x)
		}
	}
	return c, true
}

// maxRetries bounds the draws for one configuration that is new (not
// recorded yet) and not excluded.
const maxRetries = 200

// draw returns the n-th configuration of the sweep, built into runs (one
// per seed): the sampler's proposal (random during startup), redrawn with
// the next retry number while it is excluded or already known.
func (m *tpeModel) draw(s *Spec, n int, hist []search.Trial, known func(key string) bool, source string) ([]*Run, bool) {
	for r := range maxRetries {
		var c search.Config
		if source == SourceStartup {
			c = m.space.Random(search.Rand(s.Search.Seed, n, r))
		} else {
			c, _ = m.sampler.Propose(n, r, hist)
		}
		cfg := m.config(s, c)
		blk := s.Blocks[c.Branch]
		if excludedBy(cfg, blk.Exclude) {
			continue
		}
		runs := make([]*Run, 0, len(s.Budget.Seeds))
		fresh := true
		for _, seed := range s.Budget.Seeds {
			run := newRun(s, c.Branch, cfg, seed)
			run.Source = source
			fresh = fresh && !known(run.Key)
			runs = append(runs, run)
		}
		if fresh {
			return runs, true
		}
	}
	return nil, false
}

func excludedBy(c config, exclude []Point) bool {
	for _, pt := range exclude {
		if matches(c, pt) {
			return true
		}
	}
	return false
}

// Sources of a run: how its configuration was chosen (runs.source).
const (
	SourceGrid    = "grid"
	SourceRandom  = "random"
	SourceStartup = "startup" // tpe: a random configuration before the model
	SourceModel   = "model"   // tpe: proposed by the model
)

// expandTPE plans a TPE sweep's startup configurations; the model proposes
// the rest while the sweep runs.
func expandTPE(s *Spec) (*Plan, error) {
	pl := &Plan{Spec: s, tpe: newTPEModel(s)}
	pl.Configs = s.Search.Samples
	pl.Total = s.Search.Samples * len(s.Budget.Seeds)
	if s.Search.RunCap > 0 {
		pl.Total = min(pl.Total, s.Search.RunCap)
	}
	seen := map[string]bool{}
	known := func(k string) bool { return seen[k] }
	for n := range min(s.Search.Startup, s.Search.Samples) {
		runs, ok := pl.tpe.draw(s, n, nil, known, SourceStartup)
		if !ok {
			pl.Notes = append(pl.Notes, fmt.Sprintf("tpe: only %d distinct configurations found for startup = %d", n, s.Search.Startup))
			break
		}
		for _, r := range runs {
			seen[r.Key] = true
			if len(pl.Runs) < pl.Total {
				r.Index = len(pl.Runs)
				pl.Runs = append(pl.Runs, r)
			}
		}
	}
	if rest := pl.Total - len(pl.Runs); rest > 0 {
		pl.Notes = append(pl.Notes, fmt.Sprintf("tpe: the runs above are the %d random startup configurations; the other %d configurations (%s) are proposed by the model as results come in",
			s.Search.Startup, s.Search.Samples-s.Search.Startup, plural(rest, "run")))
	}
	return pl, nil
}

// probes are extra configurations Check validates for a TPE sweep, so a
// bound the plugin rejects is reported before the model proposes it: per
// block, every searched dimension at its lowest and at its highest value.
func (p *Plan) probes() []*Run {
	if p.tpe == nil {
		return nil
	}
	var out []*Run
	for bi, b := range p.tpe.space.Branches {
		for _, hi := range []bool{false, true} {
			c := search.Config{Branch: bi}
			for _, prm := range b.Params {
				v := prm.Low
				switch {
				case prm.Kind == search.Categorical && hi:
					v = float64(prm.N - 1)
				case prm.Kind == search.Categorical:
					v = 0
				case hi:
					v = prm.High
				}
				c.Values = append(c.Values, v)
			}
			cfg := p.tpe.config(p.Spec, c)
			out = append(out, newRun(p.Spec, bi, cfg, p.Spec.Budget.Seeds[0]))
		}
	}
	return out
}

// recordedRun rebuilds the Run of a configuration recorded in the store
// (one the model proposed in this or an earlier invocation): nil when the
// params are not a point of this spec's space.
func (m *tpeModel) recordedRun(s *Spec, variant string, params map[string]any, seed uint64, key, source string) *Run {
	c, ok := m.decode(s, variant, params)
	if !ok {
		return nil
	}
	run := newRun(s, c.Branch, m.config(s, c), seed)
	run.Key, run.Source = key, source
	return run
}
