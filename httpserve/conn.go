package httpserve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// watchDelay is how long a request runs before its connection is watched
// for the client going away. Shorter requests, nearly all of them, never
// pay for the watch's goroutine and system calls.
const watchDelay = 100 * time.Millisecond

// maxPostHandlerReadBytes is how much of a request body the handler left
// unread is drained so that the connection can be reused; beyond it the
// connection is closed (net/http's figure).
const maxPostHandlerReadBytes = 256 << 10

// rstAvoidanceDelay is how long a connection closed with request bytes
// still unread lingers after its write side is shut, so that the client
// reads the response before the kernel answers the unread bytes with a
// reset (net/http's figure).
const rstAvoidanceDelay = 500 * time.Millisecond

// errTooManyFiles is the accept error Serve waits out.
var errTooManyFiles = syscall.EMFILE

// aLongTimeAgo is a deadline in the past: setting it ends a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// Connection states, for Shutdown.
const (
	stateIdle   int32 = iota // waiting for a request's first byte
	stateActive              // reading, serving or writing a request
	stateClosed              // closed by Shutdown while idle
)

// conn is one client connection and the state its requests share.
type conn struct {
	srv   *Server
	rwc   net.Conn
	state atomic.Int32
	cr    connReader
	br    *bufio.Reader
	bw    *bufio.Writer
	ctx   context.Context // the connection's values; never cancelled

	lastMethod      string      // of the previous request
	readDeadlineSet atomic.Bool // by a handler, since waitForRequest

	// The disconnect watch of the request being served; see watch.
	mu       sync.Mutex
	cond     sync.Cond
	gen      uint64 // counts requests, so that a late timer is ignored
	armedGen uint64 // the request the timer was last armed for
	armed    bool   // the timer is armed for this request
	done     bool   // the handler has returned: no watch may start
	watched  bool   // a watch has started for this request
	watching bool   // a watch is blocked reading rwc
	aborting bool   // the watch's read is being ended on purpose
	timer    *time.Timer
	cancel   context.CancelFunc // the request context's
	gone     bool               // the watch saw the client go away
}

func newConn(s *Server, rwc net.Conn) *conn {
	c := &conn{srv: s, rwc: rwc}
	c.cond.L = &c.mu
	c.cr = connReader{conn: rwc, remain: -1}
	c.br = bufio.NewReaderSize(&c.cr, 4<<10)
	c.bw = bufio.NewWriterSize(rwc, 4<<10)
	c.ctx = context.WithValue(context.Background(), http.LocalAddrContextKey, rwc.LocalAddr())
	return c
}

// connReader is the layer under the connection's bufio.Reader: it caps what
// reading a request's headers may take, and hands on the byte a disconnect
// watch read ahead.
type connReader struct {
	conn    net.Conn
	remain  int64 // bytes the header phase may still read; -1: no limit
	hasByte bool
	b       [1]byte
}

func (cr *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if cr.hasByte {
		cr.hasByte = false
		p[0] = cr.b[0]
		return 1, nil
	}
	if cr.remain == 0 {
		return 0, errHeaderTooLarge
	}
	if cr.remain > 0 && int64(len(p)) > cr.remain {
		p = p[:cr.remain]
	}
	n, err := cr.conn.Read(p)
	if cr.remain > 0 {
		cr.remain -= int64(n)
	}
	return n, err
}

var errHeaderTooLarge = errors.New("request header too large")

// closeIfIdle closes the connection if it is waiting for a request.
func (c *conn) closeIfIdle() bool {
	if c.state.CompareAndSwap(stateIdle, stateClosed) {
		_ = c.rwc.Close()
		return true
	}
	return false
}

func (c *conn) serve() {
	defer func() {
		_ = c.rwc.Close()
		c.srv.forget(c)
	}()
	for {
		if !c.waitForRequest() {
			return
		}
		keep := c.serveOne()
		if !keep || c.srv.closing.Load() {
			return
		}
		c.state.Store(stateIdle)
		if c.srv.closing.Load() && c.closeIfIdle() {
			return
		}
	}
}

// waitForRequest waits, up to the idle timeout, for the first byte of the
// next request, and marks the connection active.
func (c *conn) waitForRequest() bool {
	handlerSet := c.readDeadlineSet.Swap(false)
	if d := c.srv.idleTimeout(); d > 0 {
		_ = c.rwc.SetReadDeadline(time.Now().Add(d))
	} else if handlerSet {
		// A deadline the handler set was its request's alone.
		_ = c.rwc.SetReadDeadline(time.Time{})
	}
	if _, err := c.br.Peek(1); err != nil {
		return false
	}
	return c.state.CompareAndSwap(stateIdle, stateActive)
}

