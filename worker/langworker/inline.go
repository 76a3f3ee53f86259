package langworker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"

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

// inlineRequest encodes req for inlineInvocationHeader; ok is false when it
// is too large to go in a header.
func inlineRequest(req *rpcpb.InvocationRequest) (string, bool) {
	b, err := proto.Marshal(req)
	if err != nil || inlineEncoding.EncodedLen(len(b)) > maxInlineRequest {
		return "", false
	}
	return inlineEncoding.EncodeToString(b), true
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
