package worker_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/worker"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// inlineApp has the HTTP functions the inline tests call. ended hears
// when the "wait" function's context ended.
func inlineApp(release, ended chan struct{}) *sdk.App {
	app := sdk.FunctionApp()
	app.HTTP("small", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := sdk.SetOutput(r.Context(), "msg", "got "+string(body)); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("X-Inline-Key-Seen", r.Header.Get(worker.InlineKeyHeader))
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "small %s %s", r.PathValue("id"), body)
	}).Route("small/{id}").QueueOutput("msg", "out", "")
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
	app.HTTP("sized", func(w http.ResponseWriter, r *http.Request) {
		body := strings.Repeat("x", 20<<10)
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body)
	})
	app.HTTP("large", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("y", 40<<10))
	})
	app.HTTP("boom", func(w http.ResponseWriter, r *http.Request) { panic("inline kaboom") })
	app.HTTP("wait", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "waiting\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		ended <- struct{}{}
	})
	return app
}

// inlineCall forwards a request to the worker's HttpUri with the
// invocation of function inside it, as funcd does.
func inlineCall(t *testing.T, uri, key, id, function, path string, meta map[string]*rpcpb.TypedData) *http.Response {
	t.Helper()
	req := httpReq(id, function, &rpcpb.RpcHttp{}, meta)
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	hr, _ := http.NewRequest("POST", uri+path, strings.NewReader("body"))
	hr.Header.Set("x-ms-invocation-id", id)
	hr.Header.Set(worker.InlineInvocationHeader, base64.RawStdEncoding.EncodeToString(b))
	hr.Header.Set(worker.InlineKeyHeader, key)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func decodeInline(t *testing.T, v string) *rpcpb.InvocationResponse {
	t.Helper()
	b, err := base64.RawStdEncoding.DecodeString(v)
	if err != nil {
		t.Fatalf("%s %q: %v", worker.InlineResponseHeader, v, err)
	}
	r := new(rpcpb.InvocationResponse)
	if err := proto.Unmarshal(b, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestInlineInvocation: with the host's key, an HTTP invocation comes
// inside its forwarded request and its InvocationResponse goes back in the
// response: a header for a response held whole, a trailer for one that
// streams, the stream for one that can carry neither.
func TestInlineInvocation(t *testing.T) {
	release := make(chan struct{})
	ended := make(chan struct{}, 1)
	h := startHost(t, inlineApp(release, ended))
	caps, _ := h.handshake(map[string]string{worker.CapInlineInvocationKey: "secret"})
	if caps[worker.CapInlineInvocation] != "true" {
		t.Fatalf("capabilities %v: want %s with the host's key", caps, worker.CapInlineInvocation)
	}
	uri := caps["HttpUri"]

	// Held whole: the InvocationResponse is a header; nothing on the stream.
	resp := inlineCall(t, uri, "secret", "i1", "small", "/api/small/7", map[string]*rpcpb.TypedData{"id": str("7")})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || string(body) != "small 7 body" || resp.Header.Get("X-Inline-Key-Seen") != "" {
		t.Errorf("response %d %q %v", resp.StatusCode, body, resp.Header)
	}
	ir := decodeInline(t, resp.Header.Get(worker.InlineResponseHeader))
	if ir.GetInvocationId() != "i1" || ir.GetResult().GetStatus() != rpcpb.StatusResult_Success ||
		len(ir.GetOutputData()) != 1 || ir.GetOutputData()[0].GetData().GetString_() != "got body" {
		t.Errorf("inline InvocationResponse %v", ir)
	}

	// Flushed: the first chunk comes while the handler runs, the
	// InvocationResponse in the trailer.
	resp = inlineCall(t, uri, "secret", "i2", "stream", "/api/stream", nil)
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("first chunk %q, %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	resp.Body.Close()
	if string(rest) != "second\n" || resp.Header.Get(worker.InlineResponseHeader) != "" {
		t.Errorf("rest %q, header %v", rest, resp.Header)
	}
	if ir := decodeInline(t, resp.Trailer.Get(worker.InlineResponseHeader)); ir.GetInvocationId() != "i2" || ir.GetResult().GetStatus() != rpcpb.StatusResult_Success {
		t.Errorf("trailer InvocationResponse %v", ir)
	}

	// Over the buffer without a Content-Length: a trailer too.
	resp = inlineCall(t, uri, "secret", "i3", "large", "/api/large", nil)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(body) != 40<<10 || resp.Trailer.Get(worker.InlineResponseHeader) == "" {
		t.Errorf("large: %d bytes, trailer %v", len(body), resp.Trailer)
	}

	// A declared Content-Length over the buffer leaves no room for a
	// trailer: the InvocationResponse comes on the stream.
	resp = inlineCall(t, uri, "secret", "i4", "sized", "/api/sized", nil)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(body) != 20<<10 || resp.Header.Get(worker.InlineResponseHeader) != "" || resp.Trailer.Get(worker.InlineResponseHeader) != "" {
		t.Errorf("sized: %d bytes, header %v, trailer %v", len(body), resp.Header, resp.Trailer)
	}
	if ir := h.response("i4"); ir.GetResult().GetStatus() != rpcpb.StatusResult_Success {
		t.Errorf("sized: InvocationResponse %v", ir)
	}

	// A panic: 500, and the failure with its stack in the header.
	resp = inlineCall(t, uri, "secret", "i5", "boom", "/api/boom", nil)
	resp.Body.Close()
	ir = decodeInline(t, resp.Header.Get(worker.InlineResponseHeader))
	if resp.StatusCode != 500 || ir.GetResult().GetStatus() != rpcpb.StatusResult_Failure ||
		!strings.Contains(ir.GetResult().GetException().GetStackTrace(), "inline_test.go") {
		t.Errorf("boom: %d, %v", resp.StatusCode, ir.GetResult())
	}

	// A wrong key runs nothing.
	resp = inlineCall(t, uri, "wrong", "i6", "small", "/api/small/8", nil)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get(worker.InlineResponseHeader) != "" {
		t.Errorf("wrong key: %d %q", resp.StatusCode, body)
	}

	// The host cancels an inline invocation by ending its request: the
	// handler's context ends.
	resp = inlineCall(t, uri, "secret", "i7", "wait", "/api/wait", nil)
	if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || line != "waiting\n" {
		t.Fatalf("wait: first chunk %q, %v", line, err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context did not end with its forwarded request")
	}

	// Of all these, only i4 answered on the stream: the next message
	// there is the reply to a status request.
	h.send(&rpcpb.StreamingMessage{RequestId: "status", Content: &rpcpb.StreamingMessage_WorkerStatusRequest{WorkerStatusRequest: &rpcpb.WorkerStatusRequest{}}})
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-h.msgs:
			if m.GetRpcLog() != nil {
				continue
			}
			if m.GetWorkerStatusResponse() == nil {
				t.Fatalf("unexpected message on the stream: %v", m)
			}
			return
		case <-deadline:
			t.Fatal("no WorkerStatusResponse")
		}
	}
}

// TestInlineNeedsTheHostsKey: without a key from the host, the worker
// does not offer inline invocations, and a forwarded request that carries
// one waits for its InvocationRequest as the HttpUri contract says.
func TestInlineNeedsTheHostsKey(t *testing.T) {
	h := startHost(t, inlineApp(nil, nil), worker.WithProxyTimeout(200*time.Millisecond))
	caps, _ := h.handshake()
	if _, ok := caps[worker.CapInlineInvocation]; ok {
		t.Fatalf("capabilities %v: %s offered without the host's key", caps, worker.CapInlineInvocation)
	}
	resp := inlineCall(t, caps["HttpUri"], "", "n1", "small", "/api/small/1", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("status %d, want 504 after the rendezvous timeout", resp.StatusCode)
	}
}
