package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/funcd/funcd/sdk/bindings"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// InvocationContext describes the invocation a handler runs for. Get it
// with FromContext.
type InvocationContext struct {
	InvocationID string
	FunctionID   string
	FunctionName string
	TriggerType  string // "httpTrigger", "timerTrigger", …
	TraceContext TraceContext
	RetryContext RetryContext
	// TriggerMetadata is the host's trigger metadata, each value as a
	// string (JSON strings unquoted).
	TriggerMetadata map[string]string
	// RouteParams are an HTTP function's route parameters (also
	// r.PathValue(name)).
	RouteParams map[string]string
}

// TraceContext is the invocation's W3C trace context.
type TraceContext struct {
	TraceParent string
	TraceState  string
	Attributes  map[string]string
	Baggage     map[string]string
}

// RetryContext tells a retried invocation its attempt.
type RetryContext struct {
	RetryCount    int
	MaxRetryCount int
}

// Handler is a function's handler as middleware sees it.
type Handler func(ctx context.Context, mc *MiddlewareContext) error

// Middleware wraps every function's Handler; see App.Use.
type Middleware interface {
	Wrap(next Handler) Handler
}

// MiddlewareFunc adapts a function to Middleware.
type MiddlewareFunc func(next Handler) Handler

// Wrap calls m(next).
func (m MiddlewareFunc) Wrap(next Handler) Handler { return m(next) }

// MiddlewareContext is the invocation as middleware sees it.
type MiddlewareContext struct {
	InvocationContext
	inv *invocation
}

// InputBytes is the trigger's payload as it arrived (nil for an HTTP
// function on the proxied path: the body is the live request's).
func (mc *MiddlewareContext) InputBytes() []byte { return typedBytes(mc.inv.trigger()) }

// BindingInput is the payload of the input binding name, nil if there is
// none.
func (mc *MiddlewareContext) BindingInput(name string) []byte {
	for _, p := range mc.inv.req.GetInputData() {
		if p.GetName() == name {
			return typedBytes(p.GetData())
		}
	}
	return nil
}

// SetReturnValue sets the invocation's return value; see SetReturnValue.
func (mc *MiddlewareContext) SetReturnValue(v any) error { return mc.inv.set("$return", v) }

type ctxKey struct{}

// FromContext returns the invocation ctx belongs to: the ctx a trigger
// handler gets, or an HTTP handler's r.Context().
func FromContext(ctx context.Context) (*InvocationContext, bool) {
	mc, ok := ctx.Value(ctxKey{}).(*MiddlewareContext)
	if !ok {
		return nil, false
	}
	return &mc.InvocationContext, true
}

// MiddlewareContextFrom returns the MiddlewareContext of ctx's invocation.
func MiddlewareContextFrom(ctx context.Context) (*MiddlewareContext, bool) {
	mc, ok := ctx.Value(ctxKey{}).(*MiddlewareContext)
	return mc, ok
}

// SetOutput sets the value of the output binding name of ctx's invocation
// (declared with QueueOutput, BlobOutput or their options). A string or
// []byte is sent as it is, anything else as JSON. Setting it again
// replaces the value.
func SetOutput(ctx context.Context, name string, v any) error {
	mc, ok := ctx.Value(ctxKey{}).(*MiddlewareContext)
	if !ok {
		return errors.New("sdk: SetOutput outside an invocation")
	}
	return mc.inv.set(name, v)
}

// SetReturnValue sets the return value of a non-HTTP function: the value
// of its "$return" output binding (QueueOutput("$return", …), say).
func SetReturnValue(ctx context.Context, v any) error { return SetOutput(ctx, "$return", v) }

// invocation is one run of a function.
type invocation struct {
	mc  MiddlewareContext
	fn  *Function
	req *rpcpb.InvocationRequest

	mu      sync.Mutex // outputs may be set from the handler's goroutines
	outputs []*rpcpb.ParameterBinding
	ret     *rpcpb.TypedData
	ended   bool                // the response was built: no more outputs
	w       http.ResponseWriter // HTTP: where the handler writes
	r       *http.Request
}

