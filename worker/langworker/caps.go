package langworker

import (
	"context"

	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// Capabilities are the worker's WorkerInitResponse capabilities: names
// mapped to values, "true" for most. The real host takes a capability as
// set when its value is not empty.
type Capabilities map[string]string

// Capability names the conversion reads.
const (
	capRawHTTPBodyBytes          = "RawHttpBodyBytes"
	capRPCHTTPBodyOnly           = "RpcHttpBodyOnly"
	capTriggerMetadataRemoved    = "RpcHttpTriggerMetadataRemoved"
	capIgnoreEmptyHeaders        = "IgnoreEmptyValuedRpcHttpHeaders"
	capNullableDictionaryForHTTP = "UseNullableValueDictionaryForHttp"
	capTypedDataCollection       = "TypedDataCollection"
	capHTTPURI                   = "HttpUri"
)

// Has reports whether the worker set the capability to a non-empty value.
func (c Capabilities) Has(name string) bool { return c[name] != "" }

// HTTPURI is the address the worker serves proxied HTTP requests at, or ""
// when it takes them over gRPC.
func (c Capabilities) HTTPURI() string { return c[capHTTPURI] }

// invoker is grpcworker.Worker's invocation methods.
type invoker interface {
	Invoke(ctx context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error)
	InvokeAsync(ctx context.Context, req *rpcpb.InvocationRequest, done func(*rpcpb.InvocationResponse, error)) error
	expecter
}
