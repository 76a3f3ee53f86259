package httpapi

import (
	"log/slog"
	"net/http"
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

// ServeHTTP routes a request: the homepage, the admin API, or a function.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cors(w, r) {
		return
	}
	path := r.URL.Path
	switch {
	case path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.homepage(w, r)
	case hasPrefixFold(path, "/admin/") || strings.EqualFold(path, "/admin"):
		s.admin(w, r)
	default:
		s.function(w, r)
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
