package e2e

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/funcd/funcd/hosttest"
)

// logBuffer collects every log line of a host.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestNoKeyInLogs runs failing invocations whose requests carry keys, in the
// query and in the header, in forwarding mode (the handler drops the
// connection: the error quotes the URL) and in the default mode (the
// handler fails with the whole payload: the error quotes it), and checks
// that no key appears anywhere in the logs of the run.
func TestNoKeyInLogs(t *testing.T) {
	var logs logBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fwd := hosttest.Start(t, newApp(t, "leaks-forward"), hosttest.Options{Logger: logger})
	def := hosttest.Start(t, newApp(t, "leaks"), hosttest.Options{Logger: logger})

	var secrets []string
	for _, c := range []struct {
		s    *hosttest.Server
		path string
	}{{fwd, "/api/hangup"}, {def, "/api/echofail"}} {
		master, fnKey := c.s.MasterKey(t), c.s.FunctionKey(t, c.path[len("/api/"):])
		hostKey := listKeys(t, c.s, "/admin/host/functionkeys")["default"]
		secrets = append(secrets, master, fnKey, hostKey)

		wantStatus(t, do(t, "GET", c.s.URL+c.path+"?name=Ada&code="+fnKey, ""), 500)
		wantStatus(t, do(t, "POST", c.s.URL+c.path+"?code="+hostKey, "body"), 500)
		wantStatus(t, do(t, "GET", c.s.URL+c.path, "", "x-functions-key", master), 500)
		// A wrong key is refused and is not logged either.
		wantStatus(t, do(t, "GET", c.s.URL+c.path+"?code=wrong-key-"+fnKey[:8], ""), 401)
		secrets = append(secrets, "wrong-key-"+fnKey[:8])
		wantStatus(t, do(t, "GET", c.s.URL+c.path, ""), 401)
	}
	fwd.Close()
	def.Close()

	out := logs.String()
	for _, want := range []string{
		"Executed 'Functions.hangup' (Failed",
		"Executed 'Functions.echofail' (Failed",
		"code=REDACTED",
		"did not answer GET",
		"Function 'hangup' needs a function key (authLevel function)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs lack %q:\n%s", want, out)
		}
	}
	// A refusal is explained once per function, not once per request.
	if n := strings.Count(out, "Function 'hangup' needs"); n != 1 {
		t.Errorf("the 401 of hangup is explained %d times, want once", n)
	}
	for _, k := range secrets {
		if k == "" {
			t.Fatal("a key to look for is empty")
		}
		if strings.Contains(out, k) {
			t.Errorf("key %s... appears in the logs:\n%s", k[:6], out)
		}
	}
}
