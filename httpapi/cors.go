package httpapi

import (
	"net/http"
	"slices"
	"strings"
)

// cors applies the configured CORS policy. It answers preflight requests
// itself and returns true for them.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(s.cfg.CORS) == 0 {
		return false
	}
	anyOrigin := slices.Contains(s.cfg.CORS, "*")
	if !anyOrigin && !slices.ContainsFunc(s.cfg.CORS, func(o string) bool { return strings.EqualFold(strings.TrimRight(o, "/"), origin) }) {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	if anyOrigin && !s.cfg.CORSCredentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if s.cfg.CORSCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", r.Header.Get("Access-Control-Request-Method"))
	if hdrs := r.Header.Get("Access-Control-Request-Headers"); hdrs != "" {
		h.Set("Access-Control-Allow-Headers", hdrs)
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}
