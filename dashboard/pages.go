package dashboard

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/viz"
	"github.com/aexp/aexp/viz/vizstore"
)

// page renders into a buffer first, so a template error is a clean 500
// rather than half a page.
func (s *Server) page(w http.ResponseWriter, r *http.Request, write func(*bytes.Buffer) error) {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func (s *Server) sweepsPage(w http.ResponseWriter, r *http.Request) {
	infos, err := s.sweepInfos(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := viz.SweepsPage{Mode: s.mode, Title: "aexp sweeps", Intro: "Database " + s.db.Path()}
	p.Mode.Live = "/api/events"
	for i := len(infos) - 1; i >= 0; i-- { // newest first
		in := infos[i]
		row := viz.SweepRow{ID: in.ID, Name: in.Name, Description: in.Description, Status: in.Status,
			Objective: in.Objective, Goal: in.Goal, Total: in.Runs, Best: in.BestRun, BestValue: "—",
			Created: when(&in.Created), Finished: when(in.Finished)}
		if in.BestValue != nil {
			row.BestValue = strconv.FormatFloat(*in.BestValue, 'g', 5, 64)
		}
		for _, st := range store.Statuses {
			if n := in.Counts[st]; n > 0 {
				row.Counts = append(row.Counts, viz.StatusCount{Status: st, N: n})
			}
		}
		p.Sweeps = append(p.Sweeps, row)
	}
	s.page(w, r, func(b *bytes.Buffer) error { return viz.WriteSweeps(b, p) })
}

func (s *Server) sweepPage(w http.ResponseWriter, r *http.Request) {
	sw, ok := s.sweepOf(w, r)
	if !ok {
		return
	}
	intro := fmt.Sprintf("objective: %s (%s) · started %s", sw.Objective, sw.Goal, when(&sw.Created))
	if sw.Finished != nil {
		intro += " · finished " + when(sw.Finished)
	}
	if sw.Description != "" {
		intro = sw.Description + " — " + intro
	}
	p := viz.SweepPage{Mode: s.mode, Title: "Sweep " + sw.Name, Intro: intro, API: "/api/sweeps/" + strconv.FormatInt(sw.ID, 10)}
	s.page(w, r, func(b *bytes.Buffer) error { return viz.WriteSweep(b, p) })
}

// runPage is the report of one run (the page `aexp show --html` writes)
// with what only a live store has: plugin version and binary hash, the log
// tail, the failure and the checkpoint to download.
func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
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
	runs, err := vizstore.Runs(ctx, s.db, []int64{id}, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sw, err := s.db.GetSweep(ctx, strconv.FormatInt(run.SweepID, 10))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	obj := viz.Objective{Metric: sw.Objective, Goal: sw.Goal}
	figs, warns := viz.Figures(runs, viz.FigureOptions{})
	facts := &viz.RunFacts{Error: run.Error, Log: run.StderrTail, Facts: []viz.KV{
		{K: "sweep", V: fmt.Sprintf("%s (%d)", sw.Name, sw.ID)},
		{K: "status", V: run.Status},
		{K: "variant", V: run.Variant},
		{K: "plugin version", V: orDash(run.PluginVersion)},
		{K: "plugin binary sha256", V: orDash(run.PluginHash)},
		{K: "dataset", V: run.Dataset},
		{K: "seed", V: strconv.FormatUint(run.Seed, 10)},
		{K: "chosen by", V: orDash(run.Source)},
		{K: "attempt", V: fmt.Sprintf("%d of %d", run.Attempt, run.MaxAttempts)},
		{K: "resumed", V: resumedText(run.ResumedFrom, run.Resumes)},
		{K: "epochs", V: strconv.Itoa(run.Epochs)},
		{K: "host", V: orDash(run.Host)},
		{K: "BLAS, threads", V: fmt.Sprintf("%s, %d", orDash(run.BLAS), run.Threads)},
		{K: "created", V: when(&run.Created)},
		{K: "started", V: when(run.Started)},
		{K: "finished", V: when(run.Finished)},
		{K: "key", V: run.Key},
	}}
	if tags, err := s.db.Tags(ctx, []int64{id}); err == nil && len(tags[id]) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(tags[id])) {
			kv = append(kv, k+"="+tags[id][k])
		}
		facts.Facts = append(facts.Facts, viz.KV{K: "tags", V: strings.Join(kv, ", ")})
	}
	if ck, err := s.db.Artifacts(ctx, id, "checkpoint"); err == nil && len(ck) > 0 {
		last := ck[len(ck)-1]
		facts.Checkpoint = fmt.Sprintf("/api/runs/%d/checkpoint.safetensors", id)
		facts.CheckpointNote = fmt.Sprintf("(epoch %d, %s)", last.Epoch, viz.FormatBytes(last.Size))
	}
	mode := s.mode
	if run.Status == store.StatusRunning || run.Status == store.StatusQueued {
		mode.Live = fmt.Sprintf("/api/sweeps/%d/events", run.SweepID)
	}
	p := viz.Page{Mode: mode, Title: fmt.Sprintf("Run %d — %s", run.ID, run.Variant),
		Intro:     fmt.Sprintf("%s on %s, seed %d, status %s · objective %s (%s)", run.Variant, run.Dataset, run.Seed, run.Status, sw.Objective, sw.Goal),
		Objective: obj, Runs: runs, Figures: figs, Warnings: warns, Run: facts} // params and final metrics are in the run's details
	s.page(w, r, func(b *bytes.Buffer) error { return viz.WriteHTML(b, p) })
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// comparePage is `aexp compare RUN... --html` served live: the same page,
// with links (samples are those the runs stored; the dashboard starts no
// plugins).
func (s *Server) comparePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("runs")
	c, runs, err := s.compare(r.Context(), q, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	logs, err := vizstore.LogParams(r.Context(), s.db, runs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	labels := c.RunLabels()
	figs, warns := viz.Figures(runs, viz.FigureOptions{Labels: labels})
	ids := make([]string, len(runs))
	for i, vr := range runs {
		ids[i] = strconv.FormatInt(vr.ID, 10)
	}
	p := viz.Page{Mode: s.mode, Title: "aexp compare " + strings.Join(ids, " "),
		Intro:      fmt.Sprintf("%d runs from %s", len(runs), s.db.Path()),
		Comparison: &c, Runs: runs, Figures: figs, Warnings: warns, Labels: labels, Charts: viz.ChartsOf(runs, c, logs)}
	s.page(w, r, func(b *bytes.Buffer) error { return viz.WriteHTML(b, p) })
}

// resumedText says whether and from where a run resumed.
func resumedText(from, times int) string {
	if times == 0 {
		return "—"
	}
	return fmt.Sprintf("%d time(s), latest after epoch %d", times, from)
}
