// Command fakeworker is a scripted language worker for grpcworker's tests.
// It parses the launch flags the host passes, dials back and follows the
// script named by FAKEWORKER_SCRIPT:
//
//	normal    initialise, index the functions below, answer requests
//	never     never connect
//	wrongid   connect with a worker id the host did not give
//	initfail  fail the WorkerInitRequest
//	noindex   ask the host to index (use_default_metadata_indexing)
//	silent    connect, then answer nothing
//
// In the normal script each function behaves as its name says: "echo"
// returns its first input and logs, "slow" waits for its InvocationCancel,
// "crash" exits mid-invocation, "garbage" first answers an invocation id
// it never got, "junk" first sends a message with no content, a second
// StartStream and a FunctionLoadResponse for a function id the host never
// sent, "hangup" closes its stream without answering and keeps running,
// "huge" answers with more than the message limit, and
// "failload" fails its FunctionLoadRequest. Events the tests look for go to
// stdout as "event: ..." lines.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

func main() {
	var (
		host     = flag.String("host", "", "")
		port     = flag.Int("port", 0, "")
		workerID = flag.String("workerId", "", "")
		reqID    = flag.String("requestId", "", "")
		maxLen   = flag.Int("grpcMaxMessageLength", 0, "")
		uri      = flag.String("functions-uri", "", "")
		fWorker  = flag.String("functions-worker-id", "", "")
		fReq     = flag.String("functions-request-id", "", "")
		fMax     = flag.Int("functions-grpc-max-message-length", 0, "")
	)
	flag.Parse()
	if *uri != fmt.Sprintf("http://%s:%d/", *host, *port) || *workerID != *fWorker || *reqID != *fReq ||
		*maxLen != *fMax || *fWorker == "" || *fReq == "" || *fMax == 0 {
		fmt.Fprintln(os.Stderr, "the two sets of flags disagree:", os.Args[1:])
		os.Exit(2)
	}
	fmt.Println("event: args", strings.Join(flag.Args(), " "))

	script := os.Getenv("FAKEWORKER_SCRIPT")
	if script == "never" {
		select {}
	}
	id := *fWorker
	if script == "wrongid" {
		id = "not-" + id
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(*uri, "http://"), "/")
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(*fMax)))
	if err != nil {
		fail(err)
	}
	stream, err := rpcpb.NewFunctionRpcClient(cc).EventStream(context.Background())
	if err != nil {
		fail(err)
	}
	w := &fake{stream: stream, script: script}
	w.send(&rpcpb.StreamingMessage{RequestId: *fReq,
		Content: &rpcpb.StreamingMessage_StartStream{StartStream: &rpcpb.StartStream{WorkerId: id}}})
	w.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_RpcLog{RpcLog: &rpcpb.RpcLog{
		Category: "Worker", Level: rpcpb.RpcLog_Information, Message: "worker started",
		LogCategory: rpcpb.RpcLog_System,
	}}})
	for {
		m, err := stream.Recv()
		if err != nil {
			fmt.Println("event: stream ended:", err)
			if script == "wrongid" || w.hungUp.Load() {
				select {}
			}
			os.Exit(0)
		}
		w.handle(m)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fakeworker:", err)
	os.Exit(1)
}

type fake struct {
	stream rpcpb.FunctionRpc_EventStreamClient
	script string

	sendMu sync.Mutex
	hungUp atomic.Bool // the stream was closed by "hangup"

	mu        sync.Mutex
	functions map[string]string        // function id → name
	cancels   map[string]chan struct{} // invocation id → closed on cancel
}

func (w *fake) send(m *rpcpb.StreamingMessage) {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	if err := w.stream.Send(m); err != nil {
		fmt.Println("event: send failed:", err)
	}
}

var success = &rpcpb.StatusResult{Status: rpcpb.StatusResult_Success}

