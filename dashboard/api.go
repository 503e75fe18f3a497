package dashboard

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/viz"
	"github.com/aexp/aexp/viz/vizstore"
)

// maxIDs is the most runs one request may name (curves, compare).
const maxIDs = 200

// bestConfigs is how many configurations a sweep page selects at first.
const bestConfigs = 5

func writeJSONStatus(w http.ResponseWriter, code int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encoding JSON: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

// num is a JSON-safe number: nil for NaN and ±Inf (encoding/json refuses them).
func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func finitePtr(p *float64) *float64 {
	if p == nil {
		return nil
	}
	return num(*p)
}

// SweepInfo is a sweep in /api/sweeps and /api/sweeps/ID.
type SweepInfo struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Objective   string         `json:"objective"`
	Goal        string         `json:"goal"`
	Status      string         `json:"status"`
	Created     time.Time      `json:"created"`
	Updated     time.Time      `json:"updated"`
	Finished    *time.Time     `json:"finished"`
	Runs        int            `json:"runs"`
	Counts      map[string]int `json:"counts"`
	BestRun     *int64         `json:"best_run"`
	BestValue   *float64       `json:"best_value"`
}

func (s *Server) sweepInfos(ctx context.Context) ([]SweepInfo, error) {
	sweeps, err := s.db.ListSweeps(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := s.db.StatusCounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]SweepInfo, 0, len(sweeps))
	for _, sw := range sweeps {
		in := infoOf(sw, counts[sw.ID])
		best, err := s.db.ListRuns(ctx, store.RunFilter{SweepID: sw.ID, OrderBy: "objective", Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(best) == 1 && finitePtr(best[0].BestObjective) != nil {
			in.BestRun, in.BestValue = &best[0].RunID, best[0].BestObjective
		}
		out = append(out, in)
	}
	return out, nil
}

func infoOf(sw store.Sweep, counts map[string]int) SweepInfo {
	in := SweepInfo{ID: sw.ID, Name: sw.Name, Description: sw.Description, Objective: sw.Objective, Goal: sw.Goal,
		Status: sw.Status, Created: sw.Created, Updated: sw.Updated, Finished: sw.Finished, Counts: map[string]int{}}
	for k, n := range counts {
		in.Counts[k] = n
		in.Runs += n
	}
	return in
}

func (s *Server) apiSweeps(w http.ResponseWriter, r *http.Request) {
	infos, err := s.sweepInfos(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, infos)
}

// sweepOf finds the sweep named by the URL's {id}: a number or a name.
func (s *Server) sweepOf(w http.ResponseWriter, r *http.Request) (store.Sweep, bool) {
	v := r.PathValue("id")
	if v == "" || len(v) > 200 {
		s.missing(w, r, "no such sweep")
		return store.Sweep{}, false
	}
	sw, err := s.db.GetSweep(r.Context(), v)
	if err != nil {
		s.fail(w, r, err)
		return store.Sweep{}, false
	}
	return sw, true
}

// RunRow is one run of /api/sweeps/ID: what the runs table shows.
type RunRow struct {
	ID        int64             `json:"id"`
	Status    string            `json:"status"`
	Variant   string            `json:"variant"`
	Seed      uint64            `json:"seed"`
	Params    []any             `json:"p"` // values of SweepData.Params, in that order (null: not set)
	Objective *float64          `json:"objective"`
	Final     *float64          `json:"final"`
	BestEpoch *int              `json:"best_epoch"`
	Epochs    int               `json:"epochs"`
	TestMSE   *float64          `json:"test_mse"`
	PCAMSE    *float64          `json:"pca_mse"`
	Error     string            `json:"error,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"` // aexp tag
}

// SweepData is /api/sweeps/ID: everything the sweep page draws but the curves.
type SweepData struct {
	Sweep     SweepInfo       `json:"sweep"`
	Counts    map[string]int  `json:"counts"`
	Best      *int64          `json:"best"`
	Params    []string        `json:"params"`    // the params that vary, sorted
	Constants map[string]any  `json:"constants"` // the params every run shares
	Variants  []string        `json:"variants"`
	Metrics   []string        `json:"metrics"`
	Runs      []RunRow        `json:"runs"`
	Selected  []int64         `json:"selected"` // the runs of the best configurations
	Charts    viz.SweepCharts `json:"charts"`
}

func (s *Server) sweepData(ctx context.Context, sw store.Sweep) (SweepData, error) {
	rows, err := s.db.SweepRuns(ctx, sw.ID, sw.Objective)
	if err != nil {
		return SweepData{}, err
	}
	metrics, err := s.db.MetricKeys(ctx, sw.ID)
	if err != nil {
		return SweepData{}, err
	}
	counts := map[string]int{}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		counts[r.Status]++
		ids[i] = r.ID
	}
	tags, err := s.db.Tags(ctx, ids)
	if err != nil {
		return SweepData{}, err
	}
	d := SweepData{Sweep: infoOf(sw, counts), Counts: counts, Metrics: metrics, Runs: make([]RunRow, len(rows)),
		Constants: map[string]any{}, Variants: []string{}, Selected: []int64{}}
	if d.Metrics == nil {
		d.Metrics = []string{}
	}
	vary, consts := varying(rows)
	d.Params, d.Constants = vary, consts
	variants := map[string]bool{}
	for i, r := range rows {
		p := make([]any, len(vary))
		for j, k := range vary {
			p[j] = r.Params[k]
		}
		d.Runs[i] = RunRow{ID: r.ID, Status: r.Status, Variant: r.Variant, Seed: r.Seed, Params: p,
			Objective: finitePtr(r.Best), Final: finitePtr(r.Final), BestEpoch: r.BestEpoch,
			Epochs: r.Epochs, TestMSE: finitePtr(r.TestMSE), PCAMSE: finitePtr(r.PCAMSE), Error: r.Error, Tags: tags[r.ID]}
		if !variants[r.Variant] {
			variants[r.Variant] = true
			d.Variants = append(d.Variants, r.Variant)
		}
	}
	d.Selected, d.Best = bestGroups(rows, sw.Goal, bestConfigs)
	d.Sweep.BestRun = d.Best
	if d.Best != nil {
		for _, r := range d.Runs {
			if r.ID == *d.Best {
				d.Sweep.BestValue = r.Objective
			}
		}
	}
	d.Charts = viz.Charts(vizstore.Trials(rows), viz.Objective{Metric: sw.Objective, Goal: sw.Goal}, viz.LogParams(sw.Spec))
	return d, nil
}

