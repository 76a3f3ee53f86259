package httpworker

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/funcd/funcd"
)

// hopHeaders are connection-level headers (RFC 9110 section 7.6.1) that
// are neither forwarded to the handler nor passed back from it, besides
// those the message's own Connection header names.
var hopHeaders = map[string]bool{
	"Connection":          true,
	"Keep-Alive":          true,
	"Proxy-Connection":    true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
	"Expect":              true,
}

// StreamsRequestBody reports whether an HTTP request to fn goes to the
// handler as it came, its body streamed (funcd.HTTPRequest.BodyReader)
// rather than read whole first.
func (w *Worker) StreamsRequestBody(fn *funcd.Function) bool {
	return w.ch != nil && fn.IsHTTPInAndOut() && (w.ch.Legacy || w.ch.EnableForwardingHttpRequest || w.ch.EnableProxyingHttpRequest)
}

// forward sends inv's request to the handler as it came and returns the
// handler's response as it is (see the package documentation). Both bodies
// stream: the request's from HTTPRequest.BodyReader (or Body), the
// response's in HTTPResponse.BodyReader, which holds the handler's
// connection until it is closed.
func (w *Worker) forward(ctx context.Context, g *generation, inv *funcd.Invocation) (*funcd.Result, error) {
	r := inv.HTTP
	proxy := w.ch.EnableProxyingHttpRequest && !w.ch.Legacy
	target := w.forwardURL(g, inv, proxy)

	var body io.Reader
	length := int64(len(r.Body))
	switch {
	case r.BodyReader != nil && r.ContentLength != 0:
		// Not closed by the transport: it is the client's, and a request
		// that never left is sent again with it, unread.
		body = struct{ io.Reader }{r.BodyReader}
		length = r.ContentLength
	case len(r.Body) > 0:
		body = bytes.NewReader(r.Body)
	default:
		length = 0
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err != nil {
		return nil, funcd.Errorf(funcd.EINTERNAL, "function '%s': cannot build the request to the custom handler: %w", inv.Function.Name, err)
	}
	if body != nil {
		req.ContentLength = length // -1: unknown, sent chunked
	}
	copyRequestHeaders(req.Header, r.Header)
	if body != nil {
		if ct := r.Header["Content-Type"]; len(ct) > 0 {
			req.Header["Content-Type"] = ct
		}
	}
	if !proxy {
		req.Host = originalHost(r)
	}
	w.appendHostHeaders(req.Header, inv.ID)
	if proxy {
		delete(req.Header, http.CanonicalHeaderKey(headerProxyID))
		req.Header[headerProxyID] = []string{inv.ID}
	}

	client := w.direct
	if w.ch.Legacy && !w.ch.EnableForwardingHttpRequest {
		client = w.client // the host's client follows redirects then
	}
	resp, err := w.do(client, req)
	if err != nil {
		return nil, w.sendError(inv, r.Method, target, err)
	}
	length = resp.ContentLength
	if r.Method == http.MethodHead && resp.Header.Get("Content-Length") == "" {
		length = -1
	}
	return &funcd.Result{HTTP: &funcd.HTTPResponse{
		Status:        resp.StatusCode,
		Header:        responseHeaders(resp.Header),
		BodyReader:    resp.Body,
		ContentLength: length,
	}}, nil
}

// forwardURL is the handler URL for a forwarded request: the original path
// (the function name for the legacy section) and query.
func (w *Worker) forwardURL(g *generation, inv *funcd.Invocation, proxy bool) string {
	r := inv.HTTP
	path := r.Path
	if w.ch.Legacy {
		path = "/" + url.PathEscape(inv.Function.Name)
	}
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	target := g.base + path
	if proxy {
		if r.RawQuery != "" {
			target += "?" + r.RawQuery
		}
		return target
	}
	if q := appendQuery(nil, parseQuery(r.RawQuery)); len(q) > 0 {
		target += "?" + string(q)
	}
	return target
}

// copyRequestHeaders copies a client's headers except hop-by-hop ones,
// those its Connection header names, and the body's, which go with the
// body.
func copyRequestHeaders(dst, src http.Header) {
	for k, vs := range src {
		ck := http.CanonicalHeaderKey(k)
		if hopHeaders[ck] || ck == "Content-Length" || ck == "Content-Type" || ck == "Host" || connectionOption(src, ck) {
			continue
		}
		dst[k] = vs
	}
}

// connectionOption reports whether the Connection header of h names the
// (canonical) header name.
func connectionOption(h http.Header, name string) bool {
	for _, v := range h["Connection"] {
		for opt := range strings.SplitSeq(v, ",") {
			if opt = strings.TrimSpace(opt); opt != "" && http.CanonicalHeaderKey(opt) == name {
				return true
			}
		}
	}
	return false
}

// originalHost is the Host the client sent.
func originalHost(r *funcd.HTTPRequest) string {
	if h := firstHeader(r.Header, "Host"); h != "" {
		return h
	}
	return urlHost(r.URL)
}

// responseHeaders returns a handler's response headers without hop-by-hop
// ones, those its Connection header names, and Content-Length (the length
// goes in HTTPResponse.ContentLength). It removes them from h itself,
// which the response it came with no longer needs.
func responseHeaders(h http.Header) map[string][]string {
	if _, ok := h["Connection"]; ok {
		for k := range h {
			if connectionOption(h, k) {
				delete(h, k)
			}
		}
	}
	for k := range h {
		if hopHeaders[k] || k == "Content-Length" {
			delete(h, k)
		}
	}
	return h
}
