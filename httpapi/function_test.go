package httpapi

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/funcd/funcd/host"
)

func TestNewInvocationID(t *testing.T) {
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := newInvocationID()
		if !guid.MatchString(id) {
			t.Fatalf("%q is not a version 4 GUID", id)
		}
		if seen[id] {
			t.Fatalf("%q twice", id)
		}
		seen[id] = true
	}
}

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
