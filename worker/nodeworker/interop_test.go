package nodeworker_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/worker"
	"github.com/funcd/funcd/worker/grpcworker"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
	"github.com/funcd/funcd/worker/nodeworker"
)

// testApp returns the absolute path of the test app e2e/testdata/<name>,
// failing the test when its npm packages are not installed.
func testApp(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "e2e", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@azure", "functions", "package.json")); err != nil {
		t.Fatalf("the test app %s has no node_modules/@azure/functions: run `make nodeapps` (%v)", dir, err)
	}
	return dir
}

// logBook collects a worker's RpcLogs and output lines.
type logBook struct {
	mu    sync.Mutex
	logs  []grpcworker.Log
	lines []string
	procs []*worker.Process
	added chan struct{}
}

func (b *logBook) onLog(l grpcworker.Log) {
	b.mu.Lock()
	b.logs = append(b.logs, l)
	b.mu.Unlock()
	select {
	case b.added <- struct{}{}:
	default:
	}
}

func (b *logBook) output(p *worker.Process, _ worker.Stream, line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, line)
	if len(b.procs) == 0 || b.procs[len(b.procs)-1] != p {
		b.procs = append(b.procs, p)
	}
}

// waitLog waits for a log that match accepts. A worker sends an
// invocation's logs before its InvocationResponse on the same stream, but
// the host hands them to OnLog on its own.
func (b *logBook) waitLog(t *testing.T, what string, match func(grpcworker.Log) bool) grpcworker.Log {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		b.mu.Lock()
		for _, l := range b.logs {
			if match(l) {
				b.mu.Unlock()
				return l
			}
		}
		b.mu.Unlock()
		select {
		case <-b.added:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			b.mu.Lock()
			defer b.mu.Unlock()
			t.Fatalf("no log %s in %v\noutput:\n%s", what, b.logs, strings.Join(b.lines, "\n"))
		}
	}
}

