package loopback

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Settings of the loopback transport.
const (
	// connBufferSize is the size of each connection's read and write
	// buffers: a whole invocation payload or reply usually fits.
	connBufferSize = 16 << 10
	// maxIdlePerHost bounds the idle connections kept per host:port.
	maxIdlePerHost = 1024
	// idleConnTimeout is how long an idle connection is kept.
	idleConnTimeout = 90 * time.Second
	// dialTimeout bounds a connection attempt (besides the request's
	// context).
	dialTimeout = 10 * time.Second
	// maxResponseHeaderBytes bounds a response's status line and headers,
	// as http.Transport's default does.
	maxResponseHeaderBytes = 10 << 20
	// max1xxResponses bounds the informational responses skipped before
	// the final one.
	max1xxResponses = 5
)

// aLongTimeAgo is a deadline in the past: setting it on a connection makes
// its blocked and future reads and writes fail at once.
var aLongTimeAgo = time.Unix(1, 0)

var errReadOnClosedBody = errors.New("http: read on closed response body")

// Transport is an http.RoundTripper for a worker's port on the loopback
// interface. It speaks HTTP/1.1 over a pool of keep-alive connections, and does
// all of an exchange's I/O on the goroutine that makes it: RoundTrip writes
// the request and reads the response head, and the response body reads the
// rest, with no goroutine of its own per connection (http.Transport has
// two, and every request crosses to them and back).
//
// The request goes out as Request.Write writes it: the header as the caller
// set it, Host from Request.Host (else the URL), User-Agent as set (else
// Go's default); nothing else is added (no Accept-Encoding, no Expect).
//
// A request reaches the server at most once. It is sent again, once, on a
// new connection only when not one byte of it reached the server: a
// connection taken from the pool failed on the first write, and the body
// can be sent again (none, or Request.GetBody). A request that failed
// after any of it was written is never sent again, whatever its method:
// the server may have received and run it (an invocation must not run
// twice, and a server that crashes on a request must not crash twice for
// one client). Before a pooled connection is used, a non-blocking peek
// makes sure that the server has not closed it meanwhile, so that the
// usual stale connection is dropped before anything is written on it.
//
// When the request's context is done, the connection's deadline is set in
// the past, which unblocks its I/O; RoundTrip, or the body's Read, then
// returns the context's error and the connection is closed.
//
// Requests for another scheme than http (a redirect the client follows to
// https, say) go through an http.Transport, made when first needed.
type Transport struct {
	dialer         net.Dialer
	maxIdlePerHost int
	idleTimeout    time.Duration

	otherOnce sync.Once
	other     atomic.Pointer[http.Transport] // set by otherOnce

	mu          sync.Mutex
	idle        map[string]*idleConns // by host:port; guarded by mu
	nidle       int                   // guarded by mu
	reaper      *time.Timer           // guarded by mu
	reaperArmed bool                  // guarded by mu
}

// idleConns is a stack of idle connections to one address: the most
// recently used last, so that the oldest ones expire at the front.
type idleConns struct {
	conns []*loopConn
}

// New returns a Transport with an empty pool.
func New() *Transport {
	return &Transport{
		dialer:         net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
		maxIdlePerHost: maxIdlePerHost,
		idleTimeout:    idleConnTimeout,
	}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL != nil && req.URL.Scheme != "http" {
		return t.otherTransport().RoundTrip(req)
	}
	addr, err := checkRequest(req)
	if err != nil {
		closeRequestBody(req)
		return nil, err
	}
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			closeRequestBody(req)
			return nil, err
		}
		c, err := t.conn(ctx, addr, attempt > 0)
		if err != nil {
			closeRequestBody(req)
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			return nil, err
		}
		resp, retry, err := c.exchange(req)
		if err == nil {
			return resp, nil
		}
		if retry && attempt == 0 {
			if again, rerr := rewind(req); rerr == nil {
				req = again
				continue
			}
		}
		return nil, err
	}
}

