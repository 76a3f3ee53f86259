package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/keys"
)

// function serves a request no admin route took: an extension webhook, an
// HTTP-triggered function (route match, key check, body limit, invocation),
// the homepage for "/", or 404. The caller holds gen.
func (s *Server) function(w http.ResponseWriter, r *http.Request, seg []string, gen *host.Generation) {
	if len(seg) >= 3 && matchSegments(seg[:3], "runtime", "webhooks", "") && s.webhook(w, r, seg[2]) {
		return
	}
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
	if !keys.Authorized(fn.HTTPTrigger().AuthLevel, id.level) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if fn.Disabled && id.level != funcd.AuthAdmin {
		w.WriteHeader(http.StatusNotFound)
		return
	}

	body, err := readBody(w, r, gen.App.Host.HTTP.MaxRequestBodySize)
	if err != nil {
		writeBodyError(w, err)
		return
	}

	inv := &funcd.Invocation{
		ID:       newInvocationID(),
		Function: fn,
		HTTP: &funcd.HTTPRequest{
			Method:     r.Method,
			URL:        requestURL(r),
			Path:       r.URL.EscapedPath(),
			RawQuery:   r.URL.RawQuery,
			Header:     r.Header,
			Params:     params,
			Body:       body,
			Identities: id.identities(),
		},
	}
	res, err := gen.Invoke(r.Context(), inv)
	if err != nil {
		if r.Context().Err() == nil {
			writeInvokeError(w, err)
		}
		return
	}
	s.writeResult(w, res)
}

// webhook answers /runtime/webhooks/{extension}/...: it takes the master
// key or the extension's system key ("<extension>_extension"), and funcd
// serves no extension webhooks, so an authorized request is 404. It reports
// false for a verb the route does not accept.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request, extension string) bool {
	switch r.Method {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodOptions:
	default:
		return false
	}
	c, err := s.authenticate(r, "")
	switch {
	case err != nil:
		s.log.Error("cannot check the request's key", "error", err)
		w.WriteHeader(statusOf(err))
	case c.level == funcd.AuthAdmin || c.level == funcd.AuthSystem && strings.EqualFold(c.keyName, extension+"_extension"):
		w.WriteHeader(http.StatusNotFound)
	case c.level == funcd.AuthAnonymous:
		challenge(w)
	default:
		w.WriteHeader(http.StatusForbidden)
	}
	return true
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
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if limit > 0 {
		if r.ContentLength > limit {
			return nil, funcd.Errorf(funcd.ETOOLARGE, "request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, limit)
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	rw := watchRate(w, r.Body)
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		// Room for the announced body (which may never come: at most 1 MiB
		// up front) and for ReadFrom's final read of EOF.
		buf.Grow(int(min(r.ContentLength, 1<<20)) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(rw)
	if rw.stop() {
		// The connection's read deadline has passed: even a body that was
		// complete by then cannot be answered on it.
		return nil, errBodyTooSlow
	}
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, funcd.Errorf(funcd.ETOOLARGE, "request body exceeds the limit of %d bytes", limit)
		}
		return nil, funcd.Errorf(funcd.EINVALID, "cannot read request body: %w", err)
	}
	if buf.Len() == 0 {
		return nil, nil
	}
	return buf.Bytes(), nil
}

// rateWatch counts the bytes of a body as they are read and, checking once a
// second after the grace period as Kestrel does, ends a read that has fallen
// below the minimum average rate by moving the connection's read deadline
// to now.
type rateWatch struct {
	body  io.Reader
	rc    *http.ResponseController
	start time.Time
	n     atomic.Int64

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	slow    bool
}

func watchRate(w http.ResponseWriter, body io.Reader) *rateWatch {
	rw := &rateWatch{body: body, rc: http.NewResponseController(w), start: time.Now()}
	rw.mu.Lock()
	rw.timer = time.AfterFunc(minRateGrace, rw.check)
	rw.mu.Unlock()
	return rw
}

func (rw *rateWatch) Read(p []byte) (int, error) {
	n, err := rw.body.Read(p)
	rw.n.Add(int64(n))
	return n, err
}

func (rw *rateWatch) check() {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.stopped {
		return
	}
	if float64(rw.n.Load()) < minBodyRate*time.Since(rw.start).Seconds() {
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
// function produced none, as the real host does for custom handlers.
func (s *Server) writeResult(w http.ResponseWriter, res *funcd.Result) {
	h := w.Header()
	if res == nil || res.HTTP == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	for k, vs := range res.HTTP.Header {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	status := res.HTTP.Status
	if status == 0 {
		status = http.StatusOK
	}
	if len(res.HTTP.Body) > 0 && bodyAllowed(status) {
		h.Set("Content-Length", strconv.Itoa(len(res.HTTP.Body)))
	}
	w.WriteHeader(status)
	if bodyAllowed(status) {
		_, _ = w.Write(res.HTTP.Body)
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

// newInvocationID returns a random (version 4) GUID in its usual form.
func newInvocationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
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
