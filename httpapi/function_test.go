package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/funcd/funcd/host"
)

// TestNotStartedHost: a server over a host that never started answers 503
// rather than meeting a nil key manager.
func TestNotStartedHost(t *testing.T) {
	h, err := host.New(host.Config{ScriptRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, noAuth := range []bool{false, true} {
		s := New(Config{Host: h, NoAuth: noAuth})
		for _, path := range []string{"/admin/host/keys", "/admin/host/status?code=x", "/api/hello"} {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("noAuth=%v GET %s = %d, want 503", noAuth, path, rec.Code)
			}
		}
	}
}
