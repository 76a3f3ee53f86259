package httpserve

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// bufferBeforeChunking is how much of a body is held back before the
// status line is written: a response that ends within it gets a
// Content-Length, a longer one is chunked.
const bufferBeforeChunking = 4 << 10

// response is the http.ResponseWriter of one request. It implements
// http.Flusher and the deadline and full-duplex methods of
// http.ResponseController.
type response struct {
	c    *conn
	req  *http.Request
	body requestBody

	handlerHeader http.Header // what Header returns
	header        http.Header // the handler's headers as WriteHeader saw them
	status        int
	wroteHeader   bool // the final status is chosen
	committed     bool // the status line and headers are in the write buffer
	chunked       bool
	handlerDone   bool
	closeAfter    bool
	head          bool
	fullDuplex    bool // the handler may read the body after writing

	writeDeadlineSet atomic.Bool // by the handler: to be cleared after it

	// Taken from the request before the handler can change its header.
	wants10KeepAlive bool // HTTP/1.0 with Connection: keep-alive
	wantsClose       bool // Connection: close, or HTTP/1.0 without keep-alive

	trailers []string // the trailers the Trailer header declared

	declared int64 // the Content-Length the response carries; -1: none
	written  int64 // body bytes the handler wrote
	buf      []byte
	writeErr error
}

func newResponse(c *conn, req *http.Request) *response {
	w := &response{
		c:                c,
		req:              req,
		handlerHeader:    make(http.Header),
		declared:         -1,
		head:             req.Method == http.MethodHead,
		wants10KeepAlive: req.ProtoMajor == 1 && req.ProtoMinor == 0 && hasToken(req.Header["Connection"], "keep-alive"),
		wantsClose:       req.Close || hasToken(req.Header["Connection"], "close"),
	}
	w.body = requestBody{c: c, w: w, src: req.Body, size: req.ContentLength}
	if req.Body == nil || req.Body == http.NoBody {
		w.body.sawEOF = true
	} else {
		req.Body = &w.body
	}
	return w
}

// requestBody wraps the body ReadRequest returned: it sends 100 Continue
// on the first read when the client asked for it, notes the end of the
// body (which arms the disconnect watch) and drains what the handler left.
type requestBody struct {
	c              *conn
	w              *response
	src            io.ReadCloser
	size           int64 // the request's Content-Length; -1: chunked
	read           int64 // bytes read from src
	expectContinue bool
	sent100        bool // 100 Continue was sent, or can no longer be
	sawEOF         bool
	closed         bool
	err            error // a read error other than io.EOF
}

func (b *requestBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.sawEOF {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.expectContinue && !b.sent100 && !b.w.committed {
		b.sent100 = true
		_, _ = io.WriteString(b.c.bw, "HTTP/1.1 100 Continue\r\n\r\n")
		_ = b.c.bw.Flush()
	}
	return b.readSrc(p)
}

func (b *requestBody) readSrc(p []byte) (int, error) {
	n, err := b.src.Read(p)
	b.read += int64(n)
	switch {
	case err == io.EOF:
		b.sawEOF = true
		if !b.w.handlerDone {
			b.c.armWatch()
		}
	case err != nil:
		b.err = err
	}
	return n, err
}

// Close makes later reads fail; what is left of the body is drained or the
// connection closed after the response.
func (b *requestBody) Close() error {
	b.closed = true
	return nil
}

// drain reads and discards what is left of the body if that is at most
// maxPostHandlerReadBytes, unless the client is still waiting for 100
// Continue. It reports whether the body was read to its end.
func (b *requestBody) drain() bool {
	if b.sawEOF {
		return true
	}
	if b.err != nil || b.expectContinue && !b.sent100 {
		return false
	}
	if b.size >= 0 && b.size-b.read > maxPostHandlerReadBytes {
		// Known to be too much: do not read any of it.
		return false
	}
	_ = b.c.rwc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.CopyN(io.Discard, readerFunc(b.readSrc), maxPostHandlerReadBytes+1)
	_ = b.c.rwc.SetReadDeadline(time.Time{})
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return b.sawEOF
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func (w *response) Header() http.Header { return w.handlerHeader }

func (w *response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.wroteHeader || w.handlerDone {
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		// An informational response (103 Early Hints, say) goes out at
		// once, with the headers set so far but those that frame a body.
		if code == http.StatusContinue {
			w.body.sent100 = true
		}
		w.writeStatusLine(code)
		w.noteWriteErr(w.handlerHeader.WriteSubset(w.c.bw, informationalExcluded(w.handlerHeader)))
		_, _ = w.c.bw.WriteString("\r\n")
		w.noteWriteErr(w.c.bw.Flush())
		return
	}
	w.wroteHeader = true
	w.status = code
	w.header = w.handlerHeader.Clone()
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.declared = n
		} else {
			w.c.srv.logger().Warn("http: invalid Content-Length set by the handler", "value", cl)
			w.header.Del("Content-Length")
		}
	}
}

