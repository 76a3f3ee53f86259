package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
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

	Logger *slog.Logger
}

// Server serves a host over HTTP. Create it with New; it is an
// http.Handler.
type Server struct {
	cfg Config
	log *slog.Logger

	outstanding atomic.Int64           // HTTP function requests running or waiting
	lim         atomic.Pointer[limits] // maxConcurrentRequests of the current generation
}

// New returns the HTTP surface of cfg.Host.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: cfg.Logger}
}

var _ http.Handler = (*Server)(nil)

// ServeHTTP routes a request: the admin API, the homepage, or a function.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cors(w, r) {
		return
	}
	seg := pathSegments(r)
	if len(seg) > 0 && strings.EqualFold(seg[0], "admin") && s.admin(w, r, seg[1:]) {
		return
	}
	if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		s.homepage(w, r)
		return
	}
	s.function(w, r)
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
