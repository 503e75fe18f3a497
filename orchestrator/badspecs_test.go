package orchestrator

import "testing"

// badSpecs are malformed specs and the exact error each must give. The
// end-to-end test runs them through `aexp sweep` too (exit 2, store unchanged).
var badSpecs = []struct {
	name, text, want string
}{
	{"syntax", "name = \"x\"\nvariant = \"dense\"\n[params]\nlr = [1e-3,\n", `bad.toml:4: params.lr: TOML syntax: unexpected EOF; expected value`},
	{"missing name", "variant = \"dense\"\n", `bad.toml:1: name: missing: every sweep needs a name (e.g. name = "dense-grid"); it is the key that resumes the sweep`},
	{"missing variant", "name = \"x\"\n", `bad.toml:1: variant: missing: set variant = "dense" (or another plugin), or add [[variants]] blocks to compare families`},
	{"unknown top key", "name = \"x\"\nvariant = \"dense\"\nepochs = 3\n", `bad.toml:3: epochs: unknown key "epochs" (it belongs in [budget])`},
	{"typo in table", "name = \"x\"\nvariant = \"dense\"\n[budget]\nepoch = 3\n", `bad.toml:4: budget.epoch: unknown key "epoch" (did you mean "epochs"?)`},
	{"unknown table", "name = \"x\"\nvariant = \"dense\"\n[early_stopping]\nmethod = \"asha\"\n", `bad.toml:3: early_stopping: unknown key "early_stopping" (did you mean "early_stop"?)`},
	{"wrong type", "name = \"x\"\nvariant = \"dense\"\n[budget]\nepochs = \"5\"\n", `bad.toml:4: budget.epochs: expected an integer, got string "5"`},
	{"float for int", "name = \"x\"\nvariant = \"dense\"\n[budget]\nbatch_size = 128.0\n", `bad.toml:4: budget.batch_size: expected an integer, got float 128 (write it without a decimal point)`},
	{"out of range", "name = \"x\"\nvariant = \"dense\"\n[budget]\nepochs = 0\n", `bad.toml:4: budget.epochs: must be between 1 and 1000000 (got 0)`},
	{"bad method", "name = \"x\"\nvariant = \"dense\"\n[search]\nmethod = \"gird\"\n", `bad.toml:4: search.method: "gird" is not one of "grid", "random" or "tpe" (did you mean "grid"?)`},
	{"bad goal", "name = \"x\"\nvariant = \"dense\"\n[objective]\ngoal = \"min\"\n", `bad.toml:4: objective.goal: "min" is not one of "minimize" or "maximize" (did you mean "minimize"?)`},
	{"threads zero", "name = \"x\"\nvariant = \"dense\"\n[budget]\nthreads = 0\n", `bad.toml:4: budget.threads: must be between 1 and 1024 (got 0)`},
	{"bad timeout", "name = \"x\"\nvariant = \"dense\"\n[budget]\ntimeout = \"10 minutes\"\n", `bad.toml:4: budget.timeout: "10 minutes" is not a duration (write e.g. "90s", "10m", "1h30m")`},
	{"timeout as int", "name = \"x\"\nvariant = \"dense\"\n[budget]\ntimeout = 600\n", `bad.toml:4: budget.timeout: expected a duration string such as "10m", got integer 600`},
	{"empty axis", "name = \"x\"\nvariant = \"dense\"\n[params]\ncode = []\n", `bad.toml:4: params.code: empty list: a list is an axis and needs at least one value (a list-typed parameter is written as a list of lists, e.g. [[512, 256]])`},
	{"min above max", "name = \"x\"\nvariant = \"dense\"\n[search]\nmethod = \"random\"\nsamples = 3\n[params]\nlr = { distribution = \"uniform\", min = 0.1, max = 0.01 }\n", `bad.toml:7: params.lr.min: min must be below max (got min 0.1, max 0.01)`},
	{"log uniform zero", "name = \"x\"\nvariant = \"dense\"\n[search]\nmethod = \"random\"\nsamples = 3\n[params]\nlr = { distribution = \"log_uniform\", min = 0, max = 0.01 }\n", `bad.toml:7: params.lr.min: log_uniform needs min > 0 (got 0); bounds are values, not exponents`},
	{"unknown distribution", "name = \"x\"\nvariant = \"dense\"\n[search]\nmethod = \"random\"\nsamples = 3\n[params]\nlr = { distribution = \"normal\", min = 0, max = 1 }\n", `bad.toml:7: params.lr.distribution: unknown distribution "normal" (use constant, categorical, uniform, int_uniform, log_uniform, q_uniform or q_log_uniform)`},
	{"continuous in grid", "name = \"x\"\nvariant = \"dense\"\n[params]\nlr = { distribution = \"log_uniform\", min = 1e-4, max = 1e-2 }\n", `bad.toml:4: params.lr: log_uniform is a continuous distribution: it needs method = "random" in [search] (or give a list of values for a grid)`},
	{"random without samples", "name = \"x\"\nvariant = \"dense\"\n[search]\nmethod = \"random\"\n[params]\ncode = [1, 2]\n", `bad.toml:4: search.samples: random search needs samples = N (configurations per variant) or a run_cap`},
	{"zip lengths", "name = \"x\"\nvariant = \"dense\"\n[[zip]]\nhidden = [[128], [256]]\nlr = [1e-3]\n", `bad.toml:5: zip[0].lr: has 1 value but hidden has 2; zipped lists must be equally long`},
	{"zip and params", "name = \"x\"\nvariant = \"dense\"\n[params]\nlr = 1e-3\n[[zip]]\nhidden = [[128], [256]]\nlr = [1e-3, 3e-4]\n", `bad.toml:7: zip[0].lr: lr is also set at params.lr; a parameter is either zipped or set on its own`},
	{"exclude unknown", "name = \"x\"\nvariant = \"dense\"\n[params]\ncode = [1, 2]\n[[exclude]]\ncod = 1\n", `bad.toml:6: exclude[0].cod: cod is not a parameter of this sweep, so nothing can match`},
	{"exclude unknown across variants", "name = \"x\"\n[[exclude]]\nnoise = \"gauss\"\nbeta = 2.0\n[[variants]]\nname = \"dense\"\n[[variants]]\nname = \"denoise\"\nparams = { noise = [\"gauss\", \"dropout\"] }\n", `bad.toml:4: exclude[0].beta: beta is not a parameter of any variant block, so nothing can match`},
	{"variant and variants", "name = \"x\"\nvariant = \"dense\"\n[[variants]]\nname = \"vae\"\n", `bad.toml:2: variant: use either variant = "..." or [[variants]] blocks, not both`},
	{"variants without name", "name = \"x\"\n[[variants]]\nparams = { code = 2 }\n", `bad.toml:2: variants[0]: missing name: each [[variants]] block names its variant, e.g. name = "vae"`},
	{"nested too deep", "name = \"x\"\nvariant = \"dense\"\n[params]\nhidden = [[[1]]]\n", `bad.toml:4: params.hidden[0]: lists nest too deep: an axis of list values is a list of lists, e.g. [[512, 256], [256]]`},
	{"duplicate seed", "name = \"x\"\nvariant = \"dense\"\n[budget]\nseeds = [0, 1, 0]\n", `bad.toml:4: budget.seeds[2]: seed 0 is listed twice`},
	{"unknown dataset", "name = \"x\"\nvariant = \"dense\"\ndataset = \"mnst\"\n", `bad.toml:3: dataset: unknown dataset "mnst" (use "mnist", "sines", "csv:PATH" or "idx:PATH")`},
	{"missing csv", "name = \"x\"\nvariant = \"dense\"\ndataset = \"csv:nope.csv\"\n", `bad.toml:3: dataset: nope.csv: no such file (relative paths are relative to the spec's folder)`},
	{"asha on final metric", "name = \"x\"\nvariant = \"dense\"\n[objective]\nmetric = \"test_mse\"\n[early_stop]\nmethod = \"asha\"\n", `bad.toml:6: early_stop.method: asha prunes on per-epoch reports, but objective.metric "test_mse" is only reported at the end (use e.g. "val_loss")`},
	{"nan value", "name = \"x\"\nvariant = \"dense\"\n[params]\nlr = nan\n", `bad.toml:4: params.lr: NaN is not allowed as a parameter value`},
	{"unclosed header", "name = \"x\"\nvariant = \"dense\"\n[objective\nmetric = \"val_loss\"\n", `bad.toml:3: objective: unclosed table header [objective: end it with ] (as in [objective])`},
	{"duplicate key", "name = \"x\"\nvariant = \"dense\"\n[params]\nlr = 1\nlr = 2\n", `bad.toml:5: params.lr: TOML syntax: Key 'params.lr' has already been defined.`},
	{"tpe option with random", "name = \"x\"\nvariant = \"dense\"\n[search]\nmethod = \"random\"\nsamples = 4\nstartup = 2\n", `bad.toml:6: search.startup: applies to method = "tpe" only`},
	{"tpe without samples", "name = \"x\"\nvariant = \"dense\"\n[search]\nmethod = \"tpe\"\n", `bad.toml:4: search.samples: tpe search needs samples = N (configurations to try, in all) or a run_cap`},
	{"tpe startup not below samples", "name = \"x\"\nvariant = \"dense\"\n[search]\nmethod = \"tpe\"\nsamples = 8\nstartup = 8\n", `bad.toml:6: search.startup: is 8 but samples is 8: the model would never propose; lower startup`},
	{"tpe multivariate not bool", "name = \"x\"\nvariant = \"dense\"\n[search]\nmethod = \"tpe\"\nsamples = 20\nmultivariate = \"yes\"\n", `bad.toml:6: search.multivariate: expected true or false, got string "yes"`},
	{"tpe candidates zero", "name = \"x\"\nvariant = \"dense\"\n[search]\nmethod = \"tpe\"\nsamples = 20\ncandidates = 0\n", `bad.toml:6: search.candidates: must be between 1 and 10000 (got 0)`},
	{"tpe include", "name = \"x\"\nvariant = \"dense\"\n[search]\nmethod = \"tpe\"\nsamples = 20\n[params]\ncode = [2, 4]\n[[include]]\ncode = 8\n", `bad.toml:8: include[0]: include entries are not used by method = "tpe" (the model chooses every configuration); remove them or use method = "random"`},
	{"everything excluded", "name = \"x\"\nvariant = \"dense\"\n[params]\ncode = 1\n[[exclude]]\ncode = 1\n", `bad.toml:5: exclude[0]: the exclude entries leave no configuration of dense to run`},
}

func TestBadSpecs(t *testing.T) {
	for _, c := range badSpecs {
		t.Run(c.name, func(t *testing.T) {
			sp, err := Parse("bad.toml", []byte(c.text))
			if err == nil {
				_, err = Expand(sp)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !IsSpecError(err) {
				t.Fatalf("not a spec error: %v", err)
			}
			if err.Error() != c.want {
				t.Errorf("error\n got: %s\nwant: %s", err, c.want)
			}
		})
	}
}

// BadSpecTable exports the table to the end-to-end tests (name, text, want).
func BadSpecTable() [][3]string {
	out := make([][3]string, len(badSpecs))
	for i, c := range badSpecs {
		out[i] = [3]string{c.name, c.text, c.want}
	}
	return out
}
