package orchestrator

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/aexp/aexp/internal/suggest"
)

// Spec is a parsed, checked sweep spec. Parse fills every default, so the
// fields are what the sweep will use.
type Spec struct {
	File        string // as given, for messages
	Text        string // the TOML text, stored with the sweep
	Name        string
	Description string
	Dataset     string // "mnist", "sines", "csv:PATH", "idx:PATH" as written

	Objective Objective
	Search    Search
	Budget    Budget
	EarlyStop EarlyStop
	Keep      string // checkpoints: "last", "best" or "all"

	// Blocks are the variant families of the sweep, in spec order: one for
	// `variant = "x"`, one per [[variants]] block otherwise.
	Blocks []*Block

	pos    *positions
	labels map[int]string // line -> the --set flag it holds (see WithSets)
}

// Objective is the metric that ranks runs and drives early stopping.
type Objective struct {
	Metric string
	Goal   string   // "minimize" or "maximize"
	Target *float64 // when a finished run reaches it, no new runs start
}

// better reports whether a is better than b under the goal.
func (o Objective) better(a, b float64) bool {
	if o.Goal == "maximize" {
		return a > b
	}
	return a < b
}

// reached reports whether v meets the target.
func (o Objective) reached(v float64) bool {
	if o.Target == nil || math.IsNaN(v) {
		return false
	}
	if o.Goal == "maximize" {
		return v >= *o.Target
	}
	return v <= *o.Target
}

// Search is how configurations are chosen.
type Search struct {
	Method  string // "grid", "random" or "tpe"
	Seed    uint64 // random search, expansion order and the TPE sampler
	RunCap  int    // 0: no cap; counts runs (configurations × seeds)
	Samples int    // random: configurations per variant block; tpe: configurations in all

	// tpe only
	Startup      int  // random configurations before the model proposes
	Multivariate bool // one joint model per variant block (default) or one per parameter
	Candidates   int  // candidates drawn from the model per proposal
}

// Budget is how each run trains and how the sweep runs them.
type Budget struct {
	Epochs     int
	BatchSize  int
	Parallel   int // 0: the number of cores
	Threads    int // BLAS threads per run; 0: cores ÷ parallel, at least 1
	Timeout    time.Duration
	Attempts   int
	Seeds      []uint64
	TrainLimit int
	TestLimit  int
}

// EarlyStop configures pruning on per-epoch objective reports.
type EarlyStop struct {
	Method      string // "none", "median", "asha"
	GraceEpochs int    // no pruning before this epoch
	Reduction   int    // asha: keep the best 1/reduction at each rung
	MinRuns     int    // median: other runs needed at an epoch before pruning
}

// Block is one variant family with its parameter space.
type Block struct {
	Variant string
	Path    string // "variant" or "variants[i]": where the block is written
	Params  []*ParamSpace
	Zips    []*Zip
	Include []Point
	Exclude []Point
}

// ParamSpace is the space of one parameter: a finite list of values, or a
// distribution for random search.
type ParamSpace struct {
	Name   string
	Path   string // e.g. "params.lr", for messages
	Values []any  // finite values (a constant is one value); nil with Dist
	Dist   *Dist
	// ListPath is the key path of the list that holds Values (params.x, or
	// params.x.values for a categorical table); element k is ListPath[k].
	ListPath string
}

// Zip couples parameters: the i-th values of every list go together.
type Zip struct {
	Path   string
	Names  []string
	Paths  []string
	Points [][]any // Points[i][j] is the value of Names[j] in the i-th tuple
}

// Point is a partial assignment of parameter values (include/exclude).
type Point struct {
	Path   string
	Names  []string // in spec order
	Values map[string]any
}

// Dist is a random-search distribution.
type Dist struct {
	Kind     string // uniform, log_uniform, int_uniform (q set: quantised)
	Min, Max float64
	Q        float64 // 0: not quantised
}

// Discrete reports whether the distribution has finitely many values, and
// their number.
func (d *Dist) size() (int, bool) {
	switch {
	case d.Kind == "int_uniform" && d.Q == 0:
		n := d.Max - d.Min + 1
		if n > 1<<40 {
			return 0, false
		}
		return int(n), true
	case d.Kind == "int_uniform" || d.Kind == "uniform" && d.Q > 0:
		n := math.Floor((d.Max-d.Min)/d.Q+1e-9) + 1
		if n > 1<<40 {
			return 0, false
		}
		return int(n), true
	}
	return 0, false
}

// value returns the k-th value of a discrete distribution.
func (d *Dist) value(k int) any {
	if d.Kind == "int_uniform" {
		step := int64(1)
		if d.Q > 0 {
			step = int64(d.Q)
		}
		return int64(d.Min) + int64(k)*step
	}
	return roundSig(d.Min+float64(k)*d.Q, 10)
}

