package worker_test

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/worker/grpcworker"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// TestInteropWithHost builds the sample app (samples/go-sdk) and runs it
// under the host's own FunctionRpc implementation, grpcworker.Worker: the
// handshake, the indexing, and invocations on both HTTP paths.
func TestInteropWithHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sample app")
	}
	bin := filepath.Join(t.TempDir(), "app")
	build := exec.Command("go", "build", "-o", bin, "../../samples/go-sdk")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the sample: %v\n%s", err, out)
	}
	var mu sync.Mutex
	var logs []grpcworker.Log
	w, err := grpcworker.New(grpcworker.Config{
		Path:         bin,
		Dir:          "../../samples/go-sdk",
		HostVersion:  "4.1040.0.0",
		AppDirectory: "../../samples/go-sdk",
		StartTimeout: 30 * time.Second,
		OnLog: func(l grpcworker.Log) {
			mu.Lock()
			logs = append(logs, l)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	if err := w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	fns, err := w.Functions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]grpcworker.Function{}
	for _, f := range fns {
		if f.Err != nil {
			t.Errorf("function %s: %v", f.Metadata.GetName(), f.Err)
		}
		byName[f.Metadata.GetName()] = f
	}
	for _, n := range []string{"hello", "stream", "tick", "store"} {
		if _, ok := byName[n]; !ok {
			t.Errorf("function %s not indexed; got %v", n, fns)
		}
	}
	hello := byName["hello"].Metadata
	if hello.GetFunctionId() != fid("hello", "httpTrigger") ||
		hello.GetRawBindings()[0] != `{"name":"req","type":"httpTrigger","direction":"in","authLevel":"anonymous","methods":["GET","POST"],"route":"hello/{name}"}` {
		t.Errorf("hello metadata %v", hello)
	}
	caps, md, err := w.Capabilities(t.Context())
	if err != nil || !strings.HasPrefix(caps["HttpUri"], "http://127.0.0.1:") || md.GetRuntimeName() != "Go" {
		t.Fatalf("capabilities %v, metadata %v, %v", caps, md, err)
	}

	// The gRPC path: a whole RpcHttp with a url.
	resp, err := w.Invoke(t.Context(), httpReq("inv-1", "hello", &rpcpb.RpcHttp{Method: "GET",
		Url: "http://localhost:7071/api/hello/world", NullableParams: map[string]*rpcpb.NullableString{"name": nullable("world")}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success || resp.GetReturnValue().GetHttp().GetStatusCode() != "200" ||
		string(resp.GetReturnValue().GetHttp().GetBody().GetBytes()) != "Hello, world!\n" ||
		resp.GetOutputData()[0].GetData().GetString_() != "world" {
		t.Errorf("hello response %v", resp)
	}
	mu.Lock()
	var logged bool
	for _, l := range logs {
		logged = logged || (l.InvocationID == "inv-1" && l.Message == "greeting name=world" && !l.System)
	}
	mu.Unlock()
	if !logged {
		t.Errorf("no user log of inv-1 among %+v", logs)
	}

	// The proxied path: an empty RpcHttp, the request forwarded to HttpUri.
	type result struct {
		r   *rpcpb.InvocationResponse
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := w.Invoke(t.Context(), httpReq("inv-2", "stream", &rpcpb.RpcHttp{}, nil))
		done <- result{r, err}
	}()
	req, _ := http.NewRequest("GET", caps["HttpUri"]+"/api/stream", nil)
	req.Header.Set("x-ms-invocation-id", "inv-2")
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	if string(body) != "line 1\nline 2\nline 3\n" {
		t.Errorf("streamed body %q", body)
	}
	if r := <-done; r.err != nil || r.r.GetResult().GetStatus() != rpcpb.StatusResult_Success {
		t.Errorf("stream invocation %v, %v", r.r, r.err)
	}
}