// otherTransport returns the http.Transport for other schemes, configured
// as this one: no proxy, no compression.
func (t *Transport) otherTransport() *http.Transport {
	t.otherOnce.Do(func() {
		t.other.Store(&http.Transport{
			DialContext:         t.dialer.DialContext,
			MaxIdleConnsPerHost: t.maxIdlePerHost,
			IdleConnTimeout:     t.idleTimeout,
			DisableCompression:  true,
			WriteBufferSize:     connBufferSize,
			ReadBufferSize:      connBufferSize,
		})
	})
	return t.other.Load()
}

// CloseIdleConnections closes the connections in the pool. Connections in
// use are not affected; they return to the pool when their exchange ends.
func (t *Transport) CloseIdleConnections() {
	if other := t.other.Load(); other != nil {
		other.CloseIdleConnections()
	}
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.nidle = 0
	if t.reaperArmed {
		t.reaper.Stop()
		t.reaperArmed = false
	}
	t.mu.Unlock()
	for _, l := range idle {
		for _, c := range l.conns {
			c.close()
		}
	}
}

// conn returns an idle connection to addr that is still open, or a new
// one (always a new one if fresh).
func (t *Transport) conn(ctx context.Context, addr string, fresh bool) (*loopConn, error) {
	for !fresh {
		c := t.takeIdle(addr)
		if c == nil {
			break
		}
		if c.alive() {
			return c, nil
		}
		c.close()
	}
	nc, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newLoopConn(t, addr, nc), nil
}

func (t *Transport) takeIdle(addr string) *loopConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.idle[addr]
	if l == nil || len(l.conns) == 0 {
		return nil
	}
	n := len(l.conns) - 1
	c := l.conns[n]
	l.conns[n] = nil
	l.conns = l.conns[:n]
	t.nidle--
	c.reused = true
	return c
}

// putIdle returns c to the pool, or closes it when the pool is full.
func (t *Transport) putIdle(c *loopConn) {
	c.idleAt = time.Now()
	t.mu.Lock()
	if t.idle == nil {
		t.idle = make(map[string]*idleConns)
	}
	l := t.idle[c.addr]
	if l == nil {
		l = &idleConns{}
		t.idle[c.addr] = l
	}
	if len(l.conns) >= t.maxIdlePerHost {
		t.mu.Unlock()
		c.close()
		return
	}
	l.conns = append(l.conns, c)
	t.nidle++
	if !t.reaperArmed {
		t.reaperArmed = true
		if t.reaper == nil {
			t.reaper = time.AfterFunc(t.idleTimeout, t.reap)
		} else {
			t.reaper.Reset(t.idleTimeout)
		}
	}
	t.mu.Unlock()
}

// reap closes the connections idle for idleTimeout or longer, and arms
// the timer again for the next one to expire.
func (t *Transport) reap() {
	now := time.Now()
	var stale []*loopConn
	t.mu.Lock()
	if !t.reaperArmed {
		t.mu.Unlock()
		return
	}
	next := t.idleTimeout
	for addr, l := range t.idle {
		i := 0
		for i < len(l.conns) && now.Sub(l.conns[i].idleAt) >= t.idleTimeout {
			i++
		}
		stale = append(stale, l.conns[:i]...)
		n := copy(l.conns, l.conns[i:])
		clear(l.conns[n:])
		l.conns = l.conns[:n]
		if n == 0 {
			delete(t.idle, addr)
			continue
		}
		next = min(next, t.idleTimeout-now.Sub(l.conns[0].idleAt))
	}
	t.nidle -= len(stale)
	if t.nidle > 0 {
		t.reaper.Reset(max(next, time.Second))
	} else {
		t.reaperArmed = false
	}
	t.mu.Unlock()
	for _, c := range stale {
		c.close()
	}
}

