package langworker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
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
	inv := httpInvocation()
	if _, ok := inlineRequest(inv, "f"); !ok {
		t.Error("a small request is not inlined")
	}
	inv.HTTP.Header["X-Big"] = []string{strings.Repeat("h", maxInlineRequest)}
	if _, ok := inlineRequest(inv, "f"); ok {
		t.Error("a request over the bound is inlined")
	}
	inv = httpInvocation()
	inv.Retry = &funcd.RetryContext{RetryCount: 1, MaxRetryCount: 3}
	if _, ok := inlineRequest(inv, "f"); ok {
		t.Error("a retried invocation is inlined; its retry context is left to buildRequest")
	}
}

// TestInlineRequestEncoding: the InvocationRequest inlineRequest writes is
// the one buildRequest builds for a proxied invocation, whatever the
// invocation holds.
func TestInlineRequestEncoding(t *testing.T) {
	withFunction := func(inv *funcd.Invocation, extra ...funcd.Binding) *funcd.Invocation {
		inv.Function.Bindings = append(inv.Function.Bindings, extra...)
		return inv
	}
	cases := map[string]func() *funcd.Invocation{
		"plain": httpInvocation,
		"no headers, no query, no params": func() *funcd.Invocation {
			inv := httpInvocation()
			inv.HTTP.Header, inv.HTTP.RawQuery, inv.HTTP.Params = nil, "", nil
			return inv
		},
		"escapes": func() *funcd.Invocation {
			inv := httpInvocation()
			inv.HTTP.Header["X-Odd"] = []string{"<a & \"b\">\\\t\x7f é \xff"}
			inv.HTTP.RawQuery = "q=%3Cscript%3E&%22k%22=v%5C"
			inv.HTTP.Params["name"] = str("caf\u00e9 \"x\"")
			return inv
		},
		"trace context from the request": func() *funcd.Invocation {
			inv := httpInvocation()
			inv.HTTP.Header["Traceparent"] = []string{"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
			inv.HTTP.Header["Tracestate"] = []string{"a=1", "b=2"}
			return inv
		},
		"binding data, route values over it, Headers and Query kept": func() *funcd.Invocation {
			inv := httpInvocation()
			inv.Metadata = map[string]json.RawMessage{
				"id": json.RawMessage(`"from metadata"`), "opt": json.RawMessage(`"kept: the route value is nil"`),
				"n": json.RawMessage(`42`), "obj": json.RawMessage(`{"a":[1,2]}`), "gone": json.RawMessage(`null`),
				"empty": nil, "esc": json.RawMessage(`"a\"b\\c\u00e9"`), "ctl": json.RawMessage("\"a\tb\""),
				"Headers": json.RawMessage(`{"mine":"1"}`), "Query": json.RawMessage(`null`),
				"sys": json.RawMessage(`{"MethodName":"hello","UtcNow":"2026-12-06T07:00:00Z","RandGuid":"x"}`),
			}
			return inv
		},
		"a route value named Headers": func() *funcd.Invocation {
			inv := httpInvocation()
			inv.HTTP.Params["Headers"] = str("h")
			return inv
		},
		"inputs": func() *funcd.Invocation {
			inv := withFunction(httpInvocation(),
				funcd.Binding{Name: "doc", Type: "blob", Direction: funcd.In},
				funcd.Binding{Name: "raw", Type: "blob", Direction: funcd.In},
				funcd.Binding{Name: "obj", Type: "table", Direction: funcd.In},
				funcd.Binding{Name: "none", Type: "blob", Direction: funcd.In},
				funcd.Binding{Name: "missing", Type: "blob", Direction: funcd.In},
				funcd.Binding{Name: "out", Type: "queue", Direction: funcd.Out})
			inv.Inputs = map[string]funcd.Value{"doc": funcd.StringValue("text"), "raw": funcd.BytesValue([]byte{0, 1, 2}),
				"obj": funcd.JSONValue(json.RawMessage(`{"k":1}`)), "none": {}, "out": funcd.StringValue("not an input")}
			return inv
		},
		"a large header": func() *funcd.Invocation {
			inv := httpInvocation()
			inv.HTTP.Header["Cookie"] = []string{strings.Repeat("c", 3000)}
			return inv
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			inv := mk()
			enc, ok := inlineRequest(inv, "fid")
			if !ok {
				t.Fatal("not inlined")
			}
			raw, err := inlineEncoding.DecodeString(enc)
			if err != nil {
				t.Fatal(err)
			}
			got := new(rpcpb.InvocationRequest)
			if err := proto.Unmarshal(raw, got); err != nil {
				t.Fatalf("the encoding does not decode: %v", err)
			}
			want, err := buildRequest(inv, "fid", Capabilities{}, true)
			if err != nil {
				t.Fatal(err)
			}
			normalize(t, want, got)
			if !proto.Equal(got, want) {
				t.Errorf("inlineRequest wrote\n%v\nbuildRequest builds\n%v", prototext.Format(got), prototext.Format(want))
			}
		})
	}
}

// normalize makes what is random or unordered in two InvocationRequests of
// the same invocation comparable: a new traceparent, and the order of the
// keys in the Headers and Query JSON.
func normalize(t *testing.T, a, b *rpcpb.InvocationRequest) {
	t.Helper()
	if !validTraceparent(b.GetTraceContext().GetTraceParent()) {
		t.Errorf("traceparent %q", b.GetTraceContext().GetTraceParent())
	}
	if a.GetTraceContext() != nil && b.GetTraceContext() != nil {
		a.TraceContext.TraceParent = b.TraceContext.TraceParent
	}
	for _, r := range []*rpcpb.InvocationRequest{a, b} {
		for _, k := range []string{"Headers", "Query"} {
			td := r.GetTriggerMetadata()[k]
			if j, ok := td.GetData().(*rpcpb.TypedData_Json); ok {
				var v map[string]string
				if err := json.Unmarshal([]byte(j.Json), &v); err != nil {
					t.Fatalf("%s is not a JSON object of strings: %s", k, j.Json)
				}
				canon, _ := json.Marshal(v)
				j.Json = string(canon)
			}
		}
	}
}
