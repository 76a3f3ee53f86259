package worker_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/bindings"
	"github.com/funcd/funcd/sdk/worker"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// testApp registers one function of each kind.
func testApp(release chan struct{}) *sdk.App {
	app := sdk.FunctionApp()
	app.HTTP("hello", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		inv, _ := sdk.FromContext(r.Context())
		slog.InfoContext(r.Context(), "greeting", "name", r.PathValue("name"))
		if err := sdk.SetOutput(r.Context(), "msg", "greeted "+r.PathValue("name")); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("X-Invocation", inv.InvocationID)
		w.Header().Set("X-Seen-Correlation", r.Header.Get("x-ms-invocation-id"))
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "hello %s (%s %s q=%s) %s", r.PathValue("name"), r.Method, r.Header.Get("X-Custom"), r.URL.Query().Get("q"), body)
	}).Route("hello/{name}").Methods("get", "post").Auth("function").QueueOutput("msg", "greetings", "")
	app.HTTP("stream", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "second\n")
	})
	app.HTTP("boom", func(w http.ResponseWriter, r *http.Request) { panic("kaboom") })
	app.HTTP("wait", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	app.Timer("tick", func(ctx context.Context, t bindings.TimerInfo) error {
		return sdk.SetReturnValue(ctx, map[string]any{"pastDue": t.IsPastDue, "next": t.ScheduleStatus.Next.UTC().Format(time.RFC3339)})
	}, sdk.WithSchedule("0 */5 * * * *"), sdk.WithRunOnStartup(true)).QueueOutput("$return", "ticks", "Store").
		Retry(sdk.FixedDelay(3, 2*time.Second))
	app.Queue("work", func(ctx context.Context, m bindings.QueueMessage) error {
		if string(m.Body) == "fail" {
			return errors.New("cannot work on fail")
		}
		slog.WarnContext(ctx, "working", "id", m.ID)
		return sdk.SetOutput(ctx, "result", []byte(fmt.Sprintf("%s/%d/%s/%s", strings.ToUpper(string(m.Body)), m.DequeueCount, m.ID, m.InsertionTime.UTC().Format(time.RFC3339))))
	}).QueueName("jobs").Connection("Store").BlobOutput("result", "results/{id}", "Store")
	app.Blob("upload", func(ctx context.Context, b bindings.Blob) error {
		return sdk.SetOutput(ctx, "copy", map[string]any{"name": b.Name, "size": len(b.Content), "owner": b.Metadata["owner"]})
	}, sdk.WithPath("uploads/{name}")).QueueOutput("copy", "uploaded", "")
	app.Timer("noschedule", func(context.Context, bindings.TimerInfo) error { return nil })
	return app
}

func fid(name, trigger string) string {
	s := sha256.Sum256([]byte(name + ":" + trigger))
	return hex.EncodeToString(s[:])
}

