// Package httpserve is funcd's HTTP/1.1 server for the function surface.
//
// It serves any http.Handler, as net/http's Server does, and parses
// requests with the standard library's own parser (http.ReadRequest), but it
// spends less per request: one goroutine per connection reads a request,
// runs the handler and writes the response itself. net/http's server also
// starts a background read of the connection for every request, to notice a
// client that goes away, and stops it after the handler returns; on loopback,
// where funcd sits in front of a handler process, those two extra wake-ups
// are a large part of what a request costs. Here a request starts watching
// its connection only once it has run for watchDelay, so a client that
// disconnects still cancels a long invocation, and a short one pays nothing.
//
// What a client sees follows net/http's server: the same parser and limits
// (Host required for HTTP/1.1, MaxHeaderBytes with 431, 505 for a protocol
// other than HTTP/1.x, 100 Continue sent when the body is first read, 417
// for other expectations, the same error responses), Content-Length for a
// response that fits the buffer and chunked encoding otherwise, trailers,
// Content-Type sniffed when the handler sets none, Date on every response,
// keep-alive by the rules of HTTP/1.0 and 1.1, up to 256 KiB of an unread
// request body drained when the response starts so that the connection can
// be reused, the request context cancelled when the handler returns, and a
// graceful Shutdown that lets requests in flight finish. The package's
// differential test holds it to that, request by request.
//
// It differs from net/http on purpose in these points:
//
//   - A client that goes away is noticed only once its request has run for
//     watchDelay (see above), not at once.
//   - A response is held back up to 4 KiB, not 2 KiB, before it is sent
//     chunked: a body of up to 4 KiB gets a Content-Length.
//   - 100 Continue is sent on the first read of the body as long as nothing
//     of the response has been sent; net/http no longer sends it once the
//     handler has called Write or WriteHeader, and a client that waits for
//     it then waits for its own timeout.
//   - The Host checks apply to Request.Host as http.ReadRequest leaves it:
//     an empty Host header counts as none (400 on HTTP/1.1), and a target in
//     absolute form stands for the Host header (net/http requires one).
//   - An invalid Content-Length set by the handler is logged and dropped,
//     and the response framed as if it had set none (net/http sends such a
//     response chunked).
//   - The response to a request whose body the client cut short says
//     Connection: close (net/http reads such a body as ended, and closes
//     the connection without saying so).
//   - A request whose first byte arrived before Shutdown is served (with
//     Connection: close); net/http drops a request it reads after Shutdown
//     has begun.
//   - IdleTimeout defaults to ReadHeaderTimeout; there is no ReadTimeout or
//     WriteTimeout (a handler can set deadlines through
//     http.ResponseController, and they last until its request is served),
//     no Hijack, no TLS or HTTP/2, and no ConnState hook.
package httpserve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves HTTP/1.1 on the listeners given to Serve. Its fields must
// be set before Serve is called.
type Server struct {
	// Handler answers every request (nil: http.DefaultServeMux).
	Handler http.Handler

	// ReadHeaderTimeout bounds the time to read a request's line and
	// headers once its first byte has arrived (0: no limit).
	ReadHeaderTimeout time.Duration

	// IdleTimeout bounds the wait for the next request on a keep-alive
	// connection (0: ReadHeaderTimeout, or no limit if that is 0 too).
	IdleTimeout time.Duration

	// MaxHeaderBytes bounds the request line and headers (0:
	// http.DefaultMaxHeaderBytes). A request over it gets 431.
	MaxHeaderBytes int

	// Logger receives handler panics and accept errors (nil: slog.Default).
	Logger *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   atomic.Bool
}

// ErrServerClosed is what Serve returns after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

// Serve accepts connections on ln and serves each on its own goroutine. It
// returns ErrServerClosed after Shutdown or Close, or the listener's error.
// Serve closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		_ = ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	var backoff time.Duration
	for {
		rw, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				// As net/http: out of file descriptors or a passing
				// accept error; wait and try again.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("http: accept error; retrying", "error", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := s.newConn(rw)
		if c == nil {
			_ = rw.Close()
			return ErrServerClosed
		}
		go c.serve()
	}
}

// Shutdown stops accepting connections, closes the idle ones, and waits
// for requests in flight to finish and their connections to close, or for
// ctx to end (then it returns ctx's error and leaves those connections to
// finish on their own). Serve returns ErrServerClosed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.closeListeners()
	wait := time.Millisecond
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if s.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			wait = min(2*wait, 100*time.Millisecond)
			timer.Reset(wait)
		}
	}
}

// Close closes the listeners and every connection at once, requests in
// flight included.
func (s *Server) Close() error {
	s.closing.Store(true)
	s.closeListeners()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.rwc.Close()
	}
	return nil
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) maxHeaderBytes() int64 {
	if s.MaxHeaderBytes > 0 {
		return int64(s.MaxHeaderBytes)
	}
	return http.DefaultMaxHeaderBytes
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return s.ReadHeaderTimeout
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.listeners[ln]; ok {
		delete(s.listeners, ln)
		_ = ln.Close()
	}
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ln := range s.listeners {
		_ = ln.Close()
		delete(s.listeners, ln)
	}
}

// newConn registers a connection; nil once the server is closing.
func (s *Server) newConn(rwc net.Conn) *conn {
	c := newConn(s, rwc)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return nil
	}
	if s.conns == nil {
		s.conns = make(map[*conn]struct{})
	}
	s.conns[c] = struct{}{}
	return c
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// closeIdle closes the connections waiting for a request and reports
// whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.closeIfIdle() {
			delete(s.conns, c)
		}
	}
	return len(s.conns) == 0
}