// varying splits the runs' params into those whose values differ and those
// all runs share.
func varying(rows []store.SweepRun) ([]string, map[string]any) {
	first := map[string]string{}
	vals := map[string]any{}
	differ := map[string]bool{}
	count := map[string]int{}
	for _, r := range rows {
		for k, v := range r.Params {
			f := viz.FormatValue(v)
			count[k]++
			if old, ok := first[k]; !ok {
				first[k], vals[k] = f, v
			} else if old != f {
				differ[k] = true
			}
		}
	}
	var vary []string
	consts := map[string]any{}
	for k := range first {
		if differ[k] || count[k] != len(rows) {
			vary = append(vary, k)
		} else {
			consts[k] = vals[k]
		}
	}
	slices.Sort(vary)
	if vary == nil {
		vary = []string{}
	}
	return vary, consts
}

// bestGroups returns the run ids of the best n configurations (runs that
// differ only by seed count once) and the best run, by best objective.
func bestGroups(rows []store.SweepRun, goal string, n int) ([]int64, *int64) {
	type ranked struct {
		best float64
		i    int
	}
	var rk []ranked
	for i, r := range rows {
		if finitePtr(r.Best) != nil {
			rk = append(rk, ranked{*r.Best, i})
		}
	}
	slices.SortStableFunc(rk, func(a, b ranked) int {
		if goal == store.Maximize {
			return cmp.Compare(b.best, a.best)
		}
		return cmp.Compare(a.best, b.best)
	})
	key := func(r store.SweepRun) string { return r.Variant + "\x00" + r.Dataset + "\x00" + r.ParamsJSON }
	// The best n configurations: walk the ranking until n distinct keys.
	groups := map[string]bool{}
	for _, x := range rk {
		if len(groups) == n {
			break
		}
		groups[key(rows[x.i])] = true
	}
	sel := []int64{}
	if len(groups) > 0 {
		for _, r := range rows {
			if groups[key(r)] {
				sel = append(sel, r.ID)
			}
		}
	}
	if len(rk) == 0 {
		return sel, nil
	}
	best := rows[rk[0].i].ID
	return sel, &best
}

