package langworker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
	"github.com/funcd/funcd/worker/internal/loopback"
)

// headerInvocationID pairs a proxied request with its InvocationRequest.
const headerInvocationID = "X-Ms-Invocation-Id"

// hopHeaders are connection-level headers (RFC 9110 section 7.6.1) that a
// proxy neither forwards nor passes back.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// httpProxy forwards HTTP trigger requests to the worker's HttpUri, over
// the loopback transport custom handlers use: each forward's I/O on the
// goroutine that makes it, and a request never sent twice once any of it
// reached the worker.
type httpProxy struct {
	base      string // scheme://host[:port], no trailing slash
	transport *loopback.Transport
	buffers   *funcd.BufferBudget
	log       *slog.Logger
	inlineKey string // the key of inline invocations (inline.go)
}

// newHTTPProxy returns a proxy to the worker's HttpUri, an absolute http
// URL.
func newHTTPProxy(uri string, buffers *funcd.BufferBudget, log *slog.Logger) (*httpProxy, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("the language worker's HttpUri capability %q is not an absolute http URL (expected http://host:port/)", uri)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &httpProxy{base: u.Scheme + "://" + u.Host, transport: loopback.New(), buffers: buffers, log: log}, nil
}

// Close drops the idle connections to the worker.
func (p *httpProxy) Close() { p.transport.CloseIdleConnections() }

