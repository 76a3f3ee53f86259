package httpworker

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/funcd/funcd"
)

// forwardedEcho is what the test handler answers to a forwarded request.
type forwardedEcho struct {
	Method   string              `json:"method"`
	Path     string              `json:"path"`
	RawQuery string              `json:"rawQuery"`
	Host     string              `json:"host"`
	Headers  map[string][]string `json:"headers"`
	Body     string              `json:"body"`
	Length   int64               `json:"length"`
}

func forwardedInvocation(fn *funcd.Function, method, body string, header map[string][]string) *funcd.Invocation {
	inv := httpInvocation(fn, method, "/api/things/7", "a=1&a=2&b=x+y&c=%C3%A9&d=%zz&e=1%2C2", body)
	inv.HTTP.Header = header
	return inv
}

func (e *testEnv) forward(inv *funcd.Invocation) (*funcd.HTTPResponse, forwardedEcho) {
	e.t.Helper()
	res := e.mustInvoke(inv)
	if res.HTTP == nil {
		e.t.Fatal("no HTTP response")
	}
	readStreamed(e.t, res.HTTP)
	var got forwardedEcho
	decodeJSON(e.t, res.HTTP.Body, &got)
	return res.HTTP, got
}

// readStreamed reads and closes a forwarded response's streamed body into
// its Body, checking it against its ContentLength.
func readStreamed(t *testing.T, resp *funcd.HTTPResponse) {
	t.Helper()
	if resp.BodyReader == nil {
		t.Fatal("a forwarded response without a streamed body")
	}
	b, err := io.ReadAll(resp.BodyReader)
	if cerr := resp.BodyReader.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("reading the streamed body: %v", err)
	}
	if resp.ContentLength >= 0 && int64(len(b)) != resp.ContentLength {
		t.Errorf("streamed body of %d bytes, ContentLength %d", len(b), resp.ContentLength)
	}
	resp.Body, resp.BodyReader = b, nil
}

func header(h map[string][]string, k string) string { return strings.Join(h[k], "|") }

func TestForwarding(t *testing.T) {
	e := newTestEnv(t, withHandler(func(ch *funcd.CustomHandler) { ch.EnableForwardingHttpRequest = true })).start()
	fn := httpFunction("fwd", "things/{id}")
	inv := forwardedInvocation(fn, "PUT", "hello", map[string][]string{
		"X-Custom":        {"v1", "v2"},
		"User-Agent":      {"curl/8.0"},
		"Content-Type":    {"text/plain"},
		"Connection":      {"close"},
		"Accept-Encoding": {"gzip"},
	})
	resp, got := e.forward(inv)

	if got.Method != "PUT" || got.Path != "/api/things/7" || got.Host != "localhost:7071" {
		t.Errorf("request line = %s %s (Host %s)", got.Method, got.Path, got.Host)
	}
	if want := "a=1,2&b=x%20y&c=%C3%A9&d=%25zz&e=1,2"; got.RawQuery != want {
		t.Errorf("query = %q, want %q", got.RawQuery, want)
	}
	if got.Body != "hello" || got.Length != 5 {
		t.Errorf("body = %q (length %d)", got.Body, got.Length)
	}
	wantHeaders := map[string]string{
		"X-Custom":                       "v1|v2",
		"User-Agent":                     "curl/8.0 Azure-Functions-Host/" + testHostVersion,
		"Content-Type":                   "text/plain",
		"Accept-Encoding":                "gzip",
		"X-Azure-Functions-Hostversion":  testHostVersion,
		"X-Azure-Functions-Invocationid": inv.ID,
	}
	for k, v := range wantHeaders {
		if h := header(got.Headers, k); h != v {
			t.Errorf("forwarded %s = %q, want %q", k, h, v)
		}
	}
	if _, ok := got.Headers["Connection"]; ok {
		t.Error("hop-by-hop Connection header forwarded")
	}

	if resp.Status != 200 || header(resp.Header, "X-Echo") != "yes" || header(resp.Header, "Set-Cookie") != "a=1|b=2" ||
		header(resp.Header, "Content-Type") != "application/json" {
		t.Errorf("response = %d %v", resp.Status, resp.Header)
	}
	if _, ok := resp.Header["Content-Length"]; ok {
		t.Error("response keeps Content-Length")
	}
}