func (d *Dist) String() string {
	s := fmt.Sprintf("%s(%g, %g", d.Kind, d.Min, d.Max)
	if d.Q > 0 {
		s += fmt.Sprintf(", q=%g", d.Q)
	}
	return s + ")"
}

// Parse reads and checks a sweep spec. file is used in messages. Every
// problem is reported with file:line and key; the error is then a
// [SpecErrors]. A [set] table (see [WithSets]) is applied first.
func Parse(file string, text []byte) (*Spec, error) {
	sp, l := parse(file, text, nil)
	if err := l.err(); err != nil {
		return nil, err
	}
	return sp, nil
}

// parse is Parse that also returns what it could read of a spec with
// errors (nil only when the text is not TOML), so that more can be checked
// in the same round. labels name the lines that hold --set overrides.
func parse(file string, text []byte, labels map[int]string) (*Spec, *errorList) {
	sp := &Spec{File: file, Text: string(text), labels: labels}
	l := sp.errors()
	var raw map[string]any
	_, err := toml.Decode(string(text), &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if line, key, ok := unclosedHeader(string(text), pe); ok {
				l.addAt(line, key, fmt.Sprintf("unclosed table header [%s: end it with ] (as in [%s])", key, key))
				return nil, l
			}
			l.addAt(pe.Position.Line, pe.LastKey, "TOML syntax: "+pe.Message)
			return nil, l
		}
		l.addAt(0, "", "TOML: "+err.Error())
		return nil, l
	}
	sp.pos = scanPositions(string(text))
	l.pos = sp.pos
	p := &parser{l: l, spec: sp}
	p.applySets(raw)
	p.top(raw)
	return sp, l
}

// errors is a new error list for problems of this spec.
func (s *Spec) errors() *errorList {
	return &errorList{file: s.File, pos: s.pos, labels: s.labels}
}

// ParseFile reads the spec at path.
func ParseFile(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Line returns the line of a key path in the spec (0 when unknown).
func (s *Spec) Line(path string) int { return s.pos.line(path) }

// errorAt makes a located error for path.
func (s *Spec) errorAt(path, format string, args ...any) *SpecError {
	l := s.errors()
	l.add(path, format, args...)
	return l.errs[0]
}

type parser struct {
	l    *errorList
	spec *Spec
}

// The spec's keys, table by table; unknown keys are errors.
var specKeys = map[string][]string{
	"":            {"name", "description", "variant", "dataset", "objective", "search", "budget", "params", "variants", "zip", "include", "exclude", "early_stop", "checkpoints"},
	"objective":   {"metric", "goal", "target"},
	"search":      {"method", "seed", "run_cap", "samples", "startup", "multivariate", "candidates"},
	"budget":      {"epochs", "batch_size", "parallel", "threads", "timeout", "attempts", "seeds", "train_limit", "test_limit"},
	"early_stop":  {"method", "grace_epochs", "reduction", "min_runs"},
	"checkpoints": {"keep"},
	"variants":    {"name", "params", "zip", "include", "exclude"},
	"dist":        {"distribution", "value", "values", "min", "max", "q"},
}

// checkKeys reports keys of m not in the allowed list for table kind.
func (p *parser) checkKeys(m map[string]any, kind, path string) {
	allowed := specKeys[kind]
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if contains(allowed, k) {
			continue
		}
		msg := fmt.Sprintf("unknown key %q", k)
		if s := suggest.Closest(k, allowed); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else if t := homeOf(k, kind); t != "" {
			msg += fmt.Sprintf(" (it belongs in [%s])", t)
		} else if kind == "" {
			msg += " (parameters go in [params])"
		}
		p.l.add(joinPath(path, k), "%s", msg)
	}
}

// homeOf names the table where key belongs, when it is written elsewhere.
func homeOf(key, kind string) string {
	for _, t := range []string{"", "objective", "search", "budget", "early_stop", "checkpoints"} {
		if t != kind && t != "" && contains(specKeys[t], key) {
			return t
		}
	}
	return ""
}

