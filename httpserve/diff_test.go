package httpserve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The differential test sends the same bytes to a net/http.Server and to a
// Server serving the same handler and compares what comes back on the wire.

// diffCase is one exchange of the differential test.
type diffCase struct {
	name    string
	handler http.HandlerFunc
	// req is written at once (from another goroutine, so that a server
	// that stops reading cannot block the test).
	req string
	// afterContinue, if set, is written once an interim response to req
	// has been read: the body of a request that expects 100 Continue.
	afterContinue string
	// maxHeaderBytes is both servers' MaxHeaderBytes (0: the default).
	maxHeaderBytes int
	// halfClose: the client shuts its write side after req.
	halfClose bool
	// deliberate, for a case where httpserve differs from net/http on
	// purpose, turns net/http's exchange into the one httpserve must
	// produce; the difference is described where the case is.
	deliberate func(*exchange)
}

// exchange is what a client saw on one connection.
type exchange struct {
	Responses []wireResponse
	// End is how reading stopped before every request had its final
	// response: "" (it did not), "closed" or "timeout".
	End string
	// Open: the connection answered a further request afterwards.
	Open bool
}

// wireResponse is one response as read off the wire.
type wireResponse struct {
	Status        string
	Proto         string
	Header        http.Header // Date's value replaced by "(present)"
	Body          string
	BodyErr       string // how reading the body failed, if it did
	Chunked       bool
	ContentLength int64
	Close         bool
	Trailer       http.Header
}

func (r wireResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s chunked=%v contentLength=%d close=%v\n", r.Proto, r.Status, r.Chunked, r.ContentLength, r.Close)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range r.Header {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "\t%s: %q\n", k, r.Header[k])
	}
	body := r.Body
	if len(body) > 200 {
		body = body[:100] + fmt.Sprintf("...(%d bytes)...", len(body)) + body[len(body)-100:]
	}
	fmt.Fprintf(&b, "\tbody %q", body)
	if r.BodyErr != "" {
		fmt.Fprintf(&b, " (%s)", r.BodyErr)
	}
	if r.Trailer != nil {
		fmt.Fprintf(&b, "\n\ttrailer %v", r.Trailer)
	}
	return b.String()
}

func (e exchange) String() string {
	var b strings.Builder
	for i, r := range e.Responses {
		fmt.Fprintf(&b, "  [%d] %s\n", i, r)
	}
	fmt.Fprintf(&b, "  end=%q open=%v", e.End, e.Open)
	return b.String()
}

const probePath = "/__probe"

// probed wraps a case's handler: the request that checks whether the
// connection is still usable gets "probe".
func probed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == probePath {
			_, _ = io.WriteString(w, "probe")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// startBoth starts a net/http.Server and a Server with h and returns their
// addresses.
func startBoth(t *testing.T, h http.Handler, maxHeaderBytes int) (std, ours string) {
	t.Helper()
	stdLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ourLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stdSrv := &http.Server{Handler: probed(h), MaxHeaderBytes: maxHeaderBytes, ErrorLog: log.New(io.Discard, "", 0)}
	ourSrv := &Server{Handler: probed(h), MaxHeaderBytes: maxHeaderBytes, Logger: slog.New(slog.DiscardHandler)}
	go func() { _ = stdSrv.Serve(stdLn) }()
	go func() { _ = ourSrv.Serve(ourLn) }()
	t.Cleanup(func() {
		_ = stdSrv.Close()
		_ = ourSrv.Close()
	})
	return stdLn.Addr().String(), ourLn.Addr().String()
}

// requestMethods parses raw as a sequence of requests and returns their
// methods, as far as they parse; at least one ("GET").
func requestMethods(raw string) []string {
	var methods []string
	br := bufio.NewReader(strings.NewReader(raw))
	for {
		for {
			b, err := br.Peek(1)
			if err != nil || b[0] != '\r' && b[0] != '\n' {
				break
			}
			_, _ = br.Discard(1)
		}
		if _, err := br.Peek(1); err != nil {
			break
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			// Bytes that do not parse get a response too (an error).
			methods = append(methods, http.MethodGet)
			break
		}
		methods = append(methods, req.Method)
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			break
		}
	}
	if len(methods) == 0 {
		methods = []string{http.MethodGet}
	}
	return methods
}

// endOf classifies the error that ended reading.
func endOf(err error) string {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return "timeout"
	}
	return "closed"
}

