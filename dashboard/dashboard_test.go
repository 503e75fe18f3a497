package dashboard_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aexp/aexp/dashboard"
	"github.com/aexp/aexp/nn"
	"github.com/aexp/aexp/store"
	"github.com/aexp/aexp/variant"
	"github.com/aexp/aexp/viz"
	"github.com/aexp/aexp/viz/viztest"
)

const evil = `<script>alert("x")</script>`

// fixture records a small sweep through the store's write API: two seeds of
// one configuration, a second configuration, a pruned run, a failed run
// whose params and log hold a <script> tag, and a queued run. It returns the
// database path and the writer (closed by the test's cleanup).
func fixture(t *testing.T) (string, *store.DB) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aexp.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sw, _, err := db.EnsureSweepSpec(ctx, store.SweepSpec{Name: "fix", Spec: "name = \"fix\"\n[params]\nlr = { distribution = \"log_uniform\", min = 1e-4, max = 1e-1 }\n",
		SpecHash: "h", Objective: "val_loss", Goal: store.Minimize})
	if err != nil {
		t.Fatal(err)
	}
	type fr struct {
		seed   uint64
		lr     float64
		note   string
		status string
		epochs int
	}
	runs := []fr{{0, 0.001, "a", "done", 4}, {1, 0.001, "a", "done", 4}, {0, 0.01, "b", "done", 4},
		{0, 0.03, "c", "pruned", 2}, {0, 0.1, evil, "failed", 1}, {0, 0.05, "d", "queued", 0}, {0, 0.2, "e", "diverged", 2}}
	specs := make([]store.RunSpec, len(runs))
	for i, r := range runs {
		specs[i] = store.RunSpec{Key: fmt.Sprint(i), Variant: "dense", Dataset: "mnist", Seed: r.seed,
			Params: map[string]any{"lr": r.lr, "note": r.note, "code": int64(8)}, Source: "model"}
	}
	rec, err := db.EnsureRuns(ctx, sw.ID, specs)
	if err != nil {
		t.Fatal(err)
	}
	recon, _, _ := viztest.Reconstruction(t, 10, 4)
	for i, r := range runs {
		id := rec[i].ID
		if r.status == "queued" {
			continue
		}
		if err := db.StartRun(ctx, id, store.RunStart{PluginVersion: "0.3.1", PluginHash: "feedbeef", Threads: 1}); err != nil {
			t.Fatal(err)
		}
		for e := 1; e <= r.epochs; e++ {
			v := 0.1/float64(e) + r.lr + 0.001*float64(r.seed)
			if r.status == "diverged" && e == 2 {
				v = math.Inf(1) // JSON has no Inf: the API must not fail on it
			}
			if err := db.RecordEpoch(ctx, id, e, map[string]float64{"train_loss": v * 0.9, "val_loss": v}); err != nil {
				t.Fatal(err)
			}
		}
		if r.status == "done" {
			if err := db.SaveArtifact(ctx, id, recon, store.KeepLast, 0); err != nil {
				t.Fatal(err)
			}
			ck := variant.Artifact{Kind: variant.KindCheckpoint, Name: "model", Epoch: r.epochs, Format: "safetensors",
				Data: viztest.Safetensors(t, nil, nn.Entry{Name: "w", Shape: []int{3}, Data: []float32{1, 2, 3}})}
			if err := db.SaveArtifact(ctx, id, ck, store.KeepLast, 0); err != nil {
				t.Fatal(err)
			}
		}
		f := store.RunFinish{Status: r.status}
		if r.status == "failed" {
			f.Error = "plugin exited: " + evil
			f.StderrTail = "line 1\n" + evil + "\nlast line"
		}
		if r.status == "done" {
			f.Metrics = map[string]float64{"test_mse": 0.01 + r.lr}
		}
		if err := db.FinishRun(ctx, id, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetTags(ctx, []int64{rec[0].ID}, map[string]string{"note": "<b>best</b>"}, nil); err != nil {
		t.Fatal(err)
	}
	return path, db
}

func serve(t *testing.T, path string, opt dashboard.Options) *httptest.Server {
	t.Helper()
	ro, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	dash := dashboard.New(ro, opt)
	srv := httptest.NewServer(dash)
	t.Cleanup(func() { dash.Close(); srv.Close(); ro.Close() })
	return srv
}

func get(t *testing.T, c *http.Client, url string) (int, http.Header, string) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestEndpoints requests every page and API endpoint, good and bad.
func TestEndpoints(t *testing.T) {
	path, _ := fixture(t)
	srv := serve(t, path, dashboard.Options{})
	tests := []struct {
		path   string
		code   int
		ctype  string
		wants  []string
		absent []string
	}{
		{"/", 200, "text/html", []string{"fix", "val_loss (minimize)", `href="/sweeps/1"`, "done 3", "pruned 1"}, nil},
		{"/sweeps/1", 200, "text/html", []string{"Sweep fix", `data-api="/api/sweeps/1"`, "/static/echarts.min.js"}, nil},
		{"/sweeps/fix", 200, "text/html", []string{"Sweep fix"}, nil},
		{"/runs/1", 200, "text/html", []string{"Run 1", "0.3.1", "feedbeef", "chosen by", "model", "/api/runs/1/checkpoint.safetensors", "Reconstructions", "note=&lt;b&gt;best&lt;/b&gt;"}, []string{"<b>best"}},
		{"/runs/5", 200, "text/html", []string{"Failure", "Log (the end", "&lt;script&gt;alert("}, []string{evil}},
		{"/compare?runs=3,1,2", 200, "text/html", []string{"aexp compare 3 1 2", "Summary", `<a href="/runs/1">1</a>`, "Learning curves"}, nil},
		{"/api/sweeps", 200, "application/json", []string{`"name":"fix"`, `"best_run":1`}, nil},
		{"/api/sweeps/1", 200, "application/json", []string{`"selected":[1,2,3,4,5,7]`, `"kind":"log"`, `"params":["lr","note"]`, `"tags":{"note":"\u003cb\u003ebest\u003c/b\u003e"}`}, nil},
		{"/api/sweeps/1/curves?runs=1,2,3&metric=val_loss", 200, "application/json", []string{`"metric":"val_loss"`, `"runs":[1,2]`}, nil},
		{"/api/sweeps/1/curves?runs=4", 200, "application/json", []string{`"pruned":[2]`}, nil},
		{"/api/runs/5", 200, "application/json", []string{`"status":"failed"`, `\u003cscript\u003e`}, []string{"<script>"}},
		{"/api/runs/1/checkpoint.safetensors", 200, "application/octet-stream", nil, nil},
		{"/api/runs/7", 200, "application/json", []string{`"status":"diverged"`, `[2,null]`, `"source":"model"`, `"resumes":0`}, nil},
		{"/runs/7", 200, "text/html", []string{"diverged"}, nil},
		{"/api/sweeps/1/curves?runs=7", 200, "application/json", []string{`"runs":[7]`}, nil},
		{"/api/compare?runs=7,1", 200, "application/json", nil, nil},
		{"/api/compare?runs=1,2,3", 200, "application/json", []string{`"objective":{"metric":"val_loss"`}, nil},
		{"/static/aexp.js", 200, "text/javascript", []string{"aexp charts"}, nil},
		{"/static/echarts.LICENSE", 200, "", []string{"Apache License"}, nil},
		// Bad ids and paths: 404 pages, never a 500.
		{"/runs/999", 404, "text/html", []string{"Not found"}, nil},
		{"/runs/0", 404, "text/html", nil, nil},
		{"/runs/-3", 404, "text/html", nil, nil},
		{"/runs/abc", 404, "text/html", nil, nil},
		{"/runs/99999999999999999999999", 404, "text/html", nil, nil},
		{"/runs/%3Cscript%3E", 404, "text/html", []string{"&lt;script&gt;"}, []string{"<script>"}},
		{"/sweeps/999", 404, "text/html", nil, nil},
		{"/sweeps/no-such-sweep", 404, "text/html", nil, nil},
		{"/nope", 404, "text/html", nil, nil},
		{"/static/nope.js", 404, "", nil, nil},
		{"/static/../go.mod", 404, "", nil, nil},
		{"/api/runs/abc", 404, "application/json", []string{`"error"`}, nil},
		{"/api/runs/999", 404, "application/json", nil, nil},
		{"/api/runs/6/checkpoint.safetensors", 404, "application/json", nil, nil}, // queued: no checkpoint
		{"/api/sweeps/999", 404, "application/json", nil, nil},
		{"/api/sweeps/1/curves?runs=x", 400, "application/json", nil, nil},
		{"/api/sweeps/1/curves", 400, "application/json", nil, nil},
		{"/api/sweeps/1/curves?runs=999", 404, "application/json", nil, nil},
		{"/compare", 400, "text/html", nil, nil},
		{"/compare?runs=1,999", 404, "text/html", nil, nil},
		{"/api/compare?runs=-1", 400, "application/json", nil, nil},
	}
	for _, tc := range tests {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			code, h, body := get(t, nil, srv.URL+tc.path)
			if code != tc.code {
				t.Fatalf("status %d, want %d\n%.500s", code, tc.code, body)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type %q, want %q", h.Get("Content-Type"), tc.ctype)
			}
			for _, w := range tc.wants {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(body, a) {
					t.Errorf("body holds %q", a)
				}
			}
		})
	}
	// Nothing writes: every other method is refused.
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(m, srv.URL+"/api/sweeps/1", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: status %d, want 405", m, resp.StatusCode)
		}
	}
	// The checkpoint is the stored safetensors file.
	_, h, body := get(t, nil, srv.URL+"/api/runs/1/checkpoint.safetensors")
	if !strings.Contains(h.Get("Content-Disposition"), `filename="run-1-epoch-4.safetensors"`) {
		t.Errorf("Content-Disposition %q", h.Get("Content-Disposition"))
	}
	if ts, _, err := viz.ReadSafetensors([]byte(body)); err != nil || len(ts) != 1 {
		t.Errorf("downloaded checkpoint: %v (%d tensors)", err, len(ts))
	}
}

