package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crashingApp writes an app whose custom handler exits at once, every time.
func crashingApp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"host.json":        `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "sh", "arguments": ["-c", "exit 3"]}}}`,
		"hi/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}, {"type": "http", "direction": "out", "name": "res"}]}`,
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestStartExitOnWorkerFailure: with --exit-on-worker-failure, funcd start
// gives up on a handler that keeps failing, as the real host does, and exits
// with an error saying so.
func TestStartExitOnWorkerFailure(t *testing.T) {
	s := startCLI(t, "--script-root", crashingApp(t), "--exit-on-worker-failure")
	select {
	case code := <-s.done:
		s.done <- code // for the cleanup
		if code == 0 || !strings.Contains(s.stderr.String(), "Exceeded http worker restart retry count") {
			t.Errorf("funcd start exited with %d\nstderr:\n%s", code, s.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("funcd start did not exit\nstderr:\n%s", s.stderr)
	}
}

// TestStartKeepsRunningWithAFailingHandler: by default funcd start keeps
// restarting the handler; the function answers 503 and the host keeps
// serving the admin API.
func TestStartKeepsRunningWithAFailingHandler(t *testing.T) {
	s := startCLI(t, "--script-root", crashingApp(t), "--no-auth")
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := get(t, s.base+"/admin/host/status")
		if code == 200 && strings.Contains(body, `"restartCount":2`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the handler was not restarted twice: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := get(t, s.base+"/api/hi"); code != 503 {
		t.Errorf("GET /api/hi while the handler is down = %d, want 503", code)
	}
	select {
	case code := <-s.done:
		s.done <- code
		t.Fatalf("funcd start exited with %d\nstderr:\n%s", code, s.stderr)
	default:
	}
}
