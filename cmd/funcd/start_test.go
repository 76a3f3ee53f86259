package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/hosttest"
)

// syncBuffer is a bytes.Buffer safe to write from the CLI while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// started is a `funcd start` running in the test process.
type started struct {
	base   string
	port   int
	stdout *syncBuffer
	stderr *syncBuffer
	stop   context.CancelFunc
	done   chan int // the exit code, once run returns
}

// startCLI runs `funcd start` with args plus --port, and waits until the
// banner is printed (the host then serves).
func startCLI(t *testing.T, args ...string) *started {
	t.Helper()
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{base: fmt.Sprintf("http://127.0.0.1:%d", port), port: port, stdout: &syncBuffer{}, stderr: &syncBuffer{}, stop: cancel, done: make(chan int, 1)}
	args = append([]string{"start", "--port", fmt.Sprint(port)}, args...)
	go func() { s.done <- run(ctx, args, s.stdout, s.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("funcd start did not stop within 30s")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(s.stdout.String(), "Functions:") {
		select {
		case code := <-s.done:
			s.done <- code // for the cleanup
			t.Fatalf("funcd start exited with %d\nstdout:\n%s\nstderr:\n%s", code, s.stdout, s.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("funcd start did not come up\nstdout:\n%s\nstderr:\n%s", s.stdout, s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// goBuild builds a Go main package into out.
func goBuild(t *testing.T, dir, pkg, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// TestStartSample runs the sample app the README starts, as `make run` does.
func TestStartSample(t *testing.T) {
	app := hosttest.CopyApp(t, filepath.Join("..", "..", "samples", "hello"))
	// A handler or keys left by `make run` in the sample are not part of it.
	os.RemoveAll(filepath.Join(app, ".funcd"))
	os.Remove(filepath.Join(app, "handler"))
	goBuild(t, filepath.Join("..", ".."), "./samples/hello/handler-src", filepath.Join(app, "handler"))

	s := startCLI(t, "--script-root", app)
	code, body := get(t, s.base+"/api/hello?name=Ada")
	if code != 200 || !strings.Contains(body, "Hello, Ada.") {
		t.Errorf("hello = %d %q", code, body)
	}
	if code, _ := get(t, s.base+"/api/products/books/7"); code != 401 {
		t.Errorf("products without a key = %d, want 401", code)
	}

	// The listing has Core Tools' shape. stdout is not a terminal here, so
	// it shows no key but the command that lists them.
	out := s.stdout.String()
	wantContains(t, out,
		"\nFunctions:\n\n",
		fmt.Sprintf("\thello: [GET,POST] http://localhost:%d/api/hello\n\n", s.port),
		fmt.Sprintf("\tproducts: [GET] http://localhost:%d/api/products/{category:alpha}/{id:int?} (needs a function key: funcd keys list --script-root %s --function products)\n", s.port, app),
		"Keys are enforced.",
		"For detailed output, run funcd with --verbose flag.")
	if strings.Contains(out, "code=") {
		t.Errorf("a key in the listing on a non-terminal stdout:\n%s", out)
	}
	var list, errOut bytes.Buffer
	if code := run(context.Background(), []string{"keys", "list", "--script-root", app, "--function", "products"}, &list, &errOut); code != 0 {
		t.Fatalf("keys list: exit %d: %s", code, errOut.String())
	}
	var key string
	for line := range strings.SplitSeq(list.String(), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[1] == "default" {
			key = f[2]
		}
	}
	code, body = get(t, s.base+"/api/products/books/7?code="+key)
	if code != 200 || body != `{"category":"books","id":"7"}` {
		t.Errorf("products with the listed key = %d %q", code, body)
	}

	// stderr is not a terminal either: the logs are JSON, a line each, and
	// the refused request was explained (the log is flushed on a timer).
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.stderr.String(), "Function 'products' needs a function key") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(s.stderr.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("a log line is not JSON: %q", line)
		}
	}
	wantContains(t, s.stderr.String(), "Function 'products' needs a function key")
}

// TestInitNewStart is a new user's first minutes: init, new, build the
// handler, start, call the function with the key the listing shows.
func TestInitNewStart(t *testing.T) {
	app := newApp(t, "greet", "other")
	goBuild(t, filepath.Join(app, "handler"), ".", filepath.Join(app, "bin", "handler"))
	s := startCLI(t, "--script-root", app, "--no-auth", "--functions", "greet")
	out := s.stdout.String()
	wantContains(t, out, "Authentication is off (--no-auth)",
		fmt.Sprintf("\tgreet: [GET,POST] http://localhost:%d/api/greet\n", s.port))
	if strings.Contains(out, "other") {
		t.Errorf("--functions greet still lists other:\n%s", out)
	}
	if code, _ := get(t, s.base+"/api/other"); code != 404 {
		t.Errorf("a function outside --functions answers %d, want 404", code)
	}
	if code, body := get(t, s.base+"/api/greet?name=Ada"); code != 200 || body == "" {
		t.Errorf("greet = %d %q", code, body)
	}
}

// TestStartVerbose prints the effective configuration with its sources.
func TestStartVerbose(t *testing.T) {
	app := newApp(t, "greet")
	goBuild(t, filepath.Join(app, "handler"), ".", filepath.Join(app, "bin", "handler"))
	s := startCLI(t, "--script-root", app, "--verbose")
	out := s.stdout.String()
	wantContains(t, out, "Effective configuration of", "extensions.http.routePrefix", "(default)", "(host.json)")
	if strings.Contains(out, "For detailed output") {
		t.Error("--verbose still suggests --verbose")
	}
}

// TestShutdownDrainsInFlight: SIGINT (a cancelled context) lets a running
// request finish before funcd exits.
func TestShutdownDrainsInFlight(t *testing.T) {
	app := hosttest.CopyApp(t, filepath.Join("..", "..", "e2e", "testdata", "apps", "basic"))
	goBuild(t, filepath.Join("..", ".."), "./e2e/testdata/handler", filepath.Join(app, "handler"))
	s := startCLI(t, "--script-root", app)

	result := make(chan string, 1)
	go func() {
		res, err := http.Get(s.base + "/api/slow?ms=1500")
		if err != nil {
			result <- err.Error()
			return
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		result <- fmt.Sprintf("%d %s", res.StatusCode, body)
	}()
	// Wait until the handler is working on it, then ask funcd to stop.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.stderr.String(), "Executing 'Functions.slow'") {
		if time.Now().After(deadline) {
			t.Fatalf("the slow request never started:\n%s", s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.stop()
	if got := <-result; got != "200 slept" {
		t.Errorf("in-flight request = %q, want it to complete", got)
	}
	if code := <-s.done; code != 0 {
		t.Errorf("exit code = %d\n%s", code, s.stderr)
	}
	s.done <- 0 // for the cleanup
	if _, err := http.Get(s.base + "/api/echo"); err == nil {
		t.Error("funcd still serves after shutdown")
	}
}

// TestStartLogLevel: host.json logging.logLevel "Debug" shows debug records
// on the console without --verbose, as Core Tools' console follows it.
func TestStartLogLevel(t *testing.T) {
	app := hosttest.CopyApp(t, filepath.Join("..", "..", "e2e", "testdata", "apps", "basic"))
	goBuild(t, filepath.Join("..", ".."), "./e2e/testdata/handler", filepath.Join(app, "handler"))
	hostJSON := `{"version": "2.0", "logging": {"logLevel": {"default": "Debug"}},
		"customHandler": {"description": {"defaultExecutablePath": "handler"}}}`
	if err := os.WriteFile(filepath.Join(app, "host.json"), []byte(hostJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startCLI(t, "--script-root", app, "--log-format", "console")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.stderr.String(), "DEBUG HttpWorker is Initialized.") {
		if time.Now().After(deadline) {
			t.Fatalf("no debug record on the console:\n%s", s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(s.stderr.String(), "\x1b[") {
		t.Errorf("colour on a stderr that is not a terminal:\n%s", s.stderr)
	}
}