// exchangeWith sends tc's request to addr and reads what comes back.
func exchangeWith(t *testing.T, addr string, tc diffCase) exchange {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	write := func(s string) {
		go func() { _, _ = io.WriteString(conn, s) }()
	}
	if tc.halfClose {
		write = func(s string) {
			_, _ = io.WriteString(conn, s)
			_ = conn.(*net.TCPConn).CloseWrite()
		}
	}

	var ex exchange
	methods := requestMethods(tc.req + tc.afterContinue)
	write(tc.req)
	continued := tc.afterContinue == ""
	for finals := 0; finals < len(methods); {
		resp, err := http.ReadResponse(br, &http.Request{Method: methods[finals]})
		if err != nil {
			ex.End = endOf(err)
			return ex
		}
		r := wireResponse{
			Status:        resp.Status,
			Proto:         resp.Proto,
			Header:        resp.Header,
			Chunked:       slices.Contains(resp.TransferEncoding, "chunked"),
			ContentLength: resp.ContentLength,
			Close:         resp.Close,
		}
		body, err := io.ReadAll(resp.Body)
		r.Body = string(body)
		if err != nil {
			r.BodyErr = err.Error()
		}
		if len(resp.Trailer) > 0 {
			r.Trailer = resp.Trailer
		}
		if _, ok := r.Header["Date"]; ok {
			r.Header["Date"] = []string{"(present)"}
		}
		ex.Responses = append(ex.Responses, r)
		if err != nil {
			ex.End = endOf(err)
			return ex
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			finals++
		}
		if !continued {
			continued = true
			write(tc.afterContinue)
		}
	}

	// Is the connection still usable?
	if tc.halfClose {
		return ex
	}
	if _, err := io.WriteString(conn, "GET "+probePath+" HTTP/1.1\r\nHost: probe\r\n\r\n"); err != nil {
		return ex
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		if endOf(err) == "timeout" {
			ex.End = "timeout"
		}
		return ex
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "probe" {
		t.Errorf("%s: the probe after the exchange got %s %q (%v)", addr, resp.Status, body, err)
		return ex
	}
	ex.Open = true
	return ex
}

// Handlers the cases share.

func writeString(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, s) }
}

func readAllThen(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s: read %d bytes, err %v", s, len(b), err)
	}
}

func readSome(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, n)
		m, err := io.ReadFull(r.Body, b)
		fmt.Fprintf(w, "read %d bytes, err %v", m, err)
	}
}

// viewRequest shows the handler's view of the request.
func viewRequest(w http.ResponseWriter, r *http.Request) {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range r.Header {
			if !yield(k) {
				return
			}
		}
	})
	fmt.Fprintf(w, "%s %s %s host=%q close=%v len=%d te=%v remote=%v local=%v\n",
		r.Method, r.RequestURI, r.Proto, r.Host, r.Close, r.ContentLength, r.TransferEncoding,
		r.RemoteAddr != "", r.Context().Value(http.LocalAddrContextKey) != nil)
	for _, k := range keys {
		fmt.Fprintf(w, "%s: %q\n", k, r.Header[k])
	}
	b, err := io.ReadAll(r.Body)
	fmt.Fprintf(w, "body %q err %v", b, err)
}

