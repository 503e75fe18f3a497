// Package orchestrator turns a TOML sweep spec into recorded runs.
//
// The pipeline, each step usable on its own:
//
//	spec, err := orchestrator.ParseFile("sweeps/vae.toml") // strict TOML; errors name file:line: key
//	plan, err := orchestrator.Expand(spec)                  // deterministic runs with run keys
//	checked, err := orchestrator.Check(ctx, plan, plugins)  // Describe each plugin, validate every run
//	eng := orchestrator.NewEngine(checked, db, orchestrator.Options{})
//	res, err := eng.Run(ctx)                                // pool of plugin processes, recorded in the store
//	orchestrator.WriteLeaderboard(ctx, os.Stdout, db, plan, res.SweepID)
//
// Problems with a spec come back as [SpecErrors] (every problem, in line
// order), so that callers can exit with status 2 before anything runs or is
// written. A spec's identity ([Spec.Hash]) leaves out budget fields, so a
// sweep can be resumed with more time, attempts or runs, but not with
// different runs unless the caller forces it ([Options.Force]).
//
// Lifecycle guarantees of [Engine.Run]: one plugin process per run attempt
// in its own process group (killed with the group when the run ends, times
// out, is pruned or canceled; dying with aexp); a run that crashes, breaks
// the protocol or is killed fails alone with its reason and stderr tail;
// cancelling ctx marks running runs canceled and leaves the store
// consistent; runs left running by a dead aexp are reclaimed at the next
// start.
package orchestrator
