// Package worker runs a Go SDK app as an Azure Functions language worker:
// Start parses the host's launch flags, dials the host's FunctionRpc
// server and serves the app's functions until the host ends the stream or
// sends WorkerTerminate.
//
// Each InvocationRequest runs on its own goroutine. HTTP functions take
// one of two paths, chosen by the request: an RpcHttp input with a url is
// served from the message and the buffered response returned in it;
// otherwise the host forwards the client's request to the worker's
// loopback HTTP server (the HttpUri capability) with header
// x-ms-invocation-id, the worker pairs it with the invocation and the
// handler writes to the live connection. Setting
// FUNCTIONS_GO_DISABLE_HTTP_PROXY turns the loopback server off.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/funcd/funcd/internal/gcfloor"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/internal/bridge"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// Version is the worker's version in WorkerInitResponse.
const Version = "1.0.0"

// DefaultMaxMessageBytes is the default gRPC message limit.
const DefaultMaxMessageBytes = 128 << 20

// DefaultProxyTimeout bounds the wait of an HTTP invocation for its other
// half (the forwarded request or the InvocationRequest); the host's
// ActivityTimeout is the same.
const DefaultProxyTimeout = 4 * time.Minute

// Config is what the host's launch flags say.
type Config struct {
	// Addr is the host's gRPC address, host:port.
	Addr            string
	WorkerID        string
	RequestID       string
	MaxMessageBytes int
}

// ParseArgs reads the launch flags: --functions-uri, --functions-worker-id,
// --functions-request-id, --functions-grpc-max-message-length, or the
// legacy --host --port --workerId --requestId --grpcMaxMessageLength (the
// new ones win). Unknown flags are ignored.
func ParseArgs(args []string) (Config, error) {
	vals := map[string]string{}
	known := map[string]bool{"functions-uri": true, "functions-worker-id": true, "functions-request-id": true,
		"functions-grpc-max-message-length": true, "host": true, "port": true, "workerId": true,
		"requestId": true, "grpcMaxMessageLength": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name := strings.TrimLeft(a, "-")
		var val string
		if k, v, ok := strings.Cut(name, "="); ok {
			name, val = k, v
		} else if i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
			val = args[i+1]
			i++
		}
		if known[name] {
			vals[name] = val
		}
	}
	cfg := Config{WorkerID: vals["functions-worker-id"], RequestID: vals["functions-request-id"]}
	if u := vals["functions-uri"]; u != "" {
		u = strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
		cfg.Addr = strings.TrimSuffix(u, "/")
	} else if vals["host"] != "" && vals["port"] != "" {
		cfg.Addr = net.JoinHostPort(vals["host"], vals["port"])
	}
	if cfg.WorkerID == "" {
		cfg.WorkerID = vals["workerId"]
	}
	if cfg.RequestID == "" {
		cfg.RequestID = vals["requestId"]
	}
	max := vals["functions-grpc-max-message-length"]
	if max == "" {
		max = vals["grpcMaxMessageLength"]
	}
	cfg.MaxMessageBytes = DefaultMaxMessageBytes
	if max != "" {
		n, err := strconv.Atoi(max)
		if err != nil || n <= 0 {
			return cfg, fmt.Errorf("--functions-grpc-max-message-length %q: want a positive number of bytes", max)
		}
		cfg.MaxMessageBytes = n
	}
	switch {
	case cfg.Addr == "":
		return cfg, errors.New("missing --functions-uri: this program is an Azure Functions app; start it with funcd start")
	case cfg.WorkerID == "":
		return cfg, errors.New("missing --functions-worker-id")
	}
	return cfg, nil
}

// Option configures Start and Run.
type Option func(*options)

type options struct {
	disableProxy bool
	proxyTimeout time.Duration
}

// WithProxyTimeout replaces DefaultProxyTimeout.
func WithProxyTimeout(d time.Duration) Option { return func(o *options) { o.proxyTimeout = d } }

// WithoutHTTPProxy turns the loopback HTTP server off, as
// FUNCTIONS_GO_DISABLE_HTTP_PROXY does.
func WithoutHTTPProxy() Option { return func(o *options) { o.disableProxy = true } }