// Headers the client's Connection header names are for the hop to funcd,
// and those the handler's names are for the hop back: neither passes
// (RFC 9110 section 7.6.1), nor do the fixed hop-by-hop headers.
func TestForwardingDropsConnectionOptions(t *testing.T) {
	e := newTestEnv(t, withHandler(func(ch *funcd.CustomHandler) { ch.EnableForwardingHttpRequest = true })).start()
	fn := httpFunction("fwd", "")
	resp, got := e.forward(forwardedInvocation(fn, "GET", "", map[string][]string{
		"Connection":        {"X-Hop-A, x-hop-b", "Upgrade"},
		"X-Hop-A":           {"1"},
		"X-Hop-B":           {"2"},
		"Keep-Alive":        {"timeout=5"},
		"Te":                {"trailers"},
		"Upgrade":           {"websocket"},
		"Proxy-Connection":  {"keep-alive"},
		"X-End-To-End":      {"3"},
		"X-Test-Hop":        {"1"},
		"Transfer-Encoding": {"chunked"},
	}))
	for _, h := range []string{"Connection", "X-Hop-A", "X-Hop-B", "Keep-Alive", "Te", "Upgrade", "Proxy-Connection", "Transfer-Encoding"} {
		if v, ok := got.Headers[h]; ok {
			t.Errorf("the handler got %s: %q", h, v)
		}
	}
	if header(got.Headers, "X-End-To-End") != "3" {
		t.Errorf("X-End-To-End = %q, want it forwarded", header(got.Headers, "X-End-To-End"))
	}
	for _, h := range []string{"Connection", "X-Private", "Keep-Alive"} {
		if v, ok := resp.Header[h]; ok {
			t.Errorf("the response kept %s: %q", h, v)
		}
	}
	if header(resp.Header, "X-Echo") != "yes" {
		t.Errorf("response headers = %v", resp.Header)
	}
}

// HEAD gets the handler's status and headers, Content-Length included, and
// no body.
func TestForwardingHead(t *testing.T) {
	e := newTestEnv(t, withHandler(func(ch *funcd.CustomHandler) { ch.EnableForwardingHttpRequest = true })).start()
	fn := httpFunction("fwd", "")
	res := e.mustInvoke(forwardedInvocation(fn, "HEAD", "", nil))
	resp := res.HTTP
	if resp == nil || resp.BodyReader == nil {
		t.Fatalf("HEAD = %+v, want a response", resp)
	}
	if resp.Status != 200 || header(resp.Header, "X-Echo") != "yes" || resp.ContentLength <= 0 {
		t.Errorf("HEAD = %d %v, length %d", resp.Status, resp.Header, resp.ContentLength)
	}
	b, err := io.ReadAll(resp.BodyReader)
	_ = resp.BodyReader.Close()
	if err != nil || len(b) != 0 {
		t.Errorf("HEAD body = %q, %v", b, err)
	}
}

// A streamed request body reaches the handler, with its length when the
// client announced one and chunked when not.
func TestForwardingStreamsTheRequestBody(t *testing.T) {
	e := newTestEnv(t, withHandler(func(ch *funcd.CustomHandler) { ch.EnableForwardingHttpRequest = true })).start()
	fn := httpFunction("fwd", "")
	if !e.w.StreamsRequestBody(fn) {
		t.Fatal("StreamsRequestBody = false in forwarding mode")
	}
	body := strings.Repeat("streamed ", 100000)
	for _, length := range []int64{int64(len(body)), -1} {
		inv := forwardedInvocation(fn, "POST", "", map[string][]string{"Content-Type": {"text/plain"}})
		inv.HTTP.BodyReader = struct{ io.Reader }{strings.NewReader(body)}
		inv.HTTP.ContentLength = length
		_, got := e.forward(inv)
		if got.Body != body || got.Length != length || header(got.Headers, "Content-Type") != "text/plain" {
			t.Errorf("length %d: the handler got %d bytes (length %d, Content-Type %q)", length, len(got.Body), got.Length, header(got.Headers, "Content-Type"))
		}
	}
}

func TestForwardingPassesStatusesThrough(t *testing.T) {
	e := newTestEnv(t, withHandler(func(ch *funcd.CustomHandler) { ch.EnableForwardingHttpRequest = true })).start()
	fn := httpFunction("fwd", "")
	resp, _ := e.forward(forwardedInvocation(fn, "POST", "", map[string][]string{"X-Test-Status": {"418"}}))
	if resp.Status != 418 {
		t.Errorf("status = %d, want 418", resp.Status)
	}
	resp, _ = e.forward(forwardedInvocation(fn, "GET", "", map[string][]string{
		"X-Test-Status": {"302"}, "X-Test-Redirect": {"/elsewhere"}}))
	if resp.Status != 302 || header(resp.Header, "Location") != "/elsewhere" {
		t.Errorf("redirect = %d %v, want it passed through", resp.Status, resp.Header)
	}
	// No body: no Content-Type even when the client sent one.
	_, got := e.forward(forwardedInvocation(fn, "GET", "", map[string][]string{"Content-Type": {"text/plain"}}))
	if _, ok := got.Headers["Content-Type"]; ok || got.Length != 0 {
		t.Errorf("bodiless request has Content-Type %q, length %d", got.Headers["Content-Type"], got.Length)
	}
}

