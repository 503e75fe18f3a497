package orchestrator

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// Run is one planned training run: a variant, its params, a seed.
type Run struct {
	Index   int    // position in the plan, 0-based
	Key     string // deterministic identity, see RunKey
	Block   int    // index into Spec.Blocks
	Variant string
	Params  map[string]any    // as written in the spec (defaults are filled at validation)
	Origin  map[string]string // param -> key path of its value in the spec, for messages
	Seed    uint64
	Dataset string
	Source  string // how the configuration was chosen: SourceGrid, SourceRandom, SourceStartup, SourceModel

	Epochs, BatchSize, TrainLimit, TestLimit int
}

// Plan is a spec expanded into runs, in the order they are scheduled.
type Plan struct {
	Spec    *Spec
	Runs    []*Run
	Configs int // distinct configurations (runs = configurations × seeds, before the cap)
	Total   int // runs before run_cap
	Notes   []string

	tpe *tpeModel // method = "tpe": the model that proposes runs after these
}

// maxRuns bounds an uncapped expansion; a bigger sweep needs a run_cap.
// maxGrid bounds a grid even with a cap (it is enumerated to count it).
const (
	maxRuns = 100_000
	maxGrid = 1_000_000
)

// Expand turns a parsed spec into its runs. It is deterministic: the same
// spec (and so the same sweep seed) gives the same runs in the same order.
// Grid order: variant blocks in spec order; within a block the first axis
// varies slowest; include entries follow the grid; each configuration is
// repeated for every seed, seeds innermost.
func Expand(s *Spec) (*Plan, error) {
	if s.Search.Method == "tpe" {
		return expandTPE(s)
	}
	pl := &Plan{Spec: s}
	l := s.errors()
	seen := map[string]bool{}
	for bi, blk := range s.Blocks {
		configs, total, notes := expandBlock(s, bi, blk, l)
		pl.Notes = append(pl.Notes, notes...)
		if len(configs) == 0 && len(blk.Exclude) > 0 {
			l.add(blk.Exclude[0].Path, "the exclude entries leave no configuration of %s to run", blk.Variant)
			continue
		}
		if total > maxRuns/len(s.Budget.Seeds) && s.Search.RunCap == 0 {
			l.add(blk.Path, "expands to %s × %s; add run_cap in [search] or narrow the grid (at most %d runs)", plural(total, "configuration"), plural(len(s.Budget.Seeds), "seed"), maxRuns)
			continue
		}
		pl.Configs += total
		pl.Total += total * len(s.Budget.Seeds)
		for _, c := range configs {
			for _, seed := range s.Budget.Seeds {
				r := newRun(s, bi, c, seed)
				if seen[r.Key] {
					continue
				}
				seen[r.Key] = true
				if s.Search.RunCap > 0 && len(pl.Runs) >= s.Search.RunCap {
					continue
				}
				r.Index = len(pl.Runs)
				pl.Runs = append(pl.Runs, r)
			}
		}
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	if len(pl.Runs) == 0 {
		return nil, SpecErrors{s.errorAt("", "the spec expands to no runs (is every configuration excluded?)")}
	}
	return pl, nil
}

// newRun is configuration c of block bi with one seed, keyed.
func newRun(s *Spec, bi int, c config, seed uint64) *Run {
	source := SourceGrid
	if s.Search.Method == "random" {
		source = SourceRandom
	}
	r := &Run{
		Block: bi, Variant: s.Blocks[bi].Variant, Params: c.params, Origin: c.origin,
		Seed: seed, Dataset: s.Dataset, Source: source,
		Epochs: s.Budget.Epochs, BatchSize: s.Budget.BatchSize,
		TrainLimit: s.Budget.TrainLimit, TestLimit: s.Budget.TestLimit,
	}
	r.Key = RunKey(r)
	return r
}

// config is one assignment of values to a block's parameters.
type config struct {
	params map[string]any
	origin map[string]string
}

// axis is one dimension of a block's space: a parameter, or a zip of
// several. Finite axes have points; a continuous distribution has dist.
type axis struct {
	names  []string
	paths  []string
	points [][]any
	dist   *Dist
	listed bool     // points are written as list elements: origins name [k]
	elems  []string // with listed: the list's key path per name
}

func (a *axis) size() int { return len(a.points) }

func blockAxes(s *Spec, blk *Block) []*axis {
	var axes []*axis
	for _, p := range blk.Params {
		a := &axis{names: []string{p.Name}, paths: []string{p.Path}}
		switch {
		case p.Dist == nil:
			a.listed = len(p.Values) > 1
			a.elems = []string{p.ListPath}
			for _, v := range p.Values {
				a.points = append(a.points, []any{v})
			}
		default:
			if n, finite := p.Dist.size(); finite && n <= maxGridAxis {
				for k := range n {
					a.points = append(a.points, []any{p.Dist.value(k)})
				}
			} else {
				a.dist = p.Dist
			}
		}
		axes = append(axes, a)
	}
	for _, z := range blk.Zips {
		axes = append(axes, &axis{names: z.Names, paths: z.Paths, points: z.Points, listed: true, elems: z.Paths})
	}
	return axes
}

// expandBlock returns the block's configurations (grid order or sampling
// order) and how many there are before any cap.
func expandBlock(s *Spec, bi int, blk *Block, l *errorList) (out []config, total int, notes []string) {
	axes := blockAxes(s, blk)
	// how many configurations may be needed at most (the run cap bounds it)
	limit := maxRuns + 1 // enough to tell an uncapped sweep that it is too big
	if s.Search.RunCap > 0 {
		limit = (s.Search.RunCap + len(s.Budget.Seeds) - 1) / len(s.Budget.Seeds)
	}
	size, finite := spaceSize(axes)
	excluded := func(c config) bool {
		for _, pt := range blk.Exclude {
			if matches(c, pt) {
				return true
			}
		}
		return false
	}
	if len(axes) == 0 && len(blk.Include) > 0 {
		// no space of its own: the include entries are the configurations
	} else if s.Search.Method == "grid" {
		// every axis is finite (checked at parse)
		if !finite || size > maxGrid {
			l.add(blk.Path, "the grid has more than %d configurations; narrow it or use method = \"random\"", maxGrid)
			return nil, 0, nil
		}
		if len(blk.Exclude) == 0 {
			total = size
			for idx := 0; idx < size && len(out) < limit; idx++ {
				out = append(out, pointAt(axes, idx))
			}
		} else {
			for idx := 0; idx < size; idx++ {
				c := pointAt(axes, idx)
				if excluded(c) {
					continue
				}
				total++
				if len(out) < limit {
					out = append(out, c)
				}
			}
		}
	} else {
		want := s.Search.Samples
		rng := rand.New(rand.NewPCG(s.Search.Seed, blockSalt(bi, blk.Variant)))
		if finite && size <= math.MaxInt64/2 {
			// a finite space: a lazily shuffled permutation of its indices,
			// so samples never repeat and a larger `samples` extends the list
			swapped := map[int]int{}
			at := func(i int) int {
				if v, ok := swapped[i]; ok {
					return v
				}
				return i
			}
			for i := 0; i < size && len(out) < want; i++ {
				j := i + int(rng.Int64N(int64(size-i)))
				vi, vj := at(i), at(j)
				swapped[i], swapped[j] = vj, vi
				c := pointAt(axes, vj)
				if excluded(c) {
					continue
				}
				out = append(out, c)
			}
			if len(out) < want {
				notes = append(notes, fmt.Sprintf("%s: samples = %d, but the space has only %d configurations: all of them run", blk.Variant, want, len(out)))
			}
		} else {
			seen := map[string]bool{}
			for draws := 0; len(out) < want && draws < 100*want+1000; draws++ {
				c := samplePoint(axes, rng)
				k := canonical(c.params)
				if seen[k] || excluded(c) {
					continue
				}
				seen[k] = true
				out = append(out, c)
			}
		}
		if len(out) < want && !finite {
			notes = append(notes, fmt.Sprintf("%s: only %d distinct configurations found for samples = %d", blk.Variant, len(out), want))
		}
		total = len(out)
		if len(out) > limit {
			out = out[:limit]
		}
	}
	// include entries: fixed values, expanded over the axes they leave open
	for _, pt := range blk.Include {
		var open []*axis
		for _, a := range axes {
			covered := true
			for _, n := range a.names {
				if _, ok := pt.Values[n]; !ok {
					covered = false
				}
			}
			if !covered && a.dist == nil {
				open = append(open, a)
			}
		}
		n, _ := spaceSize(open)
		for idx := 0; idx < n; idx++ {
			c := pointAt(open, idx)
			// constants of the block and the included values
			for _, a := range axes {
				if a.dist == nil && a.size() == 1 {
					for j, name := range a.names {
						if _, ok := c.params[name]; !ok {
							c.params[name] = a.points[0][j]
							c.origin[name] = a.paths[j]
						}
					}
				}
			}
			for _, name := range pt.Names {
				c.params[name] = pt.Values[name]
				c.origin[name] = joinPath(pt.Path, name)
			}
			total++
			out = append(out, c)
		}
	}
	return out, total, notes
}

func blockSalt(bi int, variant string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", bi, variant)
	return h.Sum64()
}

// spaceSize is the number of points of the finite axes' product, and
// whether every axis is finite (and the product fits).
func spaceSize(axes []*axis) (int, bool) {
	n := 1
	for _, a := range axes {
		if a.dist != nil {
			return 0, false
		}
		if a.size() == 0 {
			return 0, true
		}
		if n > math.MaxInt64/2/a.size() {
			return math.MaxInt64, false
		}
		n *= a.size()
	}
	return n, true
}

// pointAt decodes a mixed-radix index: the last axis varies fastest.
func pointAt(axes []*axis, idx int) config {
	c := config{params: map[string]any{}, origin: map[string]string{}}
	for i := len(axes) - 1; i >= 0; i-- {
		a := axes[i]
		k := idx % a.size()
		idx /= a.size()
		for j, name := range a.names {
			c.params[name] = a.points[k][j]
			c.origin[name] = a.origin(j, k)
		}
	}
	return c
}

// origin is the key path of the k-th point's value of names[j].
func (a *axis) origin(j, k int) string {
	if a.listed {
		return indexPath(a.elems[j], k)
	}
	return a.paths[j]
}

func samplePoint(axes []*axis, rng *rand.Rand) config {
	c := config{params: map[string]any{}, origin: map[string]string{}}
	for _, a := range axes {
		if a.dist != nil {
			c.params[a.names[0]] = sample(a.dist, rng)
			c.origin[a.names[0]] = a.paths[0]
			continue
		}
		k := rng.IntN(a.size())
		for j, name := range a.names {
			c.params[name] = a.points[k][j]
			c.origin[name] = a.origin(j, k)
		}
	}
	return c
}

// sample draws one value from a distribution.
func sample(d *Dist, rng *rand.Rand) any {
	u := rng.Float64()
	switch d.Kind {
	case "int_uniform":
		step := 1.0
		if d.Q > 0 {
			step = d.Q
		}
		n := math.Floor((d.Max-d.Min)/step) + 1
		return int64(d.Min + math.Floor(u*n)*step)
	case "log_uniform":
		v := math.Exp(math.Log(d.Min) + u*(math.Log(d.Max)-math.Log(d.Min)))
		return quantize(v, d)
	default:
		return quantize(d.Min+u*(d.Max-d.Min), d)
	}
}

func quantize(v float64, d *Dist) float64 {
	if d.Q > 0 {
		v = math.Round(v/d.Q) * d.Q
		v = math.Max(d.Min, math.Min(d.Max, v))
		return roundSig(v, 10)
	}
	return roundSig(v, 5)
}

// matches reports whether a configuration has every value of an exclude entry.
func matches(c config, pt Point) bool {
	for _, n := range pt.Names {
		v, ok := c.params[n]
		if !ok || canonical(v) != canonical(pt.Values[n]) {
			return false
		}
	}
	return true
}