// request is the proxied copy of inv's request: same method, path and raw
// query, the client's headers but hop-by-hop ones, x-ms-invocation-id and
// X-Forwarded-Host/Proto/For, the body streamed.
func (p *httpProxy) request(ctx context.Context, inv *funcd.Invocation) (*http.Request, error) {
	r := inv.HTTP
	target := p.base
	if r.Path == "" || r.Path[0] != '/' {
		target += "/"
	}
	target += r.Path
	if r.RawQuery != "" {
		target += "?" + r.RawQuery
	}
	var body io.Reader
	length := int64(len(r.Body))
	switch {
	case r.BodyReader != nil && r.ContentLength != 0:
		// The host's: not closed by the transport. A cancelled forward
		// returns only once the transport stopped reading it (the host
		// reads it no more after invoke), so a client that stalls its
		// upload holds a cancelled invocation until the host's minimum
		// data rate ends the read.
		body = struct{ io.Reader }{r.BodyReader}
		length = r.ContentLength
	case len(r.Body) > 0:
		body = bytes.NewReader(r.Body)
	default:
		length = 0
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err != nil {
		return nil, funcd.Errorf(funcd.EINTERNAL, "function '%s': cannot build the request to the language worker's HttpUri: %w", inv.Function.Name, err)
	}
	req.ContentLength = length
	h := make(http.Header, len(r.Header)+4)
	for k, vs := range r.Header {
		ck := http.CanonicalHeaderKey(k)
		if hopHeaders[ck] || ck == "Host" || ck == "Content-Length" || ck == headerInvocationID || inlineHeaders[ck] || connectionOption(r.Header, ck) {
			continue
		}
		h[ck] = vs
	}
	host, proto := originalHost(r)
	h[headerInvocationID] = []string{inv.ID}
	h["X-Forwarded-Host"] = []string{host}
	h["X-Forwarded-Proto"] = []string{proto}
	req.Header = h
	return req, nil
}

// originalHost is the Host the client sent and the scheme it used.
func originalHost(r *funcd.HTTPRequest) (host, proto string) {
	proto = "http"
	rest := r.URL
	if i := strings.Index(rest, "://"); i >= 0 {
		proto, rest = strings.ToLower(rest[:i]), rest[i+3:]
	}
	if vs := r.Header["Host"]; len(vs) > 0 && vs[0] != "" {
		return vs[0], proto
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	return rest, proto
}

func connectionOption(h map[string][]string, name string) bool {
	for _, v := range h["Connection"] {
		for opt := range strings.SplitSeq(v, ",") {
			if opt = strings.TrimSpace(opt); opt != "" && http.CanonicalHeaderKey(opt) == name {
				return true
			}
		}
	}
	return false
}

type invokeOutcome struct {
	resp *rpcpb.InvocationResponse
	err  error
}

// errWorkerFailed cancels a forward when the InvocationResponse failed
// before the response headers arrived.
var errWorkerFailed = errors.New("the language worker failed the invocation")

// invoke sends req over gRPC and forwards inv's request to the worker at
// the same time, on the calling goroutine: the InvocationResponse comes to
// a callback. The first failure of either side, before the response headers
// arrived, cancels the other and fails the invocation. Once the headers
// arrived, the response streams back: its body's end waits for the
// InvocationResponse, and a failed one turns the end into an error, so the
// client gets a cut-off response rather than a complete one.
func (p *httpProxy) invoke(ctx context.Context, w invoker, req *rpcpb.InvocationRequest, inv *funcd.Invocation) (*funcd.Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	hreq, err := p.request(ctx, inv)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	grpcDone := make(chan invokeOutcome, 1)
	if err := w.InvokeAsync(ctx, req, deliver(grpcDone, cancel)); err != nil {
		cancel(nil)
		return nil, err
	}
	resp, err := p.transport.RoundTrip(hreq)
	if err != nil {
		return nil, p.failedForward(ctx, cancel, inv, grpcDone, err)
	}
	select {
	case o := <-grpcDone:
		return p.relayAnswered(inv, resp, o.resp, o.err, cancel)
	default:
		return p.relay(inv, resp, nil, grpcDone, func() { cancel(nil) }), nil
	}
}

// relayAnswered is relay for an invocation whose InvocationResponse (or
// its failure, err) is in hand when the response headers arrive.
func (p *httpProxy) relayAnswered(inv *funcd.Invocation, resp *http.Response, got *rpcpb.InvocationResponse, err error, cancel context.CancelCauseFunc) (*funcd.Result, error) {
	var res *funcd.Result
	if err == nil {
		res, err = result(inv, got, true)
	}
	if err != nil {
		cancel(nil)
		resp.Body.Close()
		return nil, err
	}
	return p.relay(inv, resp, res, nil, func() { cancel(nil) }), nil
}

// deliver is the callback that takes an invocation's InvocationResponse to
// grpcDone; a failure first cancels the forward with errWorkerFailed.
func deliver(grpcDone chan<- invokeOutcome, cancel context.CancelCauseFunc) func(*rpcpb.InvocationResponse, error) {
	return func(resp *rpcpb.InvocationResponse, err error) {
		if err != nil || resp.GetResult().GetStatus() != rpcpb.StatusResult_Success {
			cancel(errWorkerFailed)
		}
		grpcDone <- invokeOutcome{resp, err}
	}
}

// failedForward is the invocation's error once its forward failed with
// err: the worker's own failure when it came first or says more, else the
// forward's.
func (p *httpProxy) failedForward(ctx context.Context, cancel context.CancelCauseFunc, inv *funcd.Invocation, grpcDone <-chan invokeOutcome, err error) error {
	workerFirst := context.Cause(ctx) == errWorkerFailed
	cancel(nil) // ends the gRPC side, if still running
	o := <-grpcDone
	if o.err != nil {
		if workerFirst {
			return o.err
		}
		return p.forwardError(ctx, inv, err)
	}
	if _, rerr := result(inv, o.resp, true); rerr != nil {
		return rerr // the worker's failure says more
	}
	return p.forwardError(ctx, inv, err)
}

// forwardError is a failed forward as the invocation's error.
func (p *httpProxy) forwardError(ctx context.Context, inv *funcd.Invocation, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
	}
	return funcd.Errorf(funcd.EINTERNAL, "function '%s': the request to the language worker's HttpUri %s failed: %w", inv.Function.Name, p.base, err)
}

// relay returns the proxied response as the invocation's HTTP result, with
// the outputs of the InvocationResponse when got holds them, else with
// Result.Deferred to wait for them.
func (p *httpProxy) relay(inv *funcd.Invocation, resp *http.Response, got *funcd.Result, grpcDone chan invokeOutcome, cancel context.CancelFunc) *funcd.Result {
	length := resp.ContentLength
	if inv.HTTP.Method == http.MethodHead && resp.Header.Get("Content-Length") == "" {
		length = -1
	}
	b := &relayBody{body: resp.Body, inv: inv, grpcDone: grpcDone, cancel: cancel, log: p.log}
	res := &funcd.Result{}
	if got != nil {
		b.done, b.res = true, got
		res.Outputs, res.ReturnValue = got.Outputs, got.ReturnValue
	} else {
		res.Deferred = b.outcome
	}
	res.HTTP = &funcd.HTTPResponse{
		Status:        resp.StatusCode,
		Header:        responseHeaders(resp.Header),
		BodyReader:    b,
		ContentLength: length,
	}
	return res
}

// relayBody is the proxied response body. Its end is the end of the
// invocation: EOF comes only once the InvocationResponse arrived and
// succeeded. Close cancels what is still running and waits for it.
type relayBody struct {
	body     io.ReadCloser
	inv      *funcd.Invocation
	grpcDone chan invokeOutcome
	// trailer, for an inline invocation, takes its InvocationResponse
	// from the response's trailer once the body ended; found is false
	// when it comes on the stream.
	trailer func() (resp *rpcpb.InvocationResponse, found bool, err error)
	eof     bool // the body was read to its end
	cancel  context.CancelFunc
	log     *slog.Logger

	mu     sync.Mutex
	done   bool          // the InvocationResponse was taken
	res    *funcd.Result // its outputs
	err    error         // its failure
	closed bool
}

// outcome waits for the InvocationResponse and returns its outputs; it is
// Result.Deferred, called once the body is closed.
func (b *relayBody) outcome() (*funcd.Result, error) {
	err := b.wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.res, err
}

func (b *relayBody) Read(buf []byte) (int, error) {
	n, err := b.body.Read(buf)
	if err == io.EOF {
		b.mu.Lock()
		b.eof = true
		b.mu.Unlock()
		if ferr := b.wait(); ferr != nil {
			return n, ferr
		}
	}
	return n, err
}

// wait takes the InvocationResponse once and returns its failure.
func (b *relayBody) wait() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		b.done = true
		var o invokeOutcome
		found := false
		if b.trailer != nil && b.eof {
			o.resp, found, o.err = b.trailer()
		}
		if !found {
			o = <-b.grpcDone
		}
		err := o.err
		if err == nil {
			b.res, err = result(b.inv, o.resp, true)
		}
		b.err = err
		if err != nil && !b.closed {
			b.log.Error("The language worker failed the invocation after its proxied response began", "function", b.inv.Function.Name, "invocation_id", b.inv.ID, "err", err)
		}
	}
	return b.err
}

func (b *relayBody) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	pending := !b.done
	b.mu.Unlock()
	err := b.body.Close()
	if pending {
		b.cancel() // the client went away or stopped reading: end the invocation
	}
	b.wait()
	b.cancel()
	return err
}

// responseHeaders drops hop-by-hop headers, those the Connection header
// names, and Content-Length (it goes in HTTPResponse.ContentLength).
func responseHeaders(h http.Header) map[string][]string {
	for k := range h {
		if hopHeaders[k] || k == "Content-Length" || connectionOption(h, k) {
			delete(h, k)
		}
	}
	return h
}
