package langworker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// Inline invocations, an extension of the HttpUri contract that funcd's Go
// SDK implements (sdk/worker/inline.go): funcd offers a key in its
// WorkerInitRequest (capInlineInvocationKey); a worker that takes it
// answers capInlineInvocation. An HTTP invocation then travels inside the
// request forwarded to the HttpUri, the InvocationRequest in
// inlineInvocationHeader, and its InvocationResponse comes back in the
// response's inlineResponseHeader, as a header or a trailer, or, when the
// response can carry neither, on the stream as usual. One hop instead of
// two: no gRPC message, no rendezvous in the worker. The key keeps another
// local process from invoking functions at the worker's loopback address
// without the host.
const (
	capInlineInvocationKey = "FuncdInlineInvocationKey"
	capInlineInvocation    = "FuncdInlineInvocation"

	inlineInvocationHeader = "X-Funcd-Invocation"
	inlineKeyHeader        = "X-Funcd-Invocation-Key"
	inlineResponseHeader   = "X-Funcd-Invocation-Response"
)

// inlineHeaders are never taken from the client's request.
var inlineHeaders = map[string]bool{inlineInvocationHeader: true, inlineKeyHeader: true, inlineResponseHeader: true}

// maxInlineRequest bounds the encoded InvocationRequest that goes in a
// header; a larger one (input bindings' data, say) goes on the stream.
const maxInlineRequest = 16 << 10

var inlineEncoding = base64.RawStdEncoding

// newInlineKey returns a fresh key for a worker's inline invocations.
func newInlineKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// inlineRequest encodes, for inlineInvocationHeader, the InvocationRequest
// that buildRequest(inv, functionID, caps, true) returns, writing the
// message straight from inv instead of building it and handing it to
// protobuf-go: half of what the host spent on an inline invocation's
// message. ok is false when the encoding would be too large for a header,
// and for what it leaves to buildRequest: a retry context.
func inlineRequest(inv *funcd.Invocation, functionID string) (enc string, ok bool) {
	if inv.HTTP == nil || (inv.Retry != nil && inv.Retry.RetryCount != 0) {
		return "", false
	}
	bp := wireBuffers.Get().(*[]byte)
	defer wireBuffers.Put(bp)
	b := appendInlineRequest((*bp)[:0], inv, functionID)
	*bp = b
	if inlineEncoding.EncodedLen(len(b)) > maxInlineRequest {
		return "", false
	}
	return inlineEncoding.EncodeToString(b), true
}

// wireBuffers are inlineRequest's scratch buffers.
var wireBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Field numbers of the messages inlineRequest writes (functionrpc.proto).
const (
	invocationIDField    protowire.Number = 1 // InvocationRequest
	functionIDField      protowire.Number = 2
	inputDataField       protowire.Number = 3
	triggerMetadataField protowire.Number = 4
	traceContextField    protowire.Number = 5

	bindingNameField protowire.Number = 1 // ParameterBinding
	bindingDataField protowire.Number = 2

	typedStringField protowire.Number = 1 // TypedData
	typedJSONField   protowire.Number = 2
	typedBytesField  protowire.Number = 3
	typedHTTPField   protowire.Number = 5

	traceParentField     protowire.Number = 1 // RpcTraceContext
	traceStateField      protowire.Number = 2
	traceAttributesField protowire.Number = 3

	mapKeyField   protowire.Number = 1 // a map entry
	mapValueField protowire.Number = 2
)

