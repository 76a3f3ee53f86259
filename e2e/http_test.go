package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/hosttest"
)

func TestHomepage(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	r := do(t, "GET", s.URL+"/", "")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "Your Functions 4.0 app is up and running") {
		t.Errorf("homepage body = %q", r.body)
	}

	off := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{Env: map[string]string{"AzureWebJobsDisableHomepage": "true"}})
	wantStatus(t, do(t, "GET", off.URL+"/", ""), http.StatusNoContent)
}

// TestPayload checks the JSON a custom handler receives for an HTTP trigger.
func TestPayload(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	r := do(t, "POST", s.URL+"/api/echo/42?name=Ada&tag=a&tag=b", `{"greeting":"hi","n":3}`,
		"Content-Type", "application/json", "X-Test", "yes")
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	if r.header.Get("X-Invocation-Id") == "" {
		t.Error("the handler got no X-Azure-Functions-InvocationId header")
	}
	var p struct {
		Data struct {
			Req struct {
				URL        string `json:"Url"`
				Method     string
				Query      map[string]string
				Headers    map[string][]string
				Params     map[string]*string
				Body       string
				Identities []any
			} `json:"req"`
		}
		Metadata map[string]json.RawMessage
	}
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatalf("payload is not JSON: %v\n%s", err, r.body)
	}
	req := p.Data.Req
	if req.Method != "POST" || !strings.HasSuffix(req.URL, "/api/echo/42?name=Ada&tag=a&tag=b") || !strings.HasPrefix(req.URL, "http://127.0.0.1:") {
		t.Errorf("Method/Url = %q %q", req.Method, req.URL)
	}
	if req.Query["name"] != "Ada" || req.Query["tag"] != "a,b" {
		t.Errorf("Query = %v", req.Query)
	}
	if got := req.Headers["X-Test"]; len(got) != 1 || got[0] != "yes" {
		t.Errorf("Headers[X-Test] = %v", got)
	}
	if id := req.Params["id"]; id == nil || *id != "42" {
		t.Errorf("Params = %v", req.Params)
	}
	if req.Body != `{"greeting":"hi","n":3}` {
		t.Errorf("Body = %q", req.Body)
	}
	for _, k := range []string{"name", "id", "Query", "Headers", "greeting", "sys"} {
		if _, ok := p.Metadata[k]; !ok {
			t.Errorf("Metadata has no %q: %s", k, r.body)
		}
	}
	if _, ok := p.Metadata["code"]; ok {
		t.Error("Metadata must not carry the code query parameter")
	}
	var sys struct{ MethodName string }
	_ = json.Unmarshal(p.Metadata["sys"], &sys)
	if sys.MethodName != "echo" {
		t.Errorf("sys.MethodName = %q", sys.MethodName)
	}

	// An optional route parameter the URL leaves out is null.
	r = do(t, "GET", s.URL+"/api/echo", "")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `"Params":{"id":null}`) {
		t.Errorf("missing optional parameter should be null: %s", r.body)
	}
}

func TestRouting(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	cases := []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/echo/7", 200},
		{"GET", "/API/ECHO/7", 200},             // literals are case-insensitive
		{"PUT", "/api/echo/7", 404},             // a method the function doesn't accept doesn't match
		{"GET", "/api/echo/x", 404},             // {id:int?} rejects x
		{"GET", "/api/nothing", 404},            // no such route
		{"GET", "/echo/7", 404},                 // the prefix is required
		{"DELETE", "/api/status?code=200", 200}, // no methods: every method
	}
	for _, c := range cases {
		if r := do(t, c.method, s.URL+c.path, ""); r.status != c.want {
			t.Errorf("%s %s = %d, want %d (%s)", c.method, c.path, r.status, c.want, r.body)
		}
	}
}

func TestResponses(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	cases := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/api/status?code=201&body=made", 201, "made"},
		{"/api/status?code=202", 202, ""},        // res without body
		{"/api/status?code=204&body=x", 204, ""}, // 204 never has a body
		{"/api/noresponse", 200, ""},             // no Outputs: nothing bound
		{"/api/emptyoutputs", 200, "{}"},         // Outputs without res: an empty object
		{"/api/retval", 201, "from return value"},
		{"/api/garbage", 500, ""},
		{"/api/fail", 500, ""},
	}
	for _, c := range cases {
		r := do(t, "GET", s.URL+c.path, "")
		if r.status != c.wantStatus || r.body != c.wantBody {
			t.Errorf("GET %s = %d %q, want %d %q", c.path, r.status, r.body, c.wantStatus, c.wantBody)
		}
	}
	r := do(t, "GET", s.URL+"/api/status?code=200&body=x", "")
	if r.header.Get("X-Custom") != "yes" {
		t.Errorf("handler header lost: %v", r.header)
	}
	if r.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("host.json customHeaders not applied: %v", r.header)
	}
	// The host keeps serving after broken replies.
	wantStatus(t, do(t, "GET", s.URL+"/api/echo", ""), 200)
}

func TestFunctionTimeoutRestartsHandler(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	before := do(t, "GET", s.URL+"/api/pid", "").body
	start := time.Now()
	r := do(t, "GET", s.URL+"/api/slow?ms=20000", "")
	wantStatus(t, r, http.StatusInternalServerError)
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the timeout of 3s took %v", d)
	}
	var after string
	eventually(t, 30*time.Second, "the handler to come back after the timeout", func() bool {
		r := do(t, "GET", s.URL+"/api/pid", "")
		after = r.body
		return r.status == 200
	})
	if after == before {
		t.Errorf("the handler process was not restarted after a timeout (pid %s)", after)
	}
}