// informationalExcluded is what a 1xx response leaves out of the handler's
// headers: the body's framing, and trailers.
func informationalExcluded(h http.Header) map[string]bool {
	ex := map[string]bool{"Content-Length": true, "Transfer-Encoding": true}
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			ex[k] = true
		}
	}
	return ex
}

func (w *response) Write(p []byte) (int, error) {
	if w.handlerDone {
		return 0, errors.New("http: response written after the handler returned")
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	// Counted even when over the Content-Length, as net/http does: a
	// handler that tried to write more than it declared ends its
	// connection.
	w.written += int64(len(p))
	if w.declared >= 0 && w.written > w.declared {
		return 0, http.ErrContentLength
	}
	if !w.committed {
		if len(w.buf)+len(p) <= bufferBeforeChunking {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		w.commit(p, false)
	}
	if w.head {
		return len(p), nil
	}
	w.writeBody(p)
	if w.writeErr != nil {
		return 0, w.writeErr
	}
	return len(p), nil
}

// WriteString saves io.WriteString a conversion.
func (w *response) WriteString(s string) (int, error) {
	if !w.committed && w.wroteHeader && len(w.buf)+len(s) <= bufferBeforeChunking &&
		bodyAllowedForStatus(w.status) && (w.declared < 0 || w.written+int64(len(s)) <= w.declared) && !w.handlerDone {
		w.buf = append(w.buf, s...)
		w.written += int64(len(s))
		return len(s), nil
	}
	return w.Write([]byte(s))
}

// Flush sends what is buffered: the status line and headers (chunked
// framing, unless the handler set a Content-Length) and any body so far.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush that reports a write error (for
// http.ResponseController).
func (w *response) FlushError() error {
	if w.handlerDone {
		return errors.New("http: flush after the handler returned")
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(nil, false)
	}
	w.noteWriteErr(w.c.bw.Flush())
	return w.writeErr
}

// SetReadDeadline sets the connection's read deadline (for
// http.ResponseController): a request body read past it fails. It lasts
// until the request is served.
func (w *response) SetReadDeadline(t time.Time) error {
	w.c.readDeadlineSet.Store(true)
	return w.c.rwc.SetReadDeadline(t)
}

// SetWriteDeadline sets the connection's write deadline, until the
// request is served.
func (w *response) SetWriteDeadline(t time.Time) error {
	w.writeDeadlineSet.Store(true)
	return w.c.rwc.SetWriteDeadline(t)
}

// EnableFullDuplex lets the handler go on reading the request body after
// the response's headers are sent (for http.ResponseController): the body
// is then not drained when they are.
func (w *response) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}

// finish completes the response after the handler has returned.
func (w *response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.handlerDone = true
	if !w.committed {
		w.commit(nil, true)
	}
	if w.chunked && w.writeErr == nil {
		_, _ = w.c.bw.WriteString("0\r\n")
		if t := w.finalTrailers(); t != nil {
			w.noteWriteErr(t.Write(w.c.bw))
		}
		_, err := w.c.bw.WriteString("\r\n")
		w.noteWriteErr(err)
	}
	if w.declared >= 0 && w.written != w.declared && !w.head && bodyAllowedForStatus(w.status) {
		// Fewer bytes than the Content-Length promised (or an attempt
		// to write more): the client cannot tell where the next
		// response starts.
		w.closeAfter = true
	}
	w.noteWriteErr(w.c.bw.Flush())
}

// commit chooses the response's framing and connection handling and
// writes its status line, headers and the body buffered so far, following
// net/http's rules. p is the write that overflowed the buffer, if any (it
// is written after commit returns, but sniffed with the buffer); final:
// the handler has returned, so the buffer is the whole body.
func (w *response) commit(p []byte, final bool) {
	w.committed = true
	h := w.header
	bodyOK := bodyAllowedForStatus(w.status)
	proto11 := w.req.ProtoAtLeast(1, 1)

	// Trailers: declared in the Trailer header, or set under
	// http.TrailerPrefix (never sent as headers).
	hasTrailers := false
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			delete(h, k)
			hasTrailers = true
		}
	}
	for _, v := range h["Trailer"] {
		hasTrailers = true
		for part := range strings.SplitSeq(v, ",") {
			if k := http.CanonicalHeaderKey(strings.TrimSpace(part)); k != "" && validTrailer(k) {
				w.trailers = append(w.trailers, k)
			}
		}
	}

	te := h.Get("Transfer-Encoding")
	hasTE := te != ""
	if final && !hasTrailers && !hasTE && bodyOK && w.declared < 0 && (!w.head || len(w.buf) > 0) {
		// The whole body is in the buffer: send its length, even 0.
		// (Not for a HEAD without writes: its handler may not have
		// written because it was a HEAD.)
		w.declared = int64(len(w.buf))
		h["Content-Length"] = []string{strconv.Itoa(len(w.buf))}
	}

	if w.wants10KeepAlive && (w.head || w.declared >= 0 || !bodyOK) {
		if _, ok := h["Connection"]; !ok {
			h["Connection"] = []string{"keep-alive"}
		}
	} else if !proto11 || w.wantsClose {
		w.closeAfter = true
	}
	if hasToken(h["Connection"], "close") || w.c.srv.closing.Load() {
		w.closeAfter = true
	}
	if w.body.expectContinue && !w.body.sawEOF {
		// The client waited for 100 Continue and did not get it, or got
		// it and the handler did not read the body to its end: close
		// rather than read a body nobody wants.
		w.closeAfter = true
	}
	if !w.closeAfter && !w.fullDuplex && w.req.ContentLength != 0 {
		// The handler is done with the body once the response starts:
		// read up to 256 KiB of what it left so that the connection can
		// be reused (and a client that sends its whole request before it
		// reads the response is not stuck), and close it if there is
		// more. As with net/http, a body read to its end is closed: a
		// later read fails. (A body the handler closed is drained too.)
		if w.body.drain() {
			w.body.closed = true
		} else {
			w.closeAfter = true
		}
	}

	if bodyOK {
		_, haveType := h["Content-Type"]
		if !haveType && !hasTE && h.Get("Content-Encoding") == "" {
			sniff := w.buf
			if len(sniff) == 0 {
				sniff = p
			} else if len(sniff) < 512 && len(p) > 0 {
				sniff = append(sniff[:len(sniff):len(sniff)], p[:min(len(p), 512-len(sniff))]...)
			}
			if len(sniff) > 0 {
				h.Set("Content-Type", http.DetectContentType(sniff))
			}
		}
	} else {
		h.Del("Content-Length")
		h.Del("Transfer-Encoding")
		if w.status == http.StatusNotModified {
			h.Del("Content-Type")
		}
	}
	if _, ok := h["Date"]; !ok {
		h["Date"] = []string{httpDate()}
	}

	if w.declared >= 0 && hasTE && te != "identity" {
		w.c.srv.logger().Warn("http: handler set both Transfer-Encoding and Content-Length; ignoring Content-Length",
			"transfer_encoding", te, "content_length", w.declared)
		h.Del("Content-Length")
		w.declared = -1
	}
	switch {
	case w.head || !bodyOK:
		h.Del("Transfer-Encoding")
	case w.declared >= 0:
		h.Del("Transfer-Encoding")
	case proto11 && te == "identity":
		// No framing: the end of the body is the end of the connection.
		h.Del("Transfer-Encoding")
		w.closeAfter = true
	case proto11:
		w.chunked = true
		h["Transfer-Encoding"] = []string{"chunked"}
		h.Del("Content-Length")
	default:
		// HTTP/1.0 has no chunked encoding: the end of the body is the
		// end of the connection.
		h.Del("Transfer-Encoding")
		w.closeAfter = true
	}

	if w.closeAfter && !hasToken(h["Connection"], "close") {
		h.Del("Connection")
		if proto11 {
			h["Connection"] = []string{"close"}
		}
	}

	w.writeStatusLine(w.status)
	w.noteWriteErr(h.Write(w.c.bw))
	_, _ = w.c.bw.WriteString("\r\n")
	if len(w.buf) > 0 && bodyOK && !w.head {
		w.writeBody(w.buf)
	}
	w.buf = nil
}