// appendInlineRequest appends the encoding of the InvocationRequest of a
// proxied HTTP invocation: the trigger as an empty RpcHttp, the inputs in
// the function's binding order, the trigger metadata of triggerMetadata
// (each key once), the trace context.
func appendInlineRequest(b []byte, inv *funcd.Invocation, functionID string) []byte {
	fn := inv.Function
	b = appendStringField(b, invocationIDField, inv.ID)
	b = appendStringField(b, functionIDField, functionID)
	if t := fn.Trigger(); t != nil {
		// ParameterBinding{name, data: TypedData{http: RpcHttp{}}}
		b = protowire.AppendTag(b, inputDataField, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(stringFieldSize(len(t.Name))+1+protowire.SizeBytes(2)))
		b = appendStringField(b, bindingNameField, t.Name)
		b = protowire.AppendTag(b, bindingDataField, protowire.BytesType)
		b = protowire.AppendVarint(b, 2)
		b = protowire.AppendTag(b, typedHTTPField, protowire.BytesType)
		b = protowire.AppendVarint(b, 0)
	}
	for i := range fn.Bindings {
		bd := &fn.Bindings[i]
		if bd.IsTrigger() || bd.Direction == funcd.Out {
			continue
		}
		if v, ok := inv.Inputs[bd.Name]; ok {
			field, data := valueField(v)
			b = protowire.AppendTag(b, inputDataField, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(stringFieldSize(len(bd.Name))+1+protowire.SizeBytes(typedSize(field, len(data)))))
			b = appendStringField(b, bindingNameField, bd.Name)
			b = protowire.AppendTag(b, bindingDataField, protowire.BytesType)
			b = appendTyped(b, field, data)
		}
	}

	// Trigger metadata: the binding data, then the route values over it,
	// then Headers and Query unless either set them.
	r := inv.HTTP
	taken := func(key string) bool {
		if v, ok := r.Params[key]; ok && v != nil {
			return true
		}
		raw, ok := inv.Metadata[key]
		return ok && len(raw) > 0 && string(raw) != "null"
	}
	for k, raw := range inv.Metadata {
		if v, ok := r.Params[k]; ok && v != nil {
			continue
		}
		if field, data, ok := metadataField(raw); ok {
			b = appendMetadataEntry(b, k, field, data)
		}
	}
	for name, v := range r.Params {
		if v != nil {
			b = appendMetadataEntry(b, name, typedStringField, *v)
		}
	}
	if !taken("Headers") || !taken("Query") {
		var scratch [512]byte
		if !taken("Headers") {
			b = appendMetadataEntry(b, "Headers", typedJSONField, appendHeadersJSON(scratch[:0], r.Header))
		}
		if !taken("Query") {
			b = appendMetadataEntry(b, "Query", typedJSONField, appendQueryJSON(scratch[:0], r.RawQuery))
		}
	}

	parent, state := traceParent(inv)
	size := stringFieldSize(len(parent)) + 1 + protowire.SizeBytes(stringFieldSize(len("ProcessId"))+stringFieldSize(len(pid)))
	if state != "" {
		size += stringFieldSize(len(state))
	}
	b = protowire.AppendTag(b, traceContextField, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	b = appendStringField(b, traceParentField, parent)
	if state != "" {
		b = appendStringField(b, traceStateField, state)
	}
	b = protowire.AppendTag(b, traceAttributesField, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(stringFieldSize(len("ProcessId"))+stringFieldSize(len(pid))))
	b = appendStringField(b, mapKeyField, "ProcessId")
	return appendStringField(b, mapValueField, pid)
}

// stringFieldSize is the encoded size of a length-delimited field of n
// bytes with a field number under 16.
func stringFieldSize(n int) int { return 1 + protowire.SizeBytes(n) }

func appendStringField[S string | []byte](b []byte, num protowire.Number, s S) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(len(s)))
	return append(b, s...)
}

// typedSize is the size of a TypedData holding n bytes in field, or of an
// empty one (field 0).
func typedSize(field protowire.Number, n int) int {
	if field == 0 {
		return 0
	}
	return stringFieldSize(n)
}

// appendTyped appends a TypedData, length first, that holds data in field.
func appendTyped[S string | []byte](b []byte, field protowire.Number, data S) []byte {
	b = protowire.AppendVarint(b, uint64(typedSize(field, len(data))))
	if field == 0 {
		return b
	}
	return appendStringField(b, field, data)
}

