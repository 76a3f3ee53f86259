package e2e

// End-to-end checks of apps on language workers: a Node.js app of the v4
// programming model (testdata/nodev4, with the real @azure/functions from
// npm, installed by `make nodeapps`), its HTTP streaming variant
// (testdata/nodev4stream), and a Go app built with funcd's Go SDK
// (samples/go-sdk), each run by a real host on the embedded store.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/hosttest"
	"github.com/funcd/funcd/sqlite"
	"github.com/funcd/funcd/storage"
)

// nodeApp copies a Node.js test app, which must have its node_modules
// (make nodeapps installs them).
func nodeApp(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed")
	}
	src := filepath.Join("testdata", name)
	if _, err := os.Stat(filepath.Join(src, "node_modules", "@azure", "functions")); err != nil {
		t.Fatalf("%s has no node_modules/@azure/functions: run make nodeapps (npm ci in %s)", src, src)
	}
	return hosttest.CopyApp(t, src)
}

// languageHost runs an app on a store the test can reach, collecting its
// logs.
func languageHost(t *testing.T, app string, env map[string]string) (*hosttest.Server, storage.Store, *logBuffer) {
	t.Helper()
	store, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	logs := &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(io.MultiWriter(logs, tWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	// UseDevelopmentStorage=true means this store even when an Azurite of
	// the developer's answers on its default ports.
	all := map[string]string{host.SettingDevelopmentStorage: "embedded"}
	maps.Copy(all, env)
	s := hosttest.Start(t, app, hosttest.Options{Store: store, Logger: logger, Env: all})
	return s, store, logs
}

// tWriter writes log lines to the test's log while it runs.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestNodeV4HTTP(t *testing.T) {
	s, _, logs := languageHost(t, nodeApp(t, "nodev4"), nil)

	r := do(t, "GET", s.URL+"/api/hello/bob?q=1", "", "x-test", "hi")
	wantStatus(t, r, 200)
	var got struct{ Name, Method, Query, Body, Host, InvocationID string }
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("hello body %q: %v", r.body, err)
	}
	// The request's headers include Host, which net/http keeps apart.
	if got.Name != "bob" || got.Method != "GET" || got.Query != "1" || got.InvocationID == "" || "http://"+got.Host != s.URL {
		t.Errorf("hello = %+v", got)
	}
	if r.header.Get("X-Echo") != "hi" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("hello headers = %v", r.header)
	}
	if c := r.header.Get("Set-Cookie"); !strings.Contains(c, "session=abc") || !strings.Contains(strings.ToLower(c), "httponly") {
		t.Errorf("Set-Cookie = %q", c)
	}

	r = do(t, "POST", s.URL+"/api/hello/al?status=201", "the payload")
	wantStatus(t, r, 201)
	if !strings.Contains(r.body, `"body":"the payload"`) || !strings.Contains(r.body, `"method":"POST"`) {
		t.Errorf("POST hello = %s", r.body)
	}
	// Methods and routes are the ones the app registered.
	wantStatus(t, do(t, "DELETE", s.URL+"/api/hello/al", ""), 404)
	wantStatus(t, do(t, "GET", s.URL+"/api/hello", ""), 404)

	// Keys: fail needs a function key.
	wantStatus(t, do(t, "GET", s.URL+"/api/fail", ""), 401)
	r = do(t, "GET", s.URL+"/api/fail?code="+s.FunctionKey(t, "fail"), "")
	wantStatus(t, r, 500)
	eventually(t, 5*time.Second, "the failure logged with its stack", func() bool {
		l := logs.String()
		return strings.Contains(l, "Executed 'Functions.fail' (Failed") && strings.Contains(l, `Exception: fail always fails\nStack: Error: fail always fails\n    at handler (`)
	})

	// Hooks: preInvocation swaps a handler; postInvocation sees hookData.
	r = do(t, "GET", s.URL+"/api/swapped", "")
	wantStatus(t, r, 200)
	if r.body != "swapped by a preInvocation hook" {
		t.Errorf("swapped = %q", r.body)
	}
	r = do(t, "GET", s.URL+"/api/esm", "")
	if wantStatus(t, r, 200); r.body != "from an ES module: true" {
		t.Errorf("esm = %q", r.body)
	}
	eventually(t, 5*time.Second, "the user logs", func() bool {
		l := logs.String()
		return strings.Contains(l, `"msg":"hello bob","category":"Function.hello.User"`) &&
			strings.Contains(l, `"msg":"postInvocation swapped hookData=pre:swapped app=nodev4 error=null"`)
	})
}