func chunkedBody(total, chunk int) string {
	var b strings.Builder
	for total > 0 {
		n := min(chunk, total)
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, strings.Repeat("c", n))
		total -= n
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

func post(path string, body string, extra string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func postChunked(path string, chunked string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
}

const get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

var diffCases = []diffCase{
	// Bodies and their framing.
	{name: "get small body", handler: writeString("hello, world"), req: get},
	{name: "get empty body", handler: func(w http.ResponseWriter, r *http.Request) {}, req: get},
	{name: "get body over 4KiB in one write", handler: writeString(strings.Repeat("a", 5000)), req: get},
	{name: "get body over 4KiB in small writes", handler: func(w http.ResponseWriter, r *http.Request) {
		for range 50 {
			_, _ = io.WriteString(w, strings.Repeat("b", 100))
		}
	}, req: get},
	{
		// Deliberate: httpserve holds back 4 KiB before it chunks a
		// response, net/http 2 KiB, so a 3 KiB body gets a
		// Content-Length here.
		name: "get 3KiB body", handler: writeString(strings.Repeat("m", 3<<10)), req: get,
		deliberate: func(e *exchange) {
			r := &e.Responses[0]
			r.Chunked = false
			r.ContentLength = 3 << 10
			r.Header["Content-Length"] = []string{strconv.Itoa(3 << 10)}
		},
	},
	{name: "status text of an unknown code", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) }, req: get},
	{name: "status 500 with body", handler: func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}, req: get},

	// HEAD.
	{name: "head without writes", handler: func(w http.ResponseWriter, r *http.Request) {}, req: "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"},
	{name: "head with writes", handler: writeString("hello"), req: "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"},
	{name: "head with writes over 4KiB", handler: writeString(strings.Repeat("h", 5000)), req: "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"},
	{name: "head with content-length set", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1234")
	}, req: "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"},
	{name: "head then get", handler: writeString("body"), req: "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" + get},

	// Statuses without a body.
	{name: "204 with a write", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNoContent)
		_, _ = io.WriteString(w, "ignored")
	}, req: get},
	{name: "304 with a write and framing headers", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "7")
		w.Header().Set("ETag", `"x"`)
		w.WriteHeader(http.StatusNotModified)
		_, _ = io.WriteString(w, "ignored")
	}, req: get},

	// Content-Length set by the handler.
	{name: "content-length exact", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		_, _ = io.WriteString(w, "hello")
	}, req: get + get},
	{name: "content-length with less written", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "hello")
	}, req: get},
	{name: "content-length with more written", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		_, _ = io.WriteString(w, "hello, world")
	}, req: get},
	{name: "content-length written then more", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		_, _ = io.WriteString(w, "hello")
		if _, err := io.WriteString(w, "!"); err != http.ErrContentLength {
			panic(fmt.Sprintf("write past Content-Length: %v", err))
		}
	}, req: get},
	{name: "content-length over 4KiB", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "6000")
		_, _ = io.WriteString(w, strings.Repeat("l", 6000))
	}, req: get + get},
	{
		// Deliberate: an invalid Content-Length set by the handler is
		// dropped, and the response framed as if it had set none;
		// net/http drops it from the handler's map but not from the
		// copy it sends, and so never computes one (the response is
		// chunked).
		name: "content-length invalid", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "lots")
			_, _ = io.WriteString(w, "hi")
		}, req: get,
		deliberate: func(e *exchange) {
			r := &e.Responses[0]
			r.Chunked = false
			r.ContentLength = 2
			r.Header["Content-Length"] = []string{"2"}
		},
	},

	// Content-Type.
	{name: "content-type set", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "<html>not really</html>")
	}, req: get},
	{name: "content-type sniffed", handler: writeString("<!DOCTYPE html><html><body>hi</body></html>"), req: get},
	{name: "content-type sniffed from a large first write", handler: writeString("<html><body>" + strings.Repeat("x", 6000)), req: get},
	{name: "content-type sniffed from buffer and write", handler: func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<ht")
		_, _ = io.WriteString(w, "ml><body>"+strings.Repeat("y", 6000))
	}, req: get},
	{name: "content-type nil", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil
		_, _ = io.WriteString(w, "<html></html>")
	}, req: get},
	{name: "content-encoding set: no sniffing", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = io.WriteString(w, "<html></html>")
	}, req: get},
	{name: "date set by the handler", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", "Mon, 02 Jan 2006 15:04:05 GMT")
	}, req: get},
	{name: "date nil", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
	}, req: get},
	{name: "header changed after WriteHeader", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Before", "1")
		w.WriteHeader(http.StatusAccepted)
		w.Header().Set("X-After", "1")
		_, _ = io.WriteString(w, "ok")
	}, req: get},

	// HTTP/1.0 and keep-alive.
	{name: "http/1.0", handler: writeString("old"), req: "GET / HTTP/1.0\r\n\r\n"},
	{name: "http/1.0 keep-alive", handler: writeString("old"), req: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
	{name: "http/1.0 keep-alive head", handler: func(w http.ResponseWriter, r *http.Request) {}, req: "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
	{name: "http/1.0 keep-alive streamed", handler: writeString(strings.Repeat("s", 5000)), req: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
	{name: "http/1.0 keep-alive handler close", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "bye")
	}, req: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
	{name: "http/1.0 with host", handler: viewRequest, req: "GET /p?q=1 HTTP/1.0\r\nHost: example.com\r\n\r\n"},
	{name: "connection close from client", handler: writeString("bye"), req: "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
	{name: "connection close from handler", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "bye")
	}, req: get},
	{name: "connection close from handler, streamed", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, strings.Repeat("z", 5000))
	}, req: get},
	{name: "transfer-encoding identity from handler", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", "identity")
		_, _ = io.WriteString(w, "until the end")
	}, req: get},
	{name: "transfer-encoding chunked from handler", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", "chunked")
		_, _ = io.WriteString(w, "small")
	}, req: get + get},
	{name: "transfer-encoding chunked from handler, head", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", "chunked")
	}, req: "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"},
	{name: "transfer-encoding chunked from handler, http/1.0", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", "chunked")
		_, _ = io.WriteString(w, "small")
	}, req: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},

	// The request as the handler sees it.
	{name: "request view", handler: viewRequest, req: "GET /a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\nX-One: 1\r\nX-Two: a\r\nX-Two: b\r\nCookie: c=1\r\n\r\n"},
	{name: "request view with body", handler: viewRequest, req: post("/p", "payload", "Content-Type: text/plain\r\n")},
	{
		// Deliberate: the Host checks apply to Request.Host, as
		// http.ReadRequest leaves it; an empty Host header is then the
		// same as none, which net/http accepts.
		name: "request view, empty host", handler: viewRequest, req: "GET / HTTP/1.1\r\nHost:\r\n\r\n",
		deliberate: func(e *exchange) { *e = refused(http.StatusBadRequest, "missing required Host header") },
	},
	{name: "request view, absolute form", handler: viewRequest, req: "GET http://example.com/abs HTTP/1.1\r\nHost: other\r\n\r\n"},

	// Request bodies.
	{name: "post read fully", handler: readAllThen("ok"), req: post("/", strings.Repeat("p", 1000), "") + get},
	{name: "post read partly", handler: readSome(10), req: post("/", strings.Repeat("p", 1000), "")},
	{name: "post not read", handler: writeString("ignored the body"), req: post("/", strings.Repeat("p", 1000), "")},
	{name: "post not read, streamed response", handler: writeString(strings.Repeat("r", 5000)), req: post("/", strings.Repeat("p", 1000), "")},
	{name: "post not read, flushed", handler: func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		b, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, " then read %d bytes, err %v", len(b), err)
	}, req: post("/", strings.Repeat("p", 1000), "")},
	{name: "post closed by handler", handler: func(w http.ResponseWriter, r *http.Request) {
		_ = r.Body.Close()
		_, err := r.Body.Read(make([]byte, 1))
		fmt.Fprintf(w, "read after close: %v", err)
	}, req: post("/", strings.Repeat("p", 1000), "")},
	{name: "post closed by handler, leftover over 256KiB", handler: func(w http.ResponseWriter, r *http.Request) {
		_ = r.Body.Close()
		_, _ = io.WriteString(w, "closed it")
	}, req: postChunked("/", chunkedBody(300<<10, 16<<10))},
	{name: "post not read, leftover over 256KiB", handler: writeString("too much"), req: post("/", strings.Repeat("p", 300<<10), "")},
	{name: "post read partly, leftover over 256KiB", handler: readSome(1000), req: post("/", strings.Repeat("p", 300<<10), "")},
	{name: "post chunked read fully", handler: readAllThen("ok"), req: postChunked("/", chunkedBody(3000, 1000)) + get},
	{name: "post chunked read partly", handler: readSome(10), req: postChunked("/", chunkedBody(3000, 1000))},
	{name: "post chunked not read", handler: writeString("ignored"), req: postChunked("/", chunkedBody(3000, 1000))},
	{name: "post chunked not read, leftover over 256KiB", handler: writeString("too much"), req: postChunked("/", chunkedBody(300<<10, 16<<10))},
	{name: "post chunked malformed", handler: readAllThen("bad"), req: postChunked("/", "zz\r\nabc\r\n0\r\n\r\n")},
	{
		// Deliberate: a request body that ended in an error (here cut
		// short by the client) leaves the connection unusable, and the
		// response says so with Connection: close; net/http's body
		// reads as ended after its io.ErrUnexpectedEOF and the response
		// does not say it (the connection closes all the same).
		name: "post body shorter than declared, half-close", handler: readAllThen("short"),
		req: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly this", halfClose: true,
		deliberate: func(e *exchange) {
			r := &e.Responses[0]
			r.Close = true // http.ReadResponse takes Connection: close out of the header
		},
	},
	{name: "get then half-close", handler: viewRequest, req: get, halfClose: true},
	{name: "post with extra CRLF then get", handler: readAllThen("ok"), req: post("/", "abc", "") + "\r\n" + get},

	// Pipelining.
	{name: "pipelined gets", handler: viewRequest, req: "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"},
	{name: "pipelined post and get", handler: viewRequest, req: post("/1", "one", "") + "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"},
	{name: "pipelined post unread and get", handler: writeString("ignored"), req: post("/1", "one", "") + "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"},
	{name: "pipelined after close", handler: writeString("first"), req: "GET /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + get},

	// Expect.
	{
		name: "expect 100-continue, body read", handler: readAllThen("continued"),
		req: "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", afterContinue: "hello",
	},
	{
		name: "expect 100-continue, body read, chunked", handler: readAllThen("continued"),
		req: "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", afterContinue: chunkedBody(10, 4),
	},
	{
		// Deliberate: 100 Continue is sent on the first read of the body
		// while nothing of the response has gone out, WriteHeader or not;
		// net/http sends none once the handler has called WriteHeader.
		// (The client sends its body without waiting: with net/http a
		// client that waits would wait for its own timeout.)
		name: "expect 100-continue, body read after WriteHeader", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			b, err := io.ReadAll(r.Body)
			fmt.Fprintf(w, "read %d bytes, err %v", len(b), err)
		},
		req: "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
		deliberate: func(e *exchange) {
			e.Responses = append([]wireResponse{{Status: "100 Continue", Proto: "HTTP/1.1", Header: http.Header{}}}, e.Responses...)
		},
	},
	{name: "expect 100-continue, body not read", handler: writeString("no thanks"), req: "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"},
	{name: "expect 100-continue, no body", handler: viewRequest, req: "GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n"},
	{name: "expect 100-continue, http/1.0", handler: readAllThen("old"), req: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"},
	{name: "expect something else", handler: writeString("never"), req: "GET / HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n"},

	// Requests refused before the handler.
	{name: "missing host", handler: writeString("never"), req: "GET / HTTP/1.1\r\n\r\n"},
	{
		// Deliberate, as "request view, empty host": a target in
		// absolute form gives Request.Host, so no Host header is needed;
		// net/http answers 400.
		name: "absolute form without host", handler: viewRequest, req: "GET http://example.com/abs HTTP/1.1\r\n\r\n",
		deliberate: func(e *exchange) {
			body := "GET http://example.com/abs HTTP/1.1 host=\"example.com\" close=false len=0 te=[] remote=true local=true\nbody \"\" err <nil>"
			*e = exchange{Open: true, Responses: []wireResponse{{
				Status: "200 OK", Proto: "HTTP/1.1", Body: body, ContentLength: int64(len(body)),
				Header: http.Header{
					"Content-Length": {strconv.Itoa(len(body))},
					"Content-Type":   {"text/plain; charset=utf-8"},
					"Date":           {"(present)"},
				},
			}}}
		},
	},
	{name: "two hosts", handler: writeString("never"), req: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
	{name: "malformed host", handler: writeString("never"), req: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"},
	{name: "non-ascii host", handler: writeString("never"), req: "GET / HTTP/1.1\r\nHost: caf\xc3\xa9.example\r\n\r\n"},
	{name: "invalid header value", handler: writeString("never"), req: "GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n"},
	{name: "content-length and chunked", handler: readAllThen("both"),
		req: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedBody(5, 5)},
	{name: "conflicting content-lengths", handler: writeString("never"), req: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"},
	{name: "request line over MaxHeaderBytes", handler: writeString("never"), maxHeaderBytes: 1 << 10,
		req: "GET /" + strings.Repeat("u", 16<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n"},
	{name: "malformed request line", handler: writeString("never"), req: "NONSENSE\r\n\r\n"},
	{name: "malformed request line after a good one", handler: writeString("first"), req: get + "GET /\r\n\r\n"},
	{name: "unsupported protocol version", handler: writeString("never"), req: "GET / HTTP/2.0\r\nHost: x\r\n\r\n"},
	{name: "headers over MaxHeaderBytes", handler: writeString("never"), maxHeaderBytes: 1 << 10,
		req: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 16<<10) + "\r\n\r\n"},
	{name: "headers just under MaxHeaderBytes", handler: writeString("fine"), maxHeaderBytes: 1 << 10,
		req: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 1<<10) + "\r\n\r\n"},
	{name: "unsupported transfer-encoding", handler: writeString("never"), req: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc"},
	{name: "partial request then half-close", handler: writeString("never"), req: "GET / HTTP/1.1\r\nHost: x\r\n", halfClose: true},

	// Flushing and interim responses.
	{name: "flush mid-response", handler: func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first ")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "second")
	}, req: get + get},
	{name: "flush before any write", handler: func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
	}, req: get + get},
	{name: "flush with content-length", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "11")
		_, _ = io.WriteString(w, "hello ")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "world")
	}, req: get + get},
	{name: "flush on http/1.0", handler: func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first ")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "second")
	}, req: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
	{name: "103 before 200", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("X-Final", "yes")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "ok")
	}, req: get + get},
	{name: "two 1xx before 200", handler: func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusProcessing)
		_, _ = io.WriteString(w, "done")
	}, req: get},
	{name: "WriteHeader twice", handler: func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.WriteHeader(http.StatusTeapot)
	}, req: get},

	// Trailers.
	{name: "trailer declared", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum, Content-Type")
		_, _ = io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
	}, req: get + get},
	{name: "trailer by prefix", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(http.TrailerPrefix+"X-Early", "1")
		_, _ = io.WriteString(w, strings.Repeat("t", 5000))
		w.Header().Set(http.TrailerPrefix+"X-Late", "2")
	}, req: get + get},

	// Panics.
	{name: "panic", handler: func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "lost")
		panic("boom")
	}, req: get},
	{name: "panic ErrAbortHandler", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Lost", "1")
		panic(http.ErrAbortHandler)
	}, req: get + get},
}

