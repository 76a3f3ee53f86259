package langworker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// proxyEnv is an httptest server standing in for the worker's HttpUri and
// a fake invoker standing in for its gRPC side.
type proxyEnv struct {
	srv     *httptest.Server
	p       *httpProxy
	fw      *fakeWorker
	grpcEnd chan struct{} // closed when the fake invoker returned
}

func newProxyEnv(t *testing.T, handler http.HandlerFunc, reply func(ctx context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error)) *proxyEnv {
	t.Helper()
	e := &proxyEnv{srv: httptest.NewServer(handler), grpcEnd: make(chan struct{})}
	t.Cleanup(e.srv.Close)
	p, err := newHTTPProxy(e.srv.URL+"/", funcd.NewBufferBudget(1<<20), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	e.p = p
	e.fw = &fakeWorker{reply: func(ctx context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error) {
		defer close(e.grpcEnd)
		return reply(ctx, req)
	}}
	return e
}

func (e *proxyEnv) waitGRPC(t *testing.T) {
	t.Helper()
	select {
	case <-e.grpcEnd:
	case <-time.After(5 * time.Second):
		t.Fatal("the gRPC side did not end")
	}
}

func TestNewHTTPProxyRejectsBadURI(t *testing.T) {
	for _, uri := range []string{"", "localhost:80", "https://x/", "http://"} {
		if _, err := newHTTPProxy(uri, nil, nil); err == nil || !strings.Contains(err.Error(), "HttpUri") {
			t.Errorf("%q: err %v", uri, err)
		}
	}
}

func TestProxyForwardsAndStreams(t *testing.T) {
	type seen struct {
		method, uri, id, fwdHost, fwdProto, body, custom, conn string
	}
	arrived := make(chan seen, 1)
	proceed := make(chan struct{})
	handlerDone := make(chan struct{})
	e := newProxyEnv(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(handlerDone)
		b, _ := io.ReadAll(r.Body)
		arrived <- seen{r.Method, r.RequestURI, r.Header.Get("x-ms-invocation-id"), r.Header.Get("X-Forwarded-Host"),
			r.Header.Get("X-Forwarded-Proto"), string(b), r.Header.Get("X-Custom"), r.Header.Get("Keep-Alive")}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(201)
		io.WriteString(w, "chunk1")
		w.(http.Flusher).Flush()
		<-proceed
		io.WriteString(w, "chunk2")
	}, func(ctx context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error) {
		<-handlerDone
		return success(req), nil
	})
	inv := httpInvocation()
	inv.HTTP.Header["Host"] = []string{"example.org"}
	inv.HTTP.Header["X-Custom"] = []string{"v"}
	inv.HTTP.Header["Keep-Alive"] = []string{"timeout=5"}
	inv.HTTP.Body = nil
	inv.HTTP.BodyReader = strings.NewReader("streamed body")
	inv.HTTP.ContentLength = -1

	res, err := invoke(context.Background(), e.fw, e.p, inv, "f", Capabilities{capHTTPURI: e.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	s := <-arrived
	want := seen{"POST", "/api/hello/7?name=a+b&x=1&x=2&empty=", inv.ID, "example.org", "https", "streamed body", "v", ""}
	if s != want {
		t.Errorf("worker saw %+v, want %+v", s, want)
	}
	r := res.HTTP
	if r.Status != 201 || r.Header["Content-Type"][0] != "text/event-stream" || r.BodyReader == nil {
		t.Fatalf("response %+v", r)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(r.BodyReader, buf); err != nil || string(buf) != "chunk1" {
		t.Fatalf("first chunk %q %v", buf, err)
	}
	select {
	case <-handlerDone:
		t.Fatal("the handler finished before the first chunk was read")
	default:
	}
	close(proceed)
	rest, err := io.ReadAll(r.BodyReader)
	if err != nil || string(rest) != "chunk2" {
		t.Fatalf("rest %q %v", rest, err)
	}
	if err := r.BodyReader.Close(); err != nil {
		t.Error(err)
	}
	e.waitGRPC(t)

	// The InvocationRequest is read once the gRPC side returned.
	req := e.fw.got
	h := req.InputData[0].GetData().GetHttp()
	if h == nil || h.Url != "" || h.Method != "" || len(h.NullableHeaders) != 0 {
		t.Errorf("trigger = %v, want an empty RpcHttp", req.InputData[0])
	}
	md := req.TriggerMetadata
	if data(md["id"]) != "string:7" || !strings.Contains(data(md["Headers"]), `"X-Custom":"v"`) || !strings.Contains(data(md["Query"]), `"name":"a b"`) || md["req"] != nil {
		t.Errorf("metadata %v", md)
	}
}

func TestProxyFailureBeforeHeaders(t *testing.T) {
	handlerEnded := make(chan error, 1)
	arrived := make(chan struct{})
	e := newProxyEnv(t, func(w http.ResponseWriter, r *http.Request) {
		// net/http notices a closed connection only once the body is read.
		io.Copy(io.Discard, r.Body)
		close(arrived)
		<-r.Context().Done()
		handlerEnded <- r.Context().Err()
	}, func(ctx context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error) {
		// Fail once the worker has the request: a failure before the
		// request leaves cancels it before any handler runs.
		<-arrived
		r := success(req)
		r.Result = &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure, Exception: &rpcpb.RpcException{Message: "boom", StackTrace: "stack"}}
		return r, nil
	})
	_, err := invoke(context.Background(), e.fw, e.p, httpInvocation(), "f", nil)
	if err == nil || !strings.Contains(err.Error(), "Exception: boom") {
		t.Fatalf("err %v", err)
	}
	select {
	case <-handlerEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("the forwarded request was not cancelled")
	}
}

func TestProxyFailureAfterHeaders(t *testing.T) {
	handlerDone := make(chan struct{})
	e := newProxyEnv(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(handlerDone)
		io.WriteString(w, "partial")
	}, func(ctx context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error) {
		<-handlerDone
		r := success(req)
		r.Result = &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure, Exception: &rpcpb.RpcException{Message: "late"}}
		return r, nil
	})
	res, err := invoke(context.Background(), e.fw, e.p, httpInvocation(), "f", nil)
	if err != nil {
		// The failure may arrive before the headers are read.
		if !strings.Contains(err.Error(), "late") {
			t.Fatal(err)
		}
		return
	}
	b, err := io.ReadAll(res.HTTP.BodyReader)
	if err == nil || !strings.Contains(err.Error(), "Exception: late") || string(b) != "partial" {
		t.Errorf("body %q err %v", b, err)
	}
	res.HTTP.BodyReader.Close()
	e.waitGRPC(t)
}