// Start serves app with the process's flags and exits: 0 when the host
// ends the stream or terminates the worker, or on SIGINT or SIGTERM; 1 on a
// bad launch or a lost connection. Unless GOGC is set, it holds the
// garbage collector's heap goal at 32 MiB or more while the live heap is
// under 16 MiB, as funcd does: a worker's live heap is small, and Go's
// default would collect every few invocations.
func Start(app *sdk.App, opts ...Option) {
	cfg, err := ParseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s[Error] %v\n", sdk.ConsoleLogPrefix, err)
		os.Exit(1)
	}
	// The worker process is the app's alone, as funcd's is the host's: the
	// same heap floor spares it a collection every few invocations.
	defer gcfloor.Raise(gcfloor.Default)()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, app, cfg, opts...); err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "%s[Error] %v\n", sdk.ConsoleLogPrefix, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Run serves app over a connection to cfg.Addr until the host ends the
// stream, sends WorkerTerminate (nil) or ctx ends (ctx's error).
func Run(ctx context.Context, app *sdk.App, cfg Config, opts ...Option) error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.proxyTimeout <= 0 {
		o.proxyTimeout = DefaultProxyTimeout
	}
	if os.Getenv("FUNCTIONS_GO_DISABLE_HTTP_PROXY") != "" {
		o.disableProxy = true
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	fns := bridge.Functions(app)
	d := &dispatcher{
		fns:      make(map[string]*bridge.Function, len(fns)),
		list:     fns,
		caps:     bridge.Capabilities(app),
		cancels:  map[string]context.CancelFunc{},
		pending:  map[string]*rendezvous{},
		log:      sdk.SystemLogger(),
		timeout:  o.proxyTimeout,
		loaded:   map[string]bool{},
		terminal: make(chan struct{}),
	}
	hasHTTP := false
	for _, f := range fns {
		d.fns[f.Metadata.GetFunctionId()] = f
		hasHTTP = hasHTTP || f.HTTP
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if hasHTTP && !o.disableProxy {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			d.log.Warn("cannot open the HTTP proxy listener; HTTP requests will come over gRPC", "err", err)
		} else {
			d.httpURI = "http://" + lis.Addr().String()
			srv := &http.Server{Handler: http.HandlerFunc(d.serveHTTP), ReadHeaderTimeout: 30 * time.Second}
			go func() { _ = srv.Serve(lis) }()
			defer srv.Close()
		}
	}

	conn, err := grpc.NewClient(cfg.Addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(cfg.MaxMessageBytes), grpc.MaxCallSendMsgSize(cfg.MaxMessageBytes)))
	if err != nil {
		return fmt.Errorf("cannot dial the host at %s: %w", cfg.Addr, err)
	}
	defer conn.Close()
	stream, err := rpcpb.NewFunctionRpcClient(conn).EventStream(ctx)
	if err != nil {
		return fmt.Errorf("cannot open the event stream to the host at %s: %w", cfg.Addr, err)
	}
	d.stream = stream
	if err := d.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_StartStream{
		StartStream: &rpcpb.StartStream{WorkerId: cfg.WorkerID}}}); err != nil {
		return fmt.Errorf("cannot start the event stream: %w", err)
	}
	removeSink := bridge.SetSink(func(l *rpcpb.RpcLog) {
		_ = d.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_RpcLog{RpcLog: l}})
	})
	defer removeSink()

	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			d.handle(ctx, m)
		}
	}()
	select {
	case <-d.terminal:
		d.drain(d.grace)
		_ = stream.CloseSend()
		return nil
	case err := <-recvErr:
		if err == io.EOF || ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("the event stream to the host ended: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dispatcher answers the host's messages.
type dispatcher struct {
	stream  rpcpb.FunctionRpc_EventStreamClient
	sendMu  sync.Mutex
	fns     map[string]*bridge.Function
	list    []*bridge.Function
	caps    map[string]string
	httpURI string
	// inlineKey is the host's key for inline invocations (inline.go),
	// nil when the host offered none.
	inlineKey atomic.Pointer[string]
	timeout   time.Duration // of the HTTP rendezvous
	log       *slog.Logger

	mu       sync.Mutex
	cancels  map[string]context.CancelFunc
	pending  map[string]*rendezvous
	loaded   map[string]bool
	inflight sync.WaitGroup

	termOnce sync.Once
	terminal chan struct{}
	grace    time.Duration
}

func (d *dispatcher) send(m *rpcpb.StreamingMessage) error {
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	return d.stream.Send(m)
}

func (d *dispatcher) handle(ctx context.Context, m *rpcpb.StreamingMessage) {
	rid := m.GetRequestId()
	switch c := m.Content.(type) {
	case *rpcpb.StreamingMessage_InvocationRequest:
		// The cancel is registered before the next message is read, so
		// that an InvocationCancel right behind the request finds it.
		id := c.InvocationRequest.GetInvocationId()
		ictx, cancel := context.WithCancel(ctx)
		d.mu.Lock()
		d.cancels[id] = cancel
		d.mu.Unlock()
		d.inflight.Add(1)
		d.invoke(ictx, cancel, c.InvocationRequest)
	case *rpcpb.StreamingMessage_InvocationCancel:
		d.mu.Lock()
		cancel := d.cancels[c.InvocationCancel.GetInvocationId()]
		d.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	case *rpcpb.StreamingMessage_WorkerInitRequest:
		if key := c.WorkerInitRequest.GetCapabilities()[CapInlineInvocationKey]; key != "" && d.httpURI != "" {
			d.inlineKey.Store(&key)
		}
		_ = d.send(&rpcpb.StreamingMessage{RequestId: rid, Content: &rpcpb.StreamingMessage_WorkerInitResponse{
			WorkerInitResponse: &rpcpb.WorkerInitResponse{
				WorkerVersion:  Version,
				Capabilities:   d.capabilities(),
				WorkerMetadata: workerMetadata(),
				Result:         success(),
			}}})
	case *rpcpb.StreamingMessage_FunctionsMetadataRequest:
		metas := make([]*rpcpb.RpcFunctionMetadata, len(d.list))
		for i, f := range d.list {
			metas[i] = f.Metadata
		}
		_ = d.send(&rpcpb.StreamingMessage{RequestId: rid, Content: &rpcpb.StreamingMessage_FunctionMetadataResponse{
			FunctionMetadataResponse: &rpcpb.FunctionMetadataResponse{FunctionMetadataResults: metas, Result: success()}}})
	case *rpcpb.StreamingMessage_FunctionLoadRequest:
		id := c.FunctionLoadRequest.GetFunctionId()
		res := success()
		if f := d.fns[id]; f == nil {
			res = failureResult(fmt.Sprintf("no function with id %q: the app registers %s", id, d.names()))
		} else if st := f.Metadata.GetStatus(); st != nil && st.GetStatus() == rpcpb.StatusResult_Failure {
			res = st
		} else {
			d.mu.Lock()
			d.loaded[id] = true
			d.mu.Unlock()
		}
		_ = d.send(&rpcpb.StreamingMessage{RequestId: rid, Content: &rpcpb.StreamingMessage_FunctionLoadResponse{
			FunctionLoadResponse: &rpcpb.FunctionLoadResponse{FunctionId: id, Result: res}}})
	case *rpcpb.StreamingMessage_WorkerStatusRequest:
		_ = d.send(&rpcpb.StreamingMessage{RequestId: rid, Content: &rpcpb.StreamingMessage_WorkerStatusResponse{
			WorkerStatusResponse: &rpcpb.WorkerStatusResponse{}}})
	case *rpcpb.StreamingMessage_WorkerTerminate:
		d.termOnce.Do(func() {
			d.grace = c.WorkerTerminate.GetGracePeriod().AsDuration()
			close(d.terminal)
		})
	case *rpcpb.StreamingMessage_FunctionEnvironmentReloadRequest:
		r := c.FunctionEnvironmentReloadRequest
		res := success()
		for k, v := range r.GetEnvironmentVariables() {
			if err := os.Setenv(k, v); err != nil {
				res = failureResult(fmt.Sprintf("environment variable %q: %v", k, err))
			}
		}
		if dir := r.GetFunctionAppDirectory(); dir != "" {
			if err := os.Chdir(dir); err != nil {
				res = failureResult(fmt.Sprintf("function app directory %q: %v", dir, err))
			}
		}
		_ = d.send(&rpcpb.StreamingMessage{RequestId: rid, Content: &rpcpb.StreamingMessage_FunctionEnvironmentReloadResponse{
			FunctionEnvironmentReloadResponse: &rpcpb.FunctionEnvironmentReloadResponse{
				Capabilities: d.capabilities(), WorkerMetadata: workerMetadata(), Result: res}}})
	default:
		d.log.Debug("message not handled", "message", fmt.Sprintf("%T", m.Content))
	}
}

func (d *dispatcher) names() string {
	n := make([]string, len(d.list))
	for i, f := range d.list {
		n[i] = f.Name
	}
	if len(n) == 0 {
		return "no functions"
	}
	return strings.Join(n, ", ")
}

func (d *dispatcher) capabilities() map[string]string {
	caps := map[string]string{
		"TypedDataCollection":                 "true",
		"IncludeEmptyEntriesInMessagePayload": "true",
		"WorkerStatus":                        "true",
		"RpcHttpBodyOnly":                     "true",
		"RawHttpBodyBytes":                    "true",
		"RpcHttpTriggerMetadataRemoved":       "true",
		"UseNullableValueDictionaryForHttp":   "true",
		"HandlesWorkerTerminateMessage":       "true",
	}
	if d.httpURI != "" {
		caps["HttpUri"] = d.httpURI
		caps["RequiresRouteParameters"] = "true"
		if d.inlineKey.Load() != nil {
			caps[CapInlineInvocation] = "true"
		}
	}
	for k, v := range d.caps {
		caps[k] = v
	}
	return caps
}

func workerMetadata() *rpcpb.WorkerMetadata {
	bits := "X64"
	switch runtime.GOARCH {
	case "386", "arm":
		bits = "X86"
	case "arm64":
		bits = "Arm64"
	}
	props := map[string]string{"sdk": "github.com/funcd/funcd/sdk"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/funcd/funcd" {
				props["sdkVersion"] = d.Version
				if d.Replace != nil {
					props["sdkReplace"] = d.Replace.Path
				}
			}
		}
	}
	return &rpcpb.WorkerMetadata{RuntimeName: "Go", RuntimeVersion: runtime.Version(), WorkerVersion: Version,
		WorkerBitness: bits, CustomProperties: props}
}