func TestDifferential(t *testing.T) {
	for _, tc := range diffCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			std, ours := startBoth(t, tc.handler, tc.maxHeaderBytes)
			compare(t, tc, exchangeWith(t, std, tc), exchangeWith(t, ours, tc))
		})
	}
}

// refused is the exchange of a request refused before the handler with
// code and msg, as net/http's server words it.
func refused(code int, msg string) exchange {
	status := fmt.Sprintf("%d %s: %s", code, http.StatusText(code), msg)
	return exchange{Responses: []wireResponse{{
		Status: status, Proto: "HTTP/1.1", Body: status, ContentLength: -1, Close: true,
		Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
	}}}
}

func compare(t *testing.T, tc diffCase, std, ours exchange) {
	t.Helper()
	if tc.deliberate != nil {
		tc.deliberate(&std)
	}
	if len(std.Responses) == 0 && std.End == "" {
		t.Fatalf("net/http sent nothing and did not close: the case is broken\n%s", std)
	}
	if std.End == "timeout" {
		t.Fatalf("net/http timed out: the case is broken\n%s", std)
	}
	t.Logf("httpserve:\n%s", ours)
	if !reflect.DeepEqual(std, ours) {
		t.Errorf("exchanges differ\nnet/http:\n%s\nhttpserve:\n%s", std, ours)
	}
}