func TestForwardingOnlyHTTPInAndOut(t *testing.T) {
	e := newTestEnv(t, withHandler(func(ch *funcd.CustomHandler) { ch.EnableForwardingHttpRequest = true })).start()
	// An extra output binding: the JSON protocol.
	fn := httpFunction("echo", "", funcd.Binding{Name: "msg", Type: "queue", Direction: funcd.Out})
	got := e.echo(httpInvocation(fn, "GET", "/api/echo", "", ""))
	if got.Method != "POST" || got.Path != "/echo" || !strings.HasPrefix(got.Raw, `{"Data":`) {
		t.Errorf("request = %s %s %.40s, want the JSON protocol", got.Method, got.Path, got.Raw)
	}
}

func TestProxying(t *testing.T) {
	e := newTestEnv(t, withHandler(func(ch *funcd.CustomHandler) { ch.EnableProxyingHttpRequest = true })).start()
	fn := httpFunction("fwd", "")
	inv := forwardedInvocation(fn, "DELETE", "", map[string][]string{"X-Ms-Invocation-Id": {"spoofed"}})
	_, got := e.forward(inv)
	if want := "a=1&a=2&b=x+y&c=%C3%A9&d=%zz&e=1%2C2"; got.RawQuery != want {
		t.Errorf("query = %q, want the raw %q", got.RawQuery, want)
	}
	if header(got.Headers, "X-Ms-Invocation-Id") != inv.ID {
		t.Errorf("x-ms-invocation-id = %q, want %q", got.Headers["X-Ms-Invocation-Id"], inv.ID)
	}
	if !strings.HasPrefix(got.Host, "127.0.0.1:") {
		t.Errorf("Host = %q, want the handler's", got.Host)
	}
	if got.Method != "DELETE" || got.Path != "/api/things/7" {
		t.Errorf("request = %s %s", got.Method, got.Path)
	}
}

func TestLegacyHTTPWorker(t *testing.T) {
	e := newTestEnv(t, withHandler(func(ch *funcd.CustomHandler) { ch.Legacy = true })).start()
	fn := httpFunction("fwd", "things/{id}")
	resp, got := e.forward(forwardedInvocation(fn, "PATCH", "{}", map[string][]string{"Content-Type": {"application/json"}}))
	if got.Method != "PATCH" || got.Path != "/fwd" || got.RawQuery != "a=1,2&b=x%20y&c=%C3%A9&d=%25zz&e=1,2" {
		t.Errorf("request = %s %s?%s, want the function name as path", got.Method, got.Path, got.RawQuery)
	}
	if resp.Status != 200 || got.Body != "{}" {
		t.Errorf("response %d, body %q", resp.Status, got.Body)
	}
	// Non-HTTP functions keep the JSON protocol.
	qfn := &funcd.Function{Name: "echo", Bindings: []funcd.Binding{{Name: "spec", Type: "queueTrigger", Direction: funcd.In}}}
	res := e.mustInvoke(&funcd.Invocation{ID: nextID(), Function: qfn, Trigger: funcd.JSONValue([]byte(`{}`))})
	var echo echoed
	decodeJSON(t, res.ReturnValue.Data, &echo)
	if echo.Path != "/echo" || echo.Method != "POST" {
		t.Errorf("queue function request = %s %s", echo.Method, echo.Path)
	}
}

func TestQueryRoundTrip(t *testing.T) {
	params := parseQuery("a=1&&A=2&b&=x&c=%41%zz+&d=%FF")
	var keys []string
	for _, p := range params {
		keys = append(keys, p.key+"="+strings.Join(p.values, "|"))
	}
	want := []string{"a=1|2", "b=", "=x", "c=A%zz ", "d=%FF"}
	if !slices.Equal(keys, want) {
		t.Errorf("parseQuery = %q, want %q", keys, want)
	}
	if got := string(appendQuery(nil, parseQuery("x=a b&y=é&z=!$()*,-.;@_~'+:/?"))); got != "x=a%20b&y=%C3%A9&z=!$()*,-.;@_~%27%20%3A%2F%3F" {
		t.Errorf("appendQuery = %q", got)
	}
}