// finalTrailers are the trailers a chunked response ends with: those
// declared in the Trailer header and those set under http.TrailerPrefix,
// with the values the handler left.
func (w *response) finalTrailers() http.Header {
	var t http.Header
	for k, vv := range w.handlerHeader {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			if t == nil {
				t = make(http.Header)
			}
			t[name] = vv
		}
	}
	for _, k := range w.trailers {
		for _, v := range w.handlerHeader[k] {
			if t == nil {
				t = make(http.Header)
			}
			t.Add(k, v)
		}
	}
	return t
}

// validTrailer: the fields RFC 9110 lets a trailer carry (net/http's list).
func validTrailer(k string) bool {
	if strings.HasPrefix(k, "If-") {
		return false
	}
	switch k {
	case "Authorization", "Cache-Control", "Connection", "Content-Encoding", "Content-Length",
		"Content-Range", "Content-Type", "Expect", "Host", "Keep-Alive", "Max-Forwards", "Pragma",
		"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Range", "Realm", "Te",
		"Trailer", "Transfer-Encoding", "Www-Authenticate":
		return false
	}
	return true
}

func (w *response) writeStatusLine(code int) {
	bw := w.c.bw
	if w.req.ProtoAtLeast(1, 1) {
		_, _ = bw.WriteString("HTTP/1.1 ")
	} else {
		_, _ = bw.WriteString("HTTP/1.0 ")
	}
	var scratch [4]byte
	_, _ = bw.Write(strconv.AppendInt(scratch[:0], int64(code), 10))
	_ = bw.WriteByte(' ')
	if text := http.StatusText(code); text != "" {
		_, _ = bw.WriteString(text)
	} else {
		_, _ = bw.WriteString("status code ")
		_, _ = bw.Write(strconv.AppendInt(scratch[:0], int64(code), 10))
	}
	_, _ = bw.WriteString("\r\n")
}

