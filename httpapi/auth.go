package httpapi

import (
	"net/http"

	"github.com/funcd/funcd"
)

// explainUnauthorized logs, once per function name, why a request for fn
// was refused and how to call it; the 401 itself stays empty, as the real
// host's is. Only the first refusal is logged, so a client without a key
// cannot flood the log. hadKey tells whether the request carried a key (which
// is never logged).
func (s *Server) explainUnauthorized(fn *funcd.Function, need funcd.AuthLevel, hadKey bool) {
	if _, seen := s.explained.LoadOrStore(fn.Name, true); seen {
		return
	}
	which, key := "a function key", "one of its keys or a host key"
	switch need {
	case funcd.AuthFunction:
	case funcd.AuthSystem:
		which, key = "a system key", "a host system key or the master key"
	default:
		which, key = "the master key", "the master key (_master)"
	}
	reason := "the request had no key"
	if hadKey {
		reason = "the request's key is not one of the keys valid for it"
	}
	s.log.Info("Function '"+fn.Name+"' needs "+which+" (authLevel "+need.String()+") and "+reason+
		", so it answered 401. Send "+key+" in the x-functions-key header or the code query parameter; "+
		"`funcd keys list` prints the keys. `funcd start --no-auth` turns key checks off for local development. "+
		"Later refusals of this function are not logged.",
		"function", fn.Name)
}

// caller is who a request authenticated as.
type caller struct {
	level   funcd.AuthLevel
	keyName string
}

// presentedKey returns the key a request carries: the x-functions-key header
// wins over the code query parameter (even when empty: the real host then
// does not look at code), and the first value of either is used.
func presentedKey(r *http.Request) string {
	if v, ok := r.Header["X-Functions-Key"]; ok && len(v) > 0 {
		return v[0]
	}
	if v := r.URL.Query()["code"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// authenticate resolves the request's key against the host's keys, for the
// function named fn ("" for host-level routes).
//
// It fails with EUNAVAILABLE when the host has no keys yet (it never
// started), so nothing past it meets a nil key manager.
func (s *Server) authenticate(r *http.Request, fn string) (caller, error) {
	m := s.cfg.Host.Keys()
	if m == nil {
		return caller{}, funcd.Errorf(funcd.EUNAVAILABLE, "the host has not started")
	}
	if s.cfg.NoAuth {
		return caller{level: funcd.AuthAdmin}, nil
	}
	key := presentedKey(r)
	if key == "" {
		return caller{level: funcd.AuthAnonymous}, nil
	}
	level, name, err := m.Authenticate(r.Context(), fn, key)
	if err != nil {
		return caller{}, err
	}
	return caller{level: level, keyName: name}, nil
}

// identities returns the claims identities workers see for the caller.
func (c caller) identities() []funcd.Identity {
	if c.level == funcd.AuthAnonymous {
		return nil
	}
	// In the real host's order: level, invoke, then the key's name.
	claims := []funcd.Claim{
		{Type: funcd.ClaimAuthLevel, Value: levelClaim(c.level)},
		{Type: funcd.ClaimInvoke, Value: "true"},
	}
	if c.keyName != "" {
		claims = append(claims, funcd.Claim{Type: funcd.ClaimKeyID, Value: c.keyName})
	}
	return []funcd.Identity{{AuthenticationType: funcd.KeyAuthenticationType, Claims: claims}}
}

// levelClaim spells a level as the real host's AuthorizationLevel enum.
func levelClaim(l funcd.AuthLevel) string {
	switch l {
	case funcd.AuthFunction:
		return "Function"
	case funcd.AuthSystem:
		return "System"
	case funcd.AuthAdmin:
		return "Admin"
	case funcd.AuthUser:
		return "User"
	default:
		return "Anonymous"
	}
}

// requireAdmin checks that the request carries the master key: 401 without a
// valid key (an ASP.NET challenge), 403 with a valid key of a lower level. It
// writes the failure and returns false.
func (s *Server) requireAdmin(w http.ResponseWriter, r *http.Request) bool {
	c, err := s.authenticate(r, "")
	if err != nil {
		s.log.Error("cannot check the request's key", "error", err)
		w.WriteHeader(statusOf(err))
		return false
	}
	switch c.level {
	case funcd.AuthAdmin:
		return true
	case funcd.AuthAnonymous:
		challenge(w)
	default:
		w.WriteHeader(http.StatusForbidden)
	}
	return false
}

// challenge answers 401 as the real host's admin and webhook policies do:
// every authentication scheme they name challenges, and JwtBearer's adds
// WWW-Authenticate.
func challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", "Bearer")
	w.WriteHeader(http.StatusUnauthorized)
}
