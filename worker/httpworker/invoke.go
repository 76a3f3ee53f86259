package httpworker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker"
)

// Header names and values of the protocol (HttpWorkerConstants).
const (
	headerHostVersion  = "X-Azure-Functions-HostVersion"
	headerInvocationID = "X-Azure-Functions-InvocationId"
	headerProxyID      = "x-ms-invocation-id"
)

// jsonContentType is what Json.NET's media type formatter sends.
var jsonContentType = []string{"application/json; charset=utf-8"}

// Invoke runs one invocation on the handler, waiting (within ctx) for the
// handler to be ready first. ctx carries the function timeout: when its
// deadline passes, Invoke fails with a funcd.Error of code ETIMEOUT and the
// handler is restarted. A reply the host cannot use is a funcd.Error of
// code EINTERNAL. While the handler is down after a failure, an HTTP
// invocation fails at once with code EUNAVAILABLE (the caller's 503 with
// Retry-After); any other waits for the replacement when that starts
// within worker.DefaultRestartWait, so that a queue message is not failed,
// and its dequeue count spent, for a handler that is being replaced. Once
// restarts are exhausted and after Shutdown, Invoke fails at once with code
// EUNAVAILABLE.
//
// An invocation reaches a handler at most once. A request that could not
// even connect (the dial failed: not one byte was sent) to a handler that
// has just exited is sent again, once, to its replacement; a request that
// failed after any of it was written is never sent again, and the
// invocation fails with code EINTERNAL (the caller's 500).
func (w *Worker) Invoke(ctx context.Context, inv *funcd.Invocation) (*funcd.Result, error) {
	if inv == nil || inv.Function == nil {
		return nil, funcd.Errorf(funcd.EINVALID, "invocation without a function")
	}
	started := w.clock.Now()
	within := worker.DefaultRestartWait
	if inv.HTTP != nil {
		within = 0
	}
	for attempt := 0; ; attempt++ {
		p, err := w.sup.WaitRestart(ctx, within)
		if err != nil {
			return nil, w.waitError(ctx, inv, started, err)
		}
		w.calls.begin(inv)
		res, err := w.call(ctx, generationOf(p), inv)
		w.calls.end(inv)
		switch {
		case err == nil:
			return res, nil
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return nil, w.timedOut(ctx, inv, started, p, err)
		case attempt == 0 && notConnected(err) && w.exits(ctx, p):
			continue
		}
		return nil, redactKeys(inv, err)
	}
}

// redactKeys keeps the keys inv's request presented out of an error that
// gets logged: a handler's reply quoted in it may echo them.
func redactKeys(inv *funcd.Invocation, err error) error {
	if inv.HTTP == nil {
		return err
	}
	msg := err.Error()
	redacted := inv.HTTP.RedactKeys(msg)
	if redacted == msg {
		return err
	}
	if e, ok := err.(*funcd.Error); ok {
		c := *e
		c.Message = redacted
		return &c
	}
	return &funcd.Error{Code: funcd.ErrorCode(err), Message: redacted, Err: err}
}

// call sends inv to the handler of generation g.
func (w *Worker) call(ctx context.Context, g *generation, inv *funcd.Invocation) (*funcd.Result, error) {
	if w.forwards(inv) {
		return w.forward(ctx, g, inv)
	}
	return w.invokeDefault(ctx, g, inv)
}

