// Package bridge joins package sdk, which holds an app's functions, to
// package sdk/worker, which speaks FunctionRpc for them, without making
// the plumbing part of either package's API.
package bridge

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// Function is one registered function, ready to be served.
type Function struct {
	Name     string
	Metadata *rpcpb.RpcFunctionMetadata // FunctionId is set
	HTTP     bool
	// Invoke runs one invocation and hands its response to send before
	// returning (buffers are reused afterwards). For an HTTP function on
	// the proxied path, w and r are the forwarded request; else nil.
	Invoke func(ctx context.Context, req *rpcpb.InvocationRequest, w http.ResponseWriter, r *http.Request,
		send func(*rpcpb.InvocationResponse))
}

// Functions returns an *sdk.App's functions; package sdk sets it.
var Functions func(app any) []*Function

// Capabilities returns what an *sdk.App's middleware adds to the
// worker's capabilities; package sdk sets it.
var Capabilities func(app any) map[string]string

// DurableClientInput returns the value of the durableClient input
// binding of ctx's invocation (nil if the function has none); package sdk
// sets it, package sdk/durable calls it.
var DurableClientInput func(ctx context.Context) ([]byte, error)

// sink receives log records once the stream is open.
var sink atomic.Pointer[func(*rpcpb.RpcLog)]

// SetSink routes log records to f until the returned function is called,
// which sends them to stderr again unless another sink replaced f in the
// meantime: a stream that ends late leaves a newer stream's sink in place.
func SetSink(f func(*rpcpb.RpcLog)) (remove func()) {
	p := &f
	sink.Store(p)
	return func() { sink.CompareAndSwap(p, nil) }
}

// Sink returns the current sink, or nil before the stream opens.
func Sink() func(*rpcpb.RpcLog) {
	if p := sink.Load(); p != nil {
		return *p
	}
	return nil
}