// loopConn is one connection to the server. It belongs to one exchange at
// a time: to the goroutine in RoundTrip, then to the response body's
// reader, then to the pool.
type loopConn struct {
	t      *Transport
	addr   string
	nc     net.Conn
	raw    syscall.RawConn // for the liveness peek; nil if not available
	br     *bufio.Reader   // reads through the loopConn (counted, limited)
	bw     *bufio.Writer   // writes through the loopConn (counted)
	reused bool            // taken from the pool
	idleAt time.Time       // when it was put in the pool

	nread    int64 // bytes read from the socket
	nwritten int64 // bytes written to the socket
	limit    int64 // bytes that may still be read
	werr     error // the last socket write error

	peekOK  bool
	peekBuf [1]byte
	peekFn  func(fd uintptr) bool // c.peek, bound once
	interr  func()                // c.interrupt, bound once
}

func newLoopConn(t *Transport, addr string, nc net.Conn) *loopConn {
	c := &loopConn{t: t, addr: addr, nc: nc, limit: math.MaxInt64}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	c.br = bufio.NewReaderSize(c, connBufferSize)
	c.bw = bufio.NewWriterSize(c, connBufferSize)
	c.peekFn = c.peek
	c.interr = c.interrupt
	return c
}

// Read reads from the socket for br, counting and bounding what it reads.
func (c *loopConn) Read(p []byte) (int, error) {
	if c.limit <= 0 {
		return 0, fmt.Errorf("net/http: server response headers exceeded %d bytes; aborted", maxResponseHeaderBytes)
	}
	if int64(len(p)) > c.limit {
		p = p[:c.limit]
	}
	n, err := c.nc.Read(p)
	c.nread += int64(n)
	c.limit -= int64(n)
	return n, err
}

// Write writes to the socket for bw, counting what it writes.
func (c *loopConn) Write(p []byte) (int, error) {
	n, err := c.nc.Write(p)
	c.nwritten += int64(n)
	if err != nil {
		c.werr = err
	}
	return n, err
}

func (c *loopConn) close() { _ = c.nc.Close() }

// interrupt makes the connection's pending and future I/O fail at once.
func (c *loopConn) interrupt() { _ = c.nc.SetDeadline(aLongTimeAgo) }

// alive reports whether an idle connection can still be used: the server
// has neither closed it nor sent anything on it since the last response.
func (c *loopConn) alive() bool {
	if c.raw == nil {
		return true
	}
	c.peekOK = false
	if err := c.raw.Read(c.peekFn); err != nil {
		return false
	}
	return c.peekOK
}

// peek looks at the socket without blocking: nothing to read (EAGAIN) is
// the only good answer; end of stream, data or an error mean the
// connection must go. It always returns true: RawConn.Read must not wait.
func (c *loopConn) peek(fd uintptr) bool {
	for {
		_, _, err := syscall.Recvfrom(int(fd), c.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err == syscall.EINTR {
			continue
		}
		c.peekOK = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	}
}

// exchange writes req on c and reads the response head. On failure c is
// closed, and retry says whether req may be sent again on a new
// connection: only when c came from the pool, not one byte of req reached
// its socket, and the body can be replayed.
func (c *loopConn) exchange(req *http.Request) (resp *http.Response, retry bool, err error) {
	ctx := req.Context()
	stop := context.AfterFunc(ctx, c.interr)
	written, read := c.nwritten, c.nread
	c.werr = nil
	err = req.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		if c.werr != nil && ctx.Err() == nil {
			// The server may have answered and closed without reading
			// the whole request; its answer is the better error.
			if resp, rerr := c.readResponse(req); rerr == nil {
				return c.finish(ctx, req, resp, stop, false), false, nil
			}
		}
		stop()
		c.close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, false, cerr
		}
		retry = c.reused && c.werr != nil && c.nwritten == written && c.nread == read && replayableBody(req)
		return nil, retry, err
	}
	resp, err = c.readResponse(req)
	if err != nil {
		stop()
		c.close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, false, cerr
		}
		// The request was written: the server may have run it. It is
		// not sent again, whatever its method.
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("the connection was closed before a complete response arrived: %w", err)
		}
		return nil, false, err
	}
	return c.finish(ctx, req, resp, stop, true), false, nil
}

