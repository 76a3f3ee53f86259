// Package hosttest runs a whole funcd host in-process on a random loopback
// port, for end-to-end tests that drive it over HTTP the way a client would,
// in the manner of net/http/httptest.
package hosttest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/frontdoor"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/httpapi"
	"github.com/funcd/funcd/httpapi/durableapi"
	"github.com/funcd/funcd/storage"
)

// Options changes how Start runs the host. The zero value enforces keys and
// uses a fresh state folder.
type Options struct {
	// NoAuth treats every request as admin (funcd start --no-auth).
	NoAuth bool
	// Env is added to the test process's environment for the app.
	Env map[string]string
	// AllowList is the --functions flag.
	AllowList []string
	// StateDir defaults to a new temporary folder.
	StateDir string
	CORS     []string
	// ExitOnWorkerFailure is funcd start --exit-on-worker-failure.
	ExitOnWorkerFailure bool
	// Logger defaults to one that writes to t.Log.
	Logger *slog.Logger

	// Limits are the HTTP server's limits (zero fields: Kestrel's
	// defaults), so that a test can shorten a timeout.
	Limits frontdoor.Limits
	// TLS serves HTTPS (funcd start --useHttps) with the certificate it
	// names; without a Cert, with the development certificate, kept in a
	// new temporary folder unless DevCertDir is set.
	TLS *frontdoor.TLSFiles
	// H2C accepts HTTP/2 with prior knowledge on plain HTTP (funcd start
	// --h2c).
	H2C bool
	// Store, when set, is the host's store instead of the embedded one in
	// the state folder (the test closes it); tests enqueue messages and
	// read output queues through it.
	Store storage.Store
	// Clock defaults to the real clock.
	Clock clock.Clock
}

// Server is a running host with its HTTP surface.
type Server struct {
	// URL is the base URL, such as http://127.0.0.1:41234 (no trailing
	// slash), or https://... with TLS.
	URL  string
	Host *host.Host
	HTTP *frontdoor.Server
	// TLS describes the certificate served, with TLS.
	TLS *frontdoor.TLSInfo
}

// Start runs the app in dir and stops it when the test ends. It fails the
// test if the host cannot start.
func Start(t testing.TB, dir string, opts Options) *Server {
	t.Helper()
	s, err := StartErr(t, dir, opts)
	if err != nil {
		t.Fatalf("hosttest: cannot start host for %s: %v", dir, err)
	}
	return s
}

// StartErr is Start for tests that expect the host to fail: it returns the
// error instead of failing the test.
func StartErr(t testing.TB, dir string, opts Options) (*Server, error) {
	t.Helper()
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	if opts.Logger == nil {
		tw := &testWriter{t: t}
		t.Cleanup(tw.stop) // registered first, so it runs after Close
		opts.Logger = slog.New(slog.NewTextHandler(tw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	env := os.Environ()
	for k, v := range opts.Env {
		env = append(env, k+"="+v)
	}
	h, err := host.New(host.Config{
		ScriptRoot: dir,
		StateDir:   opts.StateDir,
		Environ:    env,
		AllowList:  opts.AllowList,
		Logger:     opts.Logger,
		Store:      opts.Store,
		Clock:      opts.Clock,

		ExitOnWorkerFailure: opts.ExitOnWorkerFailure,
	})
	if err != nil {
		return nil, err
	}
	// The Durable Functions RPC endpoint takes a free port: tests run side
	// by side.
	durableAPI := httpapi.DurableHandler(h, opts.Logger)
	rpc, err := durableapi.ListenRPC(durableAPI, "127.0.0.1:0")
	if err != nil {
		_ = h.Shutdown(context.Background())
		return nil, err
	}
	t.Cleanup(func() { _ = rpc.Close(context.Background()) })
	h.SetDurableRPC(rpc.URL())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		_ = h.Shutdown(context.Background())
		return nil, err
	}
	mcpAPI := httpapi.MCPHandler(h, opts.Logger)
	cfg := frontdoor.Config{
		Handler: httpapi.New(httpapi.Config{Host: h, NoAuth: opts.NoAuth, CORS: opts.CORS, Logger: opts.Logger,
			Webhooks: map[string]http.Handler{httpapi.DurableWebhook: durableAPI, httpapi.MCPWebhook: mcpAPI}}),
		H2C:    opts.H2C,
		Limits: opts.Limits,
		Logger: opts.Logger,
	}
	var info *frontdoor.TLSInfo
	if opts.TLS != nil {
		files := *opts.TLS
		if files.Cert == "" && files.DevCertDir == "" {
			files.DevCertDir = t.TempDir()
		}
		cfg.TLS, info, err = frontdoor.LoadTLS(files, time.Now())
		if err != nil {
			_ = h.Shutdown(context.Background())
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = h.Shutdown(context.Background())
		return nil, err
	}
	srv := frontdoor.New(cfg)
	srv.RegisterOnShutdown(mcpAPI.Close)
	go func() { _ = srv.Serve(ln) }()
	s := &Server{URL: srv.Scheme() + "://" + ln.Addr().String(), Host: h, HTTP: srv, TLS: info}
	h.SetBaseURL(s.URL)
	t.Cleanup(s.Close)
	return s, nil
}

// Transport returns a new transport for the server: with TLS it trusts the
// server's certificate and negotiates HTTP/2 or HTTP/1.1 by ALPN (set its
// Protocols to choose one).
func (s *Server) Transport() *http.Transport {
	tr := &http.Transport{ForceAttemptHTTP2: true}
	if s.TLS != nil {
		roots := x509.NewCertPool()
		roots.AddCert(s.TLS.Leaf)
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	}
	return tr
}

// Client returns a client that uses a new Transport.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: s.Transport(), Timeout: 60 * time.Second}
}

// Close stops the HTTP server and the host. It is idempotent.
func (s *Server) Close() {
	_ = s.HTTP.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.Host.Shutdown(ctx)
}

// MasterKey returns the host's master key.
func (s *Server) MasterKey(t testing.TB) string {
	t.Helper()
	k, err := s.Host.Keys().MasterKey(context.Background())
	if err != nil {
		t.Fatalf("hosttest: master key: %v", err)
	}
	return k
}

// FunctionKey returns the default key of a function.
func (s *Server) FunctionKey(t testing.TB, function string) string {
	t.Helper()
	k, err := s.Host.Keys().FunctionKey(context.Background(), function, "default")
	if err != nil {
		t.Fatalf("hosttest: key of %s: %v", function, err)
	}
	return k.Value
}

// testWriter sends log output to t.Log, so it shows only for failing tests.
// Output after the test has ended is dropped (t.Log would panic).
type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}
