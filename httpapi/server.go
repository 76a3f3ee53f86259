package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/funcd/funcd/host"
)

// Config configures the HTTP surface of a host.
type Config struct {
	Host *host.Host

	// NoAuth treats every request as carrying the master key, as Core Tools
	// does without --enableAuth. For local development only.
	NoAuth bool

	// CORS lists allowed origins ("*" allows any); empty disables CORS.
	CORS []string
	// CORSCredentials sets Access-Control-Allow-Credentials.
	CORSCredentials bool

	// Webhooks are the extension webhooks, by extension name (matched
	// case-insensitively): a request for /runtime/webhooks/<name>/<rest>
	// with the master key or the "<name>_extension" system key runs the
	// handler with the path "/<rest>" (see durableapi.Serve). Other
	// extensions' webhooks answer 404 to an authorized request.
	Webhooks map[string]http.Handler

	Logger *slog.Logger
}

// Server serves a host over HTTP. Create it with New; it is an
// http.Handler.
type Server struct {
	cfg Config
	log *slog.Logger

	outstanding atomic.Int64           // HTTP function requests running or waiting
	lim         atomic.Pointer[limits] // maxConcurrentRequests of the current generation
	explained   sync.Map               // function names whose 401 has been logged
}

// New returns the HTTP surface of cfg.Host.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: cfg.Logger}
}

var _ http.Handler = (*Server)(nil)

// ServeHTTP runs a request through the real host's pipeline, in its order:
// the request line limit (Kestrel), the health endpoints, the host
// availability check and the
// throttle (for anything but /admin), then CORS and customHeaders, then the
// admin API, the function routes and, for "/", the homepage.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if requestLineTooLong(r) {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestURITooLong)
		return
	}
	seg := pathSegments(r)
	if isHealthPath(seg) {
		// Health comes early in the real host's pipeline, so that nothing
		// after it can fail it.
		s.health(w, r, seg[2:])
		return
	}
	if len(seg) >= 3 && matchSegments(seg[:3], "runtime", "webhooks", "") && s.serveWebhook(w, r, seg) {
		return
	}
	isAdmin := len(seg) > 0 && strings.EqualFold(seg[0], "admin")
	var gen *host.Generation
	if isAdmin {
		gen = s.cfg.Host.Current()
	} else {
		g, err := s.cfg.Host.Acquire()
		if err != nil {
			unavailable(w)
			return
		}
		defer g.Release()
		gen = g
		done, ok := s.throttle(w, r, gen)
		if !ok {
			return
		}
		defer done()
	}
	if s.cors(w, r) {
		return
	}
	if gen != nil {
		addCustomHeaders(w, gen.App.Host.HTTP.CustomHeaders)
	}
	if isAdmin {
		if s.admin(w, r, seg[1:]) {
			return
		}
		// Not an admin route: the function routes get their turn.
		g, err := s.cfg.Host.Acquire()
		if err != nil {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		defer g.Release()
		gen = g
	}
	s.function(w, r, seg, gen)
}

// maxRequestLine is Kestrel's MaxRequestLineSize: method, target, version
// and CRLF must fit, or the request is 414.
const maxRequestLine = 8192

func requestLineTooLong(r *http.Request) bool {
	return len(r.Method)+1+len(r.RequestURI)+1+len(r.Proto)+2 > maxRequestLine
}

// unavailable answers a request the host cannot run, as the real host's
// HostAvailabilityCheckMiddleware does (a plain text body without a
// Content-Type).
func unavailable(w http.ResponseWriter) {
	w.Header()["Content-Type"] = nil
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte("Function host is not running."))
}

// addCustomHeaders adds host.json customHeaders the response does not set
// itself (the real host's TryAdd when the response starts: a function's
// own header wins).
func addCustomHeaders(w http.ResponseWriter, headers map[string]string) {
	h := w.Header()
	for k, v := range headers {
		if h.Get(k) == "" {
			h.Set(k, v)
		}
	}
}

// pathSegments splits the request path on "/" and decodes each segment as
// Kestrel decodes Request.Path: every escape but %2F. One trailing slash is
// dropped, as ASP.NET routing ignores it; other empty segments are kept (they
// match no route).
func pathSegments(r *http.Request) []string {
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil
	}
	seg := strings.Split(p, "/")
	for i, s := range seg {
		if !strings.Contains(s, "%") {
			continue
		}
		keep := strings.NewReplacer("%2F", "%252F", "%2f", "%252f").Replace(s)
		if u, err := url.PathUnescape(keep); err == nil {
			seg[i] = u
		}
	}
	return seg
}

// matchSegments reports whether seg is exactly the route lits, where "" in
// lits stands for any non-empty segment; literals ignore case.
func matchSegments(seg []string, lits ...string) bool {
	if len(seg) != len(lits) {
		return false
	}
	for i, l := range lits {
		if seg[i] == "" || l != "" && !strings.EqualFold(seg[i], l) {
			return false
		}
	}
	return true
}