func TestHandshakeAndMetadata(t *testing.T) {
	h := startHost(t, testApp(nil))
	caps, fns := h.handshake()
	for _, c := range []string{"TypedDataCollection", "IncludeEmptyEntriesInMessagePayload", "WorkerStatus", "RpcHttpBodyOnly",
		"RawHttpBodyBytes", "RpcHttpTriggerMetadataRemoved", "UseNullableValueDictionaryForHttp", "HandlesWorkerTerminateMessage",
		"RequiresRouteParameters"} {
		if caps[c] != "true" {
			t.Errorf("capability %s = %q, want true", c, caps[c])
		}
	}
	if !strings.HasPrefix(caps["HttpUri"], "http://127.0.0.1:") {
		t.Errorf("HttpUri = %q", caps["HttpUri"])
	}
	hello := fns["hello"]
	if hello.GetFunctionId() != fid("hello", "httpTrigger") || hello.GetLanguage() != "go" || hello.GetEntryPoint() != "hello" {
		t.Errorf("hello metadata: %v", hello)
	}
	want := []string{
		`{"name":"req","type":"httpTrigger","direction":"in","authLevel":"function","methods":["GET","POST"],"route":"hello/{name}"}`,
		`{"name":"$return","type":"http","direction":"out"}`,
		`{"name":"msg","type":"queue","direction":"out","queueName":"greetings"}`,
	}
	if !slices.Equal(hello.GetRawBindings(), want) {
		t.Errorf("raw bindings:\n%q\nwant\n%q", hello.GetRawBindings(), want)
	}
	if b := hello.GetBindings()["msg"]; b.GetType() != "queue" || b.GetDirection() != rpcpb.BindingInfo_out {
		t.Errorf("bindings[msg] = %v", b)
	}
	if got := fns["stream"].GetRawBindings()[0]; got != `{"name":"req","type":"httpTrigger","direction":"in","authLevel":"anonymous","methods":["GET","POST"],"route":"stream"}` {
		t.Errorf("default HTTP binding = %s", got)
	}
	tick := fns["tick"]
	if got := tick.GetRawBindings()[0]; got != `{"name":"timer","type":"timerTrigger","direction":"in","runOnStartup":true,"schedule":"0 */5 * * * *"}` {
		t.Errorf("timer binding = %s", got)
	}
	if r := tick.GetRetryOptions(); r.GetRetryStrategy() != rpcpb.RpcRetryOptions_fixed_delay || r.GetMaxRetryCount() != 3 ||
		r.GetDelayInterval().AsDuration() != 2*time.Second {
		t.Errorf("retry options = %v", r)
	}
	if got := fns["work"].GetRawBindings(); got[0] != `{"name":"message","type":"queueTrigger","direction":"in","connection":"Store","queueName":"jobs"}` ||
		got[1] != `{"name":"result","type":"blob","direction":"out","connection":"Store","path":"results/{id}"}` {
		t.Errorf("queue bindings = %q", got)
	}
	if st := fns["noschedule"].GetStatus(); st.GetStatus() != rpcpb.StatusResult_Failure || !strings.Contains(st.GetResult(), "no schedule") {
		t.Errorf("a timer without a schedule: status %v", st)
	}

	// An unknown function id fails its load; the worker answers status.
	h.send(&rpcpb.StreamingMessage{RequestId: "x", Content: &rpcpb.StreamingMessage_FunctionLoadRequest{
		FunctionLoadRequest: &rpcpb.FunctionLoadRequest{FunctionId: "nope"}}})
	if r := h.next().GetFunctionLoadResponse(); r.GetResult().GetStatus() != rpcpb.StatusResult_Failure ||
		!strings.Contains(r.GetResult().GetResult(), `"nope"`) {
		t.Errorf("load of an unknown id = %v", r)
	}
	h.send(&rpcpb.StreamingMessage{RequestId: "st", Content: &rpcpb.StreamingMessage_WorkerStatusRequest{WorkerStatusRequest: &rpcpb.WorkerStatusRequest{}}})
	if m := h.next(); m.GetWorkerStatusResponse() == nil || m.GetRequestId() != "st" {
		t.Errorf("want a WorkerStatusResponse, got %v", m)
	}
}

func TestProxyDisabled(t *testing.T) {
	t.Setenv("FUNCTIONS_GO_DISABLE_HTTP_PROXY", "1")
	h := startHost(t, testApp(nil))
	caps, _ := h.handshake()
	if _, ok := caps["HttpUri"]; ok {
		t.Errorf("HttpUri advertised with the proxy disabled: %v", caps)
	}
	if _, ok := caps["RequiresRouteParameters"]; ok {
		t.Errorf("RequiresRouteParameters advertised with the proxy disabled")
	}
}

func httpReq(id, function string, rh *rpcpb.RpcHttp, meta map[string]*rpcpb.TypedData) *rpcpb.InvocationRequest {
	return &rpcpb.InvocationRequest{InvocationId: id, FunctionId: fid(function, "httpTrigger"), TriggerMetadata: meta,
		InputData: []*rpcpb.ParameterBinding{{Name: "req", RpcData: &rpcpb.ParameterBinding_Data{
			Data: &rpcpb.TypedData{Data: &rpcpb.TypedData_Http{Http: rh}}}}}}
}

