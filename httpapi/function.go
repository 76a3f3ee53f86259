package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/httpapi/durableapi"
	"github.com/funcd/funcd/keys"
)

// function serves a request no admin route took: an extension webhook, an
// HTTP-triggered function (route match, key check, body limit, invocation),
// the homepage for "/", or 404. The caller holds gen.
func (s *Server) function(w http.ResponseWriter, r *http.Request, seg []string, gen *host.Generation) {
	fn, params, ok := gen.MatchHTTP(r.Method, r.URL.EscapedPath())
	if !ok {
		if r.URL.Path == "/" {
			s.homepage(w, r, gen)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		return
	}
	id, err := s.authenticate(r, fn.Name)
	if err != nil {
		s.log.Error("cannot check the request's key", "function", fn.Name, "error", err)
		w.WriteHeader(statusOf(err))
		return
	}
	// Authorization comes first; a disabled function is then hidden from all
	// but admin callers.
	if need := fn.HTTPTrigger().AuthLevel; !keys.Authorized(need, id.level) {
		s.explainUnauthorized(fn, need, presentedKey(r) != "")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if fn.Disabled && id.level != funcd.AuthAdmin {
		w.WriteHeader(http.StatusNotFound)
		return
	}

	if _, ok := r.Header["Host"]; !ok && r.Host != "" {
		// net/http keeps Host out of Header; the real host's request
		// headers have it, and so do the ones a worker gets.
		r.Header["Host"] = []string{r.Host}
	}
	req := &funcd.HTTPRequest{
		Method:     r.Method,
		URL:        requestURL(r),
		Path:       r.URL.EscapedPath(),
		RawQuery:   r.URL.RawQuery,
		Header:     r.Header,
		Params:     params,
		Identities: id.identities(),
	}
	limit := gen.App.Host.HTTP.MaxRequestBodySize
	var stream *bodyStream
	if gen.StreamsRequestBody(fn) {
		// The worker reads the body as it sends it on: the limit and the
		// rate apply to the stream.
		var err error
		if stream, err = streamBody(w, r, limit); err != nil {
			writeBodyError(w, err)
			return
		}
		defer stream.stop()
		req.BodyReader, req.ContentLength = stream, r.ContentLength
	} else {
		buffers := s.cfg.Host.Buffers()
		body, reserved, err := readBodyWithin(w, r, limit, buffers)
		if err != nil {
			if errors.Is(err, funcd.ErrOverBudget) {
				s.overBudget(fn, err)
			}
			writeBodyError(w, err)
			return
		}
		defer buffers.Release(reserved)
		req.Body = body
	}

	inv := &funcd.Invocation{ID: funcd.NewGUID(), Function: fn, HTTP: req}
	res, err := gen.Invoke(r.Context(), inv)
	if stream != nil {
		if berr := stream.stop(); berr != nil {
			// The body failed the worker's request: its limit or its
			// rate is the answer, not the worker's failure.
			discardResult(res)
			writeBodyError(w, berr)
			return
		}
	}
	if err != nil {
		if r.Context().Err() == nil {
			if errors.Is(err, funcd.ErrOverBudget) {
				s.overBudget(fn, err)
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			writeInvokeError(w, err, s.cfg.Host.Clock().Now())
		}
		return
	}
	s.writeResult(w, r, res)
}

// discardResult lets go of a result nobody will write: its streamed body
// (the handler's connection, the function timeout) and the buffer budget
// its body holds.
func discardResult(res *funcd.Result) {
	if res == nil || res.HTTP == nil {
		return
	}
	if res.HTTP.BodyReader != nil {
		_ = res.HTTP.BodyReader.Close()
	}
	if res.HTTP.Release != nil {
		res.HTTP.Release()
	}
}

// overBudget logs a request refused because its bodies do not fit in the
// host's buffer budget.
func (s *Server) overBudget(fn *funcd.Function, err error) {
	b := s.cfg.Host.Buffers()
	s.log.Warn("request refused with 503: "+err.Error(), "function", fn.Name,
		"buffered_bytes", b.InUse(), "limit", b.Limit(), "setting", host.SettingMaxBufferedBytes)
}

// serveWebhook answers /runtime/webhooks/{extension}/... as ServeHTTP
// answers a function's route (the generation, throttling, CORS and
// customHeaders), except that the handler may end its hold on the
// generation early (host.Detach) to serve a long-lived stream. It reports
// false for a verb the route does not accept: the function routes get
// their turn.
func (s *Server) serveWebhook(w http.ResponseWriter, r *http.Request, seg []string) bool {
	switch r.Method {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodOptions:
	default:
		return false
	}
	gen, err := s.cfg.Host.Acquire()
	if err != nil {
		unavailable(w)
		return true
	}
	done, ok := s.throttle(w, r, gen)
	if !ok {
		gen.Release()
		return true
	}
	release := sync.OnceFunc(func() {
		done()
		gen.Release()
	})
	defer release()
	if s.cors(w, r) {
		return true
	}
	addCustomHeaders(w, gen.App.Host.HTTP.CustomHeaders)
	s.webhook(w, r.WithContext(host.WithDetach(r.Context(), release)), seg[2], gen)
	return true
}

// webhook answers an extension's webhook: it takes the master key or the
// extension's system key ("<extension>_extension"), or no key when host.json
// sets extensions.<extension>.system.webhookAuthorizationLevel to
// Anonymous, and runs the extension's handler from Config.Webhooks (an
// authorized request for an extension without one is 404).
func (s *Server) webhook(w http.ResponseWriter, r *http.Request, extension string, gen *host.Generation) {
	c, err := s.authenticate(r, "")
	switch {
	case err != nil:
		s.log.Error("cannot check the request's key", "error", err)
		w.WriteHeader(statusOf(err))
	case c.level == funcd.AuthAdmin || c.level == funcd.AuthSystem && strings.EqualFold(c.keyName, extension+"_extension") ||
		anonymousWebhook(gen.App, extension):
		h := s.webhookHandler(extension)
		if h == nil {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		durableapi.Serve(h, w, r, webhookRest(r))
	case c.level == funcd.AuthAnonymous:
		challenge(w)
	default:
		w.WriteHeader(http.StatusForbidden)
	}
}

// anonymousWebhook reports whether host.json's
// extensions.<extension>.system.webhookAuthorizationLevel is Anonymous: the
// extension's webhook then takes requests without a key.
func anonymousWebhook(app *funcd.App, extension string) bool {
	raw, ok := app.Host.Extensions[strings.ToLower(extension)]
	if !ok {
		return false
	}
	var ext struct {
		System struct {
			Level string `json:"webhookAuthorizationLevel"`
		} `json:"system"`
	}
	_ = json.Unmarshal(raw, &ext)
	return strings.EqualFold(ext.System.Level, "anonymous")
}

// throttle applies maxOutstandingRequests (429) and maxConcurrentRequests
// (wait for a slot) to a request, before routing, as the real host's
// HttpThrottleMiddleware does. It returns false when it answered the
// request; otherwise done must be called when the request ends.
func (s *Server) throttle(w http.ResponseWriter, r *http.Request, gen *host.Generation) (done func(), ok bool) {
	if !s.admit(gen.App.Host.HTTP.MaxOutstandingRequests) {
		if r.URL.Path == "/" {
			// The real host's homepage middleware runs outside the throttle
			// and answers "/" all the same.
			s.homepage(w, r, gen)
			return nil, false
		}
		w.Header().Set("X-FUNCTION-SCALEOUT", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return nil, false
	}
	release, err := s.limits(gen).enter(r)
	if err != nil {
		s.outstanding.Add(-1)
		return nil, false // the client went away while waiting
	}
	return func() {
		release()
		s.outstanding.Add(-1)
	}, true
}

// admit counts a request as outstanding unless that would exceed max
// (-1 or 0: unbounded).
func (s *Server) admit(max int) bool {
	n := s.outstanding.Add(1)
	if max > 0 && n > int64(max) {
		s.outstanding.Add(-1)
		return false
	}
	return true
}

// Kestrel's default MinRequestBodyDataRate: after a grace period, a request
// body must keep arriving at this average rate.
const (
	minBodyRate  = 240 // bytes per second
	minRateGrace = 5 * time.Second
)

// readBody reads the whole request body, up to limit bytes (0: unbounded),
// at Kestrel's minimum data rate (errBodyTooSlow otherwise).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, _, err := readBodyWithin(w, r, limit, nil)
	return body, err
}

// readBodyWithin is readBody within the host's buffer budget: a body of announced length is reserved whole
// before any of it is read, into a buffer of exactly that size; a chunked
// one reserves as its buffer grows. The caller releases reserved bytes
// when the request is done.
func readBodyWithin(w http.ResponseWriter, r *http.Request, limit int64, budget *funcd.BufferBudget) (body []byte, reserved int64, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, 0, nil
	}
	if limit > 0 {
		if r.ContentLength > limit {
			return nil, 0, tooLarge(r.ContentLength, limit)
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	defer func() {
		if err != nil {
			budget.Release(reserved)
			reserved = 0
		}
	}()
	rw := watchRate(w, r.Body)
	var buf []byte
	if n := r.ContentLength; n > 0 {
		if !budget.Reserve(n) {
			rw.stop()
			return nil, 0, overBudget(n, budget)
		}
		reserved = n
		buf = make([]byte, n)
		_, err = io.ReadFull(rw, buf)
	} else {
		buf, reserved, err = readGrowing(rw, budget)
	}
	if rw.stop() {
		// The connection's read deadline has passed: even a body that was
		// complete by then cannot be answered on it.
		return nil, reserved, errBodyTooSlow
	}
	if errors.Is(err, funcd.ErrOverBudget) {
		return nil, reserved, err
	}
	if err != nil {
		return nil, reserved, bodyError(err, limit)
	}
	if len(buf) == 0 {
		return nil, reserved, nil
	}
	return buf, reserved, nil
}

// minBodyBuffer is the first buffer of a body of unknown length.
const minBodyBuffer = 16 << 10

// readGrowing reads a body of unknown length, doubling its buffer and
// reserving each growth from budget. It returns the bytes reserved, also
// on failure.
func readGrowing(r io.Reader, budget *funcd.BufferBudget) (buf []byte, reserved int64, err error) {
	for {
		if len(buf) == cap(buf) {
			grow := max(cap(buf), minBodyBuffer)
			if !budget.Reserve(int64(grow)) {
				return nil, reserved, overBudget(int64(len(buf)+grow), budget)
			}
			reserved += int64(grow)
			nb := make([]byte, len(buf), cap(buf)+grow)
			copy(nb, buf)
			buf = nb
		}
		n, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr == io.EOF {
			return buf, reserved, nil
		}
		if rerr != nil {
			return nil, reserved, rerr
		}
	}
}

// overBudget is the error for a body of n bytes that does not fit in
// budget.
func overBudget(n int64, budget *funcd.BufferBudget) error {
	return &funcd.Error{
		Code: funcd.EUNAVAILABLE,
		Message: fmt.Sprintf("a request body of %d bytes does not fit in the host's buffer budget (%d of %d bytes in use; %s)",
			n, budget.InUse(), budget.Limit(), host.SettingMaxBufferedBytes),
		Err: funcd.ErrOverBudget,
	}
}

func tooLarge(length, limit int64) error {
	return funcd.Errorf(funcd.ETOOLARGE, "request body of %d bytes exceeds the limit of %d bytes", length, limit)
}

// bodyError is the error for a request body that could not be read.
func bodyError(err error, limit int64) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return funcd.Errorf(funcd.ETOOLARGE, "request body exceeds the limit of %d bytes", limit)
	}
	return funcd.Errorf(funcd.EINVALID, "cannot read request body: %w", err)
}

// bodyStream is a request body a worker reads as it forwards it, within
// the body limit and at Kestrel's minimum data rate. It remembers why it
// failed, so that the client gets 413 or 408 rather than the worker's
// failure.
type bodyStream struct {
	rw    *rateWatch
	limit int64
	err   error // the first read error but EOF; read by stop after the worker is done
	done  bool
}

// streamBody prepares r's body for a worker that streams it. A body whose
// announced length exceeds limit is refused before any of it is read.
func streamBody(w http.ResponseWriter, r *http.Request, limit int64) (*bodyStream, error) {
	if limit > 0 && r.ContentLength > limit {
		return nil, tooLarge(r.ContentLength, limit)
	}
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	if limit > 0 {
		body = http.MaxBytesReader(w, body, limit)
	}
	return &bodyStream{rw: watchRate(w, body), limit: limit}, nil
}

func (b *bodyStream) Read(p []byte) (int, error) {
	n, err := b.rw.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// stop ends the rate watch once the worker is done with the body, and
// returns why the body failed, if it did: errBodyTooSlow, a funcd.Error of
// code ETOOLARGE, or EINVALID for a client that broke off. It may be
// called more than once.
func (b *bodyStream) stop() error {
	if b.done {
		return nil
	}
	b.done = true
	if b.rw.stop() {
		return errBodyTooSlow
	}
	if b.err != nil {
		return bodyError(b.err, b.limit)
	}
	return nil
}

// rateWatch counts the bytes of a body as they are read and, checking once a
// second after the grace period as Kestrel does, ends a read that has fallen
// below the minimum average rate by moving the connection's read deadline
// to now. As in Kestrel, only the time spent waiting in Read counts: a
// worker that is slow to take a streamed body is not the client's fault.
type rateWatch struct {
	body io.Reader
	rc   *http.ResponseController

	mu      sync.Mutex
	n       int64         // bytes read; guarded by mu
	waited  time.Duration // time spent in Read calls that ended; guarded by mu
	since   time.Time     // when the Read in progress began, zero if none; guarded by mu
	timer   *time.Timer
	stopped bool
	slow    bool
}

func watchRate(w http.ResponseWriter, body io.Reader) *rateWatch {
	rw := &rateWatch{body: body, rc: http.NewResponseController(w)}
	rw.mu.Lock()
	rw.timer = time.AfterFunc(minRateGrace, rw.check)
	rw.mu.Unlock()
	return rw
}

func (rw *rateWatch) Read(p []byte) (int, error) {
	rw.mu.Lock()
	rw.since = time.Now()
	rw.mu.Unlock()
	n, err := rw.body.Read(p)
	rw.mu.Lock()
	rw.n += int64(n)
	rw.waited += time.Since(rw.since)
	rw.since = time.Time{}
	rw.mu.Unlock()
	return n, err
}

func (rw *rateWatch) check() {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.stopped {
		return
	}
	waited := rw.waited
	if !rw.since.IsZero() {
		waited += time.Since(rw.since)
	}
	if waited >= minRateGrace && float64(rw.n) < minBodyRate*waited.Seconds() {
		rw.slow = true
		_ = rw.rc.SetReadDeadline(time.Now())
		return
	}
	rw.timer.Reset(time.Second)
}

// stop ends the watch and reports whether it found the body too slow.
func (rw *rateWatch) stop() (slow bool) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.stopped = true
	rw.timer.Stop()
	return rw.slow
}

// writeResult writes an HTTP function's response: 200 with no body when the
// function produced none, as the real host does for custom handlers. A
// streamed body is copied as it comes, and closed.
func (s *Server) writeResult(w http.ResponseWriter, r *http.Request, res *funcd.Result) {
	h := w.Header()
	if res == nil || res.HTTP == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	if res.HTTP.BodyReader != nil {
		defer res.HTTP.BodyReader.Close()
	}
	if res.HTTP.Release != nil {
		defer res.HTTP.Release()
	}
	for k, vs := range res.HTTP.Header {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	status := res.HTTP.Status
	if status == 0 {
		status = http.StatusOK
	}
	if res.HTTP.BodyReader != nil {
		if res.HTTP.ContentLength >= 0 && bodyAllowed(status) {
			h.Set("Content-Length", strconv.FormatInt(res.HTTP.ContentLength, 10))
		}
		w.WriteHeader(status)
		if bodyAllowed(status) && r.Method != http.MethodHead {
			s.copyBody(w, res.HTTP.BodyReader, res.HTTP.ContentLength < 0)
		}
		return
	}
	// The framing is the server's: a length or hop-by-hop header from the
	// handler's reply that disagreed with the body would break the
	// connection.
	for _, k := range framingHeaders {
		delete(h, k)
	}
	if bodyAllowed(status) {
		h.Set("Content-Length", strconv.Itoa(len(res.HTTP.Body)))
	}
	w.WriteHeader(status)
	if bodyAllowed(status) {
		_, _ = w.Write(res.HTTP.Body)
	}
}

// framingHeaders are the response headers a JSON-mode reply may not set:
// the body's length and the hop-by-hop headers (RFC 9110 section 7.6.1).
var framingHeaders = []string{"Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Upgrade"}

// copyBufferSize is the size of the buffers streamed bodies are copied
// through.
const copyBufferSize = 32 << 10

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// copyBody copies a streamed response body to the client, flushing each
// piece when the length is unknown (a handler that streams events means
// them to arrive as they come). A client that goes away ends the copy. A
// body that breaks off aborts the response, so that the client does not
// take a cut body for a whole one.
func (s *Server) copyBody(w http.ResponseWriter, body io.Reader, flush bool) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	rc := http.NewResponseController(w)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the client went away
			}
			if flush {
				if ferr := rc.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
					return
				}
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			s.log.Warn("the function's response body broke off; aborting the response", "error", err)
			panic(http.ErrAbortHandler)
		}
	}
}

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified && (status < 100 || status >= 200)
}