// notConnected reports whether err means that not one byte of the request
// was sent: the dial failed. Any other failure may have come after the
// handler received the request.
func notConnected(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// exitWait bounds how long a refused connection waits to see the handler
// exit.
const exitWait = time.Second

// exits reports whether p exits soon, as a handler that refuses connections
// after being ready usually does (it crashed or is stopping).
func (w *Worker) exits(ctx context.Context, p *worker.Process) bool {
	t := w.clock.NewTimer(exitWait)
	defer t.Stop()
	select {
	case <-p.Done():
		return true
	case <-t.C():
	case <-ctx.Done():
	}
	return false
}

// forwards reports whether inv's request goes to the handler as it came.
func (w *Worker) forwards(inv *funcd.Invocation) bool {
	return inv.HTTP != nil && w.StreamsRequestBody(inv.Function)
}

// invokeDefault runs inv with the JSON protocol.
func (w *Worker) invokeDefault(ctx context.Context, g *generation, inv *funcd.Invocation) (*funcd.Result, error) {
	pp := payloadPool.Get().(*[]byte)
	payload, pieces, err := buildPayload((*pp)[:0], inv, payloadEnv{now: w.clock.Now(), guid: newGUID()}, true)
	defer func() {
		// The transport has written the payload, and sent it again if it
		// had to, by the time the response has come: it can be reused.
		if cap(payload) <= maxPooledPayload {
			*pp = payload[:0]
			payloadPool.Put(pp)
		}
	}()
	if err != nil {
		return nil, err
	}
	held := int64(cap(payload))
	if !w.cfg.Buffers.Reserve(held) {
		return nil, w.overBudget(inv, "its payload", held)
	}
	defer w.cfg.Buffers.Release(held)
	target := g.base + "/" + url.PathEscape(inv.Function.Name)
	var payloadBody io.Reader = bytes.NewReader(payload)
	var streamed *payloadReader
	if len(pieces) > 0 {
		// Large values of the request body are encoded as they are sent.
		streamed = newPayloadReader(payload, pieces)
		payloadBody = streamed
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, payloadBody)
	if err != nil {
		return nil, funcd.Errorf(funcd.EINTERNAL, "function '%s': cannot build the request to the custom handler: %w", inv.Function.Name, err)
	}
	if streamed != nil {
		req.ContentLength = streamed.size
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(streamed.again()), nil }
	}
	req.Header["Content-Type"] = jsonContentType
	w.setHostHeaders(req.Header, inv.ID)

	resp, err := w.do(w.client, req)
	if err != nil {
		return nil, w.sendError(inv, "POST", target, err)
	}
	defer drainClose(resp)
	buf := getBuffer()
	defer putBuffer(buf)
	br := &budgetReader{r: resp.Body, budget: w.cfg.Buffers}
	defer br.release()
	// While it is mapped, the reply is held several times over (see
	// replyCopies): they all count.
	if n := resp.ContentLength; n > 0 && n <= maxResponseBytes {
		if !br.reserve(replyCopies * n) {
			return nil, w.overBudget(inv, "the handler's reply", n)
		}
	}
	resp.Body = br
	body, err := readBody(resp, buf)
	if errors.Is(err, funcd.ErrOverBudget) {
		return nil, w.overBudget(inv, "the handler's reply", br.n)
	}
	if err != nil {
		return nil, w.sendError(inv, "POST", target, err)
	}
	if more := replyCopies*int64(len(body)) - br.reserved; more > 0 && !br.reserve(more) {
		return nil, w.overBudget(inv, "the handler's reply", int64(len(body)))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, w.statusError(inv, resp, body)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		// An empty 2xx reply is a run without outputs, logs or return
		// value. The real host reads it as a null result and never
		// completes the invocation (it waits until functionTimeout), which
		// no app wants; handlers written for it, such as queue handlers
		// that only print, answer this way.
		if _, warned := w.emptyWarned.LoadOrStore(inv.Function.Name, true); !warned {
			w.log.Warn(fmt.Sprintf("The custom handler answered function '%s' with %d and an empty body: the function ran and bound no outputs. Answer {} to say so; the Azure Functions host would wait for this invocation until functionTimeout.", inv.Function.Name, resp.StatusCode),
				"function", inv.Function.Name)
		}
		body = []byte("{}")
	}
	r, logs, err := parseReply(body)
	if err != nil {
		return nil, w.invalidReply(inv, resp, body, err)
	}
	for _, l := range logs {
		w.log.Info(l, "invocation_id", inv.ID, "function", inv.Function.Name)
	}
	res, err := mapReply(inv.Function, r, logs, inv.HTTP != nil)
	if err != nil {
		return nil, w.mappingError(inv, err)
	}
	if res.HTTP != nil && len(res.HTTP.Body) > 0 {
		// The body is held until it has been written to the client, which
		// may read it slowly: it keeps the reply's reservation until then.
		// A body made from the reply (an object indented, say) can be
		// larger than the reply itself: it must fit all the same.
		n := int64(len(res.HTTP.Body))
		if n > br.reserved && !br.reserve(n-br.reserved) {
			return nil, w.overBudget(inv, "the response body made from the handler's reply", n)
		}
		br.keep(n)
		res.HTTP.Release = br.handOff()
	}
	return res, nil
}

// setHostHeaders sets the three headers the host adds (AddHeaders).
func (w *Worker) setHostHeaders(h http.Header, invocationID string) {
	h[headerHostVersion] = w.hostVersion
	h[headerInvocationID] = []string{invocationID}
	h["User-Agent"] = []string{w.userAgent}
}

// appendHostHeaders adds the three headers to a forwarded request's own,
// as HttpHeaders.Add and UserAgent.ParseAdd do: after any value already
// there.
func (w *Worker) appendHostHeaders(h http.Header, invocationID string) {
	appendHeader(h, headerHostVersion, w.hostVersion[0], ", ")
	appendHeader(h, headerInvocationID, invocationID, ", ")
	appendHeader(h, "User-Agent", w.userAgent, " ")
}

func appendHeader(h http.Header, name, value, sep string) {
	key := name
	if _, ok := h[key]; !ok {
		key = http.CanonicalHeaderKey(name)
	}
	if old := h[key]; len(old) > 0 {
		h[key] = []string{strings.Join(old, sep) + sep + value}
		return
	}
	h[name] = []string{value}
}