func (s *Server) apiSweep(w http.ResponseWriter, r *http.Request) {
	sw, ok := s.sweepOf(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	stamp, err := s.db.ChangeStamp(ctx, sw.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, ok := s.cache.get(sw.ID, stamp)
	if !ok {
		d, err := s.sweepData(ctx, sw)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		b, err := json.Marshal(d)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		body = b
		s.cache.put(sw.ID, stamp, body)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// sweepCache keeps the JSON of the sweeps viewed last, by change stamp.
type sweepCache struct {
	mu sync.Mutex
	m  map[int64]cacheEntry
}

type cacheEntry struct {
	stamp string
	body  []byte
}

// cacheSweeps is how many sweeps' JSON the cache keeps.
const cacheSweeps = 8

func (c *sweepCache) get(id int64, stamp string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	return e.body, ok && e.stamp == stamp
}

func (c *sweepCache) put(id int64, stamp string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[int64]cacheEntry{}
	}
	if _, ok := c.m[id]; !ok && len(c.m) >= cacheSweeps {
		for k := range c.m { // any one: the cache is small
			delete(c.m, k)
			break
		}
	}
	c.m[id] = cacheEntry{stamp, body}
}

// parseIDs reads "1,3,5" (at most maxIDs distinct positive ids, in order).
func parseIDs(s string) ([]int64, error) {
	var ids []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			return nil, badRequest("runs=%q: %q is not a run id", s, f)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
		if len(ids) > maxIDs {
			return nil, badRequest("runs: at most %d runs at once", maxIDs)
		}
	}
	if len(ids) == 0 {
		return nil, badRequest("runs: name some runs, e.g. ?runs=1,3,5")
	}
	return ids, nil
}

// apiCurves is /api/sweeps/ID/curves?runs=1,2&metric=val_loss: the
// learning curves of the runs, seeds folded (viz.Curves).
func (s *Server) apiCurves(w http.ResponseWriter, r *http.Request) {
	sw, ok := s.sweepOf(w, r)
	if !ok {
		return
	}
	ids, err := parseIDs(r.URL.Query().Get("runs"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	metric := r.URL.Query().Get("metric")
	if metric == "" {
		metric = sw.Objective
	}
	if len(metric) > 200 {
		s.fail(w, r, badRequest("metric name too long"))
		return
	}
	runs, err := vizstore.Runs(r.Context(), s.db, ids, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, vr := range runs {
		if vr.SweepID != sw.ID {
			s.fail(w, r, badRequest("run %d is not in sweep %d", vr.ID, sw.ID))
			return
		}
	}
	c := viz.Compare(runs, viz.Objective{Metric: sw.Objective, Goal: sw.Goal})
	writeJSON(w, viz.Curves(runs, c, metric))
}

// RunData is /api/runs/ID.
type RunData struct {
	ID            int64                    `json:"id"`
	SweepID       int64                    `json:"sweep_id"`
	Variant       string                   `json:"variant"`
	Dataset       string                   `json:"dataset"`
	Seed          uint64                   `json:"seed"`
	Status        string                   `json:"status"`
	Error         string                   `json:"error"`
	Params        map[string]any           `json:"params"`
	PluginVersion string                   `json:"plugin_version"`
	PluginHash    string                   `json:"plugin_hash"`
	Source        string                   `json:"source"`        // how the configuration was chosen: grid, random, startup, model
	ResumedFrom   int                      `json:"resumed_from"`  // the epoch the latest attempt resumed from (0: none)
	Resumes       int                      `json:"resumes"`       // how often the run resumed
	TrainSeconds  float64                  `json:"train_seconds"` // training time over all attempts
	Host          string                   `json:"host"`
	BLAS          string                   `json:"blas"`
	Threads       int                      `json:"threads"`
	Attempt       int                      `json:"attempt"`
	Epochs        int                      `json:"epochs"`
	Meta          map[string]string        `json:"meta"`
	Created       time.Time                `json:"created"`
	Started       *time.Time               `json:"started"`
	Finished      *time.Time               `json:"finished"`
	Final         map[string]*float64      `json:"final"`
	History       map[string][][2]*float64 `json:"history"` // [epoch, value]; null value: NaN
	Artifacts     []store.ArtifactInfo     `json:"artifacts"`
	StderrTail    string                   `json:"stderr_tail"`
	Tags          map[string]string        `json:"tags"`
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	run, err := s.db.GetRun(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hist, err := s.db.MetricHistory(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	final, err := s.db.FinalMetrics(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	arts, err := s.db.Artifacts(ctx, id, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tags, err := s.db.Tags(ctx, []int64{id})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := RunData{Tags: tags[id], ID: run.ID, SweepID: run.SweepID, Variant: run.Variant, Dataset: run.Dataset, Seed: run.Seed,
		Status: run.Status, Error: run.Error, Params: run.Params, PluginVersion: run.PluginVersion, PluginHash: run.PluginHash,
		Source: run.Source, ResumedFrom: run.ResumedFrom, Resumes: run.Resumes, TrainSeconds: run.TrainSeconds,
		Host: run.Host, BLAS: run.BLAS, Threads: run.Threads, Attempt: run.Attempt, Epochs: run.Epochs, Meta: run.Meta,
		Created: run.Created, Started: run.Started, Finished: run.Finished, StderrTail: run.StderrTail,
		Final: map[string]*float64{}, History: map[string][][2]*float64{}, Artifacts: arts}
	for k, v := range final {
		d.Final[k] = num(v)
	}
	for k, ps := range hist {
		out := make([][2]*float64, len(ps))
		for i, p := range ps {
			e := float64(p.Epoch)
			out[i] = [2]*float64{&e, num(p.Value)}
		}
		d.History[k] = out
	}
	if d.Tags == nil {
		d.Tags = map[string]string{}
	}
	if d.Artifacts == nil {
		d.Artifacts = []store.ArtifactInfo{}
	}
	for i := range d.Artifacts {
		d.Artifacts[i].Objective = finitePtr(d.Artifacts[i].Objective) // JSON has no ±Inf
	}
	writeJSON(w, d)
}

func (s *Server) apiCheckpoint(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	info, data, err := s.db.Checkpoint(r.Context(), id, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="run-%d-epoch-%d.safetensors"`, id, info.Epoch))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// apiCompare is /api/compare?runs=1,3,5: `aexp compare 1 3 5 --json`.
func (s *Server) apiCompare(w http.ResponseWriter, r *http.Request) {
	c, _, err := s.compare(r.Context(), r.URL.Query().Get("runs"), false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, c)
}

// compare loads the runs named in ids and compares them by their sweeps'
// objective.
func (s *Server) compare(ctx context.Context, ids string, withArtifacts bool) (viz.Comparison, []viz.Run, error) {
	list, err := parseIDs(ids)
	if err != nil {
		return viz.Comparison{}, nil, err
	}
	runs, err := vizstore.Runs(ctx, s.db, list, withArtifacts)
	if err != nil {
		return viz.Comparison{}, nil, err
	}
	obj, _, err := vizstore.Objective(ctx, s.db, runs)
	if err != nil {
		return viz.Comparison{}, nil, err
	}
	return viz.Compare(runs, obj), runs, nil
}