// TestNeverWrites serves every endpoint from a finished store and checks
// that the file is byte for byte the same afterwards.
func TestNeverWrites(t *testing.T) {
	path, w := fixture(t)
	w.Close()
	before := fileSum(t, path)
	srv := serve(t, path, dashboard.Options{})
	for _, p := range []string{"/", "/sweeps/1", "/runs/1", "/runs/5", "/compare?runs=1,2", "/api/sweeps", "/api/sweeps/1",
		"/api/sweeps/1/curves?runs=1,2", "/api/runs/1", "/api/runs/1/checkpoint.safetensors", "/api/compare?runs=1,3"} {
		if code, _, _ := get(t, nil, srv.URL+p); code != 200 {
			t.Errorf("%s: %d", p, code)
		}
	}
	if after := fileSum(t, path); after != before {
		t.Error("the database file changed while the dashboard read it")
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestEmptyStore: a database with no sweeps yet.
func TestEmptyStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aexp.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	srv := serve(t, path, dashboard.Options{})
	if code, _, body := get(t, nil, srv.URL+"/"); code != 200 || !strings.Contains(body, "No sweeps in this database yet") {
		t.Errorf("/: %d %.300s", code, body)
	}
	if code, _, body := get(t, nil, srv.URL+"/api/sweeps"); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("/api/sweeps: %d %q", code, body)
	}
	if code, _, _ := get(t, nil, srv.URL+"/sweeps/1"); code != 404 {
		t.Errorf("/sweeps/1: %d", code)
	}
}