func TestClassicHTTP(t *testing.T) {
	h := startHost(t, testApp(nil))
	h.handshake()
	resp := h.invoke(httpReq("i1", "hello", &rpcpb.RpcHttp{
		Method:          "POST",
		Url:             "http://localhost:7071/api/hello/bob?q=1",
		NullableHeaders: map[string]*rpcpb.NullableString{"x-custom": nullable("yes")},
		Body:            &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: []byte("payload")}},
		NullableParams:  map[string]*rpcpb.NullableString{"name": nullable("bob")},
	}, nil))
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success {
		t.Fatalf("result %v", resp.GetResult())
	}
	rh := resp.GetReturnValue().GetHttp()
	if rh.GetStatusCode() != "201" || rh.GetHeaders()["X-Invocation"] != "i1" {
		t.Errorf("response %v", rh)
	}
	if got := string(rh.GetBody().GetBytes()); got != "hello bob (POST yes q=1) payload" {
		t.Errorf("body %q", got)
	}
	if len(resp.GetOutputData()) != 1 || resp.GetOutputData()[0].GetName() != "msg" ||
		resp.GetOutputData()[0].GetData().GetString_() != "greeted bob" {
		t.Errorf("output data %v", resp.GetOutputData())
	}
	logs := h.logsOf("i1")
	if len(logs) != 1 || logs[0].GetLogCategory() != rpcpb.RpcLog_User || logs[0].GetMessage() != "greeting name=bob" ||
		logs[0].GetLevel() != rpcpb.RpcLog_Information || logs[0].GetPropertiesMap()["name"].GetString_() != "bob" {
		t.Errorf("logs of i1: %v", logs)
	}
}

func TestPanicKeepsTheWorker(t *testing.T) {
	h := startHost(t, testApp(nil))
	h.handshake()
	resp := h.invoke(httpReq("p1", "boom", &rpcpb.RpcHttp{Method: "GET", Url: "http://localhost/api/boom"}, nil))
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Failure || !strings.Contains(resp.GetResult().GetResult(), "kaboom") ||
		!strings.Contains(resp.GetResult().GetException().GetStackTrace(), "worker_test.go") {
		t.Fatalf("result %v", resp.GetResult())
	}
	if resp.GetReturnValue().GetHttp().GetStatusCode() != "500" {
		t.Errorf("status %v", resp.GetReturnValue())
	}
	var sys bool
	for _, l := range h.logsOf("p1") {
		sys = sys || (l.GetLogCategory() == rpcpb.RpcLog_System && l.GetLevel() == rpcpb.RpcLog_Error && l.GetException() != nil)
	}
	if !sys {
		t.Errorf("no System error log with the panic: %v", h.logsOf("p1"))
	}
	resp = h.invoke(httpReq("p2", "hello", &rpcpb.RpcHttp{Method: "GET", Url: "http://localhost/api/hello/x",
		Params: map[string]string{"name": "x"}}, nil))
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success {
		t.Errorf("after a panic: %v", resp.GetResult())
	}
}