func (p *parser) top(raw map[string]any) {
	sp := p.spec
	p.checkKeys(raw, "", "")

	sp.Name = p.str(raw, "name", "name", "")
	if _, ok := raw["name"]; !ok {
		p.l.addAt(1, "name", `missing: every sweep needs a name (e.g. name = "dense-grid"); it is the key that resumes the sweep`)
	} else if strings.TrimSpace(sp.Name) == "" {
		p.l.add("name", "must not be empty")
	}
	sp.Description = p.str(raw, "description", "description", "")
	sp.Dataset = p.str(raw, "dataset", "dataset", "mnist")
	p.checkDataset(sp.Dataset, "dataset")

	obj := p.table(raw, "objective", "objective")
	p.checkKeys(obj, "objective", "objective")
	sp.Objective.Metric = p.str(obj, "metric", "objective.metric", "val_loss")
	if sp.Objective.Metric == "" {
		p.l.add("objective.metric", "must not be empty")
	}
	sp.Objective.Goal = p.choice(obj, "goal", "objective.goal", "minimize", "minimize", "maximize")
	if _, ok := obj["target"]; ok {
		t := p.float(obj, "target", "objective.target", 0)
		sp.Objective.Target = &t
	}

	search := p.table(raw, "search", "search")
	p.checkKeys(search, "search", "search")
	sp.Search.Method = p.choice(search, "method", "search.method", "grid", "grid", "random", "tpe")
	sp.Search.Seed = uint64(p.intRange(search, "seed", "search.seed", 0, 0, math.MaxInt64))
	sp.Search.RunCap = p.intRange(search, "run_cap", "search.run_cap", 0, 0, 1<<31)
	sp.Search.Samples = p.intRange(search, "samples", "search.samples", 0, 1, maxRuns)
	if sp.Search.Method == "grid" {
		if _, ok := search["samples"]; ok {
			p.l.add("search.samples", `applies to method = "random" or "tpe" only (a grid runs every combination; cap it with run_cap)`)
		}
	}
	p.tpeOptions(search)

	b := p.table(raw, "budget", "budget")
	p.checkKeys(b, "budget", "budget")
	sp.Budget.Epochs = p.intRange(b, "epochs", "budget.epochs", 5, 1, 1_000_000)
	sp.Budget.BatchSize = p.intRange(b, "batch_size", "budget.batch_size", 128, 1, 1<<24)
	sp.Budget.Parallel = p.intRange(b, "parallel", "budget.parallel", 0, 1, 1024)
	sp.Budget.Threads = p.intRange(b, "threads", "budget.threads", 0, 1, 1024)
	sp.Budget.Attempts = p.intRange(b, "attempts", "budget.attempts", 1, 1, 100)
	sp.Budget.TrainLimit = p.intRange(b, "train_limit", "budget.train_limit", 0, 0, 1<<31)
	sp.Budget.TestLimit = p.intRange(b, "test_limit", "budget.test_limit", 0, 0, 1<<31)
	if v, ok := b["timeout"]; ok {
		switch t := v.(type) {
		case string:
			d, err := time.ParseDuration(t)
			switch {
			case err != nil:
				p.l.add("budget.timeout", "%q is not a duration (write e.g. \"90s\", \"10m\", \"1h30m\")", t)
			case d <= 0:
				p.l.add("budget.timeout", "must be positive (got %q); leave it out for no timeout", t)
			default:
				sp.Budget.Timeout = d
			}
		default:
			p.l.add("budget.timeout", "expected a duration string such as \"10m\", got %s", describe(v))
		}
	}
	sp.Budget.Seeds = []uint64{0}
	if v, ok := b["seeds"]; ok {
		list, isList := asList(v)
		switch {
		case !isList:
			p.l.add("budget.seeds", "expected a list of integers such as [0, 1, 2], got %s", describe(v))
		case len(list) == 0:
			p.l.add("budget.seeds", "must not be empty (leave it out for the single seed 0)")
		default:
			sp.Budget.Seeds = nil
			seen := map[int64]bool{}
			for i, e := range list {
				path := indexPath("budget.seeds", i)
				n, ok := e.(int64)
				switch {
				case !ok:
					p.l.add(path, "expected an integer seed, got %s", describe(e))
				case n < 0:
					p.l.add(path, "seeds must be non-negative (got %d)", n)
				case seen[n]:
					p.l.add(path, "seed %d is listed twice", n)
				default:
					seen[n] = true
					sp.Budget.Seeds = append(sp.Budget.Seeds, uint64(n))
				}
			}
		}
	}

	es := p.table(raw, "early_stop", "early_stop")
	p.checkKeys(es, "early_stop", "early_stop")
	sp.EarlyStop.Method = p.choice(es, "method", "early_stop.method", "none", "none", "median", "asha")
	sp.EarlyStop.GraceEpochs = p.intRange(es, "grace_epochs", "early_stop.grace_epochs", 1, 1, 1_000_000)
	sp.EarlyStop.Reduction = p.intRange(es, "reduction", "early_stop.reduction", 3, 2, 1000)
	sp.EarlyStop.MinRuns = p.intRange(es, "min_runs", "early_stop.min_runs", 3, 1, 1_000_000)
	if sp.EarlyStop.Method != "none" {
		if isFinalMetric(sp.Objective.Metric) {
			p.l.add("early_stop.method", "%s prunes on per-epoch reports, but objective.metric %q is only reported at the end (use e.g. \"val_loss\")", sp.EarlyStop.Method, sp.Objective.Metric)
		}
		if sp.EarlyStop.GraceEpochs >= sp.Budget.Epochs {
			p.l.add("early_stop.grace_epochs", "is %d but runs train %d epochs: nothing could be pruned", sp.EarlyStop.GraceEpochs, sp.Budget.Epochs)
		}
	}

	ck := p.table(raw, "checkpoints", "checkpoints")
	p.checkKeys(ck, "checkpoints", "checkpoints")
	sp.Keep = p.choice(ck, "keep", "checkpoints.keep", "last", "last", "best", "all")

	p.blocks(raw)

	if sp.Search.Method != "grid" && sp.Search.Samples == 0 {
		what := "configurations per variant"
		if sp.Search.Method == "tpe" {
			what = "configurations to try, in all"
		}
		if sp.Search.RunCap > 0 {
			sp.Search.Samples = max(1, sp.Search.RunCap/len(sp.Budget.Seeds))
		} else {
			p.l.addAt(p.spec.pos.line("search.method"), "search.samples", fmt.Sprintf(`%s search needs samples = N (%s) or a run_cap`, sp.Search.Method, what))
		}
	}
	p.checkTPE()
}

