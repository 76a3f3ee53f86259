package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/funcd/funcd/sdk/bindings"
	"github.com/funcd/funcd/sdk/internal/bridge"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		if v == nil || !strings.Contains(fmt.Sprint(v), want) {
			t.Errorf("panic %v, want one with %q", v, want)
		}
	}()
	f()
}

func TestRegistrationMistakes(t *testing.T) {
	app := FunctionApp()
	h := func(http.ResponseWriter, *http.Request) {}
	app.HTTP("a", h)
	mustPanic(t, "registered twice", func() { app.HTTP("a", h) })
	mustPanic(t, "Schedule applies to a timerTrigger", func() { app.HTTP("b", h).Schedule("* * * * * *") })
	mustPanic(t, `auth level "root"`, func() { app.HTTP("c", h, WithAuth("root")) })
	mustPanic(t, "nil handler", func() { app.Queue("q", nil) })
	mustPanic(t, "want func(context.Context, []byte) error", func() { app.Blob("b", func(string) {}) })
	mustPanic(t, "$return is its response", func() { app.HTTP("d", h).QueueOutput("$return", "q", "") })
	// The same name with another trigger is another function.
	app.Timer("a", func(context.Context, bindings.TimerInfo) error { return nil }, WithSchedule("* * * * * *"))
	bridge.Functions(app)
	mustPanic(t, "after worker.Start", func() { app.HTTP("late", h) })
}

func TestRouteParamNames(t *testing.T) {
	got := routeParamNames("a/{id:int}/{name?}/{*rest}/{x=1}")
	if !slices.Equal(got, []string{"id", "name", "rest", "x"}) {
		t.Errorf("routeParamNames = %q", got)
	}
}

// TestMiddlewareOrder: the first middleware added is the outermost, and it
// sees the invocation and its return value.
func TestMiddlewareOrder(t *testing.T) {
	app := FunctionApp()
	var order []string
	mw := func(name string) Middleware {
		return MiddlewareFunc(func(next Handler) Handler {
			return func(ctx context.Context, mc *MiddlewareContext) error {
				order = append(order, name+">"+mc.FunctionName)
				err := next(ctx, mc)
				order = append(order, "<"+name)
				if name == "outer" && err == nil {
					return mc.SetReturnValue("wrapped " + string(mc.InputBytes()))
				}
				return err
			}
		})
	}
	app.Use(mw("outer"), mw("inner"))
	app.Queue("q", func(ctx context.Context, m bindings.QueueMessage) error {
		order = append(order, "handler:"+string(m.Body))
		return nil
	}, WithQueueName("in")).QueueOutput("$return", "out", "")
	f := bridge.Functions(app)[0]
	var resp *rpcpb.InvocationResponse
	f.Invoke(t.Context(), &rpcpb.InvocationRequest{InvocationId: "1", InputData: []*rpcpb.ParameterBinding{{Name: "message",
		RpcData: &rpcpb.ParameterBinding_Data{Data: &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: "m"}}}}}},
		nil, nil, func(r *rpcpb.InvocationResponse) { resp = r })
	if want := []string{"outer>q", "inner>q", "handler:m", "<inner", "<outer"}; !slices.Equal(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
	if resp.GetReturnValue().GetString_() != "wrapped m" {
		t.Errorf("return value %v", resp.GetReturnValue())
	}
}

func TestSetOutputErrors(t *testing.T) {
	if err := SetOutput(context.Background(), "x", 1); err == nil {
		t.Error("SetOutput outside an invocation succeeded")
	}
	app := FunctionApp()
	var err error
	app.Queue("q", func(ctx context.Context, m bindings.QueueMessage) error {
		err = SetOutput(ctx, "nope", "v")
		return nil
	}, WithQueueName("in"))
	bridge.Functions(app)[0].Invoke(t.Context(), &rpcpb.InvocationRequest{}, nil, nil, func(*rpcpb.InvocationResponse) {})
	if err == nil || !strings.Contains(err.Error(), `no output binding "nope"`) {
		t.Errorf("SetOutput of an undeclared binding: %v", err)
	}
}

// TestSetOutputAfterTheEnd: a context kept past its invocation cannot
// change the response that was sent.
func TestSetOutputAfterTheEnd(t *testing.T) {
	app := FunctionApp()
	var kept context.Context
	app.Queue("q", func(ctx context.Context, m bindings.QueueMessage) error {
		kept = ctx
		return SetOutput(ctx, "out", "v")
	}, WithQueueName("in")).QueueOutput("out", "o", "")
	var resp *rpcpb.InvocationResponse
	bridge.Functions(app)[0].Invoke(t.Context(), &rpcpb.InvocationRequest{InvocationId: "i"}, nil, nil,
		func(r *rpcpb.InvocationResponse) { resp = r })
	if err := SetOutput(kept, "out", "late"); err == nil || !strings.Contains(err.Error(), "after its invocation i ended") {
		t.Errorf("late SetOutput: %v", err)
	}
	if got := resp.GetOutputData()[0].GetData().GetString_(); got != "v" {
		t.Errorf("output %q, want v", got)
	}
}

func TestRecoverTo(t *testing.T) {
	var err error
	func() {
		defer RecoverTo(context.Background(), &err)
		panic("oops")
	}()
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "oops" || !bytes.Contains(pe.Stack, []byte("sdk_test.go")) {
		t.Errorf("RecoverTo stored %v", err)
	}
}

func TestLogHandlerBeforeStream(t *testing.T) {
	var buf bytes.Buffer
	h := NewLogHandler(nil)
	h.out = &buf
	slog.New(h).With("a", 1).WithGroup("g").Info("hello world", "k", "two words")
	if got, want := buf.String(), "LanguageWorkerConsoleLog[INFO] hello world a=1 g.k=\"two words\"\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

// BenchmarkHTTPInvoke is the SDK's share of an HTTP invocation on the gRPC
// path: request built from the RpcHttp, handler run, response buffered.
func BenchmarkHTTPInvoke(b *testing.B) {
	app := FunctionApp()
	app.HTTP("hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("hello " + r.PathValue("name")))
	}).Route("hello/{name}")
	f := bridge.Functions(app)[0]
	req := &rpcpb.InvocationRequest{InvocationId: "1", InputData: []*rpcpb.ParameterBinding{{Name: "req",
		RpcData: &rpcpb.ParameterBinding_Data{Data: &rpcpb.TypedData{Data: &rpcpb.TypedData_Http{Http: &rpcpb.RpcHttp{
			Method: "GET", Url: "http://localhost/api/hello/bob",
			NullableParams:  map[string]*rpcpb.NullableString{"name": {String_: &rpcpb.NullableString_Value{Value: "bob"}}},
			NullableHeaders: map[string]*rpcpb.NullableString{"accept": {String_: &rpcpb.NullableString_Value{Value: "*/*"}}},
		}}}}}}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f.Invoke(ctx, req, nil, nil, func(r *rpcpb.InvocationResponse) {
			if r.GetReturnValue().GetHttp().GetStatusCode() != "200" {
				b.Fatal(r)
			}
		})
	}
}
