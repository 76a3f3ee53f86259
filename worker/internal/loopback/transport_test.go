package loopback

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is an httptest server that counts the connections it
// accepted and closed.
type countingServer struct {
	*httptest.Server
	accepted, closed atomic.Int32
}

func newCountingServer(t *testing.T, h http.HandlerFunc) *countingServer {
	t.Helper()
	s := &countingServer{}
	s.Server = httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.accepted.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.closed.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// testTransport returns a transport and a client using it, closing its
// idle connections at the end of the test.
func testTransport(t *testing.T) (*Transport, *http.Client) {
	t.Helper()
	tr := New()
	t.Cleanup(tr.CloseIdleConnections)
	return tr, &http.Client{Transport: tr, CheckRedirect: noRedirect}
}

// do sends a request and reads the whole body.
func do(t *testing.T, c *http.Client, method, url, body string) (*http.Response, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// replies serves the kinds of response the transport must frame.
func replies(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/length":
		w.Header().Set("Content-Length", "5")
		_, _ = io.WriteString(w, "hello")
	case "/chunked":
		for i := range 3 {
			_, _ = fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
	case "/trailer":
		w.Header().Set("Trailer", "X-Sum")
		_, _ = io.WriteString(w, "body")
		w.(http.Flusher).Flush()
		w.Header().Set("X-Sum", "42")
	case "/empty":
		w.WriteHeader(http.StatusNoContent)
	case "/notmodified":
		w.WriteHeader(http.StatusNotModified)
	case "/echo":
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(b)
	case "/big":
		_, _ = w.Write(bytes.Repeat([]byte("x"), 1<<20))
	case "/close":
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "bye")
	case "/early":
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = io.WriteString(w, "after hints")
	default:
		http.NotFound(w, r)
	}
}

func TestTransportReusesConnections(t *testing.T) {
	s := newCountingServer(t, replies)
	_, c := testTransport(t)
	cases := []struct {
		method, path, body string
		status             int
		want               string
		chunked            bool
	}{
		{"GET", "/length", "", 200, "hello", false},
		{"GET", "/chunked", "", 200, "part0;part1;part2;", true},
		{"GET", "/trailer", "", 200, "body", true},
		{"GET", "/empty", "", 204, "", false},
		{"GET", "/notmodified", "", 304, "", false},
		{"HEAD", "/length", "", 200, "", false},
		{"POST", "/echo", `{"a":1}`, 200, `{"a":1}`, false},
		{"POST", "/echo", "", 200, "", false},
		{"PUT", "/echo", strings.Repeat("y", 100<<10), 200, strings.Repeat("y", 100<<10), true},
		{"GET", "/big", "", 200, strings.Repeat("x", 1<<20), true},
		{"GET", "/early", "", 200, "after hints", false},
		{"GET", "/missing", "", 404, "404 page not found\n", false},
	}
	for range 3 {
		for _, tc := range cases {
			resp, body := do(t, c, tc.method, s.URL+tc.path, tc.body)
			if resp.StatusCode != tc.status || body != tc.want {
				t.Errorf("%s %s = %d %.40q, want %d %.40q", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.want)
			}
			if chunked := len(resp.TransferEncoding) > 0; chunked != tc.chunked {
				t.Errorf("%s %s: chunked = %v", tc.method, tc.path, chunked)
			}
			if tc.path == "/trailer" && resp.Trailer.Get("X-Sum") != "42" {
				t.Errorf("trailer = %v", resp.Trailer)
			}
			if tc.method == "HEAD" && resp.ContentLength != 5 {
				t.Errorf("HEAD: ContentLength = %d", resp.ContentLength)
			}
		}
	}
	if n := s.accepted.Load(); n != 1 {
		t.Errorf("%d connections accepted, want 1", n)
	}
}

func TestTransportConnectionClose(t *testing.T) {
	s := newCountingServer(t, replies)
	tr, c := testTransport(t)
	for range 3 {
		if _, body := do(t, c, "GET", s.URL+"/close", ""); body != "bye" {
			t.Errorf("body = %q", body)
		}
	}
	if n := s.accepted.Load(); n != 3 {
		t.Errorf("%d connections accepted, want 3 (Connection: close)", n)
	}
	if n := idleCount(tr); n != 0 {
		t.Errorf("%d idle connections after Connection: close", n)
	}
}

func idleCount(tr *Transport) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.nidle
}