// isFinalMetric reports whether a metric is reported once, at the end of a
// run, rather than per epoch.
func isFinalMetric(name string) bool {
	return strings.HasPrefix(name, "test_") || strings.HasPrefix(name, "pca_")
}

func (p *parser) checkDataset(ds, path string) {
	switch {
	case ds == "mnist" || ds == "sines":
	case strings.HasPrefix(ds, "csv:") || strings.HasPrefix(ds, "idx:"):
		f := ds[4:]
		if f == "" {
			p.l.add(path, "%q needs a path after the colon, e.g. \"csv:data/series.csv\"", ds)
			return
		}
		if _, err := os.Stat(p.spec.DataPath(ds)); err != nil {
			p.l.add(path, "%s: no such file (relative paths are relative to the spec's folder)", f)
		}
	default:
		p.l.add(path, "unknown dataset %q (use \"mnist\", \"sines\", \"csv:PATH\" or \"idx:PATH\")", ds)
	}
}

// ResolveDataset is the dataset as a plugin gets it: csv:/idx: paths made
// absolute (relative to the spec's folder), other names unchanged.
func (s *Spec) ResolveDataset(ds string) string {
	if strings.HasPrefix(ds, "csv:") || strings.HasPrefix(ds, "idx:") {
		return ds[:4] + s.DataPath(ds)
	}
	return ds
}

// DataPath resolves the file of a csv:/idx: dataset relative to the spec's
// folder; other datasets are returned unchanged.
func (s *Spec) DataPath(ds string) string {
	if !strings.HasPrefix(ds, "csv:") && !strings.HasPrefix(ds, "idx:") {
		return ds
	}
	f := ds[4:]
	if !filepath.IsAbs(f) {
		f = filepath.Join(filepath.Dir(s.File), f)
	}
	if abs, err := filepath.Abs(f); err == nil {
		f = abs
	}
	return f
}

// blocks reads the variant families and their parameter spaces.
func (p *parser) blocks(raw map[string]any) {
	sp := p.spec
	shared := &Block{Path: ""}
	p.space(shared, raw, "")

	_, hasVariant := raw["variant"]
	vs, hasVariants := raw["variants"]
	switch {
	case hasVariant && hasVariants:
		p.l.add("variant", "use either variant = \"...\" or [[variants]] blocks, not both")
		return
	case hasVariant:
		name := p.str(raw, "variant", "variant", "")
		if name == "" {
			p.l.add("variant", "must name a variant, e.g. \"dense\"")
			return
		}
		shared.Variant = name
		shared.Path = "variant"
		sp.Blocks = []*Block{shared}
	case hasVariants:
		list, ok := tableList(vs)
		if !ok || len(list) == 0 {
			p.l.add("variants", "expected [[variants]] blocks, each with a name and params")
			return
		}
		seen := map[string]string{}
		for i, m := range list {
			path := indexPath("variants", i)
			p.checkKeys(m, "variants", path)
			blk := &Block{Path: path}
			blk.Variant = p.str(m, "name", joinPath(path, "name"), "")
			if blk.Variant == "" {
				if _, ok := m["name"]; !ok {
					p.l.add(path, "missing name: each [[variants]] block names its variant, e.g. name = \"vae\"")
				} else {
					p.l.add(joinPath(path, "name"), "must not be empty")
				}
			}
			p.space(blk, m, path)
			p.merge(blk, shared)
			// the same variant twice is fine when the spaces differ; the
			// run keys de-duplicate identical runs.
			_ = seen
			sp.Blocks = append(sp.Blocks, blk)
		}
	default:
		p.l.addAt(1, "variant", "missing: set variant = \"dense\" (or another plugin), or add [[variants]] blocks to compare families")
	}
	for _, blk := range sp.Blocks {
		p.checkBlock(blk)
	}
	if hasVariants {
		// a top-level exclude must name parameters of at least one block
		for _, pt := range shared.Exclude {
			for _, n := range pt.Names {
				found := false
				for _, blk := range sp.Blocks {
					for _, ps := range blk.Params {
						found = found || ps.Name == n
					}
					for _, z := range blk.Zips {
						found = found || contains(z.Names, n)
					}
				}
				if !found {
					p.l.add(joinPath(pt.Path, n), "%s is not a parameter of any variant block, so nothing can match", n)
				}
			}
		}
	}
}