// timeoutSpan is the function timeout as the message reports it: the
// configured functionTimeout, else the deadline the caller set.
func (w *Worker) timeoutSpan(ctx context.Context, inv *funcd.Invocation, started time.Time) time.Duration {
	if w.cfg.App != nil && w.cfg.App.Host.FunctionTimeout > 0 {
		return w.cfg.App.Host.FunctionTimeout
	}
	from := inv.Started
	if from.IsZero() {
		from = started
	}
	if d, ok := ctx.Deadline(); ok {
		return d.Sub(from).Round(time.Millisecond)
	}
	return 0
}

// timedOut turns a deadline into the host's timeout error and restarts the
// handler that ran the invocation (WebScriptHostExceptionHandler).
func (w *Worker) timedOut(ctx context.Context, inv *funcd.Invocation, started time.Time, p *worker.Process, cause error) error {
	w.log.Warn(fmt.Sprintf("A function timeout has occurred. Restarting worker process executing invocationId '%s'.", inv.ID),
		"invocation_id", inv.ID, "function", inv.Function.Name)
	if w.sup.Current() == p {
		w.sup.Restart("function timeout in invocation " + inv.ID)
	}
	return w.timeoutError(ctx, inv, started, cause)
}

func (w *Worker) timeoutError(ctx context.Context, inv *funcd.Invocation, started time.Time, cause error) error {
	return funcd.TimeoutError(w.timeoutSpan(ctx, inv, started), inv.Function.Name, inv.ID, cause)
}

// waitError explains why no handler was ready for inv.
func (w *Worker) waitError(ctx context.Context, inv *funcd.Invocation, started time.Time, err error) error {
	var limit *worker.RestartLimitError
	var down *worker.DownError
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return w.timeoutError(ctx, inv, started, fmt.Errorf("the custom handler was not ready: %w", err))
	case ctx.Err() != nil:
		return funcd.Errorf(funcd.EUNAVAILABLE, "function '%s' was cancelled while the custom handler started: %w", inv.Function.Name, err)
	case errors.As(err, &limit):
		return w.fatalError(err)
	case errors.As(err, &down):
		return funcd.Errorf(funcd.EUNAVAILABLE, "function '%s' cannot run: the custom handler %s is restarting: %w", inv.Function.Name, w.exe, err)
	case errors.Is(err, worker.ErrStopped):
		return funcd.Errorf(funcd.EUNAVAILABLE, "function '%s' cannot run: the custom handler is shut down: %w", inv.Function.Name, err)
	}
	return funcd.Errorf(funcd.EUNAVAILABLE, "function '%s' cannot run: %w", inv.Function.Name, err)
}

// sendError reports a request the handler did not answer. The URL, which
// may carry a key in its query, is redacted.
func (w *Worker) sendError(inv *funcd.Invocation, method, target string, err error) error {
	return funcd.Errorf(funcd.EINTERNAL, "function '%s': the custom handler %s did not answer %s %s: %w",
		inv.Function.Name, w.exe, method, funcd.RedactURL(target), funcd.RedactError(err))
}

// statusError is a default-protocol reply without a 2xx status
// (EnsureSuccessStatusCode).
func (w *Worker) statusError(inv *funcd.Invocation, resp *http.Response, body []byte) error {
	return funcd.Errorf(funcd.EINTERNAL,
		"Response status code does not indicate success: %d (%s). Function '%s': the custom handler %s must answer POST /%s with a 2xx status and a JSON object {\"Outputs\":{...},\"Logs\":[...],\"ReturnValue\":...}; it answered: %s",
		resp.StatusCode, reasonPhrase(resp.StatusCode), inv.Function.Name, w.exe, inv.Function.Name, snippet(body))
}

// invalidReply is a 2xx reply that is not the JSON the protocol wants.
func (w *Worker) invalidReply(inv *funcd.Invocation, resp *http.Response, body []byte, err error) error {
	return funcd.Errorf(funcd.EINTERNAL,
		"Invalid HttpResponseMessage: function '%s': the custom handler %s answered %d (%s) with Content-Type %q, and the body is not the JSON object {\"Outputs\":{...},\"Logs\":[...],\"ReturnValue\":...} the host expects (%v): %s",
		inv.Function.Name, w.exe, resp.StatusCode, reasonPhrase(resp.StatusCode), resp.Header.Get("Content-Type"), err, snippet(body))
}

