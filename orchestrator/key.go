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

// Changes lists the identity fields that differ between two specs, for the
// message that refuses to resume a changed sweep.
func (s *Spec) Changes(old *Spec) []string {
	a, b := s.identity(), old.identity()
	var out []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if k == "blocks" {
			continue
		}
		if canonical(a[k]) != canonical(b[k]) {
			out = append(out, k)
		}
	}
	if len(s.Blocks) != len(old.Blocks) {
		out = append(out, "variants")
		return out
	}
	for i := range s.Blocks {
		na, nb := s.Blocks[i], old.Blocks[i]
		if na.Variant != nb.Variant {
			out = append(out, na.Path)
			continue
		}
		ba := a["blocks"].([]any)[i].(map[string]any)
		bb := b["blocks"].([]any)[i].(map[string]any)
		pa, pb := ba["params"].(map[string]any), bb["params"].(map[string]any)
		names := map[string]bool{}
		for k := range pa {
			names[k] = true
		}
		for k := range pb {
			names[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(names)) {
			if canonical(pa[k]) != canonical(pb[k]) {
				out = append(out, "params."+k)
			}
		}
		for _, k := range []string{"zip", "include", "exclude"} {
			if canonical(ba[k]) != canonical(bb[k]) {
				out = append(out, k)
			}
		}
	}
	return out
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
