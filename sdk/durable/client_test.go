package durable_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/sdk/durable"
)

// call is a request the fake host saw.
type call struct {
	Method, Path, Query, Body, ContentType, Token string
}

// answer is what the fake host replies to a route.
type answer struct {
	status int
	body   string
	header map[string]string
}

// fakeHost serves the Durable Functions HTTP API's routes under
// /durabletask/ with canned answers, keyed "METHOD path?query".
type fakeHost struct {
	mu      sync.Mutex
	calls   []call
	answers map[string][]answer // consumed in order; the last repeats
}

func (f *fakeHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, call{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(body), r.Header.Get("Content-Type"),
		r.Header.Get("x-ms-continuation-token")})
	key := r.Method + " " + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		key += "?" + r.URL.RawQuery
	}
	as, ok := f.answers[key]
	var a answer
	if ok {
		a = as[0]
		if len(as) > 1 {
			f.answers[key] = as[1:]
		}
	}
	f.mu.Unlock()
	if !ok {
		http.Error(w, "unexpected "+key, http.StatusTeapot)
		return
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (f *fakeHost) last(t *testing.T) call {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("no call")
	}
	return f.calls[len(f.calls)-1]
}

const mgmt = `"managementUrls":{"id":"INSTANCEID",
  "statusQueryGetUri":"http://0.0.0.0:7071/runtime/webhooks/durabletask/instances/INSTANCEID?taskHub=Hub&connection=Storage&code=K",
  "sendEventPostUri":"http://0.0.0.0:7071/runtime/webhooks/durabletask/instances/INSTANCEID/raiseEvent/{eventName}?taskHub=Hub&connection=Storage&code=K",
  "terminatePostUri":"http://0.0.0.0:7071/runtime/webhooks/durabletask/instances/INSTANCEID/terminate?reason={text}&taskHub=Hub&connection=Storage&code=K",
  "rewindPostUri":"http://0.0.0.0:7071/runtime/webhooks/durabletask/instances/INSTANCEID/rewind?reason={text}&taskHub=Hub&connection=Storage&code=K",
  "purgeHistoryDeleteUri":"http://0.0.0.0:7071/runtime/webhooks/durabletask/instances/INSTANCEID?taskHub=Hub&connection=Storage&code=K",
  "restartPostUri":"http://0.0.0.0:7071/runtime/webhooks/durabletask/instances/INSTANCEID/restart?taskHub=Hub&connection=Storage&code=K",
  "suspendPostUri":"http://0.0.0.0:7071/runtime/webhooks/durabletask/instances/INSTANCEID/suspend?reason={text}&taskHub=Hub&connection=Storage&code=K",
  "resumePostUri":"http://0.0.0.0:7071/runtime/webhooks/durabletask/instances/INSTANCEID/resume?reason={text}&taskHub=Hub&connection=Storage&code=K"}`