func success() *rpcpb.StatusResult { return &rpcpb.StatusResult{Status: rpcpb.StatusResult_Success} }

func failureResult(msg string) *rpcpb.StatusResult {
	return &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure, Result: msg,
		Exception: &rpcpb.RpcException{Message: msg}}
}

// drain waits up to grace for the invocations in flight.
func (d *dispatcher) drain(grace time.Duration) {
	done := make(chan struct{})
	go func() { d.inflight.Wait(); close(done) }()
	if grace <= 0 {
		grace = 5 * time.Second
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

func (d *dispatcher) sendResponse(r *rpcpb.InvocationResponse) {
	_ = d.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationResponse{InvocationResponse: r}})
}

// invoke runs one InvocationRequest: on a goroutine of its own, or, for an
// HTTP request forwarded to the loopback server, on the server's goroutine
// for that request.
func (d *dispatcher) invoke(ctx context.Context, cancel context.CancelFunc, req *rpcpb.InvocationRequest) {
	id := req.GetInvocationId()
	end := func() {
		d.mu.Lock()
		delete(d.cancels, id)
		d.mu.Unlock()
		cancel()
		d.inflight.Done()
	}
	f := d.fns[req.GetFunctionId()]
	if f != nil && f.HTTP && d.httpURI != "" && proxied(req) {
		d.invokeProxied(ctx, cancel, f, req, end)
		return
	}
	go func() {
		defer end()
		if f == nil {
			d.sendResponse(&rpcpb.InvocationResponse{InvocationId: id,
				Result: failureResult(fmt.Sprintf("no function with id %q", req.GetFunctionId()))})
			return
		}
		f.Invoke(ctx, req, nil, nil, d.sendResponse)
	}()
}

// proxied says whether an HTTP invocation's request comes over the
// loopback server: its RpcHttp input has no url.
func proxied(req *rpcpb.InvocationRequest) bool {
	for _, p := range req.GetInputData() {
		if h := p.GetData().GetHttp(); h != nil {
			return h.GetUrl() == ""
		}
	}
	return true
}