// merge adds the shared (top-level) space to a [[variants]] block: the
// block's own params win.
func (p *parser) merge(blk, shared *Block) {
	own := map[string]bool{}
	for _, ps := range blk.Params {
		own[ps.Name] = true
	}
	for _, z := range blk.Zips {
		for _, n := range z.Names {
			own[n] = true
		}
	}
	var params []*ParamSpace
	for _, ps := range shared.Params {
		if !own[ps.Name] {
			params = append(params, ps)
		}
	}
	blk.Params = append(params, blk.Params...)
	for _, z := range shared.Zips {
		clash := false
		for _, n := range z.Names {
			clash = clash || own[n]
		}
		if !clash {
			blk.Zips = append(blk.Zips, z)
		}
	}
	blk.Include = append(blk.Include, shared.Include...)
	blk.Exclude = append(blk.Exclude, shared.Exclude...)
}

// space reads params, zip, include and exclude of one block (base "" for
// the top level, "variants[i]" for a block).
func (p *parser) space(blk *Block, m map[string]any, base string) {
	params := p.table(m, "params", joinPath(base, "params"))
	for _, name := range p.orderedKeys(params, joinPath(base, "params")) {
		path := joinPath(joinPath(base, "params"), name)
		if ps := p.param(name, params[name], path); ps != nil {
			blk.Params = append(blk.Params, ps)
		}
	}
	if v, ok := m["zip"]; ok {
		list, ok := tableList(v)
		if !ok {
			p.l.add(joinPath(base, "zip"), "expected [[zip]] tables of equally long lists, e.g. hidden = [[256], [512, 256]] with lr = [1e-3, 3e-4]")
		}
		for i, zm := range list {
			path := indexPath(joinPath(base, "zip"), i)
			if z := p.zip(zm, path); z != nil {
				blk.Zips = append(blk.Zips, z)
			}
		}
	}
	for _, kind := range []string{"include", "exclude"} {
		v, ok := m[kind]
		if !ok {
			continue
		}
		list, ok := tableList(v)
		if !ok {
			p.l.add(joinPath(base, kind), "expected [[%s]] tables of parameter values, e.g. latent = 2", kind)
			continue
		}
		for i, pm := range list {
			path := indexPath(joinPath(base, kind), i)
			if len(pm) == 0 {
				p.l.add(path, "empty %s entry", kind)
				continue
			}
			pt := Point{Path: path, Values: map[string]any{}}
			for _, name := range p.orderedKeys(pm, path) {
				v, err := pointValue(pm[name])
				if err != "" {
					p.l.add(joinPath(path, name), "%s", err)
					continue
				}
				pt.Names = append(pt.Names, name)
				pt.Values[name] = v
			}
			if kind == "include" {
				blk.Include = append(blk.Include, pt)
			} else {
				blk.Exclude = append(blk.Exclude, pt)
			}
		}
	}
}

// checkBlock checks a block as a whole: no parameter set twice, include and
// exclude name known parameters, grid axes are finite.
func (p *parser) checkBlock(blk *Block) {
	where := map[string]string{}
	for _, ps := range blk.Params {
		where[ps.Name] = ps.Path
	}
	for _, z := range blk.Zips {
		for j, n := range z.Names {
			if prev, ok := where[n]; ok {
				p.l.add(z.Paths[j], "%s is also set at %s; a parameter is either zipped or set on its own", n, prev)
				continue
			}
			where[n] = z.Paths[j]
		}
	}
	for _, pt := range blk.Exclude {
		if blk.Path != "variant" && !strings.HasPrefix(pt.Path, blk.Path+".") {
			continue // a top-level entry under [[variants]]: checked across blocks
		}
		for _, n := range pt.Names {
			if _, ok := where[n]; !ok {
				p.l.add(joinPath(pt.Path, n), "%s is not a parameter of this sweep, so nothing can match", n)
			}
		}
	}
	for _, pt := range blk.Include {
		for _, ps := range blk.Params {
			if _, ok := pt.Values[ps.Name]; !ok && ps.Dist != nil {
				if _, finite := ps.Dist.size(); !finite || p.spec.Search.Method != "grid" {
					p.l.add(pt.Path, "give a value for %s: it is a distribution (%s), so it cannot be filled in", ps.Name, ps.Path)
				}
			}
		}
	}
	if p.spec.Search.Method == "grid" {
		for _, ps := range blk.Params {
			if ps.Dist == nil {
				continue
			}
			n, finite := ps.Dist.size()
			switch {
			case !finite:
				p.l.add(ps.Path, "%s is a continuous distribution: it needs method = \"random\" in [search] (or give a list of values for a grid)", ps.Dist.Kind)
			case n > maxGridAxis:
				p.l.add(ps.Path, "%s has %d values, too many for a grid axis (at most %d); use method = \"random\"", ps.Dist, n, maxGridAxis)
			}
		}
	}
}

