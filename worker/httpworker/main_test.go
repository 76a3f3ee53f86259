package httpworker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker"
)

// handlerBin is the test handler (testdata/handler), built once.
var handlerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "httpworker-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	handlerBin = filepath.Join(dir, "handler")
	if err := buildHandler(handlerBin); err != nil {
		fmt.Fprintln(os.Stderr, "building the test handler:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func buildHandler(out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", out, "./testdata/handler")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

const testHostVersion = "4.1040.0.0"

// testEnv is a Worker running the test handler, with its logs captured.
type testEnv struct {
	t     *testing.T
	app   *funcd.App
	w     *Worker
	logs  *logCapture
	fatal chan error
}

type envOption func(*funcd.App, *Config)

func withSetting(k, v string) envOption {
	return func(a *funcd.App, _ *Config) { a.Settings[k] = v }
}

func withHandler(f func(*funcd.CustomHandler)) envOption {
	return func(a *funcd.App, _ *Config) { f(a.Host.CustomHandler) }
}

// withExit applies the Functions host's restart limit.
func withExit() envOption {
	return func(_ *funcd.App, c *Config) { c.ExitOnFailure = true }
}

func withTimeout(d time.Duration) envOption {
	return func(a *funcd.App, _ *Config) { a.Host.FunctionTimeout = d }
}

func newTestEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	root := t.TempDir()
	app := &funcd.App{
		Root:     root,
		Settings: map[string]string{"PATH": os.Getenv("PATH"), "MY_SETTING": "from settings"},
		Host: funcd.HostConfig{CustomHandler: &funcd.CustomHandler{
			DefaultExecutablePath: handlerBin,
			WorkingDirectory:      root,
			InitializationTimeout: 10 * time.Second,
		}},
	}
	e := &testEnv{t: t, app: app, logs: &logCapture{}, fatal: make(chan error, 1)}
	cfg := Config{
		App:            app,
		Logger:         slog.New(e.logs),
		HostVersion:    testHostVersion,
		OnFatal:        func(err error) { e.fatal <- err },
		RestartBackoff: 10 * time.Millisecond,
		StopGrace:      5 * time.Second,
	}
	for _, o := range opts {
		o(app, &cfg)
	}
	e.w = New(cfg)
	t.Cleanup(func() {
		if err := e.w.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return e
}

func (e *testEnv) start() *testEnv {
	e.t.Helper()
	if err := e.w.Start(e.t.Context()); err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	return e
}

// invoke runs inv with a generous deadline.
func (e *testEnv) invoke(inv *funcd.Invocation) (*funcd.Result, error) {
	// Not cancelled on return: a forwarded response streams its body after.
	ctx, cancel := context.WithTimeout(e.t.Context(), 20*time.Second)
	e.t.Cleanup(cancel)
	return e.w.Invoke(ctx, inv)
}

func (e *testEnv) mustInvoke(inv *funcd.Invocation) *funcd.Result {
	e.t.Helper()
	res, err := e.invoke(inv)
	if err != nil {
		e.t.Fatalf("Invoke %s: %v", inv.Function.Name, err)
	}
	return res
}

// pid returns the pid of the ready handler, waiting for one (also while
// the handler is down between restarts).
func (e *testEnv) pid() int {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := e.w.sup.Wait(e.t.Context())
		var down *worker.DownError
		switch {
		case err == nil:
			return p.Pid()
		case !errors.As(err, &down) || time.Now().After(deadline):
			e.t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *testEnv) waitFatal() error {
	e.t.Helper()
	select {
	case err := <-e.fatal:
		return err
	case <-time.After(30 * time.Second):
		e.t.Fatal("OnFatal was not called")
		return nil
	}
}

// handlerURL is the ready handler's base URL, for requests that bypass the
// Worker.
func (e *testEnv) handlerURL() string {
	e.t.Helper()
	p, err := e.w.sup.Wait(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return generationOf(p).base
}

// Functions and invocations.

func httpFunction(name, route string, extra ...funcd.Binding) *funcd.Function {
	b := []funcd.Binding{
		{Name: "req", Type: "httpTrigger", Direction: funcd.In, Route: route},
		{Name: "res", Type: "http", Direction: funcd.Out},
	}
	return &funcd.Function{Name: name, Bindings: append(b, extra...)}
}

func returnFunction(name string) *funcd.Function {
	return &funcd.Function{Name: name, Bindings: []funcd.Binding{
		{Name: "req", Type: "httpTrigger", Direction: funcd.In},
		{Name: "$return", Type: "http", Direction: funcd.Out},
	}}
}

var invocationCounter struct {
	sync.Mutex
	n int
}

func nextID() string {
	invocationCounter.Lock()
	defer invocationCounter.Unlock()
	invocationCounter.n++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", invocationCounter.n)
}

func httpInvocation(fn *funcd.Function, method, path, rawQuery string, body string) *funcd.Invocation {
	url := "http://localhost:7071" + path
	if rawQuery != "" {
		url += "?" + rawQuery
	}
	return &funcd.Invocation{
		ID:       nextID(),
		Function: fn,
		HTTP: &funcd.HTTPRequest{
			Method:   method,
			URL:      url,
			Path:     path,
			RawQuery: rawQuery,
			Header:   map[string][]string{},
			Params:   map[string]*string{},
			Body:     []byte(body),
		},
	}
}

// replyInvocation asks the "reply" function for a given handler answer.
func replyInvocation(fn *funcd.Function, status int, contentType, body string) *funcd.Invocation {
	spec, _ := json.Marshal(map[string]any{"status": status, "contentType": contentType, "body": body})
	return httpInvocation(fn, "POST", "/api/reply", "", string(spec))
}

// Log capture.

type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

type logCapture struct {
	mu      sync.Mutex
	records []logRecord
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	c.mu.Lock()
	c.records = append(c.records, rec)
	c.mu.Unlock()
	return nil
}

func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

func (c *logCapture) find(pred func(logRecord) bool) (logRecord, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.records {
		if pred(r) {
			return r, true
		}
	}
	return logRecord{}, false
}

// waitFor polls until a record matches.
func (c *logCapture) waitFor(t *testing.T, what string, pred func(logRecord) bool) logRecord {
	t.Helper()
	var rec logRecord
	eventually(t, func() bool {
		var ok bool
		rec, ok = c.find(pred)
		return ok
	}, "no log record %s; got:\n%s", what, c)
	return rec
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, r := range c.records {
		fmt.Fprintf(&b, "%v %q %v\n", r.level, r.msg, r.attrs)
	}
	return b.String()
}

func msgIs(msg string) func(logRecord) bool {
	return func(r logRecord) bool { return r.msg == msg }
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func get(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

func decodeJSON(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
}

func errorCode(err error) string { return funcd.ErrorCode(err) }
