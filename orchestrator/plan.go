package orchestrator

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// paramNames returns a block's parameter names in spec order, then names
// that only include entries set.
func (p *Plan) paramNames(block int) []string {
	names := paramOrder(p.Spec.Blocks[block])
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	var extra []string
	for _, r := range p.Runs {
		if r.Block != block {
			continue
		}
		for n := range r.Params {
			if !have[n] {
				have[n] = true
				extra = append(extra, n)
			}
		}
	}
	return append(names, sortStrings(extra)...)
}

// Varying returns, per block, the parameters whose values differ between
// the block's runs (in spec order), and the constant ones.
func (p *Plan) Varying(block int) (varying, constant []string) {
	if p.tpe != nil {
		// the model may propose any value of a searched dimension
		searched := map[string]bool{}
		for _, d := range p.tpe.dims[block] {
			if d.zip != nil {
				for _, n := range d.zip.Names {
					searched[n] = true
				}
			} else {
				searched[d.ps.Name] = true
			}
		}
		for _, n := range p.paramNames(block) {
			if searched[n] {
				varying = append(varying, n)
			} else {
				constant = append(constant, n)
			}
		}
		return varying, constant
	}
	for _, n := range p.paramNames(block) {
		first, same, set := "", true, false
		for _, r := range p.Runs {
			if r.Block != block {
				continue
			}
			v, ok := r.Params[n]
			c := "\x00unset"
			if ok {
				c = canonical(v)
			}
			if !set {
				first, set = c, true
			} else if c != first {
				same = false
			}
		}
		if same {
			constant = append(constant, n)
		} else {
			varying = append(varying, n)
		}
	}
	return varying, constant
}

