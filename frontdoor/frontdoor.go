// Package frontdoor builds the HTTP server that `funcd start` and hosttest
// serve the HTTP surface with: net/http's Server, configured with the limits
// Kestrel (the real host's server) applies to every connection, HTTPS with
// HTTP/2 negotiated by ALPN, and HTTP/2 with prior knowledge (h2c) on plain
// connections for a TLS-terminating proxy in front.
//
// The limits, each Kestrel's default (docs/COMPATIBILITY.md has the
// sources):
//
//   - 30 s to send the request line and headers (RequestHeadersTimeout).
//     net/http starts this clock when the connection is accepted, and again
//     once the TLS handshake is done, so a connection that sends nothing
//     is closed after 30 s (60 s at most with TLS).
//   - 32 KiB of request line and headers (MaxRequestHeadersTotalSize):
//     431 past it, on HTTP/1.1 and HTTP/2 alike.
//   - 130 s for an idle keep-alive connection (KeepAliveTimeout).
//   - a minimum response data rate (MinResponseDataRate: 240 bytes/s after
//     a 5 s grace period), enforced on the connection under TLS and HTTP/2
//     and on each HTTP/2 stream: see DataRate.
//
// A request's context is cancelled when its client goes away: net/http's
// server watches the connection while a handler runs.
package frontdoor

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Kestrel's defaults, which the zero Limits stands for.
const (
	DefaultReadHeaderTimeout = 30 * time.Second  // RequestHeadersTimeout
	DefaultIdleTimeout       = 130 * time.Second // KeepAliveTimeout
	DefaultMaxHeaderBytes    = 32 << 10          // MaxRequestHeadersTotalSize
)

// DefaultMinResponseRate is Kestrel's MinResponseDataRate.
var DefaultMinResponseRate = DataRate{BytesPerSecond: 240, Grace: 5 * time.Second}

// Limits bound what a client may hold of the server. The zero value of each
// field stands for Kestrel's default.
type Limits struct {
	// ReadHeaderTimeout bounds the time from accepting a connection (and
	// again from the end of its TLS handshake, and from the first byte of
	// each later request) to the end of the request's headers. It also
	// bounds the TLS handshake.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a keep-alive
	// connection, and the life of an HTTP/2 connection without streams.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers; past it the
	// request gets 431.
	MaxHeaderBytes int
	// MinResponseRate is the rate a client must read responses at. A
	// negative BytesPerSecond turns the check off.
	MinResponseRate DataRate
}

// withDefaults fills the zero fields with Kestrel's defaults.
func (l Limits) withDefaults() Limits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MinResponseRate == (DataRate{}) {
		l.MinResponseRate = DefaultMinResponseRate
	}
	return l
}

// Config configures a Server.
type Config struct {
	// Handler answers every request.
	Handler http.Handler
	// TLS, when set, serves HTTPS with its certificates (see LoadTLS),
	// offering HTTP/2 and HTTP/1.1 by ALPN.
	TLS *tls.Config
	// H2C accepts HTTP/2 with prior knowledge on plain connections, beside
	// HTTP/1.1. It has no effect with TLS.
	H2C    bool
	Limits Limits
	// Logger receives the server's own errors, such as failed TLS
	// handshakes (nil: discarded).
	Logger *slog.Logger
}

// Server is the configured net/http server.
type Server struct {
	srv    *http.Server
	limits Limits
	tls    bool
}

// New returns a server for cfg; Serve starts it.
func New(cfg Config) *Server {
	lim := cfg.Limits.withDefaults()
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	if cfg.TLS != nil {
		protocols.SetHTTP2(true)
	} else if cfg.H2C {
		protocols.SetUnencryptedHTTP2(true)
	}
	handler := cfg.Handler
	if lim.MinResponseRate.enabled() {
		handler = guardStreams(handler, lim.MinResponseRate)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		Protocols:         &protocols,
		ErrorLog:          log.New(serverLog{logger}, "", 0),
	}
	if cfg.TLS != nil {
		c := cfg.TLS.Clone()
		c.NextProtos = []string{"h2", "http/1.1"}
		if c.MinVersion == 0 {
			c.MinVersion = tls.VersionTLS12
		}
		srv.TLSConfig = c
	}
	return &Server{srv: srv, limits: lim, tls: cfg.TLS != nil}
}

// HTTP returns the underlying net/http server, for inspection; change it
// only before Serve.
func (s *Server) HTTP() *http.Server { return s.srv }

// Limits returns the limits in force, defaults filled in.
func (s *Server) Limits() Limits { return s.limits }

// Scheme is "https" with TLS, "http" otherwise.
func (s *Server) Scheme() string {
	if s.tls {
		return "https"
	}
	return "http"
}

// Serve accepts connections on ln until Shutdown or Close, and returns
// http.ErrServerClosed then. Every connection is held to the minimum
// response rate below TLS, so that the handshake, HTTP/1.1 and HTTP/2 are
// all covered.
func (s *Server) Serve(ln net.Listener) error {
	if s.limits.MinResponseRate.enabled() {
		ln = &rateListener{Listener: ln, rate: s.limits.MinResponseRate}
	}
	if s.tls {
		// The configuration already holds the certificate and the ALPN
		// protocols; ServeTLS wraps ln in a TLS listener.
		return s.srv.ServeTLS(ln, "", "")
	}
	return s.srv.Serve(ln)
}

// ErrServerClosed is what Serve returns after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

// Shutdown stops accepting connections, closes idle ones, and waits for
// requests in flight until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// RegisterOnShutdown registers f to run when Shutdown begins, so that a
// handler can end the long-lived streams Shutdown would otherwise wait for.
func (s *Server) RegisterOnShutdown(f func()) { s.srv.RegisterOnShutdown(f) }

// Close closes every listener and connection at once.
func (s *Server) Close() error {
	err := s.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// serverLog turns net/http's log lines into records: a failed TLS handshake
// (a scanner, a client that does not trust the certificate) is routine and
// logged at debug level; anything else, such as a handler's panic, is an
// error.
type serverLog struct{ log *slog.Logger }

func (w serverLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelError
	if strings.Contains(msg, "TLS handshake error") {
		level = slog.LevelDebug
	}
	w.log.Log(context.Background(), level, msg)
	return len(p), nil
}