// TestDifferentialCasesCover checks that the table keeps the cases it must
// have: a name lost in an edit would otherwise go unnoticed.
func TestDifferentialCasesCover(t *testing.T) {
	must := []string{
		"get small body", "get body over 4KiB in one write", "head without writes", "head with writes",
		"204 with a write", "304 with a write and framing headers", "content-length with less written",
		"content-length with more written", "content-type set", "content-type sniffed", "content-type nil",
		"http/1.0", "http/1.0 keep-alive", "connection close from client", "connection close from handler",
		"post read fully", "post read partly", "post not read", "post not read, leftover over 256KiB",
		"post chunked read fully", "post chunked read partly", "post chunked not read",
		"post chunked not read, leftover over 256KiB", "pipelined gets", "expect 100-continue, body read",
		"expect 100-continue, body not read", "expect something else", "missing host", "malformed request line",
		"headers over MaxHeaderBytes", "unsupported transfer-encoding", "flush mid-response", "103 before 200",
		"panic", "panic ErrAbortHandler",
	}
	have := map[string]bool{}
	for _, tc := range diffCases {
		if have[tc.name] {
			t.Errorf("case %q twice", tc.name)
		}
		have[tc.name] = true
	}
	for _, name := range must {
		if !have[name] {
			t.Errorf("no case %q", name)
		}
	}
}