// proxyReq forwards a request to the worker's HttpUri as the host does.
func proxyReq(t *testing.T, uri, id, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", uri+path+"?q=2", strings.NewReader("streamed body"))
	req.Header.Set("x-ms-invocation-id", id)
	req.Header.Set("X-Custom", "proxied")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestProxiedHTTP(t *testing.T) {
	release := make(chan struct{})
	h := startHost(t, testApp(release))
	caps, _ := h.handshake()
	uri := caps["HttpUri"]

	// Invocation first, then the forwarded request.
	h.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationRequest{InvocationRequest: httpReq("x1", "hello",
		&rpcpb.RpcHttp{}, map[string]*rpcpb.TypedData{"name": str("ann")})}})
	resp := proxyReq(t, uri, "x1", "/api/hello/ann")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(body) != "hello ann (POST proxied q=2) streamed body" || resp.Header.Get("X-Seen-Correlation") != "" {
		t.Errorf("proxied response %d %q %v", resp.StatusCode, body, resp.Header)
	}
	ir := h.response("x1")
	if ir.GetResult().GetStatus() != rpcpb.StatusResult_Success || ir.GetReturnValue() != nil {
		t.Errorf("invocation response %v", ir)
	}
	if len(ir.GetOutputData()) != 1 || ir.GetOutputData()[0].GetData().GetString_() != "greeted ann" {
		t.Errorf("output data %v", ir.GetOutputData())
	}

	// The forwarded request sent first (it may still arrive second: the
	// rendezvous takes either order), then the invocation; the response
	// streams: its first chunk arrives while the handler still runs.
	type result struct {
		resp *http.Response
	}
	got := make(chan result, 1)
	go func() { got <- result{proxyReq(t, uri, "x2", "/api/stream")} }()
	h.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationRequest{InvocationRequest: httpReq("x2", "stream",
		&rpcpb.RpcHttp{}, nil)}})
	r := (<-got).resp
	br := bufio.NewReader(r.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk %q, %v", line, err)
	}
	close(release) // only now may the handler finish
	rest, _ := io.ReadAll(br)
	r.Body.Close()
	if string(rest) != "second\n" {
		t.Errorf("rest %q", rest)
	}
	if ir := h.response("x2"); ir.GetResult().GetStatus() != rpcpb.StatusResult_Success {
		t.Errorf("stream invocation %v", ir.GetResult())
	}

	// A request without the correlation header is refused.
	req, _ := http.NewRequest("GET", uri+"/api/hello/x", nil)
	r, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("without x-ms-invocation-id: %d", r.StatusCode)
	}
}

func TestCancel(t *testing.T) {
	h := startHost(t, testApp(nil))
	h.handshake()
	// Classic path: the handler waits for its context.
	h.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationRequest{InvocationRequest: httpReq("c1", "wait",
		&rpcpb.RpcHttp{Method: "GET", Url: "http://localhost/api/wait"}, nil)}})
	h.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationCancel{InvocationCancel: &rpcpb.InvocationCancel{InvocationId: "c1"}}})
	if r := h.response("c1"); r.GetResult() == nil {
		t.Errorf("no result %v", r)
	}
	// Proxied path, request never forwarded: the cancel ends the wait.
	h.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationRequest{InvocationRequest: httpReq("c2", "wait",
		&rpcpb.RpcHttp{}, nil)}})
	h.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationCancel{InvocationCancel: &rpcpb.InvocationCancel{InvocationId: "c2"}}})
	if r := h.response("c2"); r.GetResult().GetStatus() != rpcpb.StatusResult_Cancelled {
		t.Errorf("proxied cancel: %v", r.GetResult())
	}
}

