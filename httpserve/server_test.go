package httpserve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer is a Server on a loopback listener.
type testServer struct {
	*Server
	addr   string
	served chan error // what Serve returned
}

func startServer(t *testing.T, srv *Server) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if srv.Logger == nil {
		srv.Logger = slog.New(slog.DiscardHandler)
	}
	ts := &testServer{Server: srv, addr: ln.Addr().String(), served: make(chan error, 1)}
	go func() { ts.served <- srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ts
}

// clientConn is a raw client connection.
type clientConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *clientConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &clientConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *clientConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// get sends a GET for path.
func (c *clientConn) get(path string) {
	c.t.Helper()
	c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
}

// response reads a whole response and returns it with its body.
func (c *clientConn) response() (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatalf("reading the response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading the response body: %v", err)
	}
	return resp, string(body)
}

// expectBody reads a response and checks its status and body.
func (c *clientConn) expectBody(want string) *http.Response {
	c.t.Helper()
	resp, body := c.response()
	if resp.StatusCode != http.StatusOK || body != want {
		c.t.Fatalf("got %s %q, want 200 %q", resp.Status, body, want)
	}
	return resp
}

// expectClosed checks that the server closes the connection within d
// without sending anything.
func (c *clientConn) expectClosed(d time.Duration) {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	b, err := c.br.ReadByte()
	if err == nil {
		rest, _ := c.br.Peek(c.br.Buffered())
		c.t.Fatalf("read %q, want the connection closed", append([]byte{b}, rest...))
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		c.t.Fatalf("the connection is still open after %v", d)
	}
}

// expectOpen checks that the server neither sends anything nor closes the
// connection for d.
func (c *clientConn) expectOpen(d time.Duration) {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	_, err := c.br.ReadByte()
	if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
		c.t.Fatalf("read: %v, want a timeout (the connection left open)", err)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
}

func recvWithin[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("no %s within %v", what, d)
		panic("unreachable")
	}
}

// blockingHandler answers "/block" only once released, and everything
// else at once.
type blockingHandler struct {
	started chan struct{} // a /block request has started
	release chan struct{}
}

func newBlockingHandler() *blockingHandler {
	return &blockingHandler{started: make(chan struct{}, 10), release: make(chan struct{})}
}

func (h *blockingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/block" {
		h.started <- struct{}{}
		<-h.release
		_, _ = io.WriteString(w, "released "+strings.Repeat("x", 10000)) // a chunked response
		return
	}
	_, _ = io.WriteString(w, "quick")
}

func TestShutdownClosesIdleConnectionsAtOnce(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &Server{Handler: newBlockingHandler()})
	idle := dial(t, ts.addr)
	idle.get("/")
	idle.expectBody("quick")
	fresh := dial(t, ts.addr) // connected, no request yet

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Shutdown took %v with only idle connections", d)
	}
	idle.expectClosed(time.Second)
	fresh.expectClosed(time.Second)
	if err := recvWithin(t, ts.served, time.Second, "return from Serve"); err != ErrServerClosed {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	if c, err := net.Dial("tcp", ts.addr); err == nil {
		_ = c.Close()
		t.Error("the listener still accepts connections after Shutdown")
	}
}

func TestShutdownWaitsForRequestInFlight(t *testing.T) {
	t.Parallel()
	h := newBlockingHandler()
	ts := startServer(t, &Server{Handler: h})
	busy := dial(t, ts.addr)
	busy.get("/block")
	recvWithin(t, h.started, 5*time.Second, "request start")
	idle := dial(t, ts.addr)
	idle.get("/")
	idle.expectBody("quick")

	shut := make(chan error, 1)
	go func() { shut <- ts.Shutdown(context.Background()) }()
	idle.expectClosed(time.Second)
	if err := recvWithin(t, ts.served, time.Second, "return from Serve"); err != ErrServerClosed {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a request was in flight", err)
	case <-time.After(2 * watchDelay):
	}

	close(h.release)
	resp := busy.expectBody("released " + strings.Repeat("x", 10000))
	if !resp.Close {
		t.Error("the response to a request served during Shutdown does not close the connection")
	}
	if err := recvWithin(t, shut, 5*time.Second, "return from Shutdown"); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	busy.expectClosed(time.Second)
}