const maxGridAxis = 10000

// zip reads one [[zip]] table.
func (p *parser) zip(m map[string]any, path string) *Zip {
	z := &Zip{Path: path}
	n := -1
	names := p.orderedKeys(m, path)
	if len(names) == 0 {
		p.l.add(path, "empty zip: list at least two parameters of equal length")
		return nil
	}
	for _, name := range names {
		kp := joinPath(path, name)
		list, ok := asList(m[name])
		if !ok {
			p.l.add(kp, "expected a list of values (zipped with the other lists of this table), got %s", describe(m[name]))
			return nil
		}
		if n >= 0 && len(list) != n {
			p.l.add(kp, "has %s but %s has %d; zipped lists must be equally long", plural(len(list), "value"), z.Names[0], n)
			return nil
		}
		if len(list) == 0 {
			p.l.add(kp, "empty list")
			return nil
		}
		n = len(list)
		z.Names = append(z.Names, name)
		z.Paths = append(z.Paths, kp)
	}
	z.Points = make([][]any, n)
	for i := range n {
		z.Points[i] = make([]any, len(names))
		for j, name := range names {
			list, _ := asList(m[name])
			v, err := axisValue(list[i])
			if err != "" {
				p.l.add(indexPath(z.Paths[j], i), "%s", err)
				return nil
			}
			z.Points[i][j] = v
		}
	}
	return z
}

// param reads one entry of [params].
func (p *parser) param(name string, v any, path string) *ParamSpace {
	ps := &ParamSpace{Name: name, Path: path, ListPath: path}
	switch t := v.(type) {
	case map[string]any:
		return p.dist(ps, t)
	case []any:
		if len(t) == 0 {
			p.l.add(path, "empty list: a list is an axis and needs at least one value (a list-typed parameter is written as a list of lists, e.g. [[512, 256]])")
			return nil
		}
		ok := true
		for i, e := range t {
			ev, err := axisValue(e)
			if err != "" {
				p.l.add(indexPath(path, i), "%s", err)
				ok = false
				continue
			}
			ps.Values = append(ps.Values, ev)
		}
		if !ok {
			return nil
		}
		if dup := firstDuplicate(ps.Values); dup >= 0 {
			p.l.add(indexPath(path, dup), "value %s is listed twice", formatValue(ps.Values[dup]))
			return nil
		}
		return ps
	default:
		sv, err := scalar(v)
		if err != "" {
			p.l.add(path, "%s", err)
			return nil
		}
		ps.Values = []any{sv}
		return ps
	}
}

