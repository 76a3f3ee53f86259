package worker

import (
	"context"
	"net/http"
	"time"

	"github.com/funcd/funcd/sdk/internal/bridge"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// InvocationHeader carries the invocation id on a forwarded request.
const InvocationHeader = "X-Ms-Invocation-Id"

// rendezvous pairs a forwarded request with its InvocationRequest; either
// may come first.
type rendezvous struct {
	call chan *call    // the invocation side's half, buffered
	gone chan struct{} // closed when the request side gave up
	why  string        // why it gave up; set before gone is closed
}

// call is the invocation side's half. Whoever receives it from
// rendezvous.call owns it: the loopback server, which runs the handler, or
// abandon, which fails the invocation; either ends it with finish.
type call struct {
	ctx    context.Context
	cancel context.CancelFunc
	f      *bridge.Function
	req    *rpcpb.InvocationRequest
	timer  *time.Timer // the rendezvous's timeout
	stop   func() bool // stops the context's AfterFunc
	end    func()      // the dispatcher's bookkeeping of the invocation
}

// finish ends the invocation.
func (c *call) finish() {
	c.timer.Stop()
	c.stop()
	c.end()
}

func (d *dispatcher) rendezvous(id string) *rendezvous {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.pending[id]
	if e == nil {
		e = &rendezvous{call: make(chan *call, 1), gone: make(chan struct{})}
		d.pending[id] = e
	}
	return e
}

func (d *dispatcher) forget(id string, e *rendezvous) {
	d.mu.Lock()
	if d.pending[id] == e {
		delete(d.pending, id)
	}
	d.mu.Unlock()
}

// invokeProxied leaves the invocation for its forwarded request, which
// runs the handler, and returns: no goroutine waits for the request. The
// invocation fails when the request side gave up, when the request does
// not come within the timeout, or when ctx ends first.
func (d *dispatcher) invokeProxied(ctx context.Context, cancel context.CancelFunc, f *bridge.Function, req *rpcpb.InvocationRequest, end func()) {
	id := req.GetInvocationId()
	e := d.rendezvous(id)
	c := &call{ctx: ctx, cancel: cancel, f: f, req: req, end: end}
	c.timer = time.AfterFunc(d.timeout, func() {
		d.abandon(id, e, rpcpb.StatusResult_Failure, "the forwarded HTTP request did not arrive within "+d.timeout.String())
	})
	c.stop = context.AfterFunc(ctx, func() {
		d.abandon(id, e, rpcpb.StatusResult_Cancelled, "the invocation was cancelled")
	})
	select {
	case e.call <- c:
	default:
		// The stream's reader must not block: a second InvocationRequest
		// with the id of one still waiting for its request fails.
		why := "invocation " + id + " is already waiting for its forwarded HTTP request"
		d.sendResponse(&rpcpb.InvocationResponse{InvocationId: id,
			Result: &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure, Result: why, Exception: &rpcpb.RpcException{Message: why}}})
		c.finish()
		return
	}
	// What ended before c was there to take.
	select {
	case <-e.gone:
		d.abandon(id, e, rpcpb.StatusResult_Failure, e.why)
	default:
		if ctx.Err() != nil {
			d.abandon(id, e, rpcpb.StatusResult_Cancelled, "the invocation was cancelled")
		}
	}
}

// abandon fails the invocation left at e, unless its request took it.
func (d *dispatcher) abandon(id string, e *rendezvous, status rpcpb.StatusResult_Status, why string) {
	var c *call
	select {
	case c = <-e.call:
	default:
		return // taken: the handler runs, and answers
	}
	d.forget(id, e)
	d.sendResponse(&rpcpb.InvocationResponse{InvocationId: id,
		Result: &rpcpb.StatusResult{Status: status, Result: why, Exception: &rpcpb.RpcException{Message: why}}})
	c.finish()
}

// serveHTTP is the loopback server: each request names its invocation.
func (d *dispatcher) serveHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(InvocationHeader)
	if id == "" {
		http.Error(w, "missing header x-ms-invocation-id", http.StatusBadRequest)
		return
	}
	r.Header.Del(InvocationHeader)
	// The handler sees the host the client called, not the loopback
	// address the host forwarded to, as the JavaScript library does.
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		r.Host = h
	}
	if d.serveInline(w, r, id) {
		return
	}
	e := d.rendezvous(id)
	t := time.NewTimer(d.timeout)
	defer t.Stop()
	var c *call
	select {
	case c = <-e.call:
		d.forget(id, e)
	case <-r.Context().Done():
		d.giveUp(id, e, "the client disconnected before the invocation arrived")
		return
	case <-t.C:
		d.giveUp(id, e, "the invocation did not arrive within "+d.timeout.String()+" of its forwarded HTTP request")
		http.Error(w, "the invocation did not arrive", http.StatusGatewayTimeout)
		return
	}
	defer c.finish()
	stop := context.AfterFunc(r.Context(), c.cancel)
	defer stop()
	tw := &trackingWriter{ResponseWriter: w}
	c.f.Invoke(c.ctx, c.req, tw, r, d.sendResponse)
}

// giveUp leaves a closed rendezvous for a while, so that a late
// InvocationRequest fails at once.
func (d *dispatcher) giveUp(id string, e *rendezvous, why string) {
	e.why = why
	close(e.gone)
	d.abandon(id, e, rpcpb.StatusResult_Failure, why) // an invocation that came meanwhile
	time.AfterFunc(d.timeout, func() { d.forget(id, e) })
}

// trackingWriter is the live ResponseWriter; it knows whether the header
// was sent.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(p)
}

// Flush sends what was written so far.
func (t *trackingWriter) Flush() {
	t.wrote = true
	http.NewResponseController(t.ResponseWriter).Flush()
}

// HeaderWritten says whether the response's header was sent.
func (t *trackingWriter) HeaderWritten() bool { return t.wrote }

// Unwrap serves http.ResponseController.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