func (inv *invocation) set(name string, v any) error {
	if name == "$return" && inv.fn.trigger.typ == "httpTrigger" {
		return fmt.Errorf("sdk: function %q: an HTTP function's response is written to its ResponseWriter", inv.fn.name)
	}
	if !inv.fn.hasOutput(name) {
		return fmt.Errorf("sdk: function %q has no output binding %q", inv.fn.name, name)
	}
	td, err := toTypedData(v)
	if err != nil {
		return fmt.Errorf("sdk: output %q of function %q: %w", name, inv.fn.name, err)
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.ended {
		return fmt.Errorf("sdk: output %q of function %q set after its invocation %s ended", name, inv.fn.name, inv.req.GetInvocationId())
	}
	if name == "$return" {
		inv.ret = td
		return nil
	}
	for _, p := range inv.outputs {
		if p.Name == name {
			p.RpcData = &rpcpb.ParameterBinding_Data{Data: td}
			return nil
		}
	}
	inv.outputs = append(inv.outputs, &rpcpb.ParameterBinding{Name: name, RpcData: &rpcpb.ParameterBinding_Data{Data: td}})
	return nil
}

// setReturn sets the invocation's return value for a trigger whose
// result is the return value without a "$return" binding (MCP); nil
// sets none.
func (inv *invocation) setReturn(td *rpcpb.TypedData) error {
	if td == nil {
		return nil
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.ended {
		return fmt.Errorf("sdk: the return value of function %q set after its invocation %s ended", inv.fn.name, inv.req.GetInvocationId())
	}
	inv.ret = td
	return nil
}

func toTypedData(v any) (*rpcpb.TypedData, error) {
	switch v := v.(type) {
	case string:
		return &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: v}}, nil
	case []byte:
		return &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: v}}, nil
	case json.RawMessage:
		return &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: string(v)}}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: string(b)}}, nil
}

// trigger is the trigger binding's payload.
func (inv *invocation) trigger() *rpcpb.TypedData {
	name := inv.fn.trigger.name
	in := inv.req.GetInputData()
	for _, p := range in {
		if p.GetName() == name {
			return p.GetData()
		}
	}
	if len(in) > 0 {
		return in[0].GetData()
	}
	return nil
}

// typedBytes is a payload's bytes.
func typedBytes(td *rpcpb.TypedData) []byte {
	switch d := td.GetData().(type) {
	case *rpcpb.TypedData_String_:
		return []byte(d.String_)
	case *rpcpb.TypedData_Json:
		return []byte(d.Json)
	case *rpcpb.TypedData_Bytes:
		return d.Bytes
	case *rpcpb.TypedData_Stream:
		return d.Stream
	case *rpcpb.TypedData_Int:
		return strconv.AppendInt(nil, d.Int, 10)
	case *rpcpb.TypedData_Double:
		return strconv.AppendFloat(nil, d.Double, 'g', -1, 64)
	}
	return nil
}

// metaString is a trigger metadata value as a string.
func metaString(td *rpcpb.TypedData) string {
	if j, ok := td.GetData().(*rpcpb.TypedData_Json); ok && strings.HasPrefix(j.Json, `"`) {
		var s string
		if json.Unmarshal([]byte(j.Json), &s) == nil {
			return s
		}
	}
	return string(typedBytes(td))
}

func decodeJSON(td *rpcpb.TypedData, v any) error {
	b := typedBytes(td)
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}

