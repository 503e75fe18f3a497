package dashboard

import (
	"fmt"
	"net/http"
	"time"
)

// keepAlive is how often an idle event stream sends a comment, so proxies
// and browsers keep it open.
const keepAlive = 15 * time.Second

// apiEvents streams a message whenever any sweep changes (the sweeps page).
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) { s.stream(w, r, 0) }

// apiSweepEvents streams a message whenever the sweep or one of its runs
// changes: a run starts, records an epoch, finishes.
func (s *Server) apiSweepEvents(w http.ResponseWriter, r *http.Request) {
	sw, ok := s.sweepOf(w, r)
	if !ok {
		return
	}
	s.stream(w, r, sw.ID)
}

// stream is a server-sent-events stream: it polls the store's change stamp
// (one small indexed query) every Poll and sends "data: <stamp>" when it
// changed. The page then re-reads what it shows.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, sweepID int64) {
	ctx := r.Context()
	last, err := s.db.ChangeStamp(ctx, sweepID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 1000\n: connected\n\n")
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(s.opt.Poll)
	defer tick.Stop()
	idle := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-tick.C:
		}
		stamp, err := s.db.ChangeStamp(ctx, sweepID)
		if err != nil {
			if ctx.Err() == nil {
				s.opt.Log.Printf("aexp ui: events: %v", err)
			}
			return
		}
		switch {
		case stamp != last:
			last = stamp
			fmt.Fprintf(w, "data: %s\n\n", stamp)
		case time.Since(idle) > keepAlive:
			fmt.Fprint(w, ": idle\n\n")
		default:
			continue
		}
		idle = time.Now()
		if rc.Flush() != nil {
			return
		}
	}
}