// TestShutdownServesRequestBeingRead: a request whose first bytes arrived
// before Shutdown is served, and its connection then closed.
func TestShutdownServesRequestBeingRead(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &Server{Handler: newBlockingHandler()})
	c := dial(t, ts.addr)
	c.send("GET / HT")
	// Shutdown closes idle connections at once: wait until this one is
	// no longer idle.
	waitActive(t, ts.Server)
	shut := make(chan error, 1)
	go func() { shut <- ts.Shutdown(context.Background()) }()
	time.Sleep(2 * watchDelay)
	c.send("TP/1.1\r\nHost: x\r\n\r\n")
	if resp := c.expectBody("quick"); !resp.Close {
		t.Error("the response during Shutdown keeps the connection")
	}
	c.expectClosed(time.Second)
	if err := recvWithin(t, shut, 5*time.Second, "return from Shutdown"); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// waitActive waits until srv has a connection reading or serving a request.
func waitActive(t *testing.T, srv *Server) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		srv.mu.Lock()
		for c := range srv.conns {
			if c.state.Load() == stateActive {
				srv.mu.Unlock()
				return
			}
		}
		srv.mu.Unlock()
	}
	t.Fatal("no connection became active")
}

func TestShutdownContextExpires(t *testing.T) {
	t.Parallel()
	h := newBlockingHandler()
	ts := startServer(t, &Server{Handler: h})
	busy := dial(t, ts.addr)
	busy.get("/block")
	recvWithin(t, h.started, 5*time.Second, "request start")

	cancelled, cancel0 := context.WithCancel(context.Background())
	cancel0()
	if err := ts.Shutdown(cancelled); err != context.Canceled {
		t.Errorf("Shutdown with a cancelled context returned %v, want context.Canceled", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := ts.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Errorf("Shutdown returned %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Shutdown returned %v after its context's deadline", d)
	}
	// The request in flight goes on and finishes.
	close(h.release)
	busy.expectBody("released " + strings.Repeat("x", 10000))
	busy.expectClosed(time.Second)

	expired, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := ts.Shutdown(expired); err != nil {
		t.Errorf("Shutdown with nothing left: %v, want nil", err)
	}
}

func TestServeAfterShutdown(t *testing.T) {
	t.Parallel()
	srv := &Server{Handler: newBlockingHandler()}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); err != ErrServerClosed {
		t.Errorf("Serve after Shutdown returned %v, want ErrServerClosed", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve left its listener open (Accept: %v)", err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	cancelled := make(chan error, 1)
	h := newBlockingHandler()
	ts := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			h.started <- struct{}{}
			<-r.Context().Done()
			cancelled <- r.Context().Err()
			return
		}
		h.ServeHTTP(w, r)
	})})
	busy := dial(t, ts.addr)
	busy.get("/wait")
	recvWithin(t, h.started, 5*time.Second, "request start")
	idle := dial(t, ts.addr)
	idle.get("/")
	idle.expectBody("quick")

	if err := ts.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	idle.expectClosed(time.Second)
	busy.expectClosed(time.Second)
	if err := recvWithin(t, ts.served, time.Second, "return from Serve"); err != ErrServerClosed {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	if err := recvWithin(t, cancelled, 2*time.Second, "cancellation of the request in flight"); err != context.Canceled {
		t.Errorf("the request context ended with %v, want context.Canceled", err)
	}
	if err := ts.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after Close: %v", err)
	}
}

// waitHandler runs until its request context ends or for d, then reports
// what ended it.
func waitHandler(d time.Duration, started chan<- struct{}, ended chan<- error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		started <- struct{}{}
		select {
		case <-r.Context().Done():
			ended <- r.Context().Err()
		case <-time.After(d):
			ended <- nil
			_, _ = io.WriteString(w, "waited")
		}
	}
}

func TestDisconnectCancelsRequestContext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		req     string
		closeIn time.Duration // after the handler starts
	}{
		{"get, disconnect after the watch started", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2 * watchDelay},
		{"get, disconnect before the watch started", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0},
		{"post, disconnect after the watch started", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 2 * watchDelay},
		{"chunked post", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 2 * watchDelay},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			started, ended := make(chan struct{}, 1), make(chan error, 1)
			ts := startServer(t, &Server{Handler: waitHandler(10*time.Second, started, ended)})
			c := dial(t, ts.addr)
			c.send(tc.req)
			recvWithin(t, started, 5*time.Second, "request start")
			time.Sleep(tc.closeIn)
			_ = c.nc.Close()
			if err := recvWithin(t, ended, 2*time.Second, "end of the handler"); err != context.Canceled {
				t.Errorf("the handler ended with %v, want context.Canceled", err)
			}
		})
	}
}

