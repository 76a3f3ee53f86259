// Package grpcworker runs an Azure Functions language worker (Node.js,
// Python, Java, PowerShell, a Go app built with a Functions SDK) and speaks
// the language-worker protocol, FunctionRpc, with it.
//
// The host side of the protocol is a gRPC server: a Worker listens on
// 127.0.0.1 and a free port, and launches the worker process with the
// Functions host's two sets of arguments, the old
// (--host --port --workerId --requestId --grpcMaxMessageLength) and the
// new (--functions-uri --functions-worker-id --functions-request-id
// --functions-grpc-max-message-length). The worker dials back and opens one
// EventStream, whose first message, StartStream, names the worker id it was
// given; a stream with any other id is refused.
//
// Start then does what the Functions host does before a worker serves:
// WorkerInitRequest (host version, capabilities, worker and app folders),
// FunctionsMetadataRequest (worker indexing; a worker that answers
// use_default_metadata_indexing gets Config.Functions, the host's own
// index), and one FunctionLoadRequest per indexed function. Functions
// returns what was indexed, each with its indexing or load error.
//
// Invoke sends an InvocationRequest and returns the InvocationResponse with
// the same invocation_id; invocations run concurrently on the one stream.
// When the caller's context ends first the worker gets InvocationCancel.
// InvokeAsync does the same without waiting: the response goes to a
// callback.
// RpcLog records reach Config.OnLog with their invocation id. Ping sends a
// WorkerStatusRequest. Shutdown sends WorkerTerminate with a grace period,
// then kills what is left.
//
// The process itself is package worker's Supervisor: it restarts a worker
// that exits, fails to connect in Config.StartTimeout, fails its
// initialisation, or closes its stream (then killed), with the Supervisor's
// backoff; each new process is initialised and its functions loaded again.
// Errors say what happened: *ConnectError (never connected, naming the
// executable), *StreamClosedError (the stream ended with requests in
// flight; they all fail with it), *MessageTooLargeError (a request over
// Config.MaxMessageBytes, refused before it is sent; a reply over it ends
// the stream, as gRPC does), *FailureError (the worker answered a request
// of the handshake with a failed StatusResult). A stream the worker closes
// while its process runs fails what is in flight and the process is
// killed. A response for an invocation the host is not waiting for is
// logged and ignored, as is any message it does not expect: one with no
// content, a second StartStream, a reply to no request.
//
// The generated protocol code is the subpackage rpcpb, from funcd's own
// .proto files there; messages.go names the protocol messages the API
// carries. rpcpb imports only protobuf and gRPC, so that the Go SDK (which
// speaks the worker's side) shares it without importing the host. Turning funcd's invocations into these messages, and the
// worker.config.json discovery of installed workers, are the host's part.
package grpcworker