func newClient(t *testing.T, answers map[string][]answer) (*durable.Client, *fakeHost) {
	t.Helper()
	f := &fakeHost{answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	binding := `{"taskHubName":"Hub","connectionName":null,
	  "creationUrls":{"createNewInstancePostUri":"x","createAndWaitOnNewInstancePostUri":"y"},` + mgmt + `,
	  "baseUrl":"http://0.0.0.0:7071/runtime/webhooks/durabletask","requiredQueryStringParameters":"code=K",
	  "rpcBaseUrl":"` + srv.URL + `/durabletask/"}`
	c, err := durable.NewClient([]byte(binding))
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

const statusBody = `{"name":"hello","instanceId":"abc","runtimeStatus":"Running","input":{"x":1},"customStatus":null,
	"output":null,"createdTime":"2025-01-01T00:00:00Z","lastUpdatedTime":"2025-01-01T00:00:03Z"}`

func TestClientStartNew(t *testing.T) {
	ctx := context.Background()
	c, f := newClient(t, map[string][]answer{
		"POST /durabletask/orchestrators/hello":                   {{202, `{"id":"generated"}`, nil}},
		"POST /durabletask/orchestrators/hello/my%20id?version=2": {{202, `{"id":"my id"}`, nil}},
		"POST /durabletask/orchestrators/missing":                 {{400, `no such function`, nil}},
	})
	id, err := c.StartNew(ctx, "hello")
	if err != nil || id != "generated" {
		t.Fatalf("StartNew = %q, %v", id, err)
	}
	if got := f.last(t); got.Body != "" {
		t.Errorf("StartNew without input sent %+v", got)
	}
	id, err = c.StartNew(ctx, "hello", durable.WithInstanceID("my id"), durable.WithVersion("2"), durable.WithInput("Tokyo"))
	if err != nil || id != "my id" {
		t.Fatalf("StartNew = %q, %v", id, err)
	}
	if got := f.last(t); got.Body != `"Tokyo"` || got.ContentType != "application/json" {
		t.Errorf("StartNew with input sent %+v", got)
	}
	var se *durable.StatusError
	if _, err := c.StartNew(ctx, "missing"); !errors.As(err, &se) || se.StatusCode != 400 || !strings.Contains(err.Error(), "no such function") {
		t.Errorf("StartNew of a missing function: %v", err)
	}
}

func TestClientGetStatus(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t, map[string][]answer{
		"GET /durabletask/instances/abc?showHistory=false&showHistoryOutput=false&showInput=true":  {{202, statusBody, nil}},
		"GET /durabletask/instances/abc?showHistory=true&showHistoryOutput=true&showInput=false":   {{200, strings.Replace(statusBody, `"Running"`, `"Completed"`, 1), nil}},
		"GET /durabletask/instances/gone?showHistory=false&showHistoryOutput=false&showInput=true": {{404, ``, nil}},
	})
	s, err := c.GetStatus(ctx, "abc", nil)
	if err != nil || s.RuntimeStatus != durable.StatusRunning || s.Name != "hello" || string(s.Input) != `{"x":1}` ||
		!s.CreatedTime.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("GetStatus = %+v, %v", s, err)
	}
	s, err = c.GetStatus(ctx, "abc", &durable.StatusOptions{ShowHistory: true, ShowHistoryOutput: true, HideInput: true})
	if err != nil || s.RuntimeStatus != durable.StatusCompleted {
		t.Fatalf("GetStatus with history = %+v, %v", s, err)
	}
	if _, err := c.GetStatus(ctx, "gone", nil); !errors.Is(err, durable.ErrInstanceNotFound) {
		t.Errorf("GetStatus of a missing instance: %v", err)
	}
}

func TestClientGetStatusByFollowsContinuationTokens(t *testing.T) {
	q := "createdTimeFrom=2025-01-01T00%3A00%3A00.000Z&createdTimeTo=2025-01-02T00%3A00%3A00.000Z&runtimeStatus=Running%2CPending&showInput=false"
	c, f := newClient(t, map[string][]answer{
		"GET /durabletask/instances/?" + q: {
			{200, `[` + statusBody + `]`, map[string]string{"x-ms-continuation-token": "page2"}},
			{200, `[` + strings.Replace(statusBody, `"abc"`, `"def"`, 1) + `]`, nil},
		},
		"GET /durabletask/instances/?showInput=false": {{200, `[]`, nil}},
	})
	all, err := c.GetStatusBy(context.Background(), &durable.StatusFilter{
		CreatedTimeFrom: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), CreatedTimeTo: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC),
		RuntimeStatus: []durable.RuntimeStatus{durable.StatusRunning, durable.StatusPending}})
	if err != nil || len(all) != 2 || all[0].InstanceID != "abc" || all[1].InstanceID != "def" {
		t.Fatalf("GetStatusBy = %v, %v", all, err)
	}
	if f.calls[0].Token != "" || f.calls[1].Token != "page2" {
		t.Errorf("continuation tokens sent: %q, %q", f.calls[0].Token, f.calls[1].Token)
	}
	if all, err := c.GetStatusAll(context.Background()); err != nil || len(all) != 0 {
		t.Errorf("GetStatusAll = %v, %v", all, err)
	}
}