func (inv *invocation) meta(key string) string {
	return metaString(inv.req.GetTriggerMetadata()[key])
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func (inv *invocation) queueMessage() bindings.QueueMessage {
	n, _ := strconv.ParseInt(inv.meta("DequeueCount"), 10, 64)
	return bindings.QueueMessage{
		ID:              inv.meta("Id"),
		DequeueCount:    n,
		InsertionTime:   parseTime(inv.meta("InsertionTime")),
		ExpirationTime:  parseTime(inv.meta("ExpirationTime")),
		NextVisibleTime: parseTime(inv.meta("NextVisibleTime")),
		PopReceipt:      inv.meta("PopReceipt"),
		Body:            typedBytes(inv.trigger()),
	}
}

func (inv *invocation) blob() bindings.Blob {
	b := bindings.Blob{Name: inv.meta("BlobTrigger"), URI: inv.meta("Uri"), Content: typedBytes(inv.trigger())}
	if md := inv.req.GetTriggerMetadata()["Metadata"]; md != nil {
		_ = decodeJSON(md, &b.Metadata)
	}
	return b
}

// innermost is the handler under the middleware: it calls the user's.
func (f *Function) innermost() Handler {
	if f.httpHandler != nil {
		h := f.httpHandler
		return func(ctx context.Context, mc *MiddlewareContext) error {
			inv := mc.inv
			r := inv.r
			if r.Context() != ctx {
				r = r.WithContext(ctx)
			}
			h(inv.w, r)
			return nil
		}
	}
	run := f.run
	return func(ctx context.Context, mc *MiddlewareContext) error { return run(ctx, mc.inv) }
}

// PanicError is the error of a handler that panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// invoker returns the bridge's Invoke for h, the function's handler with
// its middleware.
func (f *Function) invoker(h Handler) func(ctx context.Context, req *rpcpb.InvocationRequest,
	w http.ResponseWriter, r *http.Request, send func(*rpcpb.InvocationResponse)) {
	return func(ctx context.Context, req *rpcpb.InvocationRequest, w http.ResponseWriter, r *http.Request,
		send func(*rpcpb.InvocationResponse)) {
		// Not pooled: the context, which code may keep past the
		// invocation (a goroutine's logs), points at it.
		inv := &invocation{fn: f, req: req}
		inv.mc = MiddlewareContext{inv: inv, InvocationContext: InvocationContext{
			InvocationID: req.GetInvocationId(),
			FunctionID:   f.id,
			FunctionName: f.name,
			TriggerType:  f.trigger.typ,
			TraceContext: TraceContext{
				TraceParent: req.GetTraceContext().GetTraceParent(),
				TraceState:  req.GetTraceContext().GetTraceState(),
				Attributes:  req.GetTraceContext().GetAttributes(),
				Baggage:     req.GetTraceContext().GetBaggage(),
			},
			RetryContext: RetryContext{
				RetryCount:    int(req.GetRetryContext().GetRetryCount()),
				MaxRetryCount: int(req.GetRetryContext().GetMaxRetryCount()),
			},
		}}
		if tm := req.GetTriggerMetadata(); len(tm) > 0 {
			m := make(map[string]string, len(tm))
			for k, v := range tm {
				m[k] = metaString(v)
			}
			inv.mc.TriggerMetadata = m
		}
		ctx = context.WithValue(ctx, ctxKey{}, &inv.mc)
		resp := &rpcpb.InvocationResponse{InvocationId: req.GetInvocationId()}

		var buf *bufferedWriter
		var err error
		if f.httpHandler != nil {
			rh := httpInput(inv.trigger())
			if r == nil && rh.GetUrl() == "" {
				err = errors.New("the HTTP request was not forwarded to the worker")
			} else {
				if r == nil {
					buf = getWriter()
					r, err = buildRequest(ctx, rh)
					w = buf
				} else {
					r = r.WithContext(ctx)
				}
				if err == nil {
					inv.mc.RouteParams = f.routeValues(rh, inv.mc.TriggerMetadata)
					for k, v := range inv.mc.RouteParams {
						r.SetPathValue(k, v)
					}
					inv.w, inv.r = w, r
				}
			}
		}
		if err == nil {
			err = runHandler(ctx, h, &inv.mc)
		}
		if err != nil {
			resp.Result = failure(err)
			var pe *PanicError
			if errors.As(err, &pe) {
				systemLog(ctx, err, pe.Stack)
				if buf != nil && !buf.wrote {
					buf.WriteHeader(http.StatusInternalServerError)
				} else if buf == nil && w != nil && !headerWritten(w) {
					http.Error(w, "Internal Server Error", http.StatusInternalServerError)
				}
			}
		} else {
			resp.Result = &rpcpb.StatusResult{Status: rpcpb.StatusResult_Success}
		}
		if ctx.Err() != nil && err != nil {
			resp.Result.Status = rpcpb.StatusResult_Cancelled
		}
		inv.mu.Lock()
		inv.ended = true
		resp.OutputData = inv.outputs
		resp.ReturnValue = inv.ret
		inv.mu.Unlock()
		if buf != nil {
			resp.ReturnValue = buf.rpcHTTP()
		}
		send(resp)
		if buf != nil {
			putWriter(buf)
		}
	}
}

func runHandler(ctx context.Context, h Handler, mc *MiddlewareContext) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				err = errors.New("the HTTP handler aborted the response")
				return
			}
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return h(ctx, mc)
}

func failure(err error) *rpcpb.StatusResult {
	ex := &rpcpb.RpcException{Message: err.Error(), IsUserException: true, Source: "go"}
	var pe *PanicError
	if errors.As(err, &pe) {
		ex.StackTrace = string(pe.Stack)
		ex.Type = "panic"
	}
	return &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure, Result: err.Error(), Exception: ex}
}