// readResponse reads the response head, skipping informational (1xx)
// responses but 101.
func (c *loopConn) readResponse(req *http.Request) (*http.Response, error) {
	defer func() { c.limit = math.MaxInt64 }()
	for n := 0; ; n++ {
		c.limit = maxResponseHeaderBytes
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			return nil, err
		}
		if code := resp.StatusCode; code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if n >= max1xxResponses {
			return nil, errors.New("net/http: too many 1xx informational responses")
		}
	}
}

// finish hands c over to resp's body, or releases it at once when there is
// no body to read.
func (c *loopConn) finish(ctx context.Context, req *http.Request, resp *http.Response, stop func() bool, keep bool) *http.Response {
	keep = keep && !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
	if resp.Body == nil || resp.Body == http.NoBody {
		resp.Body = http.NoBody
		c.release(stop, keep)
		return resp
	}
	resp.Body = &loopBody{c: c, body: resp.Body, ctx: ctx, stop: stop, keep: keep}
	return resp
}

// release ends an exchange that went well: c returns to the pool if it can
// carry another one, else it is closed.
func (c *loopConn) release(stop func() bool, keep bool) {
	// stop fails once the context's AfterFunc has run (or runs): the
	// deadline is, or is about to be, in the past.
	if !stop() || !keep || c.br.Buffered() > 0 {
		c.close()
		return
	}
	c.t.putIdle(c)
}

// Body states.
const (
	bodyReading int32 = iota
	bodyEOF
	bodyClosed
)

// loopBody is a response body. Reading it to the end returns the
// connection to the pool; closing it before that, or an error, closes the
// connection. Close may be called concurrently with Read.
type loopBody struct {
	c     *loopConn
	body  io.ReadCloser // from http.ReadResponse
	ctx   context.Context
	stop  func() bool
	keep  bool
	state atomic.Int32
}

func (b *loopBody) Read(p []byte) (int, error) {
	switch b.state.Load() {
	case bodyEOF:
		return 0, io.EOF
	case bodyClosed:
		return 0, errReadOnClosedBody
	}
	n, err := b.body.Read(p)
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		if b.state.CompareAndSwap(bodyReading, bodyEOF) {
			b.c.release(b.stop, b.keep)
		}
		return n, io.EOF
	}
	if !b.state.CompareAndSwap(bodyReading, bodyClosed) {
		return n, errReadOnClosedBody // closed meanwhile
	}
	b.stop()
	b.c.close()
	if cerr := b.ctx.Err(); cerr != nil {
		return n, cerr
	}
	return n, err
}

// Close closes the connection unless the body was read to the end (it is
// then back in the pool already).
func (b *loopBody) Close() error {
	if b.state.Swap(bodyClosed) == bodyReading {
		b.stop()
		b.c.close()
	}
	return nil
}

// checkRequest returns the address req goes to, or why it cannot be sent:
// what http.Transport rejects is rejected too.
func checkRequest(req *http.Request) (string, error) {
	if req.URL == nil {
		return "", errors.New("http: nil Request.URL")
	}
	if req.URL.Host == "" {
		return "", errors.New("http: no Host in request URL")
	}
	if req.Method != "" && !validToken(req.Method) {
		return "", fmt.Errorf("net/http: invalid method %q", req.Method)
	}
	for k, vs := range req.Header {
		if !validToken(k) {
			return "", fmt.Errorf("net/http: invalid header field name %q", k)
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				// The value is not quoted: it may be a secret.
				return "", fmt.Errorf("net/http: invalid header field value for key %v", k)
			}
		}
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	return addr, nil
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// replayableBody reports whether req's body can be sent again.
func replayableBody(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// rewind returns req with a fresh body, to be sent again.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	again := *req
	again.Body = body
	return &again, nil
}

// validToken reports whether s is an RFC 9110 token (a method or a header
// field name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return false
		}
	}
	return true
}

func isTokenByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validHeaderValue reports whether v has no control character but
// horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}