// requestURL is the absolute URL the client used.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.Host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return u
}

// limits enforces maxConcurrentRequests for one generation of the app.
type limits struct {
	gen *host.Generation
	sem chan struct{} // nil: unbounded
}

func (s *Server) limits(gen *host.Generation) *limits {
	for {
		cur := s.lim.Load()
		if cur != nil && cur.gen == gen {
			return cur
		}
		l := &limits{gen: gen}
		if n := gen.App.Host.HTTP.MaxConcurrentRequests; n > 0 {
			l.sem = make(chan struct{}, n)
		}
		if s.lim.CompareAndSwap(cur, l) {
			return l
		}
	}
}

// enter waits for a free slot; release frees it.
func (l *limits) enter(r *http.Request) (release func(), err error) {
	if l.sem == nil {
		return func() {}, nil
	}
	select {
	case l.sem <- struct{}{}:
		return func() { <-l.sem }, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// webhookHandler returns the handler of an extension's webhook, nil when
// there is none.
func (s *Server) webhookHandler(extension string) http.Handler {
	for name, h := range s.cfg.Webhooks {
		if strings.EqualFold(name, extension) {
			return h
		}
	}
	return nil
}

// webhookRest is the escaped path after /runtime/webhooks/{extension}.
func webhookRest(r *http.Request) string {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/", 4)
	if len(parts) < 4 {
		return "/"
	}
	return "/" + parts[3]
}