// headerWriteTracker is implemented by the worker's live ResponseWriter.
type headerWriteTracker interface{ HeaderWritten() bool }

func headerWritten(w http.ResponseWriter) bool {
	if t, ok := w.(headerWriteTracker); ok {
		return t.HeaderWritten()
	}
	return true // unknown: do not write over a response
}

func httpInput(td *rpcpb.TypedData) *rpcpb.RpcHttp {
	if h, ok := td.GetData().(*rpcpb.TypedData_Http); ok {
		return h.Http
	}
	return nil
}

// routeValues are the route parameters: the RpcHttp's (gRPC path) or the
// trigger metadata's (proxied path).
func (f *Function) routeValues(rh *rpcpb.RpcHttp, tm map[string]string) map[string]string {
	if len(f.routeParams) == 0 {
		return nil
	}
	out := make(map[string]string, len(f.routeParams))
	for _, p := range f.routeParams {
		if v, ok := rh.GetNullableParams()[p]; ok {
			if s, ok := v.GetString_().(*rpcpb.NullableString_Value); ok {
				out[p] = s.Value
			}
			continue
		}
		if v, ok := rh.GetParams()[p]; ok {
			out[p] = v
			continue
		}
		if v, ok := tm[p]; ok {
			out[p] = v
		}
	}
	return out
}

// buildRequest turns the host's RpcHttp into the handler's request.
func buildRequest(ctx context.Context, rh *rpcpb.RpcHttp) (*http.Request, error) {
	u, err := url.Parse(rh.GetUrl())
	if err != nil {
		return nil, fmt.Errorf("the request's url %q: %w", rh.GetUrl(), err)
	}
	body := typedBytes(rh.GetBody())
	if body == nil {
		body = typedBytes(rh.GetRawBody())
	}
	method := rh.GetMethod()
	if method == "" {
		method = http.MethodGet
	}
	r := &http.Request{
		Method:        method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header, len(rh.GetNullableHeaders())+len(rh.GetHeaders())),
		Host:          u.Host,
		RequestURI:    u.RequestURI(),
		ContentLength: int64(len(body)),
		Body:          http.NoBody,
	}
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	if nh := rh.GetNullableHeaders(); len(nh) > 0 {
		for k, v := range nh {
			if s, ok := v.GetString_().(*rpcpb.NullableString_Value); ok {
				r.Header[http.CanonicalHeaderKey(k)] = []string{s.Value}
			}
		}
	} else {
		for k, v := range rh.GetHeaders() {
			r.Header[http.CanonicalHeaderKey(k)] = []string{v}
		}
	}
	if h := r.Header.Get("Host"); h != "" {
		r.Host = h
	}
	return r.WithContext(ctx), nil
}

// bufferedWriter is the ResponseWriter of the gRPC path: the response is
// sent whole in the InvocationResponse.
type bufferedWriter struct {
	h      http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

var writerPool = sync.Pool{New: func() any { return &bufferedWriter{h: http.Header{}} }}

func getWriter() *bufferedWriter { return writerPool.Get().(*bufferedWriter) }

func putWriter(b *bufferedWriter) {
	if b.body.Cap() > 1<<20 {
		return // do not keep big buffers
	}
	clear(b.h)
	b.status, b.wrote = 0, false
	b.body.Reset()
	writerPool.Put(b)
}

func (b *bufferedWriter) Header() http.Header { return b.h }

func (b *bufferedWriter) WriteHeader(code int) {
	if b.wrote {
		return
	}
	b.wrote, b.status = true, code
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if !b.wrote {
		b.WriteHeader(http.StatusOK)
	}
	return b.body.Write(p)
}

// Flush does nothing: the gRPC path sends the response whole.
func (b *bufferedWriter) Flush() {}

func (b *bufferedWriter) rpcHTTP() *rpcpb.TypedData {
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	h := make(map[string]string, len(b.h))
	for k, v := range b.h {
		h[k] = strings.Join(v, ", ")
	}
	if _, ok := b.h["Content-Type"]; !ok && b.body.Len() > 0 {
		h["Content-Type"] = http.DetectContentType(b.body.Bytes())
	}
	return &rpcpb.TypedData{Data: &rpcpb.TypedData_Http{Http: &rpcpb.RpcHttp{
		StatusCode: strconv.Itoa(status),
		Headers:    h,
		Body:       &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: b.body.Bytes()}},
	}}}
}