func TestRequestContextLivesWhileClientStays(t *testing.T) {
	t.Parallel()
	started, ended := make(chan struct{}, 2), make(chan error, 2)
	ts := startServer(t, &Server{Handler: waitHandler(3*watchDelay, started, ended)})
	c := dial(t, ts.addr)
	for i := range 2 {
		c.get("/")
		c.expectBody("waited")
		if err := <-ended; err != nil {
			t.Errorf("request %d: the context ended (%v) while the client stayed", i, err)
		}
	}
}

func TestRequestContextEndsWithHandler(t *testing.T) {
	t.Parallel()
	ctxs := make(chan context.Context, 1)
	ts := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctxs <- r.Context()
	})})
	c := dial(t, ts.addr)
	c.get("/")
	c.expectBody("")
	if err := (<-ctxs).Err(); err != context.Canceled {
		t.Errorf("after the handler returned, its context's error is %v, want context.Canceled", err)
	}
}

// TestSlowRequestThenNext: a handler that outlives watchDelay leaves its
// connection usable, and the bytes of the next request that arrive while
// it runs (the first of which the disconnect watch reads) are not lost.
func TestSlowRequestThenNext(t *testing.T) {
	t.Parallel()
	slow := 3 * watchDelay
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			_, _ = io.Copy(io.Discard, r.Body)
			time.Sleep(slow)
		}
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b))
	})
	for _, tc := range []struct {
		name string
		// first is the slow request; during runs while it does (after
		// the watch has started); after follows its response.
		first, during, after string
		want                 []string
	}{
		{
			name:  "next request after the slow one",
			first: "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n",
			after: "GET /next HTTP/1.1\r\nHost: x\r\n\r\n",
			want:  []string{"GET /slow ", "GET /next "},
		},
		{
			name:   "next request arrives during the slow one",
			first:  "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n",
			during: "GET /next HTTP/1.1\r\nHost: x\r\n\r\n",
			want:   []string{"GET /slow ", "GET /next "},
		},
		{
			name:   "one byte of the next request arrives during the slow one",
			first:  "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n",
			during: "P",
			after:  "OST /next HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody",
			want:   []string{"GET /slow ", "POST /next body"},
		},
		{
			name:   "slow post, next request arrives during it",
			first:  "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
			during: "GET /next HTTP/1.1\r\nHost: x\r\n\r\n",
			want:   []string{"POST /slow ", "GET /next "},
		},
		{
			name:   "two slow requests, the second arriving during the first",
			first:  "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n",
			during: "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n",
			after:  "GET /next HTTP/1.1\r\nHost: x\r\n\r\n",
			want:   []string{"GET /slow ", "GET /slow ", "GET /next "},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, &Server{Handler: handler})
			c := dial(t, ts.addr)
			c.send(tc.first)
			if tc.during != "" {
				time.Sleep(2 * watchDelay)
				c.send(tc.during)
			}
			c.expectBody(tc.want[0])
			if tc.after != "" {
				c.send(tc.after)
			}
			for _, want := range tc.want[1:] {
				c.expectBody(want)
			}
			c.expectOpen(50 * time.Millisecond)
		})
	}
}