// VaryingAll returns the parameters whose values differ anywhere in the
// plan (a parameter set in one variant block and not in another counts), in
// spec order.
func (p *Plan) VaryingAll() []string {
	var names []string
	seen := map[string]bool{}
	for bi := range p.Spec.Blocks {
		for _, n := range p.paramNames(bi) {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	searched := map[string]bool{} // tpe: the model may vary what the startup runs did not
	for bi := range p.Spec.Blocks {
		if p.tpe != nil {
			v, _ := p.Varying(bi)
			for _, n := range v {
				searched[n] = true
			}
		}
	}
	var out []string
	for _, n := range names {
		if searched[n] {
			out = append(out, n)
			continue
		}
		first, set := "", false
		for _, r := range p.Runs {
			c := "\x00unset"
			if v, ok := r.Params[n]; ok {
				c = canonical(v)
			}
			if !set {
				first, set = c, true
			} else if c != first {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// Write prints the plan for people: a header with the sweep's settings and
// one line per run with the parameters that vary.
func (p *Plan) Write(w io.Writer) error {
	s := p.Spec
	bw := &errWriter{w: w}
	fmt.Fprintf(bw, "sweep %s (%s)\n", s.Name, s.File)
	if s.Description != "" {
		fmt.Fprintf(bw, "  %s\n", s.Description)
	}
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	if sets := s.Sets(); len(sets) > 0 {
		fmt.Fprintf(tw, "  overrides\t%s\n", strings.Join(sets, " "))
	}
	search := s.Search.Method
	switch s.Search.Method {
	case "random":
		search += fmt.Sprintf(" (%d samples per variant)", s.Search.Samples)
	case "tpe":
		model := "multivariate"
		if !s.Search.Multivariate {
			model = "univariate"
		}
		search += fmt.Sprintf(" (%s, %d startup, %d candidates)", model, s.Search.Startup, s.Search.Candidates)
	}
	fmt.Fprintf(tw, "  search\t%s, seed %d: %s × %s", search, s.Search.Seed, plural(p.Configs, "configuration"), plural(len(s.Budget.Seeds), "seed"))
	switch {
	case p.tpe != nil:
		fmt.Fprintf(tw, " = %s, %d of them planned below\n", plural(p.Total, "run"), len(p.Runs))
	case len(p.Runs) < p.Total && s.Search.RunCap > 0 && len(p.Runs) == s.Search.RunCap:
		fmt.Fprintf(tw, " = %d runs, capped at %d by run_cap\n", p.Total, len(p.Runs))
	case len(p.Runs) != p.Total:
		fmt.Fprintf(tw, ": %s (duplicates dropped)\n", plural(len(p.Runs), "run"))
	default:
		fmt.Fprintf(tw, " = %s\n", plural(len(p.Runs), "run"))
	}
	fmt.Fprintf(tw, "  dataset\t%s", s.Dataset)
	if s.Budget.TrainLimit > 0 || s.Budget.TestLimit > 0 {
		fmt.Fprintf(tw, " (train_limit %d, test_limit %d)", s.Budget.TrainLimit, s.Budget.TestLimit)
	}
	fmt.Fprintln(tw)
	par := "(number of cores)"
	if s.Budget.Parallel > 0 {
		par = fmt.Sprint(s.Budget.Parallel)
	}
	if s.Budget.Threads > 0 {
		par += fmt.Sprintf(", threads %d", s.Budget.Threads)
	}
	timeout := "none"
	if s.Budget.Timeout > 0 {
		timeout = fmtDuration(s.Budget.Timeout)
	}
	fmt.Fprintf(tw, "  budget\tepochs %d, batch_size %d, parallel %s, timeout %s, attempts %d, seeds %s\n",
		s.Budget.Epochs, s.Budget.BatchSize, par, timeout, s.Budget.Attempts, formatSeeds(s.Budget.Seeds))
	obj := s.Objective.Goal + " " + s.Objective.Metric
	if s.Objective.Target != nil {
		obj += fmt.Sprintf(" (stop the sweep at %g)", *s.Objective.Target)
	}
	fmt.Fprintf(tw, "  objective\t%s\n", obj)
	switch s.EarlyStop.Method {
	case "none":
		fmt.Fprintf(tw, "  early stop\tnone\n")
	case "median":
		fmt.Fprintf(tw, "  early stop\tmedian rule from epoch %d (at least %d other runs)\n", s.EarlyStop.GraceEpochs, s.EarlyStop.MinRuns)
	case "asha":
		fmt.Fprintf(tw, "  early stop\tasha: rungs at epochs %s, keep the best 1/%d\n", formatInts(ashaRungs(s.EarlyStop, s.Budget.Epochs)), s.EarlyStop.Reduction)
	}
	fmt.Fprintf(tw, "  checkpoints\tkeep %s\n", s.Keep)
	for bi, blk := range s.Blocks {
		_, constant := p.Varying(bi)
		first := p.firstRun(bi)
		if first == nil {
			continue
		}
		fmt.Fprintf(tw, "  %s\tconstants: %s\n", blk.Variant, orNone(formatParams(first.Params, constant)))
	}
	fmt.Fprintf(tw, "  spec hash\t%s\n", s.Hash()[:16])
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(bw)
	// # is a position: run ids are given by the store when the sweep
	// records the runs (and continue from its earlier sweeps).
	fmt.Fprintln(bw, "runs in start order (# is a position, not a run id: aexp sweep numbers runs as it records them; KEY is a run's identity, runs.run_key in the store)")
	tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tKEY\tVARIANT\tSEED\tPARAMS")
	vary := make([][]string, len(s.Blocks))
	for bi := range s.Blocks {
		vary[bi], _ = p.Varying(bi)
	}
	for _, r := range p.Runs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", r.Index+1, r.Key, r.Variant, r.Seed, orNone(formatParams(r.Params, vary[r.Block])))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range p.Notes {
		fmt.Fprintf(bw, "note: %s\n", n)
	}
	return bw.err
}

func (p *Plan) firstRun(block int) *Run {
	for _, r := range p.Runs {
		if r.Block == block {
			return r
		}
	}
	return nil
}

// WriteJSON prints the plan for scripts.
func (p *Plan) WriteJSON(w io.Writer) error {
	type jrun struct {
		Index   int            `json:"index"`
		Key     string         `json:"key"`
		Variant string         `json:"variant"`
		Seed    uint64         `json:"seed"`
		Dataset string         `json:"dataset"`
		Params  map[string]any `json:"params"`
	}
	out := struct {
		Name     string `json:"name"`
		File     string `json:"file"`
		SpecHash string `json:"spec_hash"`
		Total    int    `json:"total"`
		Runs     []jrun `json:"runs"`
	}{Name: p.Spec.Name, File: p.Spec.File, SpecHash: p.Spec.Hash(), Total: p.Total}
	for _, r := range p.Runs {
		out.Runs = append(out.Runs, jrun{r.Index + 1, r.Key, r.Variant, r.Seed, r.Dataset, r.Params})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func formatSeeds(seeds []uint64) string {
	parts := make([]string, len(seeds))
	for i, s := range seeds {
		parts[i] = fmt.Sprint(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func formatInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ", ")
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

// fmtDuration prints 20m rather than 20m0s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