func (w *fake) handle(m *rpcpb.StreamingMessage) {
	if w.script == "silent" {
		return
	}
	rid := m.RequestId
	switch x := m.Content.(type) {
	case *rpcpb.StreamingMessage_WorkerInitRequest:
		r := x.WorkerInitRequest
		fmt.Printf("event: init host_version=%s app=%s worker_dir=%s capabilities=%v\n",
			r.HostVersion, r.FunctionAppDirectory, r.WorkerDirectory, r.Capabilities)
		res := success
		if w.script == "initfail" {
			res = &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure,
				Exception: &rpcpb.RpcException{Message: "cannot load the app: boom"}}
		}
		w.send(&rpcpb.StreamingMessage{RequestId: rid, Content: &rpcpb.StreamingMessage_WorkerInitResponse{
			WorkerInitResponse: &rpcpb.WorkerInitResponse{
				Capabilities:   map[string]string{"RpcHttpBodyOnly": "true", "WorkerStatus": "true"},
				WorkerMetadata: &rpcpb.WorkerMetadata{RuntimeName: "fake", RuntimeVersion: "1.0"},
				Result:         res,
			}}})
	case *rpcpb.StreamingMessage_FunctionsMetadataRequest:
		resp := &rpcpb.FunctionMetadataResponse{Result: success}
		if w.script == "noindex" {
			resp.UseDefaultMetadataIndexing = true
		} else {
			for _, name := range []string{"echo", "slow", "crash", "garbage", "junk", "hangup", "huge", "failload"} {
				resp.FunctionMetadataResults = append(resp.FunctionMetadataResults, &rpcpb.RpcFunctionMetadata{
					Name: name, FunctionId: "id-" + name, Language: "fake",
					RawBindings: []string{`{"name":"in","type":"queueTrigger","direction":"in"}`},
					Bindings:    map[string]*rpcpb.BindingInfo{"in": {Type: "queueTrigger"}},
				})
			}
			resp.FunctionMetadataResults = append(resp.FunctionMetadataResults, &rpcpb.RpcFunctionMetadata{
				Name: "badindex", FunctionId: "id-badindex",
				Status: &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure, Result: "no trigger"},
			})
		}
		w.send(&rpcpb.StreamingMessage{RequestId: rid, Content: &rpcpb.StreamingMessage_FunctionMetadataResponse{
			FunctionMetadataResponse: resp}})
	case *rpcpb.StreamingMessage_FunctionLoadRequest:
		r := x.FunctionLoadRequest
		name := r.GetMetadata().GetName()
		fmt.Printf("event: load %s %s\n", name, r.FunctionId)
		w.mu.Lock()
		if w.functions == nil {
			w.functions = make(map[string]string)
		}
		w.functions[r.FunctionId] = name
		w.mu.Unlock()
		res := success
		if name == "failload" {
			res = &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure,
				Exception: &rpcpb.RpcException{Message: "cannot load failload"}}
		}
		w.send(&rpcpb.StreamingMessage{RequestId: rid, Content: &rpcpb.StreamingMessage_FunctionLoadResponse{
			FunctionLoadResponse: &rpcpb.FunctionLoadResponse{FunctionId: r.FunctionId, Result: res}}})
	case *rpcpb.StreamingMessage_WorkerStatusRequest:
		w.send(&rpcpb.StreamingMessage{RequestId: rid, Content: &rpcpb.StreamingMessage_WorkerStatusResponse{
			WorkerStatusResponse: &rpcpb.WorkerStatusResponse{}}})
	case *rpcpb.StreamingMessage_InvocationRequest:
		go w.invoke(x.InvocationRequest)
	case *rpcpb.StreamingMessage_InvocationCancel:
		id := x.InvocationCancel.InvocationId
		fmt.Println("event: cancel", id)
		w.mu.Lock()
		if ch := w.cancels[id]; ch != nil {
			close(ch)
			delete(w.cancels, id)
		}
		w.mu.Unlock()
	case *rpcpb.StreamingMessage_WorkerTerminate:
		fmt.Println("event: terminate", x.WorkerTerminate.GracePeriod.AsDuration())
		os.Exit(0)
	default:
		fmt.Printf("event: unexpected %T\n", x)
	}
}

func (w *fake) invoke(r *rpcpb.InvocationRequest) {
	w.mu.Lock()
	name := w.functions[r.FunctionId]
	w.mu.Unlock()
	id := r.InvocationId
	resp := &rpcpb.InvocationResponse{InvocationId: id, Result: success}
	switch name {
	case "echo":
		w.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_RpcLog{RpcLog: &rpcpb.RpcLog{
			InvocationId: id, Category: "echo.Invocation", Level: rpcpb.RpcLog_Warning, Message: "echoing",
		}}})
		if len(r.InputData) > 0 {
			resp.ReturnValue = r.InputData[0].GetData()
			resp.OutputData = []*rpcpb.ParameterBinding{{Name: "out",
				RpcData: &rpcpb.ParameterBinding_Data{Data: r.TriggerMetadata["meta"]}}}
		}
	case "slow":
		ch := make(chan struct{})
		w.mu.Lock()
		if w.cancels == nil {
			w.cancels = make(map[string]chan struct{})
		}
		w.cancels[id] = ch
		w.mu.Unlock()
		select {
		case <-ch:
			resp.Result = &rpcpb.StatusResult{Status: rpcpb.StatusResult_Cancelled}
		case <-time.After(time.Minute):
		}
	case "crash":
		fmt.Println("event: crashing in", id)
		os.Exit(3)
	case "garbage":
		w.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationResponse{
			InvocationResponse: &rpcpb.InvocationResponse{InvocationId: "no-such-invocation", Result: success}}})
		w.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_WorkerHeartbeat{
			WorkerHeartbeat: &rpcpb.WorkerHeartbeat{}}})
	case "junk":
		w.send(&rpcpb.StreamingMessage{RequestId: "no-content"})
		w.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_StartStream{
			StartStream: &rpcpb.StartStream{WorkerId: "again"}}})
		w.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_FunctionLoadResponse{
			FunctionLoadResponse: &rpcpb.FunctionLoadResponse{FunctionId: "no-such-function", Result: success}}})
	case "hangup":
		fmt.Println("event: hanging up in", id)
		w.hungUp.Store(true)
		w.sendMu.Lock()
		defer w.sendMu.Unlock()
		if err := w.stream.CloseSend(); err != nil {
			fmt.Println("event: CloseSend failed:", err)
		}
		return
	case "huge":
		big := strings.Repeat("x", 2<<20)
		resp.ReturnValue = &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: big}}
	default:
		resp.Result = &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure,
			Exception: &rpcpb.RpcException{Message: "unknown function id " + r.FunctionId}}
	}
	w.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationResponse{InvocationResponse: resp}})
}
