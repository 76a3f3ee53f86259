package worker

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// funcd's inline invocations: a host that offers CapInlineInvocationKey in
// its WorkerInitRequest and sees CapInlineInvocation in the reply may send
// an HTTP invocation inside the request it forwards to the HttpUri instead
// of as an InvocationRequest on the stream: the InvocationRequest in
// InlineInvocationHeader, the key in InlineKeyHeader. The handler runs as
// for a proxied invocation, and the InvocationResponse comes back in the
// response: in InlineResponseHeader when the handler's response was
// buffered whole (up to inlineBuffer bytes, not flushed), else as a trailer
// of that name, else (a declared Content-Length, a HEAD request, a status
// without a body) on the stream as usual. One hop instead of two; the
// Functions host never offers the key, so the worker then does what the
// HttpUri contract says.
const (
	CapInlineInvocationKey = "FuncdInlineInvocationKey"
	CapInlineInvocation    = "FuncdInlineInvocation"

	InlineInvocationHeader = "X-Funcd-Invocation"
	InlineKeyHeader        = "X-Funcd-Invocation-Key"
	InlineResponseHeader   = "X-Funcd-Invocation-Response"
)

// inlineBuffer is how much of a response an inline invocation holds back
// to send it with the InvocationResponse in a header.
const inlineBuffer = 16 << 10

var inlineEncoding = base64.RawStdEncoding

// serveInline runs the invocation a forwarded request carries; it reports
// false when the request carries none, or not with the host's key.
func (d *dispatcher) serveInline(w http.ResponseWriter, r *http.Request, id string) bool {
	enc := r.Header.Get(InlineInvocationHeader)
	key := d.inlineKey.Load()
	if enc == "" || key == nil {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(InlineKeyHeader)), []byte(*key)) != 1 {
		http.Error(w, "the inline invocation's key is wrong", http.StatusForbidden)
		return true
	}
	r.Header.Del(InlineInvocationHeader)
	r.Header.Del(InlineKeyHeader)
	raw, err := inlineEncoding.DecodeString(enc)
	var req *rpcpb.InvocationRequest
	if err == nil {
		req, err = unmarshalInvocation(raw)
	}
	if err != nil || req.GetInvocationId() != id {
		http.Error(w, "the inline invocation is not an InvocationRequest for invocation "+id, http.StatusBadRequest)
		return true
	}
	f := d.fns[req.GetFunctionId()]
	if f == nil || !f.HTTP {
		http.Error(w, "no HTTP function with id "+strconv.Quote(req.GetFunctionId()), http.StatusNotFound)
		return true
	}

	// The worker's drain waits for it, as for an InvocationRequest on the
	// stream. Its context is the forwarded request's: funcd cancels an
	// inline invocation by ending that request (its InvocationCancel then
	// finds nothing to cancel here).
	ctx := r.Context()
	d.inflight.Add(1)
	defer d.inflight.Done()

	iw := &inlineWriter{w: w, mayHaveBody: r.Method != http.MethodHead}
	var resp *rpcpb.InvocationResponse
	f.Invoke(ctx, req, iw, r, func(ir *rpcpb.InvocationResponse) { resp = ir })
	if resp == nil {
		resp = &rpcpb.InvocationResponse{InvocationId: id, Result: failureResult("the function returned no InvocationResponse")}
	}
	iw.finish(d, resp)
	return true
}

// inlineWriter is an inline invocation's ResponseWriter: it holds the
// response back until the handler returns, flushes, or writes more than
// inlineBuffer bytes, and then lets it stream.
type inlineWriter struct {
	w           http.ResponseWriter
	mayHaveBody bool // not a HEAD request
	status      int
	buf         bytes.Buffer
	wrote       bool // WriteHeader, Write or Flush was called
	live        bool // the header went out: what follows streams
	// trailer: InlineResponseHeader was declared as a trailer.
	trailer bool
}

func (iw *inlineWriter) Header() http.Header { return iw.w.Header() }

func (iw *inlineWriter) WriteHeader(code int) {
	if iw.live {
		iw.w.WriteHeader(code)
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		iw.w.WriteHeader(code) // informational: goes out at once, as net/http does
		return
	}
	if iw.status == 0 {
		iw.status = code
	}
	iw.wrote = true
}

func (iw *inlineWriter) Write(p []byte) (int, error) {
	iw.wrote = true
	if iw.live {
		return iw.w.Write(p)
	}
	if iw.buf.Len()+len(p) <= inlineBuffer {
		return iw.buf.Write(p)
	}
	iw.goLive()
	return iw.w.Write(p)
}

// Flush sends what was written so far; the rest streams.
func (iw *inlineWriter) Flush() {
	iw.wrote = true
	iw.goLive()
	http.NewResponseController(iw.w).Flush()
}

// HeaderWritten says whether the handler started its response.
func (iw *inlineWriter) HeaderWritten() bool { return iw.wrote }

// Unwrap serves http.ResponseController.
func (iw *inlineWriter) Unwrap() http.ResponseWriter { return iw.w }

// goLive sends the header and what was held back; the InvocationResponse
// will be a trailer when the response can carry one.
func (iw *inlineWriter) goLive() {
	if iw.live {
		return
	}
	iw.live = true
	status := iw.status
	if status == 0 {
		status = http.StatusOK
	}
	h := iw.w.Header()
	if iw.mayHaveBody && h.Get("Content-Length") == "" && bodyAllowed(status) {
		h.Add("Trailer", InlineResponseHeader)
		iw.trailer = true
	}
	iw.w.WriteHeader(status)
	if iw.buf.Len() > 0 {
		_, _ = iw.w.Write(iw.buf.Bytes())
		iw.buf.Reset()
	}
}

// finish sends the response and its InvocationResponse.
func (iw *inlineWriter) finish(d *dispatcher, resp *rpcpb.InvocationResponse) {
	if iw.live {
		if !iw.trailer {
			d.sendResponse(resp)
			return
		}
		b, err := proto.Marshal(resp)
		if err != nil {
			d.sendResponse(resp)
			return
		}
		iw.w.Header().Set(InlineResponseHeader, inlineEncoding.EncodeToString(b))
		return
	}
	b, err := proto.Marshal(resp)
	if err != nil {
		// Not expected of a message the worker built; the stream still
		// takes it.
		iw.goLive()
		d.sendResponse(resp)
		return
	}
	h := iw.w.Header()
	h.Set(InlineResponseHeader, inlineEncoding.EncodeToString(b))
	status := iw.status
	if status == 0 {
		status = http.StatusOK
	}
	if iw.mayHaveBody && bodyAllowed(status) && h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.Itoa(iw.buf.Len()))
	}
	iw.w.WriteHeader(status)
	if iw.buf.Len() > 0 {
		_, _ = iw.w.Write(iw.buf.Bytes())
	}
}

// bodyAllowed says whether a response with status has a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