// writeBody writes body bytes after the headers, in a chunk if the
// response is chunked.
func (w *response) writeBody(p []byte) {
	if w.writeErr != nil || len(p) == 0 {
		return
	}
	bw := w.c.bw
	if w.chunked {
		var scratch [16]byte
		_, _ = bw.Write(strconv.AppendInt(scratch[:0], int64(len(p)), 16))
		_, _ = bw.WriteString("\r\n")
	}
	_, err := bw.Write(p)
	w.noteWriteErr(err)
	if w.chunked {
		_, err = bw.WriteString("\r\n")
		w.noteWriteErr(err)
	}
}

// noteWriteErr keeps the first write error; as with net/http, it cancels
// the request context: the client is gone.
func (w *response) noteWriteErr(err error) {
	if err != nil && w.writeErr == nil {
		w.writeErr = err
		w.c.cancelRequest()
	}
}

// bodyAllowedForStatus: 1xx, 204 and 304 responses have no body.
func bodyAllowedForStatus(code int) bool {
	return !(code >= 100 && code < 200 || code == http.StatusNoContent || code == http.StatusNotModified)
}

// hasToken reports whether a comma-separated header holds token, in any
// case.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// httpDate is the Date header's value for now, formatted once a second.
func httpDate() string {
	now := time.Now()
	sec := now.Unix()
	if d := cachedDate.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &dateText{sec: sec, text: now.UTC().Format(http.TimeFormat)}
	cachedDate.Store(d)
	return d.text
}

type dateText struct {
	sec  int64
	text string
}

var cachedDate atomic.Pointer[dateText]