// appendMetadataEntry appends a trigger_metadata entry whose TypedData
// holds data in field.
func appendMetadataEntry[S string | []byte](b []byte, key string, field protowire.Number, data S) []byte {
	b = protowire.AppendTag(b, triggerMetadataField, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(stringFieldSize(len(key))+1+protowire.SizeBytes(typedSize(field, len(data)))))
	b = appendStringField(b, mapKeyField, key)
	b = protowire.AppendTag(b, mapValueField, protowire.BytesType)
	return appendTyped(b, field, data)
}

// valueField is where valueData puts v: its TypedData field and bytes, or
// field 0 for an empty TypedData.
func valueField(v funcd.Value) (protowire.Number, []byte) {
	switch v.Kind {
	case funcd.ValueString:
		return typedStringField, v.Data
	case funcd.ValueBytes:
		return typedBytesField, v.Data
	case funcd.ValueJSON:
		return typedJSONField, v.Data
	}
	return 0, nil
}

// plainJSONString is the content of a JSON string without escapes.
func plainJSONString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	s := raw[1 : len(raw)-1]
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' {
			return nil, false
		}
	}
	return s, utf8.Valid(s)
}

// metadataField is where metadataData puts raw; ok is false for what it
// leaves out.
func metadataField(raw json.RawMessage) (field protowire.Number, data []byte, ok bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil, false
	}
	if raw[0] == '"' {
		if s, ok := plainJSONString(raw); ok {
			return typedStringField, s, true
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return typedStringField, []byte(s), true
		}
	}
	return typedJSONField, raw, true
}

// inlineResponse decodes an InvocationResponse that came in a header or a
// trailer; found is false when there is none.
func inlineResponse(fn string, h http.Header) (resp *rpcpb.InvocationResponse, found bool, err error) {
	v := h.Get(inlineResponseHeader)
	if v == "" {
		return nil, false, nil
	}
	h.Del(inlineResponseHeader)
	b, err := inlineEncoding.DecodeString(v)
	resp = new(rpcpb.InvocationResponse)
	if err == nil {
		err = proto.Unmarshal(b, resp)
	}
	if err != nil {
		return nil, true, replyError(fn, "", "the inline InvocationResponse in "+inlineResponseHeader+" cannot be decoded: "+err.Error())
	}
	return resp, true, nil
}

// expecter is grpcworker.Worker's Expect.
type expecter interface {
	Expect(ctx context.Context, invocationID string, done func(*rpcpb.InvocationResponse, error)) (release func() bool, err error)
}

// invokeInline forwards inv's request with its InvocationRequest inside it
// (enc, from inlineRequest)
// and returns the response as p.invoke does. The InvocationResponse is
// expected on the stream too, for a response that could not carry it, and
// so that a worker's exit or the context's end fails the invocation.
func (p *httpProxy) invokeInline(ctx context.Context, w expecter, enc string, inv *funcd.Invocation) (*funcd.Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	hreq, err := p.request(ctx, inv)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	hreq.Header[inlineInvocationHeader] = []string{enc}
	hreq.Header[inlineKeyHeader] = []string{p.inlineKey}
	grpcDone := make(chan invokeOutcome, 1)
	release, err := w.Expect(ctx, inv.ID, deliver(grpcDone, cancel))
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp, err := p.transport.RoundTrip(hreq)
	if err != nil {
		return nil, p.failedForward(ctx, cancel, inv, grpcDone, err)
	}
	if got, found, err := inlineResponse(inv.Function.Name, resp.Header); found {
		release()
		return p.relayAnswered(inv, resp, got, err, cancel)
	}
	res := p.relay(inv, resp, nil, grpcDone, func() { cancel(nil) })
	res.HTTP.BodyReader.(*relayBody).trailer = func() (*rpcpb.InvocationResponse, bool, error) {
		got, found, err := inlineResponse(inv.Function.Name, resp.Trailer)
		if found && !release() {
			// The stream's end or the context's took the expectation
			// first: done is called, and its outcome is the one kept.
			return nil, false, nil
		}
		return got, found, err
	}
	return res, nil
}
