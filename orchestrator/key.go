package orchestrator

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// canonical encodes a value as canonical JSON: map keys sorted (encoding/json
// sorts them), numbers in their shortest form, so 1e-3 and 0.001 agree.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// values are checked for NaN/Inf when parsed; this is a bug
		panic(fmt.Sprintf("orchestrator: canonical JSON: %v", err))
	}
	return string(b)
}

// RunKey is the deterministic identity of a run: a hash of the variant, the
// canonical params, the seed, the dataset and what decides the training
// (epochs, batch size, example limits). Running a spec again finds its runs
// by these keys.
func RunKey(r *Run) string {
	id := struct {
		Variant    string         `json:"variant"`
		Params     map[string]any `json:"params"`
		Seed       uint64         `json:"seed"`
		Dataset    string         `json:"dataset"`
		Epochs     int            `json:"epochs"`
		BatchSize  int            `json:"batch_size"`
		TrainLimit int            `json:"train_limit"`
		TestLimit  int            `json:"test_limit"`
	}{r.Variant, r.Params, r.Seed, r.Dataset, r.Epochs, r.BatchSize, r.TrainLimit, r.TestLimit}
	sum := sha256.Sum256([]byte(canonical(id)))
	return hex.EncodeToString(sum[:8])
}

// Hash is the spec's identity: everything that decides which runs exist and
// what they compute. Budget fields (run_cap, samples, parallel, threads, timeout,
// attempts, the objective's target, checkpoint keeping) and the description
// are left out, so they may change between invocations of a sweep; anything
// else changing means the stored runs belong to a different experiment.
func (s *Spec) Hash() string {
	sum := sha256.Sum256([]byte(canonical(s.identity())))
	return hex.EncodeToString(sum[:])
}

func (s *Spec) identity() map[string]any {
	blocks := make([]any, len(s.Blocks))
	for i, b := range s.Blocks {
		params := map[string]any{}
		for _, p := range b.Params {
			if p.Dist != nil {
				params[p.Name] = map[string]any{"dist": p.Dist.Kind, "min": p.Dist.Min, "max": p.Dist.Max, "q": p.Dist.Q}
			} else {
				params[p.Name] = p.Values
			}
		}
		var zips, inc, exc []any
		for _, z := range b.Zips {
			zips = append(zips, map[string]any{"names": z.Names, "points": z.Points})
		}
		for _, pt := range b.Include {
			inc = append(inc, pt.Values)
		}
		for _, pt := range b.Exclude {
			exc = append(exc, pt.Values)
		}
		blocks[i] = map[string]any{"variant": b.Variant, "params": params, "order": paramOrder(b), "zip": zips, "include": inc, "exclude": exc}
	}
	return map[string]any{
		"name":       s.Name,
		"dataset":    s.Dataset,
		"objective":  []string{s.Objective.Metric, s.Objective.Goal},
		"search":     map[string]any{"method": s.Search.Method, "seed": s.Search.Seed},
		"budget":     map[string]any{"epochs": s.Budget.Epochs, "batch_size": s.Budget.BatchSize, "seeds": s.Budget.Seeds, "train_limit": s.Budget.TrainLimit, "test_limit": s.Budget.TestLimit},
		"early_stop": s.EarlyStop,
		"blocks":     blocks,
	}
}

