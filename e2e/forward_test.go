package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/hosttest"
)

// HEAD in forwarding mode gets the handler's status and headers, its
// Content-Length included, and no body.
func TestForwardingHead(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "forward"), hosttest.Options{})
	get := do(t, "GET", s.URL+"/api/fwd/x", "")
	wantStatus(t, get, http.StatusOK)
	head := do(t, "HEAD", s.URL+"/api/fwd/x", "")
	wantStatus(t, head, http.StatusOK)
	if head.body != "" {
		t.Errorf("HEAD body = %q", head.body)
	}
	// The handler echoes the method: its HEAD answer is one byte longer.
	if got, want := head.header.Get("Content-Length"), strconv.Itoa(len(get.body)+1); got != want {
		t.Errorf("HEAD Content-Length = %q, want %s", got, want)
	}
	if head.header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD headers = %v", head.header)
	}
}

// Hop-by-hop headers, and the headers a Connection header names, stay on
// their hop, both ways (RFC 9110 section 7.6.1).
func TestForwardingHopByHopHeaders(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "forward"), hosttest.Options{})
	r := do(t, "GET", s.URL+"/api/fwd/headers", "",
		"Connection", "X-Secret", "X-Secret", "for funcd only", "Keep-Alive", "timeout=5", "X-Test", "end to end")
	wantStatus(t, r, http.StatusOK)
	var got map[string][]string
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	for _, h := range []string{"Connection", "X-Secret", "Keep-Alive"} {
		if v, ok := got[h]; ok {
			t.Errorf("the handler got %s: %q", h, v)
		}
	}
	if strings.Join(got["X-Test"], ",") != "end to end" {
		t.Errorf("X-Test = %q, want it forwarded", got["X-Test"])
	}
	for _, h := range []string{"X-Private", "Keep-Alive"} {
		if v := r.header.Get(h); v != "" {
			t.Errorf("the client got the handler's %s: %q", h, v)
		}
	}
}

// A handler's response streams through to the client whole, and a body
// without a length comes chunked.
func TestForwardingStreamsTheResponse(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "forward"), hosttest.Options{})
	const size = 8<<20 + 123
	r := do(t, "GET", s.URL+"/api/fwd/stream?bytes="+strconv.Itoa(size), "")
	wantStatus(t, r, http.StatusOK)
	if len(r.body) != size || r.body[:10] != "0123456789" {
		t.Errorf("body of %d bytes, want %d", len(r.body), size)
	}
	if r.header.Get("Content-Length") != "" {
		t.Errorf("Content-Length = %q for a body the handler streamed without one", r.header.Get("Content-Length"))
	}
}

// A client that goes away in the middle of a streamed response stops the
// copy: the handler's connection is closed and the request no longer
// counts as in flight.
func TestForwardingClientLeavesAStream(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "forward"), hosttest.Options{})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get(s.URL + "/api/fwd/endless")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, res.Body, 1<<20); err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	eventually(t, 30*time.Second, "the handler's stream to be cut", func() bool {
		r := do(t, "GET", s.URL+"/api/fwd/endlessstats", "")
		return r.body == "1 1"
	})
	eventually(t, 10*time.Second, "no request in flight", func() bool { return s.Host.Current().InFlight() == 0 })
}

// The body limit holds for a streamed request body: an announced length
// over it is refused before the body is read, a chunked body is cut at
// the limit; both 413.
func TestForwardingBodyLimit(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "forward"), hosttest.Options{Env: map[string]string{"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "100000"}})
	post := func(n int, chunked bool) response {
		var body io.Reader = strings.NewReader(strings.Repeat("x", n))
		if chunked {
			body = io.MultiReader(body) // no length: sent chunked
		}
		req, _ := http.NewRequest("POST", s.URL+"/api/fwd/length", body)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return response{status: res.StatusCode, body: string(b)}
	}
	for _, chunked := range []bool{false, true} {
		name := fmt.Sprintf("chunked %t", chunked)
		if r := post(100000, chunked); r.status != http.StatusOK || r.body != "100000" {
			t.Errorf("%s: body at the limit = %d %q", name, r.status, r.body)
		}
		if r := post(300000, chunked); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: body over the limit = %d %q, want 413", name, r.status, r.body)
		}
	}
}

// A streamed request body below Kestrel's minimum rate is 408, as a
// buffered one is.
func TestForwardingSlowRequestBody(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "forward"), hosttest.Options{})
	head := "POST /api/fwd/length HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("x", 100)
	_, res := rawExchange(t, s, head, nil)
	if res.StatusCode != http.StatusRequestTimeout {
		t.Errorf("stalled body = %d, want 408", res.StatusCode)
	}
	eventually(t, 10*time.Second, "the stalled request to end", func() bool { return s.Host.Current().InFlight() == 0 })
}