func TestNodeV4StorageTriggers(t *testing.T) {
	s, store, logs := languageHost(t, nodeApp(t, "nodev4"), nil)
	ctx := context.Background()

	// Queue trigger, $return and an extra output.
	sent := enqueue(t, store, "jobs", "job 1")
	eventually(t, 10*time.Second, "the done and audit messages", func() bool {
		return len(queueTexts(t, store, "done")) == 1 && len(queueTexts(t, store, "audit")) == 1
	})
	if done := queueTexts(t, store, "done"); done[0] != "done:job 1" {
		t.Errorf("done = %q", done)
	}
	var audit struct{ Seen, ID string }
	if err := json.Unmarshal([]byte(queueTexts(t, store, "audit")[0]), &audit); err != nil || audit.Seen != "job 1" || audit.ID != sent.ID {
		t.Errorf("audit = %q (%v), want seen %q id %s", queueTexts(t, store, "audit")[0], err, "job 1", sent.ID)
	}
	// The log hook redacted the secret the function logged.
	if l := logs.String(); !strings.Contains(l, "secret=[redacted]") || strings.Contains(l, "secret=job 1") {
		t.Error("the log hook did not redact the function's log")
	}

	// Blob trigger with a blob output.
	if _, err := store.PutBlob(ctx, "uploads", "a.txt", strings.NewReader("shout this"), storage.PutBlobOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "copies/a.txt", func() bool { _, ok := readBlob(t, store, "copies", "a.txt"); return ok })
	if body, _ := readBlob(t, store, "copies", "a.txt"); string(body) != "SHOUT THIS" {
		t.Errorf("copies/a.txt = %q", body)
	}

	// Timer trigger, run through the admin API.
	r := do(t, "POST", s.URL+"/admin/functions/tick", `{"input":""}`, "x-functions-key", s.MasterKey(t), "Content-Type", "application/json")
	wantStatus(t, r, 202)
	eventually(t, 5*time.Second, "the timer's log", func() bool { return strings.Contains(logs.String(), "tick isPastDue=false") })

	// A warmup function runs through the admin API too, with an empty
	// WarmupContext; /admin/warmup is the platform's, as outside Premium.
	r = do(t, "POST", s.URL+"/admin/functions/warm", `{"input":""}`, "x-functions-key", s.MasterKey(t), "Content-Type", "application/json")
	wantStatus(t, r, 202)
	eventually(t, 5*time.Second, "the warmup function's log", func() bool {
		return strings.Contains(logs.String(), "warm context={} trigger=warmupTrigger")
	})
	r = do(t, "GET", s.URL+"/admin/warmup", "", "x-functions-key", s.MasterKey(t))
	if wantStatus(t, r, 400); r.body != "This API is not available for the current hosting plan" {
		t.Errorf("/admin/warmup = %q", r.body)
	}
}

func TestNodeV4CrashAndTerminate(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "terminated")
	s, _, _ := languageHost(t, nodeApp(t, "nodev4"), map[string]string{"NODEV4_TERMINATE_MARKER": marker})

	r := do(t, "GET", s.URL+"/api/crash", "")
	wantStatus(t, r, 500)
	// Once the host has counted the failure, a request while the worker
	// restarts gets 503 with Retry-After (or 200 if it is back already).
	master := s.MasterKey(t)
	eventually(t, 10*time.Second, "the failure to be counted", func() bool {
		st := getStatus(t, s, master)
		return st.Worker != nil && st.Worker.FailuresInARow == 1
	})
	switch r := do(t, "GET", s.URL+"/api/hello/during", ""); r.status {
	case 503:
		if r.header.Get("Retry-After") == "" {
			t.Errorf("503 while the worker restarts has no Retry-After: %v", r.header)
		}
	case 200:
	default:
		t.Errorf("GET while the worker restarts = %d %q, want 503 or 200", r.status, r.body)
	}
	// A new worker process takes over.
	eventually(t, 20*time.Second, "a restarted worker", func() bool {
		r, err := send("GET", s.URL+"/api/hello/again", "")
		return err == nil && r.status == 200
	})
	if st := s.Host.Status(); st.State != host.StateRunning {
		t.Errorf("host state after the restart = %v %v", st.State, st.Errors)
	}

	// Shutdown sends WorkerTerminate: the appTerminate hook runs.
	s.Close()
	b, err := os.ReadFile(marker)
	if err != nil || !strings.HasPrefix(string(b), "terminated nodev4 started=number") {
		t.Errorf("appTerminate marker = %q, %v", b, err)
	}
}

// TestNodeV4QueueMessageOutlivesItsWorker: a queue message whose worker
// dies under it is delivered again and waits for the replacement worker,
// instead of spending its five deliveries on a worker that is not there
// and going to poison.
func TestNodeV4QueueMessageOutlivesItsWorker(t *testing.T) {
	_, store, _ := languageHost(t, nodeApp(t, "nodev4"), nil)
	enqueue(t, store, "fragile", "job")
	eventually(t, 20*time.Second, "the message answered on survived", func() bool {
		return len(queueTexts(t, store, "survived")) == 1
	})
	if got := queueTexts(t, store, "survived"); got[0] != "job on delivery 2" {
		t.Errorf("survived = %q, want the second delivery to succeed", got)
	}
	if poison := queueTexts(t, store, "fragile-poison"); len(poison) != 0 {
		t.Errorf("fragile-poison = %q", poison)
	}
}