// serveOne reads one request, serves it and writes its response; it
// reports whether the connection can carry another.
func (c *conn) serveOne() (keep bool) {
	if d := c.srv.ReadHeaderTimeout; d > 0 {
		_ = c.rwc.SetReadDeadline(time.Now().Add(d))
	} else if c.srv.idleTimeout() > 0 {
		_ = c.rwc.SetReadDeadline(time.Time{})
	}
	limit := c.srv.maxHeaderBytes()
	c.cr.remain = limit + 4096 // net/http's slack for bufio's read-ahead
	if c.lastMethod == http.MethodPost {
		// As net/http: some old clients end a POST body with an extra
		// CRLF, which is not the start of the next request.
		peek, _ := c.br.Peek(4) // an error is ReadRequest's to report
		_, _ = c.br.Discard(numLeadingCRorLF(peek))
	}
	req, err := http.ReadRequest(c.br)
	overLimit := c.cr.remain == 0
	c.cr.remain = -1
	if err != nil {
		c.rejectBadRequest(err, overLimit)
		return false
	}
	if c.srv.ReadHeaderTimeout > 0 {
		_ = c.rwc.SetReadDeadline(time.Time{})
	}
	if req.ProtoMajor != 1 {
		c.writeError(http.StatusHTTPVersionNotSupported, "unsupported protocol version")
		return false
	}
	if msg := checkRequest(req); msg != "" {
		c.writeError(http.StatusBadRequest, msg)
		return false
	}
	c.lastMethod = req.Method
	req.RemoteAddr = c.rwc.RemoteAddr().String()

	w := newResponse(c, req)
	if hasToken(req.Header["Expect"], "100-continue") {
		if req.ProtoAtLeast(1, 1) && req.ContentLength != 0 {
			w.body.expectContinue = true
		}
	} else if req.Header.Get("Expect") != "" {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusExpectationFailed)
		w.finish()
		if !w.body.sawEOF {
			c.closeWriteAndWait()
		}
		return false
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.startRequest(cancel)
	req = req.WithContext(ctx)
	w.req = req
	if w.body.sawEOF {
		c.armWatch()
	}

	if !c.runHandler(w, req) {
		c.endRequest()
		cancel()
		return false
	}
	c.endRequest()
	cancel() // as net/http: when the handler returns, before the response is finished
	w.finish()
	if w.writeDeadlineSet.Load() {
		// A deadline the handler set is its request's alone.
		_ = c.rwc.SetWriteDeadline(time.Time{})
	}
	if w.writeErr != nil || c.gone {
		return false
	}
	if !w.body.sawEOF && w.body.err == nil && !w.closeAfter {
		// A body the handler left unread although the response's
		// headers did not drain it (full duplex): drain it now.
		w.body.drain()
	}
	if !w.body.sawEOF {
		c.closeWriteAndWait()
		return false
	}
	return !w.closeAfter
}

// runHandler calls the handler; a panic closes the connection, as with
// net/http, and is logged unless it is http.ErrAbortHandler.
func (c *conn) runHandler(w *response, req *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.srv.logger().Error(fmt.Sprintf("http: panic serving %s: %v\n%s", req.RemoteAddr, p, buf))
			}
			ok = false
		}
	}()
	h := c.srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	h.ServeHTTP(w, req)
	return true
}

// checkRequest applies the checks net/http's server makes after parsing;
// it returns the 400 message, or "" for a good request.
func checkRequest(req *http.Request) string {
	// http.ReadRequest has moved the Host header into req.Host (or taken
	// the authority of a target in absolute form) and removed it from
	// req.Header, so these checks apply to req.Host.
	if req.ProtoAtLeast(1, 1) && req.Host == "" && req.Method != http.MethodConnect {
		return "missing required Host header"
	}
	if !validHost(req.Host) {
		return "malformed Host header"
	}
	for k, vv := range req.Header {
		if !validFieldName(k) {
			return "invalid header name"
		}
		for _, v := range vv {
			if !validFieldValue(v) {
				return "invalid header value"
			}
		}
	}
	return ""
}

// validFieldName: an RFC 9110 token.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x80 || !tokenChar[b] {
			return false
		}
	}
	return true
}

// validFieldValue: no control characters but horizontal tab.
func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// validHost: the characters a Host header may hold (net/http's check).
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		if b := h[i]; b >= 0x80 || !hostChar[b] {
			return false
		}
	}
	return true
}

// numLeadingCRorLF counts the CR and LF bytes v starts with.
func numLeadingCRorLF(v []byte) int {
	n := 0
	for _, b := range v {
		if b != '\r' && b != '\n' {
			break
		}
		n++
	}
	return n
}

var tokenChar, hostChar [128]bool

func init() {
	for b := 0; b < 128; b++ {
		c := byte(b)
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		tokenChar[b] = alnum || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		hostChar[b] = alnum || strings.IndexByte("!$%&'()*+,-.:;=[]_~", c) >= 0
	}
}

