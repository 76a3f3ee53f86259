// Package langworker turns funcd's invocations into the language-worker
// protocol's messages (package grpcworker's FunctionRpc) and back: trigger
// values, inputs and trigger metadata as TypedData, HTTP requests as RpcHttp
// shaped by the worker's capabilities (or, for a worker that reports
// HttpUri, forwarded to it while the InvocationRequest carries an empty
// RpcHttp), outputs, return values, HTTP responses with their cookies, and
// failures with the worker's message and stack (InvocationError).
//
// The host does not run language workers through it yet: the Worker that
// resolves a worker (package workerconfig), starts it and indexes its
// functions is still to come.
package langworker
