package httpworker

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/funcd/funcd"
)

// hopHeaders are connection-level headers that are neither forwarded to the
// handler nor passed back from it.
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

// forward sends inv's request to the handler as it came and returns the
// handler's response as it is (see the package documentation).
func (w *Worker) forward(ctx context.Context, g *generation, inv *funcd.Invocation) (*funcd.Result, error) {
	r := inv.HTTP
	proxy := w.ch.EnableProxyingHttpRequest && !w.ch.Legacy
	target := w.forwardURL(g, inv, proxy)

	var body io.Reader
	if len(r.Body) > 0 {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err != nil {
		return nil, funcd.Errorf(funcd.EINTERNAL, "function '%s': cannot build the request to the custom handler: %w", inv.Function.Name, err)
	}
	copyRequestHeaders(req.Header, r.Header)
	if len(r.Body) > 0 {
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
	defer drainClose(resp)
	respBody, err := readBody(resp, nil)
	if err != nil {
		return nil, w.sendError(inv, r.Method, target, err)
	}
	return &funcd.Result{HTTP: &funcd.HTTPResponse{
		Status: resp.StatusCode,
		Header: responseHeaders(resp.Header),
		Body:   respBody,
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

// copyRequestHeaders copies a client's headers except hop-by-hop ones and
// the body's, which go with the body.
func copyRequestHeaders(dst, src http.Header) {
	for k, vs := range src {
		ck := http.CanonicalHeaderKey(k)
		if hopHeaders[ck] || ck == "Content-Length" || ck == "Content-Type" || ck == "Host" {
			continue
		}
		dst[k] = vs
	}
}

// originalHost is the Host the client sent.
func originalHost(r *funcd.HTTPRequest) string {
	if h := firstHeader(r.Header, "Host"); h != "" {
		return h
	}
	return urlHost(r.URL)
}

// responseHeaders returns a handler's response headers without hop-by-hop
// ones and Content-Length (the body is passed whole). It removes them from
// h itself, which the response it came with no longer needs.
func responseHeaders(h http.Header) map[string][]string {
	for k := range h {
		if hopHeaders[k] || k == "Content-Length" {
			delete(h, k)
		}
	}
	return h
}