// TestConcurrentWriter reads every endpoint while a writer records runs and
// epochs into the same file, as a running sweep does, and checks that the
// event stream reports the writes.
func TestConcurrentWriter(t *testing.T) {
	path, w := fixture(t)
	srv := serve(t, path, dashboard.Options{Poll: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Subscribe first, so the writes below must show up as events.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/sweeps/1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events Content-Type %q", ct)
	}
	events := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
	}()

	var wg sync.WaitGroup
	stop := make(chan struct{})
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		sw, err := w.GetSweep(ctx, "fix")
		if err != nil {
			writeErr = err
			return
		}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			rs, err := w.EnsureRuns(ctx, sw.ID, []store.RunSpec{{Key: fmt.Sprint("live-", i), Variant: "dense", Seed: uint64(i),
				Params: map[string]any{"lr": 0.002, "note": "a", "code": int64(8)}}})
			if err == nil {
				err = w.StartRun(ctx, rs[0].ID, store.RunStart{})
			}
			for e := 1; err == nil && e <= 3; e++ {
				err = w.RecordEpoch(ctx, rs[0].ID, e, map[string]float64{"val_loss": 0.1 / float64(e), "train_loss": 0.09 / float64(e)})
			}
			if err == nil {
				err = w.FinishRun(ctx, rs[0].ID, store.RunFinish{Status: store.StatusDone})
			}
			if err != nil {
				writeErr = err
				return
			}
		}
	}()
	deadline := time.Now().Add(1500 * time.Millisecond)
	n := 0
	for time.Now().Before(deadline) {
		for _, p := range []string{"/", "/sweeps/1", "/api/sweeps", "/api/sweeps/1", "/api/sweeps/1/curves?runs=1,2,3", "/runs/1", "/compare?runs=1,3"} {
			code, _, body := get(t, nil, srv.URL+p)
			if code != 200 {
				t.Fatalf("%s while a sweep writes: %d %.300s", p, code, body)
			}
			n++
		}
	}
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("the writer failed while the dashboard read: %v", writeErr)
	}
	t.Logf("%d reads while writing", n)
	select {
	case <-events:
	case <-time.After(10 * time.Second):
		t.Fatal("no change event while runs were being recorded")
	}
	// The sweep's JSON has the new runs.
	_, _, body := get(t, nil, srv.URL+"/api/sweeps/1")
	var d dashboard.SweepData
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Runs) <= 6 {
		t.Errorf("%d runs after the writes, want more than 6", len(d.Runs))
	}
}

// TestToken checks the access-token rules: every request needs the token,
// as ?token= (which sets a cookie), the cookie, or a Bearer header.
func TestToken(t *testing.T) {
	path, _ := fixture(t)
	srv := serve(t, path, dashboard.Options{Token: "s3cret"})
	for _, p := range []string{"/", "/sweeps/1", "/api/sweeps", "/static/aexp.js", "/nope", "/?token=wrong", "/api/sweeps/1/events"} {
		if code, _, _ := get(t, nil, srv.URL+p); code != http.StatusUnauthorized {
			t.Errorf("%s without the token: %d, want 401", p, code)
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if code, _, _ := get(t, c, srv.URL+"/?token=s3cret"); code != 200 {
		t.Fatalf("with ?token=: %d", code)
	}
	if code, _, _ := get(t, c, srv.URL+"/api/sweeps/1"); code != 200 {
		t.Errorf("with the cookie: %d", code)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/sweeps", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with a Bearer header: %d", resp.StatusCode)
	}
}