// rejectBadRequest answers a request that could not be read, as net/http
// does: nothing for a connection that closed, failed or timed out, 431 past
// the header limit, 501 for an unsupported transfer encoding, a bare 400
// otherwise (the parser's message, which quotes the request, is not sent
// back).
func (c *conn) rejectBadRequest(err error, overLimit bool) {
	switch {
	case overLimit || errors.Is(err, errHeaderTooLarge):
		c.writeErrorResponse(http.StatusRequestHeaderFieldsTooLarge, "", "")
		// The client may still be sending its headers: let it read the
		// response before the unread bytes reset the connection.
		c.closeWriteAndWait()
	case isCommonNetReadError(err):
	case strings.Contains(err.Error(), "unsupported transfer encoding"):
		c.writeErrorResponse(http.StatusNotImplemented, "", "Unsupported transfer encoding")
	default:
		c.writeErrorResponse(http.StatusBadRequest, "", "")
	}
}

// isCommonNetReadError: the client closed the connection, it failed or the
// read timed out (net/http's list); such a request gets no answer.
func isCommonNetReadError(err error) bool {
	if err == io.EOF {
		return true
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return true
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "read" {
		return true
	}
	return false
}

// writeError answers a request the server refuses with code and msg, both
// in the status line and in the body (net/http's format).
func (c *conn) writeError(code int, msg string) {
	reason := http.StatusText(code) + ": " + msg
	c.writeErrorResponse(code, reason, fmt.Sprintf("%d %s", code, reason))
}

// writeErrorResponse writes a plain-text error response framed by the end
// of the connection, which is left to be closed. reason defaults to the
// status text, body to the status line's code and reason.
func (c *conn) writeErrorResponse(code int, reason, body string) {
	if reason == "" {
		reason = http.StatusText(code)
	}
	if body == "" {
		body = fmt.Sprintf("%d %s", code, reason)
	}
	_ = c.rwc.SetWriteDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c.bw, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%s",
		code, reason, body)
	_ = c.bw.Flush()
}

// closeWriteAndWait shuts the write side and waits before the connection
// is closed, so that the client reads the response before unread request
// bytes make the kernel reset the connection.
func (c *conn) closeWriteAndWait() {
	_ = c.bw.Flush()
	if tc, ok := c.rwc.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	time.Sleep(rstAvoidanceDelay)
}

// startRequest readies the disconnect watch for a new request.
func (c *conn) startRequest(cancel context.CancelFunc) {
	c.mu.Lock()
	c.gen++
	c.done = false
	c.gone = false
	c.armed = false
	c.watched = false
	c.cancel = cancel
	c.mu.Unlock()
}

// armWatch starts the watchDelay timer, once the request body has been
// read to its end (a watch must not compete with the handler for the
// body's bytes). A request that has bytes of the next one buffered needs no
// watch: its client is still there.
func (c *conn) armWatch() {
	if c.br.Buffered() > 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done || c.armed {
		return
	}
	c.armed = true
	c.armedGen = c.gen
	if c.timer == nil {
		c.timer = time.AfterFunc(watchDelay, c.watch)
	} else {
		c.timer.Reset(watchDelay)
	}
}

// watch blocks reading the connection while the handler runs: an error
// means the client has gone, and cancels the request's context; a byte (the
// start of a pipelined request) is kept for the next read.
//
// A timer armed for an earlier request may fire late, while a later one
// runs, and a timer Reset then may fire too: at most one watch runs per
// request, and none once a byte is waiting. The deadline is cleared before
// watching is set, under the lock, so that endRequest's deadline in the
// past, set after, cannot be undone.
func (c *conn) watch() {
	c.mu.Lock()
	if c.done || c.armedGen != c.gen || c.watched || c.cr.hasByte {
		c.mu.Unlock()
		return
	}
	c.watched = true
	_ = c.rwc.SetReadDeadline(time.Time{})
	c.watching = true
	c.mu.Unlock()

	n, err := c.rwc.Read(c.cr.b[:])

	c.mu.Lock()
	defer c.mu.Unlock()
	c.watching = false
	if n == 1 {
		c.cr.hasByte = true
	}
	if err != nil && !c.aborting {
		c.gone = true
		c.cancel()
	}
	c.cond.Broadcast()
}

// cancelRequest cancels the context of the request being served.
func (c *conn) cancelRequest() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}

// endRequest stops the watch of a request whose handler has returned,
// ending a read in progress.
func (c *conn) endRequest() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	if c.armed {
		c.timer.Stop()
	}
	if c.watching {
		c.aborting = true
		_ = c.rwc.SetReadDeadline(aLongTimeAgo)
		for c.watching {
			c.cond.Wait()
		}
		c.aborting = false
		_ = c.rwc.SetReadDeadline(time.Time{})
	}
}