// TestManySlowRequests runs requests around watchDelay one after another
// on one connection, so that disconnect watches start, end and race their
// timers; every response must come back in order.
func TestManySlowRequests(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, err := time.ParseDuration(r.URL.Query().Get("d")); err == nil {
			time.Sleep(d)
		}
		_, _ = io.WriteString(w, r.URL.RawQuery)
	})})
	c := dial(t, ts.addr)
	delays := []time.Duration{watchDelay + 5*time.Millisecond, 0, watchDelay - 5*time.Millisecond, watchDelay + 20*time.Millisecond, watchDelay, 0}
	for i, d := range delays {
		q := "d=" + d.String()
		c.get("/?" + q)
		if i%2 == 1 {
			// A pipelined one behind it.
			c.get("/?d=0s&pipelined")
		}
		c.expectBody(q)
		if i%2 == 1 {
			c.expectBody("d=0s&pipelined")
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = 400 * time.Millisecond
	ts := startServer(t, &Server{Handler: newBlockingHandler(), IdleTimeout: idle})
	c := dial(t, ts.addr)
	fresh := dial(t, ts.addr) // never sends a request: idle too
	start := time.Now()
	c.get("/")
	c.expectBody("quick")
	time.Sleep(idle / 4)
	c.get("/") // within the timeout: served
	c.expectBody("quick")
	served := time.Now()
	c.expectClosed(5 * time.Second)
	if d := time.Since(served); d < idle*3/4 {
		t.Errorf("closed after %v idle, before the idle timeout (%v)", d, idle)
	}
	fresh.expectClosed(5 * time.Second)
	if d := time.Since(start); d < idle*3/4 {
		t.Errorf("closed a new connection after %v, before the idle timeout (%v)", d, idle)
	}
}

func TestReadHeaderTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	ts := startServer(t, &Server{Handler: newBlockingHandler(), ReadHeaderTimeout: timeout, IdleTimeout: 5 * time.Second})
	c := dial(t, ts.addr)
	c.get("/")
	c.expectBody("quick")
	c.send("GET / HTTP/1.1\r\nHost: x\r\n") // no end of the header
	start := time.Now()
	c.expectClosed(5 * time.Second)
	if d := time.Since(start); d < timeout*3/4 {
		t.Errorf("closed after %v, before the header timeout (%v)", d, timeout)
	}

	// A header that arrives slowly but within the timeout is served.
	c = dial(t, ts.addr)
	c.send("GET /")
	time.Sleep(timeout / 10)
	c.send(" HTTP/1.1\r\nHost: x\r\n\r\n")
	c.expectBody("quick")
}

func TestReadHeaderTimeoutIsNotABodyTimeout(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &Server{ReadHeaderTimeout: 50 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write(b)
	})})
	c := dial(t, ts.addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
	time.Sleep(150 * time.Millisecond)
	c.send("cd")
	c.expectBody("abcd")
}

func TestResponseControllerSetReadDeadline(t *testing.T) {
	t.Parallel()
	readErr := make(chan error, 1)
	ts := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Errorf("SetReadDeadline: %v", err)
		}
		_, err := io.ReadAll(r.Body)
		readErr <- err
		if err := rc.SetWriteDeadline(time.Now().Add(time.Second)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		http.Error(w, "slow body", http.StatusRequestTimeout)
	})})
	c := dial(t, ts.addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n") // the body is not sent
	if err := recvWithin(t, readErr, 5*time.Second, "body read"); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("reading the body past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	resp, body := c.response()
	if resp.StatusCode != http.StatusRequestTimeout || body != "slow body\n" {
		t.Errorf("got %s %q", resp.Status, body)
	}
	if !resp.Close {
		t.Error("the response after a failed body read keeps the connection")
	}
	c.expectClosed(2 * time.Second)
}

func TestResponseControllerFlush(t *testing.T) {
	t.Parallel()
	proceed := make(chan struct{})
	ts := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_, _ = io.WriteString(w, "first;")
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		<-proceed
		_, _ = io.WriteString(w, "second")
	})})
	c := dial(t, ts.addr)
	c.get("/")
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The first part arrives before the handler goes on.
	first := make([]byte, len("first;"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first;" {
		t.Fatalf("before the handler finished, read %q (%v)", first, err)
	}
	close(proceed)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "second" {
		t.Fatalf("then read %q (%v)", rest, err)
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.Close {
		t.Errorf("flushed response: Transfer-Encoding %v, Close %v; want chunked, kept open", resp.TransferEncoding, resp.Close)
	}
}

func TestResponseControllerFullDuplex(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex: %v", err)
		}
		w.WriteHeader(http.StatusOK)
		_ = rc.Flush()
		// Echo the body line by line, after the headers went out.
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			_, _ = io.WriteString(w, strings.ToUpper(sc.Text())+"\n")
			_ = rc.Flush()
		}
	})})
	c := dial(t, ts.addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewReader(resp.Body)
	for _, word := range []string{"one", "two"} {
		c.send("4\r\n" + word + "\n\r\n")
		line, err := lines.ReadString('\n')
		if err != nil || line != strings.ToUpper(word)+"\n" {
			t.Fatalf("echo of %q: %q (%v)", word, line, err)
		}
	}
	c.send("0\r\n\r\n")
	if rest, err := io.ReadAll(lines); err != nil || len(rest) != 0 {
		t.Fatalf("after the body ended: %q (%v)", rest, err)
	}
	c.get("/")
	c.expectBody("")
}

