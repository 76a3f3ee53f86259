package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/hosttest"
)

// Bodies beyond the host's buffer budget (FUNCD_MAX_BUFFERED_BYTES) are
// refused with 503: an announced length before any of it is read, a
// chunked body as it grows, a handler's reply as it arrives. Everything
// reserved is given back, and requests that fit keep working.
func TestBufferBudget(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "contract"), hosttest.Options{Env: map[string]string{"FUNCD_MAX_BUFFERED_BYTES": "300000"}})
	if got := s.Host.Buffers().Limit(); got != 300000 {
		t.Fatalf("budget limit = %d, want the setting's 300000", got)
	}
	post := func(n int, chunked bool) int {
		var body io.Reader = strings.NewReader(strings.Repeat("x", n))
		if chunked {
			body = io.MultiReader(body)
		}
		req, _ := http.NewRequest("POST", s.URL+"/api/echo", body)
		res, err := (&http.Client{Timeout: time.Minute}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if got := post(1000, false); got != http.StatusOK {
		t.Errorf("a small body = %d", got)
	}
	if got := post(400000, false); got != http.StatusServiceUnavailable {
		t.Errorf("an announced body over the budget = %d, want 503", got)
	}
	if got := post(400000, true); got != http.StatusServiceUnavailable {
		t.Errorf("a chunked body over the budget = %d, want 503", got)
	}
	if r := do(t, "GET", s.URL+"/api/huge?bytes=400000", ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("a reply over the budget = %d, want 503", r.status)
	}
	wantStatus(t, do(t, "GET", s.URL+"/api/huge?bytes=1000", ""), http.StatusOK)
	eventually(t, 10*time.Second, "every reservation to be released", func() bool { return s.Host.Buffers().InUse() == 0 })
}

// A FUNCD_MAX_BUFFERED_BYTES that is not a positive byte count stops the
// host with an error that names it.
func TestBufferBudgetSettingInvalid(t *testing.T) {
	_, err := hosttest.StartErr(t, newApp(t, "contract"), hosttest.Options{Env: map[string]string{"FUNCD_MAX_BUFFERED_BYTES": "lots"}})
	if err == nil || !strings.Contains(err.Error(), "FUNCD_MAX_BUFFERED_BYTES") || !strings.Contains(err.Error(), `"lots"`) {
		t.Errorf("Start = %v, want an error naming the setting and its value", err)
	}
}

// A JSON-mode reply stays counted in the budget until the client has it: a
// client that does not read its response holds its share, the next large
// reply is refused, and the share comes back when the connection goes.
func TestBufferBudgetHoldsUnreadReplies(t *testing.T) {
	const (
		reply  = 16 << 20 // more than loopback's socket buffers take in
		budget = 72 << 20 // room for one reply while it is decoded (4 times its size), not for a second one then
	)
	s := hosttest.Start(t, newApp(t, "contract"), hosttest.Options{Env: map[string]string{"FUNCD_MAX_BUFFERED_BYTES": strconv.Itoa(budget)}})
	addr := strings.TrimPrefix(s.URL, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "GET /api/huge?bytes=%d HTTP/1.1\r\nHost: %s\r\n\r\n", reply, addr); err != nil {
		t.Fatal(err)
	}
	// Its reply is parsed and being written: it holds its share until the
	// client has read it.
	eventually(t, 30*time.Second, "the unread reply to be counted", func() bool { return s.Host.Buffers().InUse() >= reply })
	time.Sleep(100 * time.Millisecond) // any chance to release it early
	if in := s.Host.Buffers().InUse(); in < reply {
		t.Fatalf("the unread reply holds %d bytes of the budget, want at least %d", in, reply)
	}
	if r := do(t, "GET", s.URL+fmt.Sprintf("/api/huge?bytes=%d", reply), ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("a second large reply while the first is unread = %d, want 503", r.status)
	}
	c.Close()
	eventually(t, 30*time.Second, "the reply's share to come back", func() bool { return s.Host.Buffers().InUse() == 0 })
	wantStatus(t, do(t, "GET", s.URL+fmt.Sprintf("/api/huge?bytes=%d", reply), ""), http.StatusOK)
}

// An HTTP function run through the admin API (POST /admin/functions/{name})
// has no client to write its result to: the result lets go of its share of
// the budget all the same.
func TestBufferBudgetAdminInvoke(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "contract"), hosttest.Options{})
	admin := []string{"x-functions-key", s.MasterKey(t), "Content-Type", "application/json"}
	for range 5 {
		wantStatus(t, do(t, "POST", s.URL+"/admin/functions/echo", `{"input":"hello hello hello"}`, admin...), http.StatusAccepted)
	}
	// Each admin invocation holds the generation until it has ended.
	eventually(t, 10*time.Second, "the admin invocations to end", func() bool { return s.Host.Current().InFlight() == 0 })
	if in := s.Host.Buffers().InUse(); in != 0 {
		t.Errorf("after the admin invocations, %d bytes of the buffer budget are still reserved", in)
	}
}

// A response body made from the reply can be much larger than the reply (a
// deeply nested array, indented): it must fit in the budget all the same.
func TestBufferBudgetMappedBody(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "contract"), hosttest.Options{Env: map[string]string{"FUNCD_MAX_BUFFERED_BYTES": strconv.Itoa(1 << 20)}})
	if r := do(t, "GET", s.URL+"/api/nested?depth=3000", ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("a 6 KB reply indented to megabytes = %d, want 503", r.status)
	}
	wantStatus(t, do(t, "GET", s.URL+"/api/nested?depth=3", ""), http.StatusOK)
	eventually(t, 10*time.Second, "every reservation to be released", func() bool { return s.Host.Buffers().InUse() == 0 })
}