// dist reads an inline table: { distribution = "...", min, max, q, value(s) }.
func (p *parser) dist(ps *ParamSpace, m map[string]any) *ParamSpace {
	path := ps.Path
	p.checkKeys(m, "dist", path)
	kind := p.str(m, "distribution", joinPath(path, "distribution"), "")
	_, hasValue := m["value"]
	_, hasValues := m["values"]
	_, hasMin := m["min"]
	_, hasMax := m["max"]
	_, hasQ := m["q"]
	if kind == "" {
		switch {
		case hasValue:
			kind = "constant"
		case hasValues:
			kind = "categorical"
		case hasMin || hasMax:
			_, imin := m["min"].(int64)
			_, imax := m["max"].(int64)
			kind = "uniform"
			if imin && imax {
				kind = "int_uniform"
			}
		default:
			p.l.add(path, "a parameter table needs value, values, or distribution with min and max")
			return nil
		}
	}
	switch kind {
	case "log_uniform_values":
		kind = "log_uniform"
	case "q_uniform", "q_log_uniform":
		if !hasQ {
			p.l.add(path, "%s needs q, the step its values are rounded to", kind)
			return nil
		}
		kind = strings.TrimPrefix(kind, "q_")
	}
	extra := func(keys ...string) bool {
		bad := false
		for _, k := range keys {
			if _, ok := m[k]; ok {
				p.l.add(joinPath(path, k), "does not apply to distribution %q", kind)
				bad = true
			}
		}
		return bad
	}
	switch kind {
	case "constant":
		if extra("values", "min", "max", "q") {
			return nil
		}
		if !hasValue {
			p.l.add(path, "distribution \"constant\" needs value")
			return nil
		}
		v, err := pointValue(m["value"])
		if err != "" {
			p.l.add(joinPath(path, "value"), "%s", err)
			return nil
		}
		ps.Values = []any{v}
		return ps
	case "categorical":
		if extra("value", "min", "max", "q") {
			return nil
		}
		ps.ListPath = joinPath(path, "values")
		list, ok := asList(m["values"])
		if !ok || len(list) == 0 {
			p.l.add(joinPath(path, "values"), "categorical needs a non-empty list of values")
			return nil
		}
		for i, e := range list {
			ev, err := axisValue(e)
			if err != "" {
				p.l.add(indexPath(joinPath(path, "values"), i), "%s", err)
				return nil
			}
			ps.Values = append(ps.Values, ev)
		}
		if dup := firstDuplicate(ps.Values); dup >= 0 {
			p.l.add(indexPath(joinPath(path, "values"), dup), "value %s is listed twice", formatValue(ps.Values[dup]))
			return nil
		}
		return ps
	case "uniform", "log_uniform", "int_uniform":
		if extra("value", "values") {
			return nil
		}
		if !hasMin || !hasMax {
			p.l.add(path, "%s needs both min and max", kind)
			return nil
		}
		d := &Dist{Kind: kind}
		d.Min = p.float(m, "min", joinPath(path, "min"), 0)
		d.Max = p.float(m, "max", joinPath(path, "max"), 0)
		if hasQ {
			d.Q = p.float(m, "q", joinPath(path, "q"), 0)
			if d.Q <= 0 {
				p.l.add(joinPath(path, "q"), "must be positive (got %g)", d.Q)
				return nil
			}
		}
		if kind == "int_uniform" {
			for _, k := range []string{"min", "max", "q"} {
				if v, ok := m[k]; ok {
					if _, isInt := v.(int64); !isInt {
						p.l.add(joinPath(path, k), "int_uniform needs an integer, got %s", describe(v))
						return nil
					}
				}
			}
		}
		if !(d.Min < d.Max) {
			p.l.add(joinPath(path, "min"), "min must be below max (got min %g, max %g)", d.Min, d.Max)
			return nil
		}
		if kind == "log_uniform" && d.Min <= 0 {
			p.l.add(joinPath(path, "min"), "log_uniform needs min > 0 (got %g); bounds are values, not exponents", d.Min)
			return nil
		}
		if math.IsInf(d.Min, 0) || math.IsInf(d.Max, 0) {
			p.l.add(path, "bounds must be finite")
			return nil
		}
		ps.Dist = d
		return ps
	default:
		p.l.add(joinPath(path, "distribution"), "unknown distribution %q (use constant, categorical, uniform, int_uniform, log_uniform, q_uniform or q_log_uniform)", kind)
		return nil
	}
}

// ---- typed getters: each reports a located error and returns a default

func (p *parser) table(m map[string]any, key, path string) map[string]any {
	v, ok := m[key]
	if !ok {
		return map[string]any{}
	}
	t, ok := v.(map[string]any)
	if !ok {
		p.l.add(path, "expected a table ([%s]), got %s", path, describe(v))
		return map[string]any{}
	}
	return t
}

func (p *parser) str(m map[string]any, key, path, def string) string {
	v, ok := m[key]
	if !ok {
		return def
	}
	s, ok := v.(string)
	if !ok {
		p.l.add(path, "expected a string, got %s", describe(v))
		return def
	}
	return s
}

func (p *parser) choice(m map[string]any, key, path, def string, choices ...string) string {
	s := p.str(m, key, path, def)
	if contains(choices, s) {
		return s
	}
	if _, ok := m[key].(string); ok {
		msg := fmt.Sprintf("%q is not one of %s", s, quoteList(choices))
		if g := suggest.Closest(s, choices); g != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", g)
		}
		p.l.add(path, "%s", msg)
	}
	return def
}

func (p *parser) intRange(m map[string]any, key, path string, def, lo, hi int) int {
	v, ok := m[key]
	if !ok {
		return def
	}
	n, ok := v.(int64)
	if !ok {
		if f, isF := v.(float64); isF && f == math.Trunc(f) {
			p.l.add(path, "expected an integer, got float %v (write it without a decimal point)", f)
		} else {
			p.l.add(path, "expected an integer, got %s", describe(v))
		}
		return def
	}
	if n < int64(lo) || n > int64(hi) {
		if hi >= 1<<31 {
			p.l.add(path, "must be at least %d (got %d)", lo, n)
		} else {
			p.l.add(path, "must be between %d and %d (got %d)", lo, hi, n)
		}
		return def
	}
	return int(n)
}

