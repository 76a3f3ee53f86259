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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/host"
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

// TestStartWithoutHostJSON: funcd start refuses a folder without host.json
// with Core Tools' messages, and exits with 1.
func TestStartWithoutHostJSON(t *testing.T) {
	empty := t.TempDir()
	out := mustFail(t, "start", "--script-root", empty, "--port", fmt.Sprint(freePort(t)))
	wantContains(t, out, "Error: Unable to find project root. Expecting to find one of host.json, local.settings.json in project root.")

	settingsOnly := t.TempDir()
	if err := os.WriteFile(filepath.Join(settingsOnly, "local.settings.json"), []byte(`{"IsEncrypted": false, "Values": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out = mustFail(t, "start", "--script-root", settingsOnly)
	wantContains(t, out, "Error: Host.json file is missing. Please make sure host.json file is present at "+settingsOnly)

	// In a folder of an app, the hint names the app folder.
	app := newApp(t, "hello")
	out = mustFail(t, "start", "--script-root", filepath.Join(app, "hello"))
	wantContains(t, out, "Unable to find project root", app+" has a host.json: run funcd start there")

	out = mustFail(t, "start", "--script-root", filepath.Join(empty, "missing"))
	wantContains(t, out, fmt.Sprintf("%q doesn't exist.", filepath.Join(empty, "missing")))
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("funcd start wrote into a folder it refused: %v", entries)
	}
}

// TestStartNodeAppThatDoesNotLoad: a Node.js app whose code throws while it
// loads leaves funcd up, in the Error state, with the worker's error in the
// host status and the log; requests get 503, as from the real host.
func TestStartNodeAppThatDoesNotLoad(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed")
	}
	app := t.TempDir()
	files := map[string]string{
		"host.json":           `{"version": "2.0"}`,
		"local.settings.json": `{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "node"}}`,
		"package.json":        `{"name": "app", "main": "index.js", "dependencies": {"@azure/functions": "^4.0.0"}}`,
		"index.js":            `throw new Error("the app failed at load");`,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(app, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := startCLI(t, "--script-root", app, "--no-auth")
	code, body := get(t, s.base+"/admin/host/status")
	if code != http.StatusOK || !strings.Contains(body, `"state":"Error"`) || !strings.Contains(body, "the app failed at load") {
		t.Errorf("GET /admin/host/status = %d %s, want the Error state with the load error", code, body)
	}
	code, body = get(t, s.base+"/api/anything")
	if code != http.StatusServiceUnavailable {
		t.Errorf("GET /api/anything = %d %s, want 503", code, body)
	}
	wantContains(t, s.stderr.String()+s.stdout.String(), "the app failed at load")
}

// appFiles lists every file and folder under dir, relative to it.
func appFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files = append(files, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// defaultKey returns a function's default key as funcd keys list shows it.
func defaultKey(t *testing.T, app, function string) string {
	t.Helper()
	key := keyTable(t, mustRun(t, "keys", "list", "--script-root", app))["function:"+function+"/default"]
	if key == "" {
		t.Fatalf("keys list shows no default key of %s", function)
	}
	return key
}

// TestStartKeepsStateOutOfTheApp: funcd start writes nothing into the app
// folder (the keys go to the app's folder under XDG_STATE_HOME), the keys
// survive a restart, and funcd keys list finds them.
func TestStartKeepsStateOutOfTheApp(t *testing.T) {
	app := newApp(t, "greet")
	goBuild(t, filepath.Join(app, "handler"), ".", filepath.Join(app, "bin", "handler"))
	before := appFiles(t, app)

	s := startCLI(t, "--script-root", app)
	key := defaultKey(t, app, "greet")
	if code, _ := get(t, s.base+"/api/greet?name=Ada&code="+key); code != 200 {
		t.Fatalf("greet with the listed key = %d", code)
	}
	state, err := host.DefaultStateDir(app)
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, s.stdout.String(), "Keys are stored in "+state)
	s.stop()
	<-s.done
	s.done <- 0 // for the cleanup

	if after := appFiles(t, app); !slices.Equal(after, before) {
		t.Errorf("funcd start changed the app folder:\nbefore %q\nafter  %q", before, after)
	}
	fileExists(t, filepath.Join(state, "secrets", "host.json"))

	again := startCLI(t, "--script-root", app)
	if code, _ := get(t, again.base+"/api/greet?name=Ada&code="+key); code != 200 {
		t.Errorf("greet with the key from before the restart = %d", code)
	}
	if k := defaultKey(t, app, "greet"); k != key {
		t.Errorf("keys list: greet's default key = %q, want %q", k, key)
	}
}

// TestStartLegacyStateFolder: an app with a .funcd folder from an earlier
// funcd keeps its keys; funcd start warns once how to move the folder and
// protects it from git meanwhile.
func TestStartLegacyStateFolder(t *testing.T) {
	app := newApp(t, "greet")
	goBuild(t, filepath.Join(app, "handler"), ".", filepath.Join(app, "bin", "handler"))
	legacy := filepath.Join(app, ".funcd")
	old := keyTable(t, mustRun(t, "keys", "list", "--script-root", app, "--state-dir", legacy))

	s := startCLI(t, "--script-root", app)
	if code, _ := get(t, s.base+"/api/greet?name=Ada&code="+old["function:greet/default"]); code != 200 {
		t.Errorf("greet with the key in .funcd = %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.stderr.String(), "inside the app folder") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning about the .funcd folder:\n%s", s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(s.stderr.String(), "inside the app folder"); n != 1 {
		t.Errorf("the warning was logged %d times", n)
	}
	fileExists(t, filepath.Join(legacy, ".gitignore"))
	if state, _ := host.DefaultStateDir(app); state != "" {
		if _, err := os.Stat(state); !os.IsNotExist(err) {
			t.Errorf("funcd start made the per-user state folder although .funcd is used (%v)", err)
		}
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