func TestTransportEarlyCloseDiscardsTheConnection(t *testing.T) {
	s := newCountingServer(t, replies)
	tr, c := testTransport(t)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL+"/big", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := resp.Body.Read(buf); err == nil {
		t.Error("Read after Close succeeded")
	}
	if n := idleCount(tr); n != 0 {
		t.Errorf("%d idle connections after an early Close", n)
	}
	if _, body := do(t, c, "GET", s.URL+"/length", ""); body != "hello" {
		t.Errorf("body = %q", body)
	}
	if n := s.accepted.Load(); n != 2 {
		t.Errorf("%d connections accepted, want 2", n)
	}
}

func TestTransportCloseIdleConnections(t *testing.T) {
	s := newCountingServer(t, replies)
	tr, c := testTransport(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				do(t, c, "GET", s.URL+"/length", "")
			}
		})
	}
	wg.Wait()
	accepted := s.accepted.Load()
	if n := idleCount(tr); n != int(accepted) {
		t.Errorf("%d idle connections, want %d", n, accepted)
	}
	c.CloseIdleConnections() // through http.Client, as the Worker's users would
	if n := idleCount(tr); n != 0 {
		t.Errorf("%d idle connections after CloseIdleConnections", n)
	}
	eventually(t, func() bool { return s.closed.Load() == accepted }, "the server did not see the connections close")
	do(t, c, "GET", s.URL+"/length", "")
	if n := s.accepted.Load(); n != accepted+1 {
		t.Errorf("%d connections accepted, want %d", n, accepted+1)
	}
}

func TestTransportPoolIsBounded(t *testing.T) {
	s := newCountingServer(t, replies)
	tr, c := testTransport(t)
	tr.maxIdlePerHost = 2
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 6 {
		wg.Go(func() {
			<-start
			do(t, c, "GET", s.URL+"/big", "")
		})
	}
	close(start)
	wg.Wait()
	if n := idleCount(tr); n > 2 {
		t.Errorf("%d idle connections, want at most 2", n)
	}
}

func TestTransportIdleTimeout(t *testing.T) {
	s := newCountingServer(t, replies)
	tr, c := testTransport(t)
	tr.idleTimeout = 20 * time.Millisecond
	do(t, c, "GET", s.URL+"/length", "")
	eventually(t, func() bool { return idleCount(tr) == 0 && s.closed.Load() == 1 }, "the idle connection was not closed")
	do(t, c, "GET", s.URL+"/length", "")
	eventually(t, func() bool { return idleCount(tr) == 0 && s.closed.Load() == 2 }, "the idle connection was not closed")
}

func TestTransportServerClosedIdleConnections(t *testing.T) {
	s := newCountingServer(t, replies)
	_, c := testTransport(t)
	do(t, c, "GET", s.URL+"/length", "")
	s.CloseClientConnections()
	eventually(t, func() bool { return s.closed.Load() == 1 }, "the server did not close the connection")
	// Not idempotent: the stale connection must be noticed before the
	// request is written.
	if _, body := do(t, c, "POST", s.URL+"/echo", "payload"); body != "payload" {
		t.Errorf("body = %q", body)
	}
	if n := s.accepted.Load(); n != 2 {
		t.Errorf("%d connections accepted, want 2", n)
	}
}

// rawServer accepts connections and hands each to serve, with its index.
type rawServer struct {
	ln       net.Listener
	accepted atomic.Int32
	wg       sync.WaitGroup
}