// startNode runs the embedded worker under grpcworker against appDir.
func startNode(t *testing.T, appDir string, env ...string) (*grpcworker.Worker, *logBook, error) {
	t.Helper()
	node := nodePath(t)
	entry, err := nodeworker.Install(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := &logBook{added: make(chan struct{}, 1)}
	w, err := grpcworker.New(grpcworker.Config{
		Path:           node,
		Args:           []string{entry},
		Env:            append(os.Environ(), env...),
		HostVersion:    "4.1040.0.0",
		AppDirectory:   appDir,
		StartTimeout:   30 * time.Second,
		TerminateGrace: 5 * time.Second,
		OnLog:          b.onLog,
		Output:         b.output,
		Logger:         slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxErrors:      1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	return w, b, w.Start(t.Context())
}

func nullable(kv ...string) map[string]*grpcworker.NullableString {
	m := map[string]*grpcworker.NullableString{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = &grpcworker.NullableString{String_: &grpcworker.NullableStringValue{Value: kv[i+1]}}
	}
	return m
}

func rawBindings(t *testing.T, fn *grpcworker.FunctionMetadata) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, raw := range fn.GetRawBindings() {
		var b map[string]any
		if err := json.Unmarshal([]byte(raw), &b); err != nil {
			t.Fatalf("%s: raw binding %s: %v", fn.GetName(), raw, err)
		}
		name, _ := b["name"].(string)
		if name == "$return" {
			out[name] = b
			continue
		}
		out[b["type"].(string)] = b
	}
	return out
}

// TestV4App runs e2e/testdata/nodev4, written for @azure/functions v4,
// with the real library: its metadata, invocations of each trigger, hooks
// and logs.
func TestV4App(t *testing.T) {
	dir := testApp(t, "nodev4")
	marker := filepath.Join(t.TempDir(), "terminated")
	w, book, err := startNode(t, dir, "NODEV4_TERMINATE_MARKER="+marker)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	caps, meta, err := w.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if caps["RawHttpBodyBytes"] != "true" || caps["HttpUri"] != "" {
		t.Errorf("capabilities = %v, want the worker's own and no HttpUri", caps)
	}
	if meta.GetCustomProperties()["modelName"] != "@azure/functions" || meta.GetCustomProperties()["modelVersion"] != "4.16.5" {
		t.Errorf("worker metadata custom properties = %v", meta.GetCustomProperties())
	}

	fns, err := w.Functions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*grpcworker.FunctionMetadata{}
	var ids []string
	for _, f := range fns {
		if f.Err != nil {
			t.Errorf("function %s: %v", f.Metadata.GetName(), f.Err)
		}
		byID[f.Metadata.GetFunctionId()] = f.Metadata
		ids = append(ids, f.Metadata.GetFunctionId())
	}
	// Files load in the order of the brace in "main": index.js, then the
	// functions folder's .js files by name, then its .mjs files.
	if want := []string{"copyBlob", "hello", "fail", "swapped", "crash", "jobs", "fragile", "tick", "warm", "esm"}; !slices.Equal(ids, want) {
		t.Fatalf("function ids = %v, want %v", ids, want)
	}

	t.Run("metadata", func(t *testing.T) {
		hello := byID["hello"]
		if hello.GetName() != "hello" || hello.GetLanguage() != "node" || hello.GetScriptFile() != "http.js" ||
			hello.GetDirectory() != filepath.Join(dir, "src", "functions") {
			t.Errorf("hello = name %q language %q script %q directory %q", hello.GetName(), hello.GetLanguage(), hello.GetScriptFile(), hello.GetDirectory())
		}
		if byID["esm"].GetScriptFile() != "esm.mjs" {
			t.Errorf("esm script file = %q", byID["esm"].GetScriptFile())
		}
		rb := rawBindings(t, hello)
		trig := rb["httpTrigger"]
		if trig == nil || trig["route"] != "hello/{name}" || trig["authLevel"] != "anonymous" || trig["direction"] != "in" ||
			!strings.HasPrefix(trig["name"].(string), "httpTrigger") {
			t.Errorf("hello trigger = %v", trig)
		}
		if m, _ := trig["methods"].([]any); len(m) != 2 || m[0] != "GET" || m[1] != "POST" {
			t.Errorf("hello methods = %v", trig["methods"])
		}
		if r := rb["$return"]; r == nil || r["type"] != "http" || r["direction"] != "out" {
			t.Errorf("hello $return = %v", r)
		}
		if b := hello.GetBindings()[trig["name"].(string)]; b.GetType() != "httpTrigger" || b.GetDirection() != rpcpb.BindingInfo_in {
			t.Errorf("hello bindings = %v", hello.GetBindings())
		}
		jobs := rawBindings(t, byID["jobs"])
		if q := jobs["queueTrigger"]; q == nil || q["queueName"] != "jobs" || q["connection"] != "AzureWebJobsStorage" {
			t.Errorf("jobs trigger = %v", q)
		}
		if r := jobs["$return"]; r == nil || r["type"] != "queue" || r["queueName"] != "done" {
			t.Errorf("jobs $return = %v", r)
		}
		if o := jobs["queue"]; o == nil || o["queueName"] != "audit" || o["direction"] != "out" {
			t.Errorf("jobs extra output = %v", o)
		}
		if tick := rawBindings(t, byID["tick"])["timerTrigger"]; tick == nil || tick["schedule"] != "0 */5 * * * *" {
			t.Errorf("tick trigger = %v", tick)
		}
		if r := byID["tick"].GetRetryOptions(); r.GetRetryStrategy() != rpcpb.RpcRetryOptions_fixed_delay ||
			r.GetMaxRetryCount() != 3 || r.GetDelayInterval().AsDuration() != 10*time.Second {
			t.Errorf("tick retry options = %v", r)
		}
		if r := byID["hello"].GetRetryOptions(); r != nil {
			t.Errorf("hello retry options = %v, want none", r)
		}
		if blob := rawBindings(t, byID["copyBlob"]); blob["blobTrigger"]["path"] != "uploads/{name}" || blob["blob"]["path"] != "copies/{name}" {
			t.Errorf("copyBlob bindings = %v", blob)
		}
		if a := rawBindings(t, byID["fail"])["httpTrigger"]["authLevel"]; a != "function" {
			t.Errorf("fail authLevel = %v", a)
		}
	})

	httpReq := func(fn, method, url string, body []byte, params map[string]*grpcworker.NullableString, query map[string]*grpcworker.NullableString) *grpcworker.InvocationRequest {
		trig := rawBindings(t, byID[fn])["httpTrigger"]["name"].(string)
		req := &grpcworker.RpcHttp{
			Method:          method,
			Url:             url,
			NullableHeaders: nullable("x-test", "header-value", "content-type", "text/plain"),
			NullableQuery:   query,
			NullableParams:  params,
		}
		if body != nil {
			req.Body = &grpcworker.TypedData{Data: &grpcworker.TypedDataBytes{Bytes: body}}
		}
		return &grpcworker.InvocationRequest{
			InvocationId: "inv-" + fn + "-" + method,
			FunctionId:   fn,
			InputData: []*grpcworker.ParameterBinding{{Name: trig, RpcData: &grpcworker.ParameterBindingData{
				Data: &grpcworker.TypedData{Data: &grpcworker.TypedDataHTTP{Http: req}},
			}}},
		}
	}

	t.Run("http", func(t *testing.T) {
		req := httpReq("hello", "POST", "http://localhost:7071/api/hello/ada?q=search&status=201", []byte("the body"),
			nullable("name", "ada"), nullable("q", "search", "status", "201"))
		resp, err := w.Invoke(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetResult().GetStatus() != grpcworker.StatusSuccess || resp.GetInvocationId() != req.InvocationId {
			t.Fatalf("response = %v", resp)
		}
		h := resp.GetReturnValue().GetHttp()
		if h.GetStatusCode() != "201" || h.GetHeaders()["x-echo"] != "header-value" || h.GetHeaders()["content-type"] != "application/json" {
			t.Errorf("http = status %q headers %v", h.GetStatusCode(), h.GetHeaders())
		}
		var got map[string]string
		if err := json.Unmarshal(h.GetBody().GetBytes(), &got); err != nil {
			t.Fatalf("body %q: %v", h.GetBody(), err)
		}
		want := map[string]string{"name": "ada", "method": "POST", "query": "search", "body": "the body", "invocationId": req.InvocationId}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("body[%s] = %q, want %q (body %v)", k, got[k], v, got)
			}
		}
		if len(h.GetCookies()) != 1 {
			t.Fatalf("cookies = %v", h.GetCookies())
		}
		c := h.GetCookies()[0]
		if c.GetName() != "session" || c.GetValue() != "abc" || c.GetPath().GetValue() != "/" || !c.GetHttpOnly().GetValue() ||
			c.GetSameSite() != rpcpb.RpcHttpCookie_Lax || c.GetMaxAge().GetValue() != 60 {
			t.Errorf("cookie = %v", c)
		}
		if len(resp.GetOutputData()) != 0 {
			t.Errorf("output data = %v", resp.GetOutputData())
		}
		l := book.waitLog(t, "hello ada", func(l grpcworker.Log) bool { return l.Message == "hello ada" })
		if l.InvocationID != req.InvocationId || l.Category != "hello.Invocation" || l.System || l.Level != slog.LevelInfo {
			t.Errorf("context.log = %+v", l)
		}
		// The postInvocation hook saw the preInvocation hook's hookData and
		// the appStart hook's appHookData.
		book.waitLog(t, "from the postInvocation hook", func(l grpcworker.Log) bool {
			return l.InvocationID == req.InvocationId && l.Message == "postInvocation hello hookData=pre:hello app=nodev4 error=null"
		})

		// A GET with no body, params or query.
		resp, err = w.Invoke(ctx, httpReq("esm", "GET", "http://localhost:7071/api/esm", nil, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		if h := resp.GetReturnValue().GetHttp(); h.GetStatusCode() != "200" || string(h.GetBody().GetBytes()) != "from an ES module: true" {
			t.Errorf("esm = %v", resp)
		}
	})

	t.Run("preInvocation swaps the handler", func(t *testing.T) {
		resp, err := w.Invoke(ctx, httpReq("swapped", "GET", "http://localhost:7071/api/swapped", nil, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		if b := string(resp.GetReturnValue().GetHttp().GetBody().GetBytes()); b != "swapped by a preInvocation hook" {
			t.Errorf("body = %q (%v)", b, resp)
		}
	})

	t.Run("throws", func(t *testing.T) {
		resp, err := w.Invoke(ctx, httpReq("fail", "GET", "http://localhost:7071/api/fail", nil, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		r := resp.GetResult()
		if r.GetStatus() != grpcworker.StatusFailure || r.GetException().GetMessage() != "fail always fails" ||
			!strings.Contains(r.GetException().GetStackTrace(), filepath.Join("src", "functions", "http.js")) {
			t.Errorf("result = %v", r)
		}
		if resp.GetReturnValue() != nil {
			t.Errorf("return value = %v", resp.GetReturnValue())
		}
	})

	t.Run("queue", func(t *testing.T) {
		trig := rawBindings(t, byID["jobs"])["queueTrigger"]["name"].(string)
		req := &grpcworker.InvocationRequest{
			InvocationId: "inv-jobs",
			FunctionId:   "jobs",
			InputData: []*grpcworker.ParameterBinding{{Name: trig, RpcData: &grpcworker.ParameterBindingData{
				Data: &grpcworker.TypedData{Data: &grpcworker.TypedDataString{String_: "job-1"}},
			}}},
			TriggerMetadata: map[string]*grpcworker.TypedData{
				"DequeueCount": {Data: &grpcworker.TypedDataJSON{Json: "3"}},
				"Id":           {Data: &grpcworker.TypedDataString{String_: "msg-7"}},
			},
		}
		resp, err := w.Invoke(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetResult().GetStatus() != grpcworker.StatusSuccess {
			t.Fatalf("result = %v", resp.GetResult())
		}
		if s := resp.GetReturnValue().GetString_(); s != "done:job-1" {
			t.Errorf("return value = %v", resp.GetReturnValue())
		}
		out := resp.GetOutputData()
		audit := rawBindings(t, byID["jobs"])["queue"]["name"]
		if len(out) != 1 || out[0].GetName() != audit {
			t.Fatalf("output data = %v, want one for %v", out, audit)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(out[0].GetData().GetJson()), &got); err != nil || got["seen"] != "job-1" || got["id"] != "msg-7" {
			t.Errorf("audit output = %v (%v)", out[0].GetData(), err)
		}
		book.waitLog(t, "with the camelCased dequeueCount", func(l grpcworker.Log) bool {
			return l.InvocationID == "inv-jobs" && l.Message == "dequeueCount=3"
		})
		// The app's log hook rewrote this one.
		book.waitLog(t, "rewritten by the log hook", func(l grpcworker.Log) bool {
			return l.InvocationID == "inv-jobs" && l.Message == "secret=[redacted]"
		})
		book.mu.Lock()
		defer book.mu.Unlock()
		for _, l := range book.logs {
			if strings.Contains(l.Message, "secret=job-1") {
				t.Errorf("the log hook did not rewrite %+v", l)
			}
		}
	})

	t.Run("timer", func(t *testing.T) {
		trig := rawBindings(t, byID["tick"])["timerTrigger"]["name"].(string)
		resp, err := w.Invoke(ctx, &grpcworker.InvocationRequest{
			InvocationId: "inv-tick",
			FunctionId:   "tick",
			InputData: []*grpcworker.ParameterBinding{{Name: trig, RpcData: &grpcworker.ParameterBindingData{
				Data: &grpcworker.TypedData{Data: &grpcworker.TypedDataJSON{
					Json: `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-01-01T00:00:00Z","Next":"2026-01-01T00:05:00Z"},"IsPastDue":true}`,
				}},
			}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetResult().GetStatus() != grpcworker.StatusSuccess {
			t.Fatalf("result = %v", resp.GetResult())
		}
		if resp.GetReturnValue().GetData() != nil {
			t.Errorf("return value = %v, want none for undefined", resp.GetReturnValue())
		}
		book.waitLog(t, "with the camelCased timer", func(l grpcworker.Log) bool {
			return l.InvocationID == "inv-tick" && l.Message == "tick isPastDue=true next=2026-01-01T00:05:00Z"
		})
	})

	t.Run("blob", func(t *testing.T) {
		bindings := rawBindings(t, byID["copyBlob"])
		resp, err := w.Invoke(ctx, &grpcworker.InvocationRequest{
			InvocationId: "inv-blob",
			FunctionId:   "copyBlob",
			InputData: []*grpcworker.ParameterBinding{{Name: bindings["blobTrigger"]["name"].(string), RpcData: &grpcworker.ParameterBindingData{
				Data: &grpcworker.TypedData{Data: &grpcworker.TypedDataBytes{Bytes: []byte("hello blob")}},
			}}},
			TriggerMetadata: map[string]*grpcworker.TypedData{"name": {Data: &grpcworker.TypedDataString{String_: "a.txt"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		out := resp.GetOutputData()
		if len(out) != 1 || out[0].GetName() != bindings["blob"]["name"] || string(out[0].GetData().GetBytes()) != "HELLO BLOB" {
			t.Errorf("response = %v", resp)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				req := httpReq("hello", "GET", "http://localhost:7071/api/hello/x", nil, nullable("name", "x"), nil)
				req.InvocationId = "inv-concurrent-" + string(rune('a'+i))
				resp, err := w.Invoke(ctx, req)
				if err != nil || resp.GetInvocationId() != req.InvocationId || resp.GetResult().GetStatus() != grpcworker.StatusSuccess {
					t.Errorf("invocation %s = %v, %v", req.InvocationId, resp, err)
				}
			})
		}
		wg.Wait()
	})

	t.Run("unknown binding", func(t *testing.T) {
		resp, err := w.Invoke(ctx, &grpcworker.InvocationRequest{
			InvocationId: "inv-bad", FunctionId: "tick",
			InputData: []*grpcworker.ParameterBinding{{Name: "nope", RpcData: &grpcworker.ParameterBindingData{
				Data: &grpcworker.TypedData{Data: &grpcworker.TypedDataString{String_: "x"}}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := resp.GetResult(); r.GetStatus() != grpcworker.StatusFailure || !strings.Contains(r.GetException().GetMessage(), `"nope"`) {
			t.Errorf("result = %v", r)
		}
	})

	if err := w.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	b, err := os.ReadFile(marker)
	if err != nil || string(b) != "terminated nodev4 started=number\n" {
		t.Errorf("appTerminate marker = %q, %v", b, err)
	}
}

// TestMainMatchesNothing: an app whose "main" matches no file fails its
// indexing with an error naming the pattern.
func TestMainMatchesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"main":"dist/{index.js,functions/*.js}"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, book, err := startNode(t, dir)
	if err == nil || !strings.Contains(err.Error(), `"main" "dist/{index.js,functions/*.js}" matches no file in `+dir) {
		t.Fatalf("Start = %v, want the metadata request to fail on main", err)
	}
	book.mu.Lock()
	defer book.mu.Unlock()
	if !slices.ContainsFunc(book.lines, func(l string) bool { return strings.Contains(l, "matches no file") }) {
		t.Errorf("stderr does not tell: %q", book.lines)
	}
}

// TestLoadError: a file that throws while loading fails the indexing with
// its error and stack.
func TestLoadError(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"package.json": `{"main":"*.js"}`,
		"a.js":         `throw new Error("a.js is broken")`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := startNode(t, dir)
	if err == nil || !strings.Contains(err.Error(), `unable to load a.js (package.json "main" "*.js"): a.js is broken`) {
		t.Fatalf("Start = %v", err)
	}
}

// TestHTTPStreamCapability: an app that enables HTTP streaming reports the
// library's own HTTP server as the HttpUri capability.
func TestHTTPStreamCapability(t *testing.T) {
	dir := testApp(t, "nodev4stream")
	w, _, err := startNode(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	caps, _, err := w.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	uri := caps["HttpUri"]
	if !strings.HasPrefix(uri, "http://localhost:") || caps["WorkerStatus"] != "true" {
		t.Fatalf("capabilities = %v, want HttpUri", caps)
	}
	fns, err := w.Functions(t.Context())
	if err != nil || len(fns) != 1 || fns[0].Metadata.GetFunctionId() != "stream" || fns[0].Err != nil {
		t.Errorf("Functions = %v, %v", fns, err)
	}
}