func TestProxyForwardFailsCancelsGRPC(t *testing.T) {
	grpcCtx := make(chan error, 1)
	e := newProxyEnv(t, func(w http.ResponseWriter, r *http.Request) {}, func(ctx context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error) {
		<-ctx.Done()
		grpcCtx <- ctx.Err()
		return nil, ctx.Err()
	})
	e.srv.Close() // nothing listens at HttpUri
	_, err := invoke(context.Background(), e.fw, e.p, httpInvocation(), "f", nil)
	if err == nil || !strings.Contains(err.Error(), "HttpUri") {
		t.Fatalf("err %v", err)
	}
	if got := <-grpcCtx; !errors.Is(got, context.Canceled) {
		t.Errorf("gRPC ctx %v", got)
	}
	e.waitGRPC(t)
}

func TestProxyClientCancel(t *testing.T) {
	t.Run("while streaming", func(t *testing.T) {
		handlerEnded := make(chan struct{})
		e := newProxyEnv(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "first")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			close(handlerEnded)
		}, func(ctx context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		res, err := invoke(context.Background(), e.fw, e.p, httpInvocation(), "f", nil)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(res.HTTP.BodyReader, buf); err != nil {
			t.Fatal(err)
		}
		res.HTTP.BodyReader.Close() // the client went away
		<-handlerEnded
		e.waitGRPC(t)
	})
}

func TestProxyClientCancelBeforeHeaders(t *testing.T) {
	arrived := make(chan struct{})
	handlerEnded := make(chan error, 1)
	e := newProxyEnv(t, func(w http.ResponseWriter, r *http.Request) {
		// net/http notices a closed connection only once the body is read:
		// a handler that leaves it unread would wait here for ever.
		io.Copy(io.Discard, r.Body)
		close(arrived)
		<-r.Context().Done()
		handlerEnded <- r.Context().Err()
	}, func(ctx context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-arrived
		cancel()
	}()
	start := time.Now()
	_, err := invoke(ctx, e.fw, e.p, httpInvocation(), "f", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("invoke returned after %v", d)
	}
	select {
	case <-handlerEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("the worker's handler did not see the cancellation")
	}
	e.waitGRPC(t)
}