func newRawServer(t *testing.T, serve func(i int, c net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	var conns sync.Map
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			i := int(s.accepted.Add(1)) - 1
			conns.Store(c, true)
			s.wg.Go(func() {
				defer c.Close()
				serve(i, c, bufio.NewReader(c))
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		conns.Range(func(c, _ any) bool { _ = c.(net.Conn).Close(); return true })
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() }

func writeReply(c net.Conn, body string) error {
	_, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	return err
}

// TestTransportNeverSendsTwice: the handler closes a pooled connection
// after reading the request, without answering (as if it crashed, or its
// idle timeout fired just then). Whatever the method, and even with an
// Idempotency-Key, the request is not sent again: the handler may have run
// it.
func TestTransportNeverSendsTwice(t *testing.T) {
	var received atomic.Int32
	s := newRawServer(t, func(i int, c net.Conn, br *bufio.Reader) {
		for n := 0; ; n++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			received.Add(1)
			if n == 1 {
				return // the second request on a connection: hang up
			}
			if writeReply(c, "ok"+strconv.Itoa(i)) != nil {
				return
			}
		}
	})
	tr, c := testTransport(t)
	send := func(method string, body io.Reader, header ...string) (string, error) {
		req, _ := http.NewRequestWithContext(t.Context(), method, s.url()+"/", body)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	cases := []struct {
		name   string
		method string
		body   func() io.Reader
		header []string
	}{
		{"GET", "GET", func() io.Reader { return nil }, nil},
		{"HEAD", "HEAD", func() io.Reader { return nil }, nil},
		{"OPTIONS with a body", "OPTIONS", func() io.Reader { return strings.NewReader("x") }, nil},
		{"POST", "POST", func() io.Reader { return strings.NewReader("x") }, nil},
		{"POST with Idempotency-Key", "POST", func() io.Reader { return strings.NewReader("x") }, []string{"Idempotency-Key", "k"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr.CloseIdleConnections()
			before := s.accepted.Load()
			if _, err := send("GET", nil); err != nil { // a connection for the pool
				t.Fatal(err)
			}
			received.Store(0)
			body, err := send(tc.method, tc.body(), tc.header...)
			if err == nil || !strings.Contains(err.Error(), "closed before a complete response") {
				t.Errorf("= %q, %v; want the connection's failure", body, err)
			}
			if n := received.Load(); n != 1 {
				t.Errorf("the handler received %d requests, want 1", n)
			}
			if n := s.accepted.Load(); n != before+1 {
				t.Errorf("%d new connections, want 1", n-before)
			}
		})
	}
}

// TestTransportResendsWhatNeverLeft: a pooled connection the handler
// reset, which the liveness peek did not catch, fails on the first write;
// not one byte of the request left, so it goes out again on a new
// connection, once.
func TestTransportResendsWhatNeverLeft(t *testing.T) {
	var received atomic.Int32
	reset := make(chan struct{})
	s := newRawServer(t, func(i int, c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		received.Add(1)
		if writeReply(c, "ok"+strconv.Itoa(i)) != nil || i > 0 {
			return
		}
		// The first connection: reset it once it is idle in the pool.
		<-reset
		_ = c.(*net.TCPConn).SetLinger(0)
	})
	tr, c := testTransport(t)
	if _, body := do(t, c, "GET", s.url()+"/", ""); body != "ok0" {
		t.Fatalf("body = %q", body)
	}
	tr.mu.Lock()
	for _, l := range tr.idle {
		for _, pc := range l.conns {
			pc.raw = nil // no liveness peek
		}
	}
	tr.mu.Unlock()
	close(reset)
	// Wait for the reset to arrive: a read on the idle socket fails.
	eventually(t, func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		for _, l := range tr.idle {
			for _, pc := range l.conns {
				_ = pc.nc.SetReadDeadline(time.Now().Add(time.Millisecond))
				var b [1]byte
				_, err := pc.nc.Read(b[:])
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					return false
				}
				_ = pc.nc.SetReadDeadline(time.Time{})
			}
		}
		return true
	}, "the handler did not reset the connection")
	received.Store(0)
	if _, body := do(t, c, "POST", s.url()+"/", "payload"); body != "ok1" {
		t.Errorf("body = %q, want the reply on a new connection", body)
	}
	if n := received.Load(); n != 1 {
		t.Errorf("the handler received %d requests, want 1", n)
	}
}

// A fresh connection that fails is not retried.
func TestTransportDoesNotRetryAFreshConnection(t *testing.T) {
	var received atomic.Int32
	s := newRawServer(t, func(i int, c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err == nil {
			received.Add(1)
		}
	})
	_, c := testTransport(t)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url()+"/", nil)
	_, err := c.Do(req)
	if err == nil || !strings.Contains(err.Error(), "closed before a complete response") {
		t.Errorf("Do = %v", err)
	}
	if n := received.Load(); n != 1 {
		t.Errorf("the handler received %d requests, want 1", n)
	}
}

