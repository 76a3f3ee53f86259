package grpcworker

import "github.com/funcd/funcd/worker/grpcworker/rpcpb"

// The protocol's messages that the API carries. They are the generated
// types under their protocol names; the generated package itself stays
// internal, so the only way in is through the names below.
type (
	// InvocationRequest asks the worker to run a function once.
	InvocationRequest = rpcpb.InvocationRequest
	// InvocationResponse is the worker's outcome of an invocation.
	InvocationResponse = rpcpb.InvocationResponse
	// FunctionMetadata describes one function as the worker indexed it.
	FunctionMetadata = rpcpb.RpcFunctionMetadata
	// BindingInfo is one binding of a function.
	BindingInfo = rpcpb.BindingInfo
	// ParameterBinding is a named input or output value.
	ParameterBinding = rpcpb.ParameterBinding
	// ParameterBindingData is ParameterBinding's value case.
	ParameterBindingData = rpcpb.ParameterBinding_Data
	// TypedData is a value of one of the protocol's types.
	TypedData = rpcpb.TypedData
	// RpcHttp is an HTTP request or response.
	RpcHttp = rpcpb.RpcHttp
	// RpcHttpCookie is a cookie an HTTP response sets.
	RpcHttpCookie = rpcpb.RpcHttpCookie
	// NullableString is a string that may be absent.
	NullableString = rpcpb.NullableString
	// RpcTraceContext carries the W3C trace context of an invocation.
	RpcTraceContext = rpcpb.RpcTraceContext
	// RetryContext tells a retried invocation its attempt.
	RetryContext = rpcpb.RetryContext
	// StatusResult is the outcome of a request.
	StatusResult = rpcpb.StatusResult
	// RpcException is an error the worker reports.
	RpcException = rpcpb.RpcException
	// RpcLog is a log record the worker sends.
	RpcLog = rpcpb.RpcLog
	// WorkerMetadata describes the worker's runtime.
	WorkerMetadata = rpcpb.WorkerMetadata
)

// TypedData's cases.
type (
	TypedDataString           = rpcpb.TypedData_String_
	TypedDataJSON             = rpcpb.TypedData_Json
	TypedDataBytes            = rpcpb.TypedData_Bytes
	TypedDataStream           = rpcpb.TypedData_Stream
	TypedDataHTTP             = rpcpb.TypedData_Http
	TypedDataInt              = rpcpb.TypedData_Int
	TypedDataDouble           = rpcpb.TypedData_Double
	TypedDataCollectionBytes  = rpcpb.TypedData_CollectionBytes
	TypedDataCollectionString = rpcpb.TypedData_CollectionString
	TypedDataCollectionDouble = rpcpb.TypedData_CollectionDouble
	TypedDataCollectionSInt64 = rpcpb.TypedData_CollectionSint64
	CollectionBytes           = rpcpb.CollectionBytes
	CollectionString          = rpcpb.CollectionString
	CollectionDouble          = rpcpb.CollectionDouble
	CollectionSInt64          = rpcpb.CollectionSInt64
	NullableStringValue       = rpcpb.NullableString_Value
)

// StatusResult's statuses.
const (
	StatusFailure   = rpcpb.StatusResult_Failure
	StatusSuccess   = rpcpb.StatusResult_Success
	StatusCancelled = rpcpb.StatusResult_Cancelled
)
