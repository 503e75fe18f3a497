package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/aexp/aexp/internal/buildtest"
)

var servingRE = regexp.MustCompile(`serving \S+ on (http://\S+)`)

// startUI runs `aexp ui ARGS` in-process until the test ends and returns
// the URL it printed (host replaced by 127.0.0.1, so a wildcard bind is
// reachable).
func startUI(t *testing.T, args ...string) *url.URL {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb buildtest.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"ui"}, args...), &out, &errb) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("aexp ui: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("aexp ui did not stop on cancel")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingRE.FindStringSubmatch(out.String()); m != nil {
			u, err := url.Parse(m[1])
			if err != nil {
				t.Fatal(err)
			}
			u.Host = "127.0.0.1:" + u.Port()
			return u
		}
		select {
		case err := <-done:
			t.Fatalf("aexp ui ended: %v\n%s", err, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("aexp ui printed no URL: %q %q", out.String(), errb.String())
	return nil
}

func status(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestUITokenRules: loopback serves without a token; any other address
// prints a token that every request needs, unless --no-auth.
func TestUITokenRules(t *testing.T) {
	db := compareDB(t)
	t.Run("loopback", func(t *testing.T) {
		u := startUI(t, "--db", db, "--addr", "127.0.0.1:0")
		if u.Query().Get("token") != "" {
			t.Errorf("a loopback dashboard printed a token: %s", u)
		}
		base := "http://" + u.Host
		if c := status(t, base+"/api/sweeps"); c != 200 {
			t.Errorf("/api/sweeps: %d", c)
		}
		if c := status(t, base+"/sweeps/dense-vs-vae"); c != 200 {
			t.Errorf("/sweeps/dense-vs-vae: %d", c)
		}
	})
	t.Run("wildcard needs a token", func(t *testing.T) {
		u := startUI(t, "--db", db, "--addr", "0.0.0.0:0")
		tok := u.Query().Get("token")
		if len(tok) < 32 {
			t.Fatalf("printed URL %s has no proper token", u)
		}
		base := "http://" + u.Host
		for _, p := range []string{"/", "/api/sweeps", "/static/aexp.js", "/?token=" + tok[:len(tok)-1]} {
			if c := status(t, base+p); c != http.StatusUnauthorized {
				t.Errorf("%s without the token: %d, want 401", p, c)
			}
		}
		if c := status(t, base+"/api/sweeps?token="+tok); c != 200 {
			t.Errorf("with the token: %d", c)
		}
	})
	// --no-auth on a wildcard address is not served here (tests bind
	// loopback only, or behind a token): the rule itself is checked.
	for _, c := range []struct {
		host   string
		noAuth bool
		token  bool
	}{{"127.0.0.1", false, false}, {"::1", false, false}, {"localhost", false, false}, {"0.0.0.0", false, true},
		{"", false, true}, {"192.168.1.5", false, true}, {"0.0.0.0", true, false}, {"10.0.0.1", true, false}} {
		tok, err := accessToken(c.host, c.noAuth)
		if err != nil || (tok != "") != c.token {
			t.Errorf("accessToken(%q, no-auth %v) = %q, %v; want a token: %v", c.host, c.noAuth, tok, err, c.token)
		}
	}
}

func TestUIErrors(t *testing.T) {
	for _, args := range [][]string{{"--addr", "nonsense"}, {"extra"}, {"--db", "/nonexistent/aexp.db", "--addr", "127.0.0.1:0"}} {
		if _, _, err := aexp(t, append([]string{"ui"}, args...)...); err == nil {
			t.Errorf("aexp ui %v: no error", args)
		}
	}
}