// Bytes sent after a response make the connection unusable, whether they
// came with the response or later.
func TestTransportUnsolicitedBytes(t *testing.T) {
	sent := make(chan struct{})
	s := newRawServer(t, func(i int, c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		if i%2 == 0 {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokgarbage")
		} else {
			_ = writeReply(c, "ok")
			time.Sleep(10 * time.Millisecond)
			_, _ = io.WriteString(c, "garbage")
		}
		sent <- struct{}{}
		_, _ = io.Copy(io.Discard, br)
	})
	_, c := testTransport(t)
	for range 4 {
		if _, body := do(t, c, "GET", s.url()+"/", ""); body != "ok" {
			t.Errorf("body = %q", body)
		}
		<-sent
	}
	if n := s.accepted.Load(); n != 4 {
		t.Errorf("%d connections accepted, want 4", n)
	}
}

// A handler that answers without reading a large body and hangs up: the
// answer is returned, not the write error.
func TestTransportEarlyAnswer(t *testing.T) {
	s := newRawServer(t, func(i int, c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!")
		c.(*net.TCPConn).CloseWrite()
		time.Sleep(50 * time.Millisecond)
	})
	_, c := testTransport(t)
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.url()+"/", bytes.NewReader(make([]byte, 64<<20)))
	resp, err := c.Do(req)
	if err != nil {
		t.Skipf("the write error came first: %v", err) // the kernel may drop the answer on reset
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || string(b) != "too big!" {
		t.Errorf("= %d %q", resp.StatusCode, b)
	}
}

// TestTransportWritesWhatTheTransportWrote: the bytes on the wire are those
// http.Transport (as the Worker configured it) sent.
func TestTransportWritesWhatHTTPTransportWrote(t *testing.T) {
	wire := make(chan string, 1)
	s := newRawServer(t, func(i int, c net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			b, _ := io.ReadAll(req.Body)
			var head bytes.Buffer
			_ = req.Header.Write(&head)
			wire <- fmt.Sprintf("%s %s %s\nHost: %s\nContent-Length: %d\nTransfer-Encoding: %v\n%s\n%s",
				req.Method, req.RequestURI, req.Proto, req.Host, req.ContentLength, req.TransferEncoding, head.String(), b)
			if writeReply(c, "ok") != nil {
				return
			}
		}
	})
	old := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1024, WriteBufferSize: 16 << 10, ReadBufferSize: 16 << 10}
	defer old.CloseIdleConnections()
	tr, _ := testTransport(t)
	requests := []func() *http.Request{
		func() *http.Request { // the JSON protocol
			req, _ := http.NewRequest("POST", s.url()+"/hello", bytes.NewReader([]byte(`{"Data":{}}`)))
			req.Header["Content-Type"] = []string{"application/json; charset=utf-8"}
			req.Header["X-Azure-Functions-HostVersion"] = []string{"4.0.0.0"}
			req.Header["X-Azure-Functions-InvocationId"] = []string{"id"}
			req.Header["User-Agent"] = []string{"Azure-Functions-Host/4.0.0.0"}
			return req
		},
		func() *http.Request { // forwarding, with the client's Host
			req, _ := http.NewRequest("GET", s.url()+"/api/hello?a=1&b=%20", nil)
			req.Host = "example.com:7071"
			req.Header["Accept"] = []string{"*/*"}
			req.Header["User-Agent"] = []string{"curl/8.0 Azure-Functions-Host/4.0.0.0"}
			req.Header["X-Azure-Functions-Invocationid"] = []string{"a, b"}
			return req
		},
		func() *http.Request { // proxying: a lower-case header name
			req, _ := http.NewRequest("DELETE", s.url()+"/api/x", nil)
			req.Header["x-ms-invocation-id"] = []string{"id"}
			return req
		},
		func() *http.Request { // no User-Agent: Go's default
			req, _ := http.NewRequest("GET", s.url()+"/", nil)
			return req
		},
		func() *http.Request { // a body of unknown length
			req, _ := http.NewRequest("PUT", s.url()+"/", io.NopCloser(strings.NewReader("streamed")))
			return req
		},
	}
	for i, newReq := range requests {
		var got [2]string
		for j, rt := range []http.RoundTripper{old, tr} {
			resp, err := rt.RoundTrip(newReq())
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			got[j] = <-wire
		}
		if got[0] != got[1] {
			t.Errorf("request %d:\nhttp.Transport wrote:\n%s\nthe loopback transport wrote:\n%s", i, got[0], got[1])
		}
	}
}

