package httpapi

import (
	"net/http"
	"slices"
	"strings"
)

// cors applies the configured CORS policy as ASP.NET Core's CorsMiddleware
// does with the host's policy (the origins, any header, any method). It
// answers every preflight request itself, with 204 (CORS headers only for
// an allowed origin), and returns true for them.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(s.cfg.CORS) == 0 {
		return false
	}
	preflight := r.Method == http.MethodOptions && len(r.Header.Values("Access-Control-Request-Method")) > 0
	anyOrigin := slices.Contains(s.cfg.CORS, "*")
	if !anyOrigin && !slices.ContainsFunc(s.cfg.CORS, func(o string) bool { return strings.EqualFold(strings.TrimRight(o, "/"), origin) }) {
		if preflight {
			w.WriteHeader(http.StatusNoContent)
		}
		return preflight
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
	if !preflight {
		return false
	}
	if m := r.Header.Get("Access-Control-Request-Method"); m != "" {
		h.Set("Access-Control-Allow-Methods", m)
	}
	// The requested headers, echoed as ASP.NET rewrites a comma-separated
	// list: trimmed, joined with ",".
	var hdrs []string
	for _, v := range r.Header.Values("Access-Control-Request-Headers") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				hdrs = append(hdrs, name)
			}
		}
	}
	if len(hdrs) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(hdrs, ","))
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}