func TestClientInstanceOperations(t *testing.T) {
	ctx := context.Background()
	c, f := newClient(t, map[string][]answer{
		"POST /durabletask/instances/abc/raiseEvent/approve":                                                  {{202, ``, nil}},
		"POST /durabletask/instances/done/raiseEvent/approve":                                                 {{410, ``, nil}},
		"POST /durabletask/instances/gone/raiseEvent/approve":                                                 {{404, ``, nil}},
		"POST /durabletask/instances/abc/terminate?reason=too+slow":                                           {{202, ``, nil}},
		"POST /durabletask/instances/done/terminate?reason=too+slow":                                          {{410, ``, nil}},
		"POST /durabletask/instances/abc/suspend?reason=pause":                                                {{202, ``, nil}},
		"POST /durabletask/instances/abc/resume?reason=go":                                                    {{202, ``, nil}},
		"POST /durabletask/instances/abc/rewind?reason=fixed":                                                 {{202, ``, nil}},
		"POST /durabletask/instances/ok/rewind?reason=fixed":                                                  {{412, `not failed`, nil}},
		"POST /durabletask/instances/abc/restart?restartWithNewInstanceId=true":                               {{202, `{"id":"new-id","statusQueryGetUri":"x"}`, nil}},
		"DELETE /durabletask/instances/abc":                                                                   {{200, `{"instancesDeleted":1}`, nil}},
		"DELETE /durabletask/instances/gone":                                                                  {{404, ``, nil}},
		"DELETE /durabletask/instances/?createdTimeFrom=2025-01-01T00%3A00%3A00.000Z&runtimeStatus=Completed": {{200, `{"instancesDeleted":7}`, nil}},
	})
	if err := c.RaiseEvent(ctx, "abc", "approve", map[string]bool{"ok": true}); err != nil {
		t.Fatal(err)
	}
	if got := f.last(t); got.Body != `{"ok":true}` || got.ContentType != "application/json" {
		t.Errorf("RaiseEvent sent %+v", got)
	}
	if err := c.RaiseEvent(ctx, "done", "approve", 1); err != nil {
		t.Errorf("RaiseEvent to a completed instance: %v", err)
	}
	if err := c.RaiseEvent(ctx, "gone", "approve", 1); !errors.Is(err, durable.ErrInstanceNotFound) {
		t.Errorf("RaiseEvent to a missing instance: %v", err)
	}
	for name, err := range map[string]error{
		"Terminate":           c.Terminate(ctx, "abc", "too slow"),
		"Terminate completed": c.Terminate(ctx, "done", "too slow"),
		"Suspend":             c.Suspend(ctx, "abc", "pause"),
		"Resume":              c.Resume(ctx, "abc", "go"),
		"Rewind":              c.Rewind(ctx, "abc", "fixed"),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := c.Rewind(ctx, "ok", "fixed"); err == nil || !strings.Contains(err.Error(), "has not failed") {
		t.Errorf("Rewind of an instance that did not fail: %v", err)
	}
	if id, err := c.Restart(ctx, "abc", true); err != nil || id != "new-id" {
		t.Errorf("Restart = %q, %v", id, err)
	}
	if n, err := c.Purge(ctx, "abc"); n != 1 || err != nil {
		t.Errorf("Purge = %d, %v", n, err)
	}
	if n, err := c.Purge(ctx, "gone"); n != 0 || err != nil {
		t.Errorf("Purge of a missing instance = %d, %v", n, err)
	}
	n, err := c.PurgeBy(ctx, &durable.StatusFilter{CreatedTimeFrom: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		RuntimeStatus: []durable.RuntimeStatus{durable.StatusCompleted}})
	if n != 7 || err != nil {
		t.Errorf("PurgeBy = %d, %v", n, err)
	}
	if _, err := c.PurgeBy(ctx, &durable.StatusFilter{}); err == nil {
		t.Error("PurgeBy without CreatedTimeFrom")
	}
}

func TestClientEntities(t *testing.T) {
	ctx := context.Background()
	c, f := newClient(t, map[string][]answer{
		"POST /durabletask/entities/counter/k1?op=add":  {{202, ``, nil}},
		"POST /durabletask/entities/counter/$?op=reset": {{202, ``, nil}},
		"GET /durabletask/entities/counter/k1":          {{200, `12`, nil}},
		"GET /durabletask/entities/counter/none":        {{404, ``, nil}},
	})
	if err := c.SignalEntity(ctx, durable.NewEntityID("counter", "k1"), "add", durable.WithInput(5)); err != nil {
		t.Fatal(err)
	}
	if got := f.last(t); got.Body != `5` {
		t.Errorf("SignalEntity sent %+v", got)
	}
	if err := c.SignalEntity(ctx, durable.NewEntityID("counter", ""), "reset"); err != nil {
		t.Fatal(err)
	}
	var n int
	if ok, err := c.ReadEntityState(ctx, durable.NewEntityID("counter", "k1"), &n); !ok || err != nil || n != 12 {
		t.Errorf("ReadEntityState = %v, %v, %d", ok, err, n)
	}
	if ok, err := c.ReadEntityState(ctx, durable.NewEntityID("counter", "none"), &n); ok || err != nil {
		t.Errorf("ReadEntityState of a missing entity = %v, %v", ok, err)
	}
}

func TestCreateCheckStatusResponse(t *testing.T) {
	c, _ := newClient(t, nil)
	r := httptest.NewRequest("POST", "https://app.example.com/api/start", nil)
	w := httptest.NewRecorder()
	c.CreateCheckStatusResponse(w, r, "abc")
	if w.Code != 202 || w.Header().Get("Retry-After") != "10" ||
		w.Header().Get("Location") != "https://app.example.com/runtime/webhooks/durabletask/instances/abc?taskHub=Hub&connection=Storage&code=K" {
		t.Fatalf("check-status response %d %v", w.Code, w.Header())
	}
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"id":                    "abc",
		"statusQueryGetUri":     "https://app.example.com/runtime/webhooks/durabletask/instances/abc?taskHub=Hub&connection=Storage&code=K",
		"sendEventPostUri":      "https://app.example.com/runtime/webhooks/durabletask/instances/abc/raiseEvent/{eventName}?taskHub=Hub&connection=Storage&code=K",
		"terminatePostUri":      "https://app.example.com/runtime/webhooks/durabletask/instances/abc/terminate?reason={text}&taskHub=Hub&connection=Storage&code=K",
		"rewindPostUri":         "https://app.example.com/runtime/webhooks/durabletask/instances/abc/rewind?reason={text}&taskHub=Hub&connection=Storage&code=K",
		"purgeHistoryDeleteUri": "https://app.example.com/runtime/webhooks/durabletask/instances/abc?taskHub=Hub&connection=Storage&code=K",
		"restartPostUri":        "https://app.example.com/runtime/webhooks/durabletask/instances/abc/restart?taskHub=Hub&connection=Storage&code=K",
		"suspendPostUri":        "https://app.example.com/runtime/webhooks/durabletask/instances/abc/suspend?reason={text}&taskHub=Hub&connection=Storage&code=K",
		"resumePostUri":         "https://app.example.com/runtime/webhooks/durabletask/instances/abc/resume?reason={text}&taskHub=Hub&connection=Storage&code=K",
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %q, want %q", k, body[k], v)
		}
	}
	if len(body) != len(want) {
		t.Errorf("body has %d fields, want %d: %v", len(body), len(want), body)
	}
}

