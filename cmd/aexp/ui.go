package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/aexp/aexp/dashboard"
)

const uiUsage = `Usage: aexp ui [flags]

Serve a live dashboard of the database: every sweep with its status, the
runs of a sweep (sort, filter, select), learning curves updating as epochs
arrive, parallel coordinates, slice and importance plots, each run's
params, pictures, log and checkpoint, and comparisons. The store is opened
read-only: the dashboard never writes it and never blocks a running sweep.

On 127.0.0.1 (the default) anyone on this machine may look. Bound to any
other address it requires an access token, printed once in the URL
(like Jupyter's), unless --no-auth says explicitly that none is wanted.

Examples:
  aexp ui                                 # http://127.0.0.1:8765
  aexp ui --db results/aexp.db --addr 127.0.0.1:9000
  aexp ui --addr 0.0.0.0:8765             # reachable from other machines, with a token
  curl -s http://127.0.0.1:8765/api/sweeps

Flags:
`

// runUI implements `aexp ui`.
func runUI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ui", uiUsage, stderr)
	dbFile := dbPath(fs)
	addr := fs.String("addr", "127.0.0.1:8765", "address to listen on (host:port; port 0 picks a free one)")
	noAuth := fs.Bool("no-auth", false, "serve a non-loopback --addr without an access token")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("ui", "unexpected argument %q", fs.Arg(0))
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return usageErr("ui", "--addr %q: %v", *addr, err)
	}
	token, err := accessToken(host, *noAuth)
	if err != nil {
		return err
	}
	db, err := openReadOnly(dbFile())
	if err != nil {
		return err
	}
	defer db.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	dash := dashboard.New(db, dashboard.Options{Token: token, Log: log.New(stderr, "", log.LstdFlags)})
	srv := &http.Server{
		Handler:           dash,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	fmt.Fprintf(stdout, "aexp ui: serving %s on %s\n", db.Path(), dashboardURL(ln.Addr(), host, token))
	if token == "" && !loopback(host) {
		fmt.Fprintln(stderr, "aexp ui: warning: --no-auth: anyone who can reach this address can read the database")
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("ui: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	dash.Close() // ends the event streams, which Shutdown would wait for
	_ = srv.Shutdown(sctx)
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// accessToken is a fresh random token when host is reachable from other
// machines, unless noAuth; "" otherwise.
func accessToken(host string, noAuth bool) (string, error) {
	if loopback(host) || noAuth {
		return "", nil
	}
	return newToken()
}

// loopback reports whether host only accepts connections from this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// dashboardURL is the URL to open: the real port, a reachable host for a
// wildcard address, and the token.
func dashboardURL(a net.Addr, host, token string) string {
	_, port, _ := net.SplitHostPort(a.String())
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
		if h, err := osHostname(); err == nil && h != "" {
			host = h
		}
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/"}
	if token != "" {
		u.RawQuery = "token=" + token
	}
	return u.String()
}

var osHostname = os.Hostname
