package worker_test

import (
	"context"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/worker"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// fakeHost is the host's side of FunctionRpc, in the test: a gRPC server
// that launches nothing; the worker runs in-process against it.
type fakeHost struct {
	rpcpb.UnimplementedFunctionRpcServer
	t       testing.TB
	streams chan rpcpb.FunctionRpc_EventStreamServer
	start   chan *rpcpb.StartStream
	stream  rpcpb.FunctionRpc_EventStreamServer
	msgs    chan *rpcpb.StreamingMessage
	runErr  chan error
	sendMu  sync.Mutex

	mu   sync.Mutex
	logs []*rpcpb.RpcLog
}

func (h *fakeHost) EventStream(s rpcpb.FunctionRpc_EventStreamServer) error {
	first, err := s.Recv()
	if err != nil {
		return err
	}
	h.start <- first.GetStartStream()
	h.streams <- s
	<-s.Context().Done()
	return nil
}

// startHost serves app from a worker connected to a new fake host.
func startHost(t testing.TB, app *sdk.App, opts ...worker.Option) *fakeHost {
	t.Helper()
	h := &fakeHost{t: t, streams: make(chan rpcpb.FunctionRpc_EventStreamServer, 1),
		start: make(chan *rpcpb.StartStream, 1), msgs: make(chan *rpcpb.StreamingMessage, 100), runErr: make(chan error, 1)}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	rpcpb.RegisterFunctionRpcServer(srv, h)
	go func() { _ = srv.Serve(lis) }()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		srv.Stop()
	})
	go func() {
		h.runErr <- worker.Run(ctx, app, worker.Config{Addr: lis.Addr().String(), WorkerID: "worker-1"}, opts...)
	}()
	select {
	case st := <-h.start:
		if st.GetWorkerId() != "worker-1" {
			t.Fatalf("StartStream worker id = %q, want worker-1", st.GetWorkerId())
		}
	case err := <-h.runErr:
		t.Fatalf("worker.Run = %v before the stream opened", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no StartStream")
	}
	h.stream = <-h.streams
	go func() {
		for {
			m, err := h.stream.Recv()
			if err != nil {
				close(h.msgs)
				return
			}
			if l := m.GetRpcLog(); l != nil {
				h.mu.Lock()
				h.logs = append(h.logs, l)
				h.mu.Unlock()
				continue
			}
			h.msgs <- m
		}
	}()
	return h
}

func (h *fakeHost) send(m *rpcpb.StreamingMessage) {
	h.t.Helper()
	h.sendMu.Lock()
	defer h.sendMu.Unlock()
	if err := h.stream.Send(m); err != nil {
		h.t.Fatalf("send: %v", err)
	}
}

// next returns the next message other than a log.
func (h *fakeHost) next() *rpcpb.StreamingMessage {
	h.t.Helper()
	select {
	case m, ok := <-h.msgs:
		if !ok {
			h.t.Fatal("the worker closed the stream")
		}
		return m
	case <-time.After(10 * time.Second):
		h.t.Fatal("no message from the worker in 10s")
	}
	return nil
}

// handshake initialises the worker, indexes and loads its functions, and
// returns the capabilities and the metadata by name.
// handshake initializes the worker and loads its functions; hostCaps are
// the WorkerInitRequest's capabilities.
func (h *fakeHost) handshake(hostCaps ...map[string]string) (map[string]string, map[string]*rpcpb.RpcFunctionMetadata) {
	h.t.Helper()
	init := &rpcpb.WorkerInitRequest{HostVersion: "4.0"}
	if len(hostCaps) > 0 {
		init.Capabilities = hostCaps[0]
	}
	h.send(&rpcpb.StreamingMessage{RequestId: "init", Content: &rpcpb.StreamingMessage_WorkerInitRequest{
		WorkerInitRequest: init}})
	m := h.next()
	ir := m.GetWorkerInitResponse()
	if ir == nil || m.GetRequestId() != "init" || ir.GetResult().GetStatus() != rpcpb.StatusResult_Success {
		h.t.Fatalf("want a successful WorkerInitResponse to request init, got %v", m)
	}
	h.send(&rpcpb.StreamingMessage{RequestId: "md", Content: &rpcpb.StreamingMessage_FunctionsMetadataRequest{
		FunctionsMetadataRequest: &rpcpb.FunctionsMetadataRequest{FunctionAppDirectory: "/app"}}})
	md := h.next().GetFunctionMetadataResponse()
	if md == nil || md.GetUseDefaultMetadataIndexing() {
		h.t.Fatalf("want worker-indexed metadata, got %v", md)
	}
	byName := map[string]*rpcpb.RpcFunctionMetadata{}
	for _, f := range md.GetFunctionMetadataResults() {
		byName[f.GetName()] = f
		h.send(&rpcpb.StreamingMessage{RequestId: "load", Content: &rpcpb.StreamingMessage_FunctionLoadRequest{
			FunctionLoadRequest: &rpcpb.FunctionLoadRequest{FunctionId: f.GetFunctionId(), Metadata: f}}})
		lr := h.next().GetFunctionLoadResponse()
		if lr.GetFunctionId() != f.GetFunctionId() {
			h.t.Fatalf("FunctionLoadResponse for %q, want %q", lr.GetFunctionId(), f.GetFunctionId())
		}
		if f.GetStatus() == nil && lr.GetResult().GetStatus() != rpcpb.StatusResult_Success {
			h.t.Fatalf("load of %s: %v", f.GetName(), lr.GetResult())
		}
	}
	return ir.GetCapabilities(), byName
}

// invoke sends an InvocationRequest and waits for its response.
func (h *fakeHost) invoke(req *rpcpb.InvocationRequest) *rpcpb.InvocationResponse {
	h.t.Helper()
	h.send(&rpcpb.StreamingMessage{RequestId: "inv", Content: &rpcpb.StreamingMessage_InvocationRequest{InvocationRequest: req}})
	return h.response(req.GetInvocationId())
}

func (h *fakeHost) response(id string) *rpcpb.InvocationResponse {
	h.t.Helper()
	m := h.next()
	r := m.GetInvocationResponse()
	if r == nil || r.GetInvocationId() != id {
		h.t.Fatalf("want the InvocationResponse of %s, got %v", id, m)
	}
	return r
}

func (h *fakeHost) logsOf(id string) []*rpcpb.RpcLog {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*rpcpb.RpcLog
	for _, l := range h.logs {
		if l.GetInvocationId() == id {
			out = append(out, l)
		}
	}
	return out
}

func str(s string) *rpcpb.TypedData {
	return &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: s}}
}

func jsonData(s string) *rpcpb.TypedData {
	return &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: s}}
}

func nullable(s string) *rpcpb.NullableString {
	return &rpcpb.NullableString{String_: &rpcpb.NullableString_Value{Value: s}}
}

var (
	osGetenv   = os.Getenv
	osUnsetenv = os.Unsetenv
)