// TestWriteErrorCancelsRequestContext: a handler that streams a response
// while the request body is still coming (so no disconnect watch runs)
// learns from its failed writes, through its context, that the client has
// gone.
func TestWriteErrorCancelsRequestContext(t *testing.T) {
	t.Parallel()
	ended := make(chan error, 1)
	ts := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		chunk := strings.Repeat("w", 32<<10)
		deadline := time.After(5 * time.Second)
		for {
			select {
			case <-r.Context().Done():
				ended <- r.Context().Err()
				return
			case <-deadline:
				ended <- nil
				return
			default:
			}
			_, _ = io.WriteString(w, chunk)
			_ = rc.Flush()
		}
	})})
	c := dial(t, ts.addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nstart\r\n") // the body goes on
	if _, err := http.ReadResponse(c.br, nil); err != nil {
		t.Fatal(err)
	}
	_ = c.nc.(*net.TCPConn).SetLinger(0) // reset: writes fail at once
	_ = c.nc.Close()
	if err := recvWithin(t, ended, 10*time.Second, "end of the handler"); err != context.Canceled {
		t.Errorf("the handler's writes failed but its context ended with %v, want context.Canceled", err)
	}
}

// logRecorder keeps the messages logged.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}

func (l *logRecorder) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

func TestPanicIsLoggedUnlessAborted(t *testing.T) {
	t.Parallel()
	rec := &logRecorder{}
	ts := startServer(t, &Server{Logger: slog.New(rec), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		panic("kaboom")
	})})
	c := dial(t, ts.addr)
	c.get("/abort")
	c.expectClosed(2 * time.Second)
	if msgs := rec.messages(); len(msgs) != 0 {
		t.Errorf("http.ErrAbortHandler was logged: %q", msgs)
	}
	c = dial(t, ts.addr)
	c.get("/panic")
	c.expectClosed(2 * time.Second)
	msgs := rec.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "kaboom") || !strings.Contains(msgs[0], "server_test.go") {
		t.Errorf("logged %q, want the panic with its stack", msgs)
	}
}

func TestNilHandlerIsDefaultServeMux(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &Server{})
	c := dial(t, ts.addr)
	c.get("/no-such-path-on-the-default-mux")
	resp, _ := c.response()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("got %s, want 404 from http.DefaultServeMux", resp.Status)
	}
}

func TestLargeResponseStreams(t *testing.T) {
	t.Parallel()
	const size = 4 << 20
	ts := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<10)
		for written := 0; written < size; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})})
	c := dial(t, ts.addr)
	for range 2 {
		c.get("/")
		resp, body := c.response()
		if len(body) != size || resp.ContentLength != -1 {
			t.Fatalf("got %d bytes (Content-Length %d), want %d chunked", len(body), resp.ContentLength, size)
		}
	}
}

// TestHandlerDeadlinesEndWithRequest: deadlines a handler sets through
// http.ResponseController hold for its request only, not for the next one
// on the connection (the server here has no timeouts of its own).
func TestHandlerDeadlinesEndWithRequest(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/deadlines" {
			rc := http.NewResponseController(w)
			soon := time.Now().Add(20 * time.Millisecond)
			if err := rc.SetReadDeadline(soon); err != nil {
				t.Errorf("SetReadDeadline: %v", err)
			}
			if err := rc.SetWriteDeadline(soon); err != nil {
				t.Errorf("SetWriteDeadline: %v", err)
			}
		}
		_, _ = io.WriteString(w, r.URL.Path)
	})})
	c := dial(t, ts.addr)
	c.get("/deadlines")
	c.expectBody("/deadlines")
	time.Sleep(100 * time.Millisecond) // past both deadlines
	c.get("/next")
	c.expectBody("/next")
}
