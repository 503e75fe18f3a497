// Package search holds the model-based samplers of aexp's sweeps. It is
// pure: a sampler is handed a search space and the history of trials
// (finished, pruned and in flight) and returns the next configuration. It
// never reads the store, so the store's history is the sampler's whole
// state and a sweep resumes with exactly the proposals it would have made.
//
// The sampler is the Tree-structured Parzen Estimator (Bergstra et al.
// 2011) in the form Optuna's TPESampler uses: observations are split into
// the best gamma(n) ("below") and the rest ("above"); each side becomes a
// Parzen estimator (a weighted mixture of truncated Gaussians around the
// observations plus a prior component over the whole range; categorical
// parameters get smoothed frequency tables); candidates are drawn from the
// "below" estimator and the one maximising l(x)/g(x) is proposed.
package search