func TestWaitForCompletionOrCreateCheckStatusResponse(t *testing.T) {
	q := "?showHistory=false&showHistoryOutput=false&showInput=true"
	completed := strings.NewReplacer(`"Running"`, `"Completed"`, `"output":null`, `"output":{"n":3}`).Replace(statusBody)
	failed := strings.NewReplacer(`"Running"`, `"Failed"`, `"output":null`, `"output":"boom"`).Replace(statusBody)
	c, f := newClient(t, map[string][]answer{
		"GET /durabletask/instances/abc" + q:  {{202, statusBody, nil}, {202, statusBody, nil}, {200, completed, nil}},
		"GET /durabletask/instances/bad" + q:  {{200, failed, nil}},
		"GET /durabletask/instances/slow" + q: {{202, statusBody, nil}},
	})
	r := httptest.NewRequest("POST", "http://localhost:7071/api/start", nil)
	opts := &durable.WaitOptions{Timeout: 2 * time.Second, RetryInterval: 10 * time.Millisecond}

	w := httptest.NewRecorder()
	if err := c.WaitForCompletionOrCreateCheckStatusResponse(w, r, "abc", opts); err != nil {
		t.Fatal(err)
	}
	if w.Code != 200 || w.Body.String() != `{"n":3}` || len(f.calls) != 3 {
		t.Errorf("completed: %d %s after %d polls", w.Code, w.Body, len(f.calls))
	}
	w = httptest.NewRecorder()
	if err := c.WaitForCompletionOrCreateCheckStatusResponse(w, r, "bad", opts); err != nil {
		t.Fatal(err)
	}
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"runtimeStatus":"Failed"`) {
		t.Errorf("failed: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	opts.Timeout = 50 * time.Millisecond
	if err := c.WaitForCompletionOrCreateCheckStatusResponse(w, r, "slow", opts); err != nil {
		t.Fatal(err)
	}
	if w.Code != 202 || !strings.HasPrefix(w.Header().Get("Location"), "http://localhost:7071/runtime/webhooks/durabletask/instances/slow?") {
		t.Errorf("still running: %d %v", w.Code, w.Header())
	}
}

func TestNewClientWithoutRPCBaseURL(t *testing.T) {
	f := &fakeHost{answers: map[string][]answer{
		"POST /runtime/webhooks/durabletask/orchestrators/hello?code=K": {{202, `{"id":"x"}`, nil}},
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := durable.NewClient([]byte(`{"taskHubName":"Hub","creationUrls":{},` + mgmt + `,
		"baseUrl":"` + srv.URL + `/runtime/webhooks/durabletask","requiredQueryStringParameters":"code=K"}`))
	if err != nil {
		t.Fatal(err)
	}
	if id, err := c.StartNew(context.Background(), "hello"); err != nil || id != "x" {
		t.Errorf("StartNew through baseUrl = %q, %v", id, err)
	}
	if _, err := durable.NewClient([]byte(`{"taskHubName":"Hub"}`)); err == nil {
		t.Error("NewClient accepted a binding without URLs")
	}
}