func TestCrashedHandlerIsRestarted(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	wantStatus(t, do(t, "GET", s.URL+"/api/crash", ""), http.StatusInternalServerError)
	eventually(t, 30*time.Second, "the handler to be restarted", func() bool {
		return do(t, "GET", s.URL+"/api/echo", "").status == 200
	})
}

func TestRequestBodyLimit(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{Env: map[string]string{"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "1024"}})
	wantStatus(t, do(t, "POST", s.URL+"/api/echo", strings.Repeat("x", 1024)), http.StatusOK)
	wantStatus(t, do(t, "POST", s.URL+"/api/echo", strings.Repeat("x", 1025)), http.StatusRequestEntityTooLarge)
}

func TestThrottling(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "limits"), hosttest.Options{})
	// Empty route prefix: functions are at the root.
	wantStatus(t, do(t, "GET", s.URL+"/echo", ""), http.StatusOK)

	var wg sync.WaitGroup
	wg.Add(1)
	slow := make(chan response, 1)
	go func() {
		defer wg.Done()
		slow <- do(t, "GET", s.URL+"/slow?ms=1500", "")
	}()
	eventually(t, 10*time.Second, "the slow request to be running", func() bool {
		return s.Host.Current().InFlight() > 0
	})
	r := do(t, "GET", s.URL+"/echo", "")
	wantStatus(t, r, http.StatusTooManyRequests)
	wg.Wait()
	wantStatus(t, <-slow, http.StatusOK)
	wantStatus(t, do(t, "GET", s.URL+"/echo", ""), http.StatusOK)
}

func TestForwardingMode(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "forward"), hosttest.Options{})
	r := do(t, "PUT", s.URL+"/api/fwd/a/b?x=1&x=2&y=z", "payload", "X-Test", "forwarded")
	wantStatus(t, r, http.StatusOK)
	var got map[string]string
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	want := map[string]string{"method": "PUT", "path": "/api/fwd/a/b", "body": "payload", "header": "forwarded"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// The real host rebuilds the query from its parsed form: a repeated key's
	// values are comma-joined (UrlEncoder leaves "," as it is).
	if got["query"] != "x=1,2&y=z" {
		t.Errorf("query = %q, want multi-values comma-joined", got["query"])
	}
	if got["invocationId"] == "" {
		t.Error("no X-Azure-Functions-InvocationId header")
	}
	// Non-2xx answers pass through unchanged.
	r = do(t, "GET", s.URL+"/api/teapot", "")
	wantStatus(t, r, http.StatusTeapot)
	if r.body != "I'm a teapot" || r.header.Get("X-Teapot") != "short and stout" {
		t.Errorf("teapot = %q %v", r.body, r.header)
	}
}

func TestCORS(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{CORS: []string{"https://app.example"}})
	r := do(t, "OPTIONS", s.URL+"/api/echo", "", "Origin", "https://app.example", "Access-Control-Request-Method", "POST")
	wantStatus(t, r, http.StatusNoContent)
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example" || r.header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Errorf("preflight headers = %v", r.header)
	}
	r = do(t, "GET", s.URL+"/api/echo", "", "Origin", "https://app.example")
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("simple request headers = %v", r.header)
	}
	r = do(t, "GET", s.URL+"/api/echo", "", "Origin", "https://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a foreign origin was allowed: %v", r.header)
	}
}

// TestRestartLimit: with --exit-on-worker-failure a handler that keeps
// crashing is restarted until the real host's limit (3 failures, each within
// 30 minutes of the one before), then the host gives up with a message
// saying so.
func TestRestartLimit(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{ExitOnWorkerFailure: true})
	crashUntilHostGivesUp(t, s)
	if err := s.Host.FatalErr(); err == nil || !strings.Contains(err.Error(), "Exceeded http worker restart retry count") {
		t.Errorf("fatal error = %v", err)
	}
	r := do(t, "GET", s.URL+"/admin/host/status", "", "x-functions-key", s.MasterKey(t))
	if !strings.Contains(r.body, `"state":"Error"`) || !strings.Contains(r.body, "Exceeded http worker restart retry count") {
		t.Errorf("status after giving up = %s", r.body)
	}
}

// TestMaxConcurrentRequests: with maxConcurrentRequests 1, requests wait
// their turn instead of reaching the handler together; without it they run
// at once.
func TestMaxConcurrentRequests(t *testing.T) {
	peak := func(app string) string {
		s := hosttest.Start(t, newApp(t, app), hosttest.Options{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := do(t, "GET", s.URL+"/api/peak", ""); r.status != http.StatusOK {
					t.Errorf("peak = %d", r.status)
				}
			}()
		}
		wg.Wait()
		return do(t, "GET", s.URL+"/api/peak", "").body
	}
	if got := peak("serial"); got != "1" {
		t.Errorf("with maxConcurrentRequests 1, the handler ran %s invocations at once", got)
	}
	if got := peak("basic"); got == "1" {
		t.Errorf("without a limit, 4 concurrent requests never overlapped")
	}
}
