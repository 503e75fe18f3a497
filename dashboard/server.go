// Package dashboard serves `aexp ui`: live pages and a JSON API over an aexp
// store opened read-only. It never writes the store and never blocks a
// sweep that is writing it (WAL readers take no locks the writer waits
// for); pages follow the store through server-sent events.
//
// The pages share their templates, scripts and chart data with the static
// report (package viz): the dashboard's /compare is `aexp compare --html`.
package dashboard

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/viz"
)

// Options configure a Server.
type Options struct {
	// Token, when not empty, is required on every request: as ?token=
	// (which also sets a cookie, so links and scripts keep working), the
	// cookie, or an "Authorization: Bearer" header.
	Token string
	// Poll is how often event streams look for changes in the store
	// (default 500 ms).
	Poll time.Duration
	// Log receives request errors (default: the standard logger).
	Log *log.Logger
}

// Server is the dashboard's http.Handler.
type Server struct {
	db   *store.DB
	opt  Options
	mux  *http.ServeMux
	mode viz.Mode

	cache sweepCache

	done      chan struct{} // closed by Close: event streams end
	closeOnce sync.Once
}

// Close ends the open event streams (so an http.Server's Shutdown need not
// wait for them). Other requests are unaffected.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.done) }) }

// cookieName holds the access token after a ?token= visit.
const cookieName = "aexp_token"

// New returns the dashboard over db, which should be opened read-only
// (store.OpenReadOnly): nothing here writes.
func New(db *store.DB, opt Options) *Server {
	if opt.Poll <= 0 {
		opt.Poll = 500 * time.Millisecond
	}
	if opt.Log == nil {
		opt.Log = log.Default()
	}
	s := &Server{db: db, opt: opt, mux: http.NewServeMux(), mode: viz.Mode{Static: "/static/", Links: true}, done: make(chan struct{})}
	static, err := fs.Sub(viz.Assets, "assets")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(static)
	s.mux.Handle("GET /static/{file}", http.StripPrefix("/static/", files))
	s.mux.HandleFunc("GET /{$}", s.sweepsPage)
	s.mux.HandleFunc("GET /sweeps/{id}", s.sweepPage)
	s.mux.HandleFunc("GET /runs/{id}", s.runPage)
	s.mux.HandleFunc("GET /compare", s.comparePage)
	s.mux.HandleFunc("GET /api/sweeps", s.apiSweeps)
	s.mux.HandleFunc("GET /api/sweeps/{id}", s.apiSweep)
	s.mux.HandleFunc("GET /api/sweeps/{id}/curves", s.apiCurves)
	s.mux.HandleFunc("GET /api/sweeps/{id}/events", s.apiSweepEvents)
	s.mux.HandleFunc("GET /api/events", s.apiEvents)
	s.mux.HandleFunc("GET /api/runs/{id}", s.apiRun)
	s.mux.HandleFunc("GET /api/runs/{id}/checkpoint.safetensors", s.apiCheckpoint)
	s.mux.HandleFunc("GET /api/compare", s.apiCompare)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "the dashboard is read-only: only GET", http.StatusMethodNotAllowed)
			return
		}
		s.notFound(w, r, "There is no page at "+r.URL.Path+".")
	})
	return s
}

// ServeHTTP checks the token, sets security headers and turns a panic into
// a 500 (none is expected: every id from a URL is validated).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.opt.Log.Printf("aexp ui: %s %s: panic: %v", r.Method, r.URL.Path, v)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	// Scripts only from here; ECharts sets inline styles; pictures are data: URIs.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'")
	if s.opt.Token != "" && !s.authorized(w, r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintln(w, "aexp ui: this dashboard needs its access token: open the URL with ?token= that `aexp ui` printed.")
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	ok := func(t string) bool { return subtle.ConstantTimeCompare([]byte(t), []byte(s.opt.Token)) == 1 }
	if t := r.URL.Query().Get("token"); t != "" && ok(t) {
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.opt.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		return true
	}
	if c, err := r.Cookie(cookieName); err == nil && ok(c.Value) {
		return true
	}
	if a, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found && ok(a) {
		return true
	}
	return false
}

// pathID reads a positive integer id from the URL; false (and a 404 page
// or JSON error already written) when it is not one.
func (s *Server) pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		s.missing(w, r, fmt.Sprintf("%q is not an id (a positive number).", v))
		return 0, false
	}
	return id, true
}

// missing writes a 404: a page for browsers, JSON under /api/.
func (s *Server) missing(w http.ResponseWriter, r *http.Request, msg string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSONStatus(w, http.StatusNotFound, map[string]string{"error": msg})
		return
	}
	s.notFound(w, r, msg)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_ = viz.WriteMessage(w, viz.MessagePage{Mode: s.mode, Title: "Not found", Intro: msg})
}

// fail answers a store error: not found → 404, bad input → 400, anything
// else → 500 (logged).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.missing(w, r, err.Error())
	case errors.Is(err, store.ErrInvalid), errors.Is(err, errBadRequest):
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_ = viz.WriteMessage(w, viz.MessagePage{Mode: s.mode, Title: "Bad request", Intro: err.Error()})
	case r.Context().Err() != nil:
		// The client went away.
	default:
		s.opt.Log.Printf("aexp ui: %s %s: %v", r.Method, r.URL.Path, err)
		http.Error(w, "internal error: "+err.Error(), http.StatusInternalServerError)
	}
}

var errBadRequest = errors.New("bad request")

func badRequest(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), errBadRequest)
}