// mappingError is a reply whose values cannot be bound.
func (w *Worker) mappingError(inv *funcd.Invocation, err error) error {
	var re *replyError
	if !errors.As(err, &re) {
		return funcd.Errorf(funcd.EINTERNAL, "function '%s': %w", inv.Function.Name, err)
	}
	detail := ""
	if re.detail != "" {
		detail = " (" + re.detail + ")"
	}
	return &funcd.Error{
		Code: funcd.EINTERNAL,
		Message: fmt.Sprintf("%s. Function '%s': the reply of the custom handler %s cannot be used%s; an http output must be an object {\"statusCode\":...,\"headers\":{...},\"body\":...}",
			strings.TrimSuffix(re.msg, "."), inv.Function.Name, w.exe, detail),
		Err: err,
	}
}

func reasonPhrase(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Unknown"
}

// snippetBytes bounds the part of a body quoted in an error.
const snippetBytes = 512

func snippet(body []byte) string {
	if len(body) == 0 {
		return "(empty body)"
	}
	s := body
	if len(s) > snippetBytes {
		s = s[:snippetBytes]
	}
	out := strings.ToValidUTF8(string(s), "\ufffd")
	if !utf8.Valid(s) && len(s) == snippetBytes {
		out = strings.TrimRight(out, "\ufffd")
	}
	if len(body) > snippetBytes {
		out += fmt.Sprintf("... (%d more bytes)", len(body)-snippetBytes)
	}
	return fmt.Sprintf("%q", out)
}

// overBudget reports an invocation whose payload or reply does not fit in
// the host's buffer budget.
func (w *Worker) overBudget(inv *funcd.Invocation, what string, n int64) error {
	return &funcd.Error{
		Code: funcd.EUNAVAILABLE,
		Message: fmt.Sprintf("function '%s': %s (%d bytes) does not fit in the host's buffer budget (%d of %d bytes in use)",
			inv.Function.Name, what, n, w.cfg.Buffers.InUse(), w.cfg.Buffers.Limit()),
		Err: funcd.ErrOverBudget,
	}
}

// budgetReader reads a body within the host's buffer budget: what it
// reads beyond what was reserved up front is reserved as it comes, in
// steps, and a read that does not fit fails with funcd.ErrOverBudget.
type budgetReader struct {
	r        io.ReadCloser
	budget   *funcd.BufferBudget
	n        int64 // bytes read
	reserved int64
}

// replyCopies is how many times a JSON-mode reply is held at once while it
// is mapped to a response: as it came, as the output's raw JSON, as the
// body's decoded text, and as the body's bytes. A reply reserves that much
// of the buffer budget until it is mapped, then only its body, until the
// client has it.
const replyCopies = 4

// budgetStep is how much a budgetReader reserves at a time.
const budgetStep = 64 << 10

func (b *budgetReader) reserve(n int64) bool {
	if !b.budget.Reserve(n) {
		return false
	}
	b.reserved += n
	return true
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.budget != nil && b.n > b.reserved && !b.reserve(max(b.n-b.reserved, budgetStep)) {
		return n, funcd.ErrOverBudget
	}
	return n, err
}

func (b *budgetReader) Close() error { return b.r.Close() }

// keep releases what the reader reserved beyond n bytes.
func (b *budgetReader) keep(n int64) {
	if extra := b.reserved - n; extra > 0 {
		b.budget.Release(extra)
		b.reserved = n
	}
}

// handOff hands what the reader reserved over to the returned function,
// which releases it once (later calls do nothing). The reader then holds
// nothing, as after release.
func (b *budgetReader) handOff() func() {
	budget, n := b.budget, b.reserved
	b.reserved, b.budget = 0, nil
	var once sync.Once
	return func() { once.Do(func() { budget.Release(n) }) }
}

// release returns what the reader reserved. Reads after it (draining the
// connection for reuse) hold nothing and reserve nothing.
func (b *budgetReader) release() {
	b.budget.Release(b.reserved)
	b.reserved = 0
	b.budget = nil
}

// readBody reads a response body, up to maxResponseBytes, into buf, or
// into a slice of its own when buf is nil. A body of announced length is
// read in one piece of that size; none (nil) for an empty one.
func readBody(resp *http.Response, buf *bytes.Buffer) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= maxResponseBytes {
		if n == 0 {
			return nil, nil
		}
		var b []byte
		if buf != nil {
			buf.Grow(int(n))
			b = buf.AvailableBuffer()[:n]
		} else {
			b = make([]byte, n)
		}
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes+1)); err != nil {
		return nil, err
	}
	if buf.Len() > maxResponseBytes {
		return nil, fmt.Errorf("the response body exceeds %d bytes", maxResponseBytes)
	}
	return buf.Bytes(), nil
}

// drainClose reads a little of what is left of a body so the connection
// can be reused, and closes it.
func drainClose(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
}

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// payloadPool holds invocation payload buffers; one larger than
// maxPooledPayload is left to the garbage collector.
var payloadPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledPayload = 1 << 20

func getBuffer() *bytes.Buffer { return bufferPool.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // let big buffers go
	}
	b.Reset()
	bufferPool.Put(b)
}