// Changes lists what differs between the spec old and s, one entry per
// field with its old and new value ("budget.epochs: 5 → 3",
// "params.lr: [0.001, 0.003] → 0.001"), for the message that refuses to
// resume a changed sweep. It covers exactly what Hash covers.
func (s *Spec) Changes(old *Spec) []string {
	var out []string
	diff := func(path string, was, now any) {
		if canonical(was) != canonical(now) {
			out = append(out, fmt.Sprintf("%s: %s → %s", path, describeSetting(was), describeSetting(now)))
		}
	}
	diff("dataset", old.Dataset, s.Dataset)
	diff("objective.metric", old.Objective.Metric, s.Objective.Metric)
	diff("objective.goal", old.Objective.Goal, s.Objective.Goal)
	diff("search.method", old.Search.Method, s.Search.Method)
	diff("search.seed", old.Search.Seed, s.Search.Seed)
	ob, nb := old.Budget, s.Budget
	diff("budget.epochs", ob.Epochs, nb.Epochs)
	diff("budget.batch_size", ob.BatchSize, nb.BatchSize)
	diff("budget.seeds", ob.Seeds, nb.Seeds)
	diff("budget.train_limit", ob.TrainLimit, nb.TrainLimit)
	diff("budget.test_limit", ob.TestLimit, nb.TestLimit)
	oe, ne := old.EarlyStop, s.EarlyStop
	diff("early_stop.method", oe.Method, ne.Method)
	diff("early_stop.grace_epochs", oe.GraceEpochs, ne.GraceEpochs)
	diff("early_stop.reduction", oe.Reduction, ne.Reduction)
	diff("early_stop.min_runs", oe.MinRuns, ne.MinRuns)
	if len(s.Blocks) != len(old.Blocks) {
		return append(out, fmt.Sprintf("variants: %s → %s", blockNames(old.Blocks), blockNames(s.Blocks)))
	}
	oldIDs, newIDs := old.identity()["blocks"].([]any), s.identity()["blocks"].([]any)
	for i, nb := range s.Blocks {
		ob := old.Blocks[i]
		if ob.Variant != nb.Variant {
			diff(joinPath(blockPrefix(nb), "name"), ob.Variant, nb.Variant)
			continue
		}
		pre := blockPrefix(nb)
		op, np := blockParams(ob), blockParams(nb)
		for _, k := range slices.Sorted(maps.Keys(union(op, np))) {
			diff(joinPath(pre, "params."+k), op[k], np[k])
		}
		if canonical(paramOrder(ob)) != canonical(paramOrder(nb)) && canonical(op) == canonical(np) {
			out = append(out, fmt.Sprintf("%s: %s → %s", joinPath(pre, "params (their order, the grid's order)"),
				strings.Join(paramOrder(ob), ", "), strings.Join(paramOrder(nb), ", ")))
		}
		oid, nid := oldIDs[i].(map[string]any), newIDs[i].(map[string]any)
		for _, k := range []string{"zip", "include", "exclude"} {
			diff(joinPath(pre, k), oid[k], nid[k])
		}
	}
	return out
}

// blockPrefix is where a block's keys are written: "" for variant = "x",
// "variants[i]" for a [[variants]] block.
func blockPrefix(b *Block) string {
	if b.Path == "variant" {
		return ""
	}
	return b.Path
}

func blockNames(bs []*Block) string {
	names := make([]string, len(bs))
	for i, b := range bs {
		names[i] = b.Variant
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// blockParams is a block's params as written: a constant as its value, an
// axis as its list of values, a distribution as its description.
func blockParams(b *Block) map[string]any {
	out := map[string]any{}
	for _, p := range b.Params {
		switch {
		case p.Dist != nil:
			out[p.Name] = p.Dist.String()
		case len(p.Values) == 1:
			out[p.Name] = p.Values[0]
		default:
			out[p.Name] = p.Values
		}
	}
	return out
}

func union(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// describeSetting prints a spec value for the changed-spec message: nil as
// "(not set)", lists with spaces, strings bare.
func describeSetting(v any) string {
	switch t := v.(type) {
	case nil:
		return "(not set)"
	case string:
		return t
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = formatValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []uint64:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = fmt.Sprint(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case int, int64, uint64, float64, bool:
		return formatValue(t)
	}
	return canonical(v)
}

func paramOrder(b *Block) []string {
	var names []string
	for _, p := range b.Params {
		names = append(names, p.Name)
	}
	for _, z := range b.Zips {
		names = append(names, z.Names...)
	}
	return names
}

// formatValue prints a parameter value compactly: 0.001, 10, "relu" as relu,
// lists as [512,256].
func formatValue(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case int64:
		return strconv.FormatInt(t, 10)
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = formatValue(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v)
}

// formatParams prints name=value pairs for the given names, in order.
func formatParams(params map[string]any, names []string) string {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		if v, ok := params[n]; ok {
			parts = append(parts, n+"="+formatValue(v))
		}
	}
	return strings.Join(parts, " ")
}

// roundSig rounds x to n significant digits, so sampled values print well
// (0.0031623 rather than 0.0031622776601683794).
func roundSig(x float64, n int) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', n, 64), 64)
	return f
}

// sortStrings is sort.Strings returning its argument.
func sortStrings(s []string) []string { sort.Strings(s); return s }
