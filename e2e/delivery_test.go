package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/hosttest"
)

// A handler that closes the connection without answering gets the request
// once: the caller gets 500, and the request is not sent again, not even a
// GET on a connection that came from the pool.
func TestHandlerGetsARequestAtMostOnce(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "forward"), hosttest.Options{})
	const n = 3
	for range n {
		// A request that succeeds first, so that the hang-up happens on a
		// pooled connection.
		wantStatus(t, do(t, "GET", s.URL+"/api/fwd/warm", ""), http.StatusOK)
		wantStatus(t, do(t, "GET", s.URL+"/api/fwd/hangup", ""), http.StatusInternalServerError)
	}
	r := do(t, "GET", s.URL+"/api/fwd/hangups", "")
	wantStatus(t, r, http.StatusOK)
	if r.body != "3" {
		t.Errorf("the handler got the hang-up request %s times, want %d", r.body, n)
	}
}

// One request to a handler that crashes on it kills one handler process,
// in forwarding mode and in the JSON protocol.
func TestOneRequestOneCrash(t *testing.T) {
	for _, tc := range []struct{ app, crash, ok string }{
		{"forward", "/api/fwd/crash", "/api/fwd/warm"},
		{"basic", "/api/crash", "/api/echo"},
	} {
		t.Run(tc.app, func(t *testing.T) {
			dir := newApp(t, tc.app)
			s := hosttest.Start(t, dir, hosttest.Options{})
			wantStatus(t, do(t, "GET", s.URL+tc.ok, ""), http.StatusOK)
			wantStatus(t, do(t, "GET", s.URL+tc.crash, ""), http.StatusInternalServerError)
			eventually(t, 30*time.Second, "the handler to be restarted", func() bool {
				return do(t, "GET", s.URL+tc.ok, "").status == http.StatusOK
			})
			b, err := os.ReadFile(filepath.Join(dir, "crashes"))
			if err != nil {
				t.Fatal(err)
			}
			if pids := strings.Fields(string(b)); len(pids) != 1 {
				t.Errorf("one request crashed %d handler processes (%v), want 1", len(pids), pids)
			}
		})
	}
}
