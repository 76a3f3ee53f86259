package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/hosttest"
)

// handlerBin is the test handler, built once by TestMain.
var handlerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "funcd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	handlerBin = filepath.Join(dir, "handler")
	build := exec.Command("go", "build", "-o", handlerBin, "./testdata/handler")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot build the test handler:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if err := azurite.Stop(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "FAIL: stopping Azurite:", err)
		code = 1
	}
	os.Exit(code)
}

// newApp copies testdata/apps/<name> to a temporary folder and puts the test
// handler in it, as host.json's defaultExecutablePath "handler" expects.
func newApp(t *testing.T, name string) string {
	t.Helper()
	dst := hosttest.CopyApp(t, filepath.Join("testdata", "apps", name))
	bin, err := os.ReadFile(handlerBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "handler"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request and reads the whole response. headers alternate
// name, value. A request that gets no response fails the test and returns
// status 0 with the error as its body; do never stops the calling
// goroutine, so load generators may call it too.
func do(t *testing.T, method, url, body string, headers ...string) response {
	t.Helper()
	r, err := send(method, url, body, headers...)
	if err != nil {
		t.Error(err)
		return response{body: err.Error()}
	}
	return r
}

// send is do without a test: it returns the error of a request that got no
// whole response.
func send(method, url, body string, headers ...string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{}, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Timeout: 60 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading the body: %w", method, url, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}, nil
}

// eventually polls cond every 20ms until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d; body %q", r.status, want, r.body)
	}
}

// crashUntilHostGivesUp makes the handler crash again and again, waiting for
// each restart, until the host stops restarting it.
func crashUntilHostGivesUp(t *testing.T, s *hosttest.Server) {
	t.Helper()
	gaveUp := func() bool {
		select {
		case <-s.Host.Fatal():
			return true
		default:
			return false
		}
	}
	for crashes := 1; !gaveUp(); crashes++ {
		if crashes > 6 {
			t.Fatal("the host never gave up on a crashing handler")
		}
		wantStatus(t, do(t, "GET", s.URL+"/api/crash", ""), http.StatusInternalServerError)
		eventually(t, 30*time.Second, "the handler to be restarted, or the host to give up", func() bool {
			return gaveUp() || do(t, "GET", s.URL+"/api/echo", "").status == 200
		})
	}
}