func TestTriggersOutputsReturnValue(t *testing.T) {
	h := startHost(t, testApp(nil))
	h.handshake()

	resp := h.invoke(&rpcpb.InvocationRequest{InvocationId: "t1", FunctionId: fid("tick", "timerTrigger"),
		InputData: []*rpcpb.ParameterBinding{{Name: "timer", RpcData: &rpcpb.ParameterBinding_Data{Data: jsonData(
			`{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-12-05T10:00:00+00:00","Next":"2026-12-05T10:05:00+00:00","LastUpdated":"2026-12-05T10:00:00+00:00"},"IsPastDue":true}`)}}}})
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success ||
		resp.GetReturnValue().GetJson() != `{"next":"2026-12-05T10:05:00Z","pastDue":true}` {
		t.Errorf("timer: %v", resp)
	}

	resp = h.invoke(&rpcpb.InvocationRequest{InvocationId: "q1", FunctionId: fid("work", "queueTrigger"),
		InputData: []*rpcpb.ParameterBinding{{Name: "message", RpcData: &rpcpb.ParameterBinding_Data{Data: str("job")}}},
		TriggerMetadata: map[string]*rpcpb.TypedData{
			"Id": str("m-1"), "DequeueCount": {Data: &rpcpb.TypedData_Int{Int: 2}},
			"InsertionTime": jsonData(`"2026-12-05T09:00:00+00:00"`), "PopReceipt": str("pr"),
		}})
	out := resp.GetOutputData()
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success || len(out) != 1 || out[0].GetName() != "result" ||
		string(out[0].GetData().GetBytes()) != "JOB/2/m-1/2026-12-05T09:00:00Z" {
		t.Errorf("queue: %v", resp)
	}
	if l := h.logsOf("q1"); len(l) != 1 || l[0].GetLevel() != rpcpb.RpcLog_Warning || l[0].GetCategory() != "work.Invocation" {
		t.Errorf("queue logs %v", l)
	}
	resp = h.invoke(&rpcpb.InvocationRequest{InvocationId: "q2", FunctionId: fid("work", "queueTrigger"),
		InputData: []*rpcpb.ParameterBinding{{Name: "message", RpcData: &rpcpb.ParameterBinding_Data{Data: str("fail")}}}})
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Failure || resp.GetResult().GetException().GetMessage() != "cannot work on fail" {
		t.Errorf("failing queue: %v", resp.GetResult())
	}

	resp = h.invoke(&rpcpb.InvocationRequest{InvocationId: "b1", FunctionId: fid("upload", "blobTrigger"),
		InputData: []*rpcpb.ParameterBinding{{Name: "blob", RpcData: &rpcpb.ParameterBinding_Data{Data: &rpcpb.TypedData{
			Data: &rpcpb.TypedData_Bytes{Bytes: []byte("12345")}}}}},
		TriggerMetadata: map[string]*rpcpb.TypedData{"BlobTrigger": str("uploads/a.txt"), "Metadata": jsonData(`{"owner":"me"}`)}})
	if out := resp.GetOutputData(); len(out) != 1 || out[0].GetData().GetJson() != `{"name":"uploads/a.txt","owner":"me","size":5}` {
		t.Errorf("blob: %v", resp)
	}
}

func TestTerminateAndReload(t *testing.T) {
	h := startHost(t, testApp(nil))
	h.handshake()
	h.send(&rpcpb.StreamingMessage{RequestId: "env", Content: &rpcpb.StreamingMessage_FunctionEnvironmentReloadRequest{
		FunctionEnvironmentReloadRequest: &rpcpb.FunctionEnvironmentReloadRequest{EnvironmentVariables: map[string]string{"SDK_TEST_RELOADED": "yes"}}}})
	t.Cleanup(func() { _ = osUnsetenv("SDK_TEST_RELOADED") })
	m := h.next().GetFunctionEnvironmentReloadResponse()
	if m.GetResult().GetStatus() != rpcpb.StatusResult_Success || m.GetCapabilities()["HttpUri"] == "" || osGetenv("SDK_TEST_RELOADED") != "yes" {
		t.Errorf("reload %v", m)
	}
	h.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_WorkerTerminate{WorkerTerminate: &rpcpb.WorkerTerminate{
		GracePeriod: durationpb.New(time.Second)}}})
	select {
	case err := <-h.runErr:
		if err != nil {
			t.Errorf("Run after WorkerTerminate = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not end after WorkerTerminate")
	}
}

func TestParseArgs(t *testing.T) {
	cfg, err := worker.ParseArgs([]string{"--host", "127.0.0.1", "--port", "1", "--unknown", "x", "--functions-uri", "http://127.0.0.1:5000/",
		"--functions-worker-id", "w", "--functions-request-id=r", "--functions-grpc-max-message-length", "1024", "--verbose"})
	if err != nil || cfg != (worker.Config{Addr: "127.0.0.1:5000", WorkerID: "w", RequestID: "r", MaxMessageBytes: 1024}) {
		t.Errorf("ParseArgs = %+v, %v", cfg, err)
	}
	cfg, err = worker.ParseArgs([]string{"--host", "localhost", "--port", "7", "--workerId", "w2", "--requestId", "r2"})
	if err != nil || cfg != (worker.Config{Addr: "localhost:7", WorkerID: "w2", RequestID: "r2", MaxMessageBytes: worker.DefaultMaxMessageBytes}) {
		t.Errorf("legacy ParseArgs = %+v, %v", cfg, err)
	}
	if _, err := worker.ParseArgs(nil); err == nil || !strings.Contains(err.Error(), "--functions-uri") {
		t.Errorf("no flags: %v", err)
	}
	if _, err := worker.ParseArgs([]string{"--functions-uri", "http://h:1", "--functions-worker-id", "w", "--functions-grpc-max-message-length", "x"}); err == nil {
		t.Error("a bad max message length was accepted")
	}
}