func (p *parser) float(m map[string]any, key, path string, def float64) float64 {
	v, ok := m[key]
	if !ok {
		return def
	}
	switch n := v.(type) {
	case int64:
		return float64(n)
	case float64:
		if math.IsNaN(n) {
			p.l.add(path, "nan is not a number here")
			return def
		}
		return n
	}
	p.l.add(path, "expected a number, got %s", describe(v))
	return def
}

// orderedKeys returns the keys of m in the order they are written in the
// file (by line, then name), so grid axes follow the spec's order.
func (p *parser) orderedKeys(m map[string]any, base string) []string {
	keys := slices.Sorted(maps.Keys(m))
	sort.SliceStable(keys, func(i, j int) bool {
		return p.spec.pos.line(joinPath(base, keys[i])) < p.spec.pos.line(joinPath(base, keys[j]))
	})
	return keys
}

// ---- values

// scalar checks a constant parameter value.
func scalar(v any) (any, string) {
	switch t := v.(type) {
	case int64, string, bool:
		return t, ""
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, fmt.Sprintf("%v is not allowed as a parameter value", t)
		}
		return t, ""
	case map[string]any:
		return nil, "a table is not a parameter value"
	}
	return nil, fmt.Sprintf("unsupported value %s (parameters are numbers, strings, booleans or lists of numbers)", describe(v))
}

// axisValue checks one value of an axis: a scalar, or a list of numbers for
// a list-typed parameter.
func axisValue(v any) (any, string) {
	if list, ok := v.([]any); ok {
		return numberList(list)
	}
	return scalar(v)
}

// pointValue is a value in include/exclude/constant: there a list is the
// value of a list-typed parameter, not an axis.
func pointValue(v any) (any, string) { return axisValue(v) }

func numberList(list []any) (any, string) {
	out := make([]any, len(list))
	for i, e := range list {
		switch t := e.(type) {
		case int64:
			out[i] = t
		case float64:
			if math.IsNaN(t) || math.IsInf(t, 0) {
				return nil, fmt.Sprintf("%v is not allowed in a list value", t)
			}
			out[i] = t
		case []any:
			return nil, "lists nest too deep: an axis of list values is a list of lists, e.g. [[512, 256], [256]]"
		default:
			return nil, fmt.Sprintf("list values hold numbers only, got %s", describe(e))
		}
	}
	return out, ""
}

func asList(v any) ([]any, bool) {
	switch t := v.(type) {
	case []any:
		return t, true
	case []map[string]any:
		out := make([]any, len(t))
		for i := range t {
			out[i] = t[i]
		}
		return out, true
	}
	return nil, false
}

// tableList accepts [[x]] tables and inline arrays of inline tables.
func tableList(v any) ([]map[string]any, bool) {
	switch t := v.(type) {
	case []map[string]any:
		return t, true
	case []any:
		out := make([]map[string]any, 0, len(t))
		for _, e := range t {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			out = append(out, m)
		}
		return out, true
	}
	return nil, false
}

func firstDuplicate(vals []any) int {
	seen := map[string]bool{}
	for i, v := range vals {
		k := canonical(v)
		if seen[k] {
			return i
		}
		seen[k] = true
	}
	return -1
}

// describe names a TOML value's type for messages, with the value.
func describe(v any) string {
	switch t := v.(type) {
	case string:
		return fmt.Sprintf("string %q", t)
	case int64:
		return fmt.Sprintf("integer %d", t)
	case float64:
		return fmt.Sprintf("float %v", t)
	case bool:
		return fmt.Sprintf("boolean %v", t)
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date-time"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T", v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// unclosedHeader finds the table header a "table name" syntax error is
// about: the TOML parser reports it on the line after, once it has read
// the newline, and names no key.
func unclosedHeader(text string, pe toml.ParseError) (line int, key string, ok bool) {
	if !strings.Contains(pe.Message, "table name") {
		return 0, "", false
	}
	lines := strings.Split(text, "\n")
	for n := min(pe.Position.Line, len(lines)); n >= 1; n-- {
		h := strings.TrimSpace(lines[n-1])
		if i := strings.IndexByte(h, '#'); i >= 0 {
			h = strings.TrimSpace(h[:i])
		}
		if strings.HasPrefix(h, "[") && !strings.Contains(h, "]") {
			return n, strings.TrimSpace(strings.TrimLeft(h, "[")), true
		}
	}
	return 0, "", false
}
