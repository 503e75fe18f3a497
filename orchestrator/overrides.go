package orchestrator

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Command-line overrides, as Hydra users know them:
//
//	aexp sweep spec.toml --set lr=3e-4 --set 'hidden=[[256, 32]]' --set budget.epochs=2
//
// WithSets appends them to the spec's text as a [set] table, and Parse
// applies a [set] table on top of the rest of the file. So the text stored
// with the sweep says exactly what ran, and parsing it again (to resume,
// or to tell what changed) gives the same spec.
//
// A KEY is a parameter (lr: replaced wherever the spec sets it — [params]
// and every [[variants]] block's params — or added to [params]), one of
// the top-level keys name, description, variant and dataset, or a dotted
// key path as in error messages (budget.epochs, variants[1].params.latent,
// zip[0].lr). A VALUE is a TOML value (3e-4, [1e-3, 3e-3], "relu"); a bare
// word such as relu is taken as a string.

// setTable is the table that holds overrides in a spec.
const setTable = "set"

// setHeader introduces the [set] table WithSets appends.
const setHeader = "\n\n# aexp --set: each key below replaces what the spec above says\n[" + setTable + "]\n"

// WithSets returns text with the overrides appended as a [set] table, and
// for each of its lines the --set flag it came from (for error messages).
// A later --set of the same key replaces an earlier one.
func WithSets(text []byte, sets []string) ([]byte, map[int]string, error) {
	if len(sets) == 0 {
		return text, nil, nil
	}
	var keys []string
	vals := map[string]string{}
	flags := map[string]string{}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, nil, &SpecError{File: "--set " + s, Msg: "want KEY=VALUE, e.g. --set lr=3e-4 or --set budget.epochs=2"}
		}
		tv, err := tomlValue(strings.TrimSpace(v))
		if err != nil {
			return nil, nil, &SpecError{File: "--set " + s, Key: k, Msg: err.Error()}
		}
		if _, seen := vals[k]; !seen {
			keys = append(keys, k)
		}
		vals[k], flags[k] = tv, "--set "+s
	}
	out := strings.TrimRight(string(text), "\n") + setHeader
	line := strings.Count(out, "\n") + 1
	labels := map[int]string{}
	for _, k := range keys {
		out += strconv.Quote(k) + " = " + vals[k] + "\n"
		labels[line] = flags[k]
		line++
	}
	return []byte(out), labels, nil
}

// Sets returns the --set flags the spec was loaded with, in order.
func (s *Spec) Sets() []string {
	var out []string
	for _, line := range slices.Sorted(maps.Keys(s.labels)) {
		out = append(out, s.labels[line])
	}
	return out
}

// tomlValue returns v as TOML value text: v itself when it is one, v quoted
// when it is a bare word.
func tomlValue(v string) (string, error) {
	var probe map[string]any
	if _, err := toml.Decode("v = "+v, &probe); err == nil {
		return v, nil
	}
	if bareWord.MatchString(v) {
		return strconv.Quote(v), nil
	}
	return "", fmt.Errorf("%s is not a TOML value (numbers as 3e-4, lists as [1, 2], lists of lists as [[256, 32]], strings as relu or \"a b\")", strconv.Quote(v))
}

var bareWord = regexp.MustCompile(`^[A-Za-z0-9_.:/+-]+$`)

// topScalars are the top-level keys a bare --set KEY means.
var topScalars = []string{"name", "description", "variant", "dataset"}

// applySets applies a [set] table (removed from raw) to the decoded spec.
// Each changed key path is moved to its [set] entry's line in pos, so that
// errors about its value point at the override; errors about the
// overrides themselves go to l.
func (p *parser) applySets(raw map[string]any) {
	v, ok := raw[setTable]
	if !ok {
		return
	}
	delete(raw, setTable)
	set, ok := v.(map[string]any)
	if !ok {
		p.l.add(setTable, "expected a table of overrides, e.g. [set] with lr = 3e-4")
		return
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		// the scanner joins a quoted key's dots with the table's
		line, ok := p.spec.pos.lines[joinPath(setTable, k)]
		if !ok {
			line = p.spec.pos.line(setTable)
		}
		paths, msg := setKey(raw, k, set[k])
		if msg != "" {
			p.l.addAt(line, k, msg)
			continue
		}
		for _, path := range paths {
			p.spec.pos.move(path, line)
		}
	}
}

// setKey sets key (see WithSets) to v in raw and returns the key paths it
// changed, or why it cannot.
func setKey(raw map[string]any, key string, v any) ([]string, string) {
	if strings.ContainsAny(key, ".[") {
		return setPath(raw, key, v)
	}
	if slices.Contains(topScalars, key) {
		raw[key] = v
		return []string{key}, ""
	}
	// a parameter: wherever the spec sets it
	var paths []string
	if zips, ok := tableList(raw["zip"]); ok {
		for i, z := range zips {
			if _, ok := z[key]; ok {
				return nil, fmt.Sprintf("%s is zipped (zip[%d]): set the zipped list instead, e.g. --set 'zip[%d].%s=[...]'", key, i, i, key)
			}
		}
	}
	if vs, ok := tableList(raw["variants"]); ok {
		for i, b := range vs {
			if params, ok := b["params"].(map[string]any); ok {
				if _, ok := params[key]; ok {
					params[key] = v
					paths = append(paths, indexPath("variants", i)+".params."+key)
				}
			}
		}
	}
	params, _ := raw["params"].(map[string]any)
	if _, set := params[key]; !set && len(paths) > 0 {
		return paths, "" // only in [[variants]] blocks: replaced there
	}
	if _, given := raw["params"]; !given {
		params = map[string]any{}
		raw["params"] = params
	}
	if params == nil {
		return nil, "params is not a table"
	}
	params[key] = v
	return append(paths, "params."+key), ""
}

var segment = regexp.MustCompile(`^([A-Za-z0-9_-]+)(?:\[(\d+)\])?$`)

// setPath sets a dotted key path such as budget.epochs or
// variants[1].params.latent, creating tables on the way.
func setPath(raw map[string]any, path string, v any) ([]string, string) {
	parts := strings.Split(path, ".")
	m := raw
	for i, part := range parts {
		sm := segment.FindStringSubmatch(part)
		if sm == nil {
			return nil, fmt.Sprintf("%q is not a key path (write e.g. budget.epochs or variants[1].params.latent)", path)
		}
		name, last := sm[1], i == len(parts)-1
		if sm[2] != "" {
			list, ok := tableList(m[name])
			n, _ := strconv.Atoi(sm[2])
			if !ok || n >= len(list) {
				return nil, fmt.Sprintf("the spec has no %s[%s]", name, sm[2])
			}
			if last {
				return nil, fmt.Sprintf("set a key inside %s[%s], not the whole entry", name, sm[2])
			}
			m = list[n]
			continue
		}
		if last {
			m[name] = v
			return []string{path}, ""
		}
		next, ok := m[name].(map[string]any)
		if _, exists := m[name]; !exists {
			next, ok = map[string]any{}, true
			m[name] = next
		}
		if !ok {
			return nil, fmt.Sprintf("%s is not a table", strings.Join(parts[:i+1], "."))
		}
		m = next
	}
	return nil, "empty key"
}