// TestProxyFailures: each half of a proxied invocation gives up on the
// other after the timeout; a panic on the live connection answers 500.
func TestProxyFailures(t *testing.T) {
	h := startHost(t, testApp(nil), worker.WithProxyTimeout(300*time.Millisecond))
	caps, _ := h.handshake()
	uri := caps["HttpUri"]

	// The request never comes.
	r := h.invoke(httpReq("f1", "hello", &rpcpb.RpcHttp{}, nil))
	if r.GetResult().GetStatus() != rpcpb.StatusResult_Failure || !strings.Contains(r.GetResult().GetResult(), "did not arrive within 300ms") {
		t.Errorf("no forwarded request: %v", r.GetResult())
	}

	// The invocation comes too late: 504, then it fails at once.
	resp := proxyReq(t, uri, "f2", "/api/hello/x")
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("no invocation: status %d", resp.StatusCode)
	}
	r = h.invoke(httpReq("f2", "hello", &rpcpb.RpcHttp{}, nil))
	if r.GetResult().GetStatus() != rpcpb.StatusResult_Failure || !strings.Contains(r.GetResult().GetResult(), "of its forwarded HTTP request") {
		t.Errorf("late invocation: %v", r.GetResult())
	}

	// A panic before anything was written: 500 and a failure with the stack.
	h.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationRequest{InvocationRequest: httpReq("f3", "boom", &rpcpb.RpcHttp{}, nil)}})
	resp = proxyReq(t, uri, "f3", "/api/boom")
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("panic: status %d", resp.StatusCode)
	}
	if r := h.response("f3"); r.GetResult().GetStatus() != rpcpb.StatusResult_Failure || r.GetResult().GetException().GetStackTrace() == "" {
		t.Errorf("panic: %v", r.GetResult())
	}
}

// BenchmarkHTTPOverStream is one HTTP invocation on the gRPC path, from
// the host's InvocationRequest to its InvocationResponse, over a real
// stream to the worker in this process.
func BenchmarkHTTPOverStream(b *testing.B) {
	app := sdk.FunctionApp()
	app.HTTP("hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello "+r.PathValue("name"))
	}).Route("hello/{name}")
	h := startHost(b, app, worker.WithoutHTTPProxy())
	h.handshake()
	req := httpReq("", "hello", &rpcpb.RpcHttp{Method: "GET", Url: "http://localhost/api/hello/bob",
		NullableParams: map[string]*rpcpb.NullableString{"name": nullable("bob")}}, nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req.InvocationId = strconv.Itoa(i)
		if r := h.invoke(req); r.GetReturnValue().GetHttp().GetStatusCode() != "200" {
			b.Fatal(r)
		}
	}
}

// TestProxyDuplicateInvocationID: a second InvocationRequest with the id of
// one still waiting for its forwarded request fails at once, and the
// stream's reader goes on: the first one still times out.
func TestProxyDuplicateInvocationID(t *testing.T) {
	h := startHost(t, testApp(nil), worker.WithProxyTimeout(300*time.Millisecond))
	h.handshake()
	h.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationRequest{InvocationRequest: httpReq("dup", "hello", &rpcpb.RpcHttp{}, nil)}})
	r := h.invoke(httpReq("dup", "hello", &rpcpb.RpcHttp{}, nil))
	if r.GetResult().GetStatus() != rpcpb.StatusResult_Failure || !strings.Contains(r.GetResult().GetResult(), "already waiting") {
		t.Errorf("the second InvocationRequest: %v", r.GetResult())
	}
	r = h.response("dup")
	if r.GetResult().GetStatus() != rpcpb.StatusResult_Failure || !strings.Contains(r.GetResult().GetResult(), "did not arrive within 300ms") {
		t.Errorf("the first InvocationRequest: %v", r.GetResult())
	}
}
