package viz

import (
	"strings"

	"github.com/BurntSushi/toml"
)

// LogParams names the params a sweep spec samples on a log scale
// (distribution log_uniform, log_uniform_values or q_log_uniform, in
// [params] or any [[variants]] block's params), so their plots get log
// axes. A spec that does not parse gives none: the plots still draw.
func LogParams(spec string) map[string]bool {
	var raw map[string]any
	if _, err := toml.Decode(spec, &raw); err != nil {
		return nil
	}
	out := map[string]bool{}
	scan := func(params any) {
		m, _ := params.(map[string]any)
		for k, v := range m {
			if d, ok := v.(map[string]any); ok {
				if s, _ := d["distribution"].(string); strings.Contains(s, "log") {
					out[k] = true
				}
			}
		}
	}
	scan(raw["params"])
	if vs, ok := raw["variants"].([]map[string]any); ok {
		for _, v := range vs {
			scan(v["params"])
		}
	}
	return out
}
