package langworker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// inlineFake is the gRPC side of a worker that takes inline invocations:
// it sends nothing on the stream unless a test calls deliver.
type inlineFake struct {
	mu       sync.Mutex
	done     map[string]func(*rpcpb.InvocationResponse, error)
	released map[string]bool
}

func (f *inlineFake) Invoke(context.Context, *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error) {
	return nil, errors.New("inlineFake: an InvocationRequest on the stream")
}

func (f *inlineFake) InvokeAsync(context.Context, *rpcpb.InvocationRequest, func(*rpcpb.InvocationResponse, error)) error {
	return errors.New("inlineFake: an InvocationRequest on the stream")
}

func (f *inlineFake) Expect(ctx context.Context, id string, done func(*rpcpb.InvocationResponse, error)) (func() bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done[id] = done
	return func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.done[id] == nil {
			return false
		}
		delete(f.done, id)
		f.released[id] = true
		return true
	}, nil
}

// deliver answers invocation id on the stream.
func (f *inlineFake) deliver(resp *rpcpb.InvocationResponse) {
	f.mu.Lock()
	done := f.done[resp.GetInvocationId()]
	delete(f.done, resp.GetInvocationId())
	f.mu.Unlock()
	done(resp, nil)
}

func encodeInline(t *testing.T, r *rpcpb.InvocationResponse) string {
	b, err := proto.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return inlineEncoding.EncodeToString(b)
}

// TestInlineInvoke: with a worker that offers inline invocations, the
// host sends the InvocationRequest inside the forwarded request, with its
// key, and takes the InvocationResponse from the response's header, its
// trailer, or the stream.
func TestInlineInvoke(t *testing.T) {
	fake := &inlineFake{done: map[string]func(*rpcpb.InvocationResponse, error){}, released: map[string]bool{}}
	var seen sync.Map // invocation id -> the InvocationRequest the worker got
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("x-ms-invocation-id")
		b, err := inlineEncoding.DecodeString(r.Header.Get(inlineInvocationHeader))
		req := new(rpcpb.InvocationRequest)
		if err == nil {
			err = proto.Unmarshal(b, req)
		}
		if err != nil || req.GetInvocationId() != id || r.Header.Get(inlineKeyHeader) != "k" {
			http.Error(w, "bad inline invocation", 400)
			return
		}
		seen.Store(id, req)
		ok := &rpcpb.InvocationResponse{InvocationId: id, Result: &rpcpb.StatusResult{Status: rpcpb.StatusResult_Success},
			OutputData: []*rpcpb.ParameterBinding{{Name: "msg", RpcData: &rpcpb.ParameterBinding_Data{Data: &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: "out"}}}}}}
		switch r.URL.Path {
		case "/api/header":
			w.Header().Set(inlineResponseHeader, encodeInline(t, ok))
			io.WriteString(w, "header")
		case "/api/trailer":
			w.Header().Set("Trailer", inlineResponseHeader)
			io.WriteString(w, "trail")
			w.(http.Flusher).Flush()
			io.WriteString(w, "er")
			w.Header().Set(inlineResponseHeader, encodeInline(t, ok))
		case "/api/stream":
			io.WriteString(w, "stream")
			go fake.deliver(ok)
		case "/api/garbage":
			w.Header().Set(inlineResponseHeader, "!!not base64!!")
		case "/api/failed":
			w.Header().Set(inlineResponseHeader, encodeInline(t, &rpcpb.InvocationResponse{InvocationId: id,
				Result: &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure, Exception: &rpcpb.RpcException{Message: "it broke", StackTrace: "at f"}}}))
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	p, err := newHTTPProxy(srv.URL, funcd.NewBufferBudget(1<<20), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.inlineKey = "k"
	caps := Capabilities{capHTTPURI: srv.URL, capInlineInvocation: "true"}

	call := func(path string) (*funcd.Result, string, error) {
		inv := httpInvocation()
		inv.ID = strings.TrimPrefix(path, "/api/") + "-id"
		inv.HTTP.Path = path
		inv.HTTP.RawQuery = ""
		res, err := invoke(context.Background(), fake, p, inv, "f", caps)
		if err != nil {
			return nil, "", err
		}
		body, err := io.ReadAll(res.HTTP.BodyReader)
		res.HTTP.BodyReader.Close()
		if res.Deferred != nil && err == nil {
			var d *funcd.Result
			if d, err = res.Deferred(); err == nil {
				res.Outputs = d.Outputs
			}
		}
		return res, string(body), err
	}
	for _, path := range []string{"/api/header", "/api/trailer", "/api/stream"} {
		res, body, err := call(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		name := strings.TrimPrefix(path, "/api/")
		if body != name || string(res.Outputs["msg"].Data) != `"out"` && string(res.Outputs["msg"].Data) != "out" {
			t.Errorf("%s: body %q, outputs %v", path, body, res.Outputs)
		}
		if _, ok := res.HTTP.Header[inlineResponseHeader]; ok {
			t.Errorf("%s: the inline response header reached the client: %v", path, res.HTTP.Header)
		}
		if v, ok := seen.Load(name + "-id"); !ok || v.(*rpcpb.InvocationRequest).GetFunctionId() != "f" {
			t.Errorf("%s: the worker got %v", path, v)
		}
	}
	fake.mu.Lock()
	if !fake.released["header-id"] || !fake.released["trailer-id"] || fake.released["stream-id"] || len(fake.done) != 0 {
		t.Errorf("released %v, still expected %v", fake.released, fake.done)
	}
	fake.mu.Unlock()

	if _, _, err := call("/api/garbage"); err == nil || !strings.Contains(err.Error(), "cannot be decoded") {
		t.Errorf("garbage: err %v", err)
	}
	var ie *InvocationError
	if _, _, err := call("/api/failed"); !errors.As(err, &ie) || ie.Message != "it broke" || ie.Stack != "at f" {
		t.Errorf("failed: err %v", err)
	}
}

// TestInlineHeadersNotFromTheClient: a client's own X-Funcd-Invocation*
// headers never reach the worker, inline or not.
func TestInlineHeadersNotFromTheClient(t *testing.T) {
	p, err := newHTTPProxy("http://127.0.0.1:1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	inv := httpInvocation()
	for _, h := range []string{inlineInvocationHeader, inlineKeyHeader, inlineResponseHeader} {
		inv.HTTP.Header[h] = []string{"from the client"}
	}
	req, err := p.request(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{inlineInvocationHeader, inlineKeyHeader, inlineResponseHeader} {
		if v := req.Header.Values(h); len(v) != 0 {
			t.Errorf("%s forwarded: %v", h, v)
		}
	}
}

// TestInlineRequestBound: an InvocationRequest too large for a header goes
// on the stream.
func TestInlineRequestBound(t *testing.T) {
	small := &rpcpb.InvocationRequest{InvocationId: "a", FunctionId: "f"}
	if _, ok := inlineRequest(small); !ok {
		t.Error("a small request is not inlined")
	}
	big := &rpcpb.InvocationRequest{InvocationId: "a", FunctionId: "f", TriggerMetadata: map[string]*rpcpb.TypedData{
		"Headers": {Data: &rpcpb.TypedData_Json{Json: strings.Repeat("h", maxInlineRequest)}}}}
	if _, ok := inlineRequest(big); ok {
		t.Error("a request over the bound is inlined")
	}
}