func TestTransportRejectsInvalidHeaders(t *testing.T) {
	tr, _ := testTransport(t)
	for _, h := range []http.Header{
		{"Bad Name": {"v"}},
		{"X-Ok": {"a\r\nInjected: 1"}},
		{"X-Ok": {"nul\x00"}},
	} {
		body := &closeRecorder{Reader: strings.NewReader("x")}
		req, _ := http.NewRequest("POST", "http://127.0.0.1:1/", body)
		req.Header = h
		if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "invalid header") {
			t.Errorf("%v: RoundTrip = %v", h, err)
		}
		if !body.closed {
			t.Errorf("%v: the request body was not closed", h)
		}
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// A redirect the client follows to https goes through an http.Transport.
func TestTransportOtherSchemes(t *testing.T) {
	tls := httptest.NewTLSServer(http.HandlerFunc(replies))
	defer tls.Close()
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, tls.URL+"/length", http.StatusFound)
	})
	tr := New()
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL+"/", nil)
	_, err := (&http.Client{Transport: tr}).Do(req)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Do = %v, want the test server's certificate refused", err)
	}
	if tr.other.Load() == nil {
		t.Error("no http.Transport was made")
	}
}

func TestTransportDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	ln.Close()
	_, c := testTransport(t)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	_, err = c.Do(req)
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("Do = %v, want a dial error", err)
	}
}

// hangingServer answers the head and part of the body of /partial, nothing
// at all for /silent, and then waits until the client goes away.
func hangingServer(t *testing.T) *rawServer {
	return newRawServer(t, func(i int, c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.URL.Path == "/partial" {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstart")
		}
		_, _ = io.Copy(io.Discard, br) // until the client closes
	})
}

func TestTransportCancellation(t *testing.T) {
	s := hangingServer(t)
	tr, c := testTransport(t)
	prompt := func(t *testing.T, start time.Time) {
		t.Helper()
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("unblocked after %v", d)
		}
	}

	t.Run("waiting for the head", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, "POST", s.url()+"/silent", strings.NewReader("payload"))
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.Do(req)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Do = %v, want context.Canceled", err)
		}
		prompt(t, start)
	})

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url()+"/silent", nil)
		start := time.Now()
		_, err := c.Do(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Do = %v, want context.DeadlineExceeded", err)
		}
		prompt(t, start)
	})

	t.Run("reading the body", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url()+"/partial", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		buf := make([]byte, 5)
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "start" {
			t.Fatalf("ReadFull = %q, %v", buf, err)
		}
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err = resp.Body.Read(buf)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Read = %v, want context.Canceled", err)
		}
		prompt(t, start)
	})

	t.Run("already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url()+"/silent", nil)
		if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
			t.Errorf("Do = %v, want context.Canceled", err)
		}
	})

	t.Run("after the exchange", func(t *testing.T) {
		// A context cancelled once the body is read does not touch the
		// pooled connection.
		ok := newCountingServer(t, replies)
		for range 3 {
			ctx, cancel := context.WithCancel(t.Context())
			req, _ := http.NewRequestWithContext(ctx, "GET", ok.URL+"/length", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			cancel()
			resp.Body.Close()
		}
		if n := ok.accepted.Load(); n != 1 {
			t.Errorf("%d connections accepted, want 1", n)
		}
	})

	if n := idleCount(tr); n != 1 {
		t.Errorf("%d idle connections, want only the last subtest's", n)
	}
}

func TestTransportConcurrency(t *testing.T) {
	s := newCountingServer(t, replies)
	tr, c := testTransport(t)
	const workers = 16
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for j := range 50 {
				body := fmt.Sprintf("worker %d request %d", i, j)
				path := "/echo"
				switch j % 5 {
				case 1:
					path = "/chunked"
				case 2:
					if j%10 == 2 {
						tr.CloseIdleConnections()
					}
				}
				req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+path, strings.NewReader(body))
				resp, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				if j%7 == 3 {
					_ = resp.Body.Close() // early
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				want := body
				if path == "/chunked" {
					want = "part0;part1;part2;"
				}
				if err != nil || string(b) != want {
					t.Errorf("%s = %q, %v; want %q", path, b, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := idleCount(tr); n > workers {
		t.Errorf("%d idle connections for %d workers", n, workers)
	}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// eventually waits up to 20 seconds for cond to hold.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