func TestNodeV4HTTPStream(t *testing.T) {
	s, _, _ := languageHost(t, nodeApp(t, "nodev4stream"), nil)
	r := do(t, "GET", s.URL+"/api/stream", "")
	if wantStatus(t, r, 200); r.body != "no body" {
		t.Errorf("GET stream = %q", r.body)
	}
	// A body larger than any buffer streams through the worker and back.
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	r = do(t, "POST", s.URL+"/api/stream?x=1", big)
	if wantStatus(t, r, 200); r.body != big {
		t.Errorf("POST stream echoed %d bytes, want %d", len(r.body), len(big))
	}
}

// goSDKApp copies samples/go-sdk into a module of its own that uses this
// checkout's SDK, as `funcd init --worker-runtime go` writes one.
func goSDKApp(t *testing.T) string {
	t.Helper()
	return goApp(t, filepath.Join("..", "samples", "go-sdk"))
}

// goApp copies a Go SDK app and gives it a go.mod that builds it with
// this checkout of funcd.
func goApp(t *testing.T, src string) string {
	t.Helper()
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	app := hosttest.CopyApp(t, src)
	gomod := "module example.com/gosdk\n\ngo 1.26\n\nrequire github.com/funcd/funcd v0.0.0\n\nreplace github.com/funcd/funcd => " + repo + "\n"
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(app, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = app
	tidy.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	return app
}

// TestGoSDKApp runs the Go SDK sample: funcd builds it (no binary yet),
// starts it, and its HTTP, queue, blob and timer functions run.
func TestGoSDKApp(t *testing.T) {
	app := goSDKApp(t)
	s, store, logs := languageHost(t, app, map[string]string{"GREETING": "Hi"})
	if _, err := os.Stat(filepath.Join(app, "app")); err != nil {
		t.Fatalf("funcd start did not build the app: %v", err)
	}
	if !strings.Contains(logs.String(), "Building the Go app") {
		t.Error("the build was not logged")
	}

	r := do(t, "GET", s.URL+"/api/hello/ada", "")
	if wantStatus(t, r, 200); r.body != "Hi, ada!\n" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("hello = %q %v", r.body, r.header)
	}
	wantStatus(t, do(t, "POST", s.URL+"/api/hello/bob", "x"), 200)
	wantStatus(t, do(t, "DELETE", s.URL+"/api/stream", ""), 404)

	// hello queued the names; store copied each one to a blob.
	eventually(t, 15*time.Second, "two blobs under copies/", func() bool {
		page, _, err := store.ListBlobs(context.Background(), "copies", "", "", 10)
		return err == nil && len(page) == 2
	})
	page, _, _ := store.ListBlobs(context.Background(), "copies", "", "", 10)
	var bodies []string
	for _, b := range page {
		body, _ := readBlob(t, store, "copies", b.Name)
		bodies = append(bodies, string(body))
	}
	if strings.Join(bodies, ",") != "ADA,BOB" && strings.Join(bodies, ",") != "BOB,ADA" {
		t.Errorf("copies = %q", bodies)
	}

	r = do(t, "GET", s.URL+"/api/stream", "")
	if wantStatus(t, r, 200); r.body != "line 1\nline 2\nline 3\n" {
		t.Errorf("stream = %q", r.body)
	}

	r = do(t, "POST", s.URL+"/admin/functions/tick", `{"input":""}`, "x-functions-key", s.MasterKey(t), "Content-Type", "application/json")
	wantStatus(t, r, 202)
	eventually(t, 10*time.Second, "the tick message", func() bool { return len(queueTexts(t, store, "ticks")) == 1 })
	if !strings.Contains(queueTexts(t, store, "ticks")[0], `"late":false`) {
		t.Errorf("ticks = %q", queueTexts(t, store, "ticks"))
	}
	if !strings.Contains(logs.String(), `"category":"Function.hello.User"`) {
		t.Error("the function's slog records did not reach the host's log")
	}
}

// TestNodeV4ScheduledTimer: a timer with a retry policy fires on its
// schedule; its first attempt carries no retry context, which the library
// would refuse.
func TestNodeV4ScheduledTimer(t *testing.T) {
	app := nodeApp(t, "nodev4")
	timer := `const { app } = require('@azure/functions');
app.timer('tick', {
  schedule: '*/1 * * * * *',
  retry: { strategy: 'fixedDelay', maxRetryCount: 3, delayInterval: { seconds: 10 } },
  handler: (timer, context) => { context.log('scheduled tick retry=' + JSON.stringify(context.retryContext)); },
});
`
	if err := os.WriteFile(filepath.Join(app, "src", "functions", "timer.js"), []byte(timer), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, logs := languageHost(t, app, nil)
	eventually(t, 10*time.Second, "a scheduled tick", func() bool { return strings.Contains(logs.String(), "scheduled tick retry=undefined") })
	if strings.Contains(logs.String(), "Executed 'Functions.tick' (Failed") {
		t.Error("a scheduled tick failed")
	}
}
