package durableapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/httpapi/durableapi"
	"github.com/funcd/funcd/sqlite"
)

// executor runs scripted durable functions in-process.
type executor struct {
	mu    sync.Mutex
	calls int
}

// completions returns the results and failure reasons of a payload's
// tasks, and the data of its "go" events.
func completions(p *durable.OrchestrationPayload) (done, failed, events []string) {
	for _, ev := range p.History {
		switch ev.EventType {
		case durable.TaskCompleted:
			done = append(done, *ev.Result)
		case durable.TaskFailed:
			failed = append(failed, ev.Reason)
		case durable.EventRaised:
			in := "null"
			if ev.Input != nil {
				in = *ev.Input
			}
			events = append(events, in)
		}
	}
	return done, failed, events
}

func (x *executor) Orchestrate(_ context.Context, name string, payload []byte) ([]byte, error) {
	var p durable.OrchestrationPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	done, failed, events := completions(&p)
	var st durable.OrchestratorState
	call := func(fn string, in json.RawMessage) {
		st.Actions = [][]durable.Action{{{ActionType: durable.CallActivity, FunctionName: fn, Input: in}}}
	}
	switch name {
	case "Hello":
		in := p.Input
		if len(in) == 0 {
			in = json.RawMessage("null")
		}
		call("SayHello", in)
	case "FailOnce":
		call("FailFirst", json.RawMessage("1"))
	case "Wait":
		st.Actions = [][]durable.Action{{{ActionType: durable.WaitForExternalEvent, ExternalEventName: "go"}}}
		st.CustomStatus = json.RawMessage(`"waiting"`)
		if len(events) > 0 {
			st.IsDone, st.Output = true, json.RawMessage(events[0])
		}
		return json.Marshal(st)
	}
	switch {
	case len(done) > 0:
		st.IsDone, st.Output = true, json.RawMessage(done[0])
	case len(failed) > 0:
		st.IsDone, st.Error = true, failed[0]
	}
	return json.Marshal(st)
}

func (x *executor) Activity(_ context.Context, name, _, input string) (string, error) {
	switch name {
	case "SayHello":
		// The activity gets a string input as its text.
		b, _ := json.Marshal("Hello " + input)
		return string(b), nil
	case "FailFirst":
		x.mu.Lock()
		defer x.mu.Unlock()
		x.calls++
		if x.calls == 1 {
			return "", &durable.FunctionError{Message: "first call fails"}
		}
		return `"fine"`, nil
	}
	return "", fmt.Errorf("no activity %s", name)
}

// Entity runs Counter: "add" adds its input.
func (x *executor) Entity(_ context.Context, _ string, batch []byte) ([]byte, error) {
	var b struct {
		State *string `json:"state"`
		Batch []struct {
			Name  string  `json:"name"`
			Input *string `json:"input"`
		} `json:"batch"`
	}
	if err := json.Unmarshal(batch, &b); err != nil {
		return nil, err
	}
	n := 0
	if b.State != nil {
		_ = json.Unmarshal([]byte(*b.State), &n)
	}
	var res []map[string]any
	for _, op := range b.Batch {
		if op.Name == "add" && op.Input != nil {
			var d int
			_ = json.Unmarshal([]byte(*op.Input), &d)
			n += d
		}
		res = append(res, map[string]any{"isError": false, "result": "null"})
	}
	return json.Marshal(map[string]any{"entityExists": true, "entityState": fmt.Sprint(n), "results": res, "signals": []any{}})
}

type fixture struct {
	t   *testing.T
	srv *httptest.Server
	c   *durable.Client
	e   *durable.Engine
}

const testKey = "the-system-key"

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, durable.OverwriteNonRunning) }

// newFixtureWith runs the engine with a reuse policy (host.json
// overridableExistingInstanceStates).
func newFixtureWith(t *testing.T, reuse durable.ReusePolicy, opts ...func(*durableapi.Options)) *fixture {
	t.Helper()
	store, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	e := durable.New(store, durable.Options{Owner: "test", Reuse: reuse})
	e.SetFunctions(durable.Functions{
		Orchestrators: []string{"Hello", "FailOnce", "Wait"},
		Activities:    []string{"SayHello", "FailFirst"},
		Entities:      []string{"Counter"},
	}, &executor{})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Stop(ctx)
	})
	o := durableapi.Options{
		Engine: func() *durable.Engine { return e },
		Key:    func(context.Context) (string, error) { return testKey, nil },
	}
	for _, opt := range opts {
		opt(&o)
	}
	h := durableapi.New(o)
	mux := http.NewServeMux()
	mux.HandleFunc(durableapi.WebhookPath+"/", func(w http.ResponseWriter, r *http.Request) {
		durableapi.Serve(h, w, r, strings.TrimPrefix(r.URL.EscapedPath(), durableapi.WebhookPath))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, c: e.Client(""), e: e}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

// do sends a request to path under the webhook (or to an absolute URL);
// headers alternate names and values.
func (f *fixture) do(method, path, body string, headers ...string) response {
	f.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = f.srv.URL + durableapi.WebhookPath + "/" + path
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (f *fixture) want(r response, status int) {
	f.t.Helper()
	if r.status != status {
		f.t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
}

// waitStatus polls the instance until it has status s.
func (f *fixture) waitStatus(id string, s durable.Status) *durable.Instance {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		inst, err := f.c.Status(context.Background(), id)
		if err == nil && inst.Status == s {
			return inst
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("instance %s not %s after 10s: %+v, %v", id, s, inst, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) start(name, id, input string) string {
	f.t.Helper()
	got, err := f.c.StartNew(context.Background(), name, durable.StartOptions{InstanceID: id, Input: input})
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

type status struct {
	Name            string           `json:"name"`
	InstanceID      string           `json:"instanceId"`
	RuntimeStatus   string           `json:"runtimeStatus"`
	Input           json.RawMessage  `json:"input"`
	CustomStatus    json.RawMessage  `json:"customStatus"`
	Output          json.RawMessage  `json:"output"`
	CreatedTime     string           `json:"createdTime"`
	LastUpdatedTime string           `json:"lastUpdatedTime"`
	HistoryEvents   []map[string]any `json:"historyEvents"`
}

func TestStartCheckStatusAndHistory(t *testing.T) {
	f := newFixture(t)
	r := f.do("POST", "orchestrators/Hello", `"Tokyo"`)
	f.want(r, http.StatusAccepted)
	var links map[string]string
	r.json(t, &links)
	id := links["id"]
	base := f.srv.URL + durableapi.WebhookPath + "/instances/" + id
	suffix := "taskHub=TestHubName&connection=Storage&code=" + testKey
	want := map[string]string{
		"id":                    id,
		"statusQueryGetUri":     base + "?" + suffix,
		"sendEventPostUri":      base + "/raiseEvent/{eventName}?" + suffix,
		"terminatePostUri":      base + "/terminate?reason={text}&" + suffix,
		"purgeHistoryDeleteUri": base + "?" + suffix,
		"restartPostUri":        base + "/restart?" + suffix,
		"suspendPostUri":        base + "/suspend?reason={text}&" + suffix,
		"resumePostUri":         base + "/resume?reason={text}&" + suffix,
	}
	if len(id) != 32 || fmt.Sprint(links) != fmt.Sprint(want) {
		t.Errorf("check-status payload\n got %v\nwant %v", links, want)
	}
	if r.header.Get("Location") != want["statusQueryGetUri"] || r.header.Get("Retry-After") != "10" {
		t.Errorf("headers %v", r.header)
	}

	// The 202 + Location pattern, followed to its end.
	loc := r.header.Get("Location")
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = f.do("GET", loc, "")
		if r.status != http.StatusAccepted {
			break
		}
		if r.header.Get("Location") != loc || r.header.Get("Retry-After") != "5" {
			t.Fatalf("202 headers %v", r.header)
		}
		if time.Now().After(deadline) {
			t.Fatal("still running after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.want(r, http.StatusOK)
	var st status
	r.json(t, &st)
	if st.Name != "Hello" || st.InstanceID != id || st.RuntimeStatus != "Completed" || string(st.Input) != `"Tokyo"` ||
		string(st.Output) != `"Hello Tokyo"` || string(st.CustomStatus) != "null" || st.HistoryEvents != nil {
		t.Errorf("status %s", r.body)
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", st.CreatedTime); err != nil {
		t.Errorf("createdTime %q: %v", st.CreatedTime, err)
	}
	if strings.Contains(r.body, "historyEvents") {
		t.Errorf("historyEvents without showHistory: %s", r.body)
	}

	r = f.do("GET", "instances/"+id+"?showHistory=true&showHistoryOutput=true&showInput=false", "")
	f.want(r, http.StatusOK)
	st = status{}
	r.json(t, &st)
	if string(st.Input) != "null" {
		t.Errorf("input with showInput=false: %s", st.Input)
	}
	var types []string
	for _, ev := range st.HistoryEvents {
		types = append(types, fmt.Sprint(ev["EventType"]))
		if _, ok := ev["EventId"]; ok {
			t.Errorf("EventId in %v", ev)
		}
	}
	if strings.Join(types, ",") != "ExecutionStarted,TaskCompleted,ExecutionCompleted" {
		t.Fatalf("history event types %v (%s)", types, r.body)
	}
	started, done, end := st.HistoryEvents[0], st.HistoryEvents[1], st.HistoryEvents[2]
	if _, in := started["Input"]; started["FunctionName"] != "Hello" || started["Name"] != nil || in {
		t.Errorf("ExecutionStarted %v", started)
	}
	if done["FunctionName"] != "SayHello" || done["Result"] != "Hello Tokyo" || done["ScheduledTime"] == nil || done["TaskScheduledId"] != nil {
		t.Errorf("TaskCompleted %v", done)
	}
	if end["OrchestrationStatus"] != "Completed" || end["Result"] != "Hello Tokyo" {
		t.Errorf("ExecutionCompleted %v", end)
	}
	r = f.do("GET", "INSTANCES/"+id+"?showHistory=true", "")
	f.want(r, http.StatusOK)
	if strings.Contains(r.body, `"Result"`) {
		t.Errorf("Result without showHistoryOutput: %s", r.body)
	}
}

func TestStartErrors(t *testing.T) {
	f := newFixture(t)
	// A chosen id, in use by a running instance: 409.
	f.want(f.do("POST", "orchestrators/Wait/w1", ""), http.StatusAccepted)
	f.want(f.do("POST", "orchestrators/Wait/w1", ""), http.StatusConflict)
	r := f.do("POST", "orchestrators/NoSuch", "")
	f.want(r, http.StatusBadRequest)
	if !strings.Contains(r.body, "NoSuch") {
		t.Errorf("unknown orchestrator: %s", r.body)
	}
	r = f.do("POST", "orchestrators/Hello", `{"a":`)
	f.want(r, http.StatusBadRequest)
	if !strings.Contains(r.body, "Invalid JSON") {
		t.Errorf("malformed input: %s", r.body)
	}
	f.want(f.do("POST", "orchestrators/Hello/bad%23id", ""), http.StatusBadRequest)
	f.want(f.do("GET", "orchestrators/Hello", ""), http.StatusNotFound)
	f.want(f.do("POST", "orchestrators/Hello?timeout=x&pollingInterval=1", ""), http.StatusBadRequest)
	f.want(f.do("POST", "nosuch", ""), http.StatusNotFound)

	// With timeout and pollingInterval: the output once it completes.
	r = f.do("POST", "orchestrators/Hello/h1?timeout=10&pollingInterval=0.01", `"Oslo"`)
	f.want(r, http.StatusOK)
	if r.body != `"Hello Oslo"` {
		t.Errorf("waited start body %s", r.body)
	}
	// A pollingInterval of 0 waits too.
	r = f.do("POST", "orchestrators/Hello/h0?timeout=10&pollingInterval=0", `"Oslo"`)
	f.want(r, http.StatusOK)
	// Not finished within timeout: the check-status response.
	r = f.do("POST", "orchestrators/Wait?timeout=0.05&pollingInterval=0.01", "")
	f.want(r, http.StatusAccepted)
	if !strings.Contains(r.header.Get("Location"), "/instances/") {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
}

// TestBodyLimit: a body over the host's FUNCTIONS_REQUEST_BODY_SIZE_LIMIT
// is 413, announced or chunked, as a function's is.
func TestBodyLimit(t *testing.T) {
	f := newFixtureWith(t, durable.OverwriteNonRunning, func(o *durableapi.Options) {
		o.MaxBody = func() int64 { return 64 }
	})
	big := `"` + strings.Repeat("x", 100) + `"`
	r := f.do("POST", "orchestrators/Hello", big)
	f.want(r, http.StatusRequestEntityTooLarge)
	if !strings.Contains(r.body, "64 bytes") || !strings.Contains(r.body, "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT") {
		t.Errorf("413 body %s: want the limit and its setting", r.body)
	}
	f.want(f.do("POST", "orchestrators/Wait/w1", ""), http.StatusAccepted)
	f.want(f.do("POST", "instances/w1/raiseEvent/go", big), http.StatusRequestEntityTooLarge)
	// Chunked: no length announced, cut at the limit.
	req, err := http.NewRequest("POST", f.srv.URL+durableapi.WebhookPath+"/orchestrators/Hello", io.MultiReader(strings.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: %d, want 413", res.StatusCode)
	}
	r = f.do("POST", "orchestrators/Hello/small?timeout=10&pollingInterval=0.01", `"Oslo"`)
	f.want(r, http.StatusOK)
}

func TestStatusCodes(t *testing.T) {
	f := newFixture(t)
	f.want(f.do("GET", "instances/missing", ""), http.StatusNotFound)
	id := f.start("Wait", "", "")
	f.waitStatus(id, durable.Running)
	r := f.do("GET", "instances/"+id+"?taskHub=TestHubName", "")
	f.want(r, http.StatusAccepted)
	if r.header.Get("Location") != f.srv.URL+durableapi.WebhookPath+"/instances/"+id+"?taskHub=TestHubName" || r.header.Get("Retry-After") != "5" {
		t.Errorf("running instance headers %v", r.header)
	}
	// Another task hub does not have it.
	f.want(f.do("GET", "instances/"+id+"?taskHub=OtherHub", ""), http.StatusNotFound)
	f.want(f.do("GET", "instances/"+id+"?showHistory=maybe", ""), http.StatusBadRequest)

	fid := f.start("FailOnce", "", "")
	f.waitStatus(fid, durable.Failed)
	r = f.do("GET", "instances/"+fid, "")
	f.want(r, http.StatusOK)
	var st status
	r.json(t, &st)
	if st.RuntimeStatus != "Failed" || !strings.Contains(string(st.Output), "first call fails") {
		t.Errorf("failed status %s", r.body)
	}
	f.want(f.do("GET", "instances/"+fid+"?returnInternalServerErrorOnFailure=true", ""), http.StatusInternalServerError)
}

func TestRaiseEvent(t *testing.T) {
	f := newFixture(t)
	f.want(f.do("POST", "instances/missing/raiseEvent/go", "1"), http.StatusNotFound)
	id := f.start("Wait", "", "")
	f.waitStatus(id, durable.Running)
	r := f.do("POST", "instances/"+id+"/raiseEvent/go", "x", "Content-Type", "text/plain")
	f.want(r, http.StatusBadRequest)
	if !strings.Contains(r.body, "application/json") {
		t.Errorf("wrong content type: %s", r.body)
	}
	f.want(f.do("POST", "instances/"+id+"/raiseEvent/go", "{bad"), http.StatusBadRequest)
	r = f.do("POST", "instances/"+id+"/raiseEvent", `1`)
	f.want(r, http.StatusBadRequest)
	if !strings.Contains(r.body, "event name") {
		t.Errorf("missing event name: %s", r.body)
	}
	f.want(f.do("POST", "instances/"+id+"/RAISEEVENT/go", `{"by":"me"}`), http.StatusAccepted)
	if inst := f.waitStatus(id, durable.Completed); inst.Output != `{"by":"me"}` {
		t.Errorf("output %s", inst.Output)
	}
	f.want(f.do("POST", "instances/"+id+"/raiseEvent/go", `1`), http.StatusGone)
}

func TestTerminateSuspendResume(t *testing.T) {
	f := newFixture(t)
	for _, op := range []string{"terminate", "suspend", "resume"} {
		f.want(f.do("POST", "instances/missing/"+op, ""), http.StatusNotFound)
	}
	id := f.start("Wait", "", "")
	f.waitStatus(id, durable.Running)
	f.want(f.do("POST", "instances/"+id+"/suspend?reason=pause", ""), http.StatusAccepted)
	f.waitStatus(id, durable.Suspended)
	r := f.do("GET", "instances/"+id, "")
	f.want(r, http.StatusAccepted)
	f.want(f.do("POST", "instances/"+id+"/Resume?reason=go+on", ""), http.StatusAccepted)
	f.waitStatus(id, durable.Running)
	f.want(f.do("POST", "instances/"+id+"/terminate?reason=enough", ""), http.StatusAccepted)
	inst := f.waitStatus(id, durable.Terminated)
	if inst.Output != `"enough"` {
		t.Errorf("terminated output %s", inst.Output)
	}
	for _, op := range []string{"terminate", "suspend", "resume"} {
		f.want(f.do("POST", "instances/"+id+"/"+op, ""), http.StatusGone)
	}
	f.want(f.do("POST", "instances/"+id+"/nosuch", ""), http.StatusNotFound)
}

func TestRewindAndRestart(t *testing.T) {
	f := newFixture(t)
	f.want(f.do("POST", "instances/missing/rewind", ""), http.StatusNotFound)
	id := f.start("FailOnce", "", "")
	f.waitStatus(id, durable.Failed)
	f.want(f.do("POST", "instances/"+id+"/rewind?reason=again", ""), http.StatusAccepted)
	f.waitStatus(id, durable.Completed)
	r := f.do("POST", "instances/"+id+"/rewind", "")
	f.want(r, http.StatusPreconditionFailed)

	// Restart: a new id by default, the same one on request.
	hid := f.start("Hello", "", `"Rome"`)
	f.waitStatus(hid, durable.Completed)
	r = f.do("POST", "instances/"+hid+"/restart", "")
	f.want(r, http.StatusAccepted)
	var links map[string]string
	r.json(t, &links)
	if links["id"] == hid || links["id"] == "" {
		t.Fatalf("restart id %q", links["id"])
	}
	if inst := f.waitStatus(links["id"], durable.Completed); inst.Output != `"Hello Rome"` {
		t.Errorf("restarted output %s", inst.Output)
	}
	r = f.do("POST", "instances/"+hid+"/restart?restartWithNewInstanceId=false&timeout=10&pollingInterval=0.01", "")
	f.want(r, http.StatusOK)
	if r.body != `"Hello Rome"` {
		t.Errorf("restart body %s", r.body)
	}
	f.want(f.do("POST", "instances/missing/restart", ""), http.StatusBadRequest)
	wid := f.start("Wait", "", "")
	f.waitStatus(wid, durable.Running)
	f.want(f.do("POST", "instances/"+wid+"/restart?restartWithNewInstanceId=false", ""), http.StatusConflict)
}

func TestListAndPurge(t *testing.T) {
	f := newFixture(t)
	before := time.Now().UTC().Add(-time.Second)
	for i := range 5 {
		id := f.start("Hello", fmt.Sprintf("list-%d", i), `"x"`)
		f.waitStatus(id, durable.Completed)
	}
	wid := f.start("Wait", "other", "")
	f.waitStatus(wid, durable.Running)

	// Pages of 2, following the continuation token.
	var all []status
	token := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("the continuation never ends")
		}
		r := f.do("GET", "instances?top=2&instanceIdPrefix=list-", "", "x-ms-continuation-token", token)
		f.want(r, http.StatusOK)
		var page []status
		r.json(t, &page)
		if len(page) > 2 {
			t.Fatalf("page of %d", len(page))
		}
		all = append(all, page...)
		token = r.header.Get("x-ms-continuation-token")
		if token == "" {
			break
		}
	}
	if len(all) != 5 {
		t.Fatalf("listed %d instances, want 5", len(all))
	}
	for _, st := range all {
		if st.RuntimeStatus != "Completed" || string(st.Input) != `"x"` || st.Name != "Hello" {
			t.Errorf("listed %+v", st)
		}
	}
	r := f.do("GET", "instances/?runtimeStatus=Running,Suspended&showInput=false", "")
	f.want(r, http.StatusOK)
	var running []status
	r.json(t, &running)
	if len(running) != 1 || running[0].InstanceID != wid || string(running[0].Input) != "null" {
		t.Errorf("running instances %s", r.body)
	}
	r = f.do("GET", "instances?createdTimeFrom="+time.Now().UTC().Add(time.Hour).Format(time.RFC3339), "")
	f.want(r, http.StatusOK)
	if r.body != "[]" {
		t.Errorf("future createdTimeFrom: %s", r.body)
	}
	for _, bad := range []string{"top=0", "top=x", "createdTimeFrom=yesterday", "createdTimeTo=2025-13-01", "runtimeStatus=Sleeping"} {
		r := f.do("GET", "instances?"+bad, "")
		f.want(r, http.StatusBadRequest)
		name, _, _ := strings.Cut(bad, "=")
		if !strings.Contains(r.body, name) {
			t.Errorf("%s: %s", bad, r.body)
		}
	}

	// A continuation token the store did not issue is bad input.
	r = f.do("GET", "instances", "", "x-ms-continuation-token", "garbage!!")
	f.want(r, http.StatusBadRequest)
	if !strings.Contains(r.body, "x-ms-continuation-token") {
		t.Errorf("bad continuation token: %s", r.body)
	}

	// Purge one: a running instance is refused.
	f.want(f.do("DELETE", "instances/"+wid, ""), http.StatusPreconditionFailed)
	r = f.do("DELETE", "instances/list-0", "")
	f.want(r, http.StatusOK)
	if r.body != `{"instancesDeleted":1}` {
		t.Errorf("purge body %s", r.body)
	}
	f.want(f.do("DELETE", "instances/list-0", ""), http.StatusNotFound)

	// Purge by filter.
	r = f.do("DELETE", "instances", "")
	f.want(r, http.StatusBadRequest)
	if !strings.Contains(r.body, "createdTimeFrom") {
		t.Errorf("purge without createdTimeFrom: %s", r.body)
	}
	r = f.do("DELETE", "instances?runtimeStatus=Completed&createdTimeFrom="+before.Format(time.RFC3339Nano), "")
	f.want(r, http.StatusOK)
	if r.body != `{"instancesDeleted":4}` {
		t.Errorf("purge by filter %s", r.body)
	}
	f.want(f.do("DELETE", "instances?runtimeStatus=Completed&createdTimeFrom="+before.Format(time.RFC3339Nano), ""), http.StatusNotFound)
	if _, err := f.c.Status(context.Background(), wid); err != nil {
		t.Errorf("the running instance was purged: %v", err)
	}
}

func TestEntities(t *testing.T) {
	f := newFixture(t)
	f.want(f.do("GET", "entities/Counter/k1", ""), http.StatusNotFound)
	f.want(f.do("POST", "entities/Counter/k1?op=add", "5"), http.StatusAccepted)
	f.want(f.do("POST", "entities/counter/k1?op=add", "2"), http.StatusAccepted)
	f.want(f.do("POST", "entities/Counter/k2?op=add", "1"), http.StatusAccepted)
	// The empty key: signalled without a key segment, read as "$".
	f.want(f.do("POST", "entities/Counter?op=add", "3"), http.StatusAccepted)
	for key, want := range map[string]string{"k1": "7", "k2": "1", "$": "3"} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := f.do("GET", "entities/Counter/"+key, "")
			if r.status == http.StatusOK && r.body == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("entity %s: state %d %s, want %s", key, r.status, r.body, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	f.want(f.do("POST", "entities/NoSuch/k?op=add", "1"), http.StatusBadRequest)
	f.want(f.do("POST", "entities/Counter/k1?op=add", "{bad"), http.StatusBadRequest)
	f.want(f.do("PUT", "entities/Counter/k1", ""), http.StatusNotFound)

	// The listing, two pages of one with the state.
	var all []map[string]any
	token := ""
	for range 10 {
		r := f.do("GET", "entities/Counter?top=1&fetchState=true", "", "x-ms-continuation-token", token)
		f.want(r, http.StatusOK)
		var page []map[string]any
		r.json(t, &page)
		all = append(all, page...)
		if token = r.header.Get("x-ms-continuation-token"); token == "" {
			break
		}
	}
	if len(all) != 3 {
		t.Fatalf("listed entities %v", all)
	}
	found := false
	for _, e := range all {
		id, _ := e["entityId"].(map[string]any)
		if id["name"] == "counter" && id["key"] == "k1" {
			found = true
			if e["state"] != float64(7) || e["lastOperationTime"] == nil {
				t.Errorf("entity k1 %v", e)
			}
		}
	}
	if !found {
		t.Errorf("k1 not listed: %v", all)
	}
	r := f.do("GET", "entities/Counter", "")
	f.want(r, http.StatusOK)
	if !strings.Contains(r.body, `"state":null`) {
		t.Errorf("listing without fetchState: %s", r.body)
	}
	f.want(f.do("GET", "entities/Counter?lastOperationTimeFrom=soon", ""), http.StatusBadRequest)
}

func TestNoEngine(t *testing.T) {
	h := durableapi.New(durableapi.Options{Engine: func() *durable.Engine { return nil }})
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/instances/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "no Durable Functions") {
		t.Errorf("without an engine: %d %s", res.StatusCode, b)
	}
}

func TestRPCEndpoint(t *testing.T) {
	f := newFixture(t)
	h := durableapi.New(durableapi.Options{Engine: func() *durable.Engine { return f.e }})
	rpc, err := durableapi.ListenRPC(h, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rpc.Close(context.Background()) }()
	if !strings.HasPrefix(rpc.URL(), "http://127.0.0.1:") || !strings.HasSuffix(rpc.URL(), "/durabletask/") {
		t.Fatalf("RPC URL %q", rpc.URL())
	}
	// The SDK's startNew: orchestrators/{name}, the input as the body.
	r := f.do("POST", rpc.URL()+"orchestrators/Hello/rpc-1", `"RPC"`)
	f.want(r, http.StatusAccepted)
	f.waitStatus("rpc-1", durable.Completed)
	r = f.do("GET", rpc.URL()+"instances/rpc-1", "")
	f.want(r, http.StatusOK)
	// The SDK's getStatusAll: instances/ with a trailing slash.
	r = f.do("GET", rpc.URL()+"instances/", "")
	f.want(r, http.StatusOK)
	if !strings.Contains(r.body, "rpc-1") {
		t.Errorf("list %s", r.body)
	}
	// A port in use: another free port.
	second, err := durableapi.ListenRPC(h, strings.TrimSuffix(strings.TrimPrefix(rpc.URL(), "http://"), "/durabletask/"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = second.Close(context.Background()) }()
	if second.URL() == rpc.URL() {
		t.Error("the second endpoint has the first's port")
	}
	if _, err := durableapi.ListenRPC(h, "0.0.0.0:0"); err == nil {
		t.Error("an endpoint on every interface")
	}
}

// With overridableExistingInstanceStates AnyState, a start or a restart
// under the id of a running instance replaces it.
func TestReuseAnyState(t *testing.T) {
	f := newFixtureWith(t, durable.OverwriteAny)
	id := f.start("Wait", "", "")
	f.waitStatus(id, durable.Running)
	f.want(f.do("POST", "instances/"+id+"/restart?restartWithNewInstanceId=false", ""), http.StatusAccepted)
	f.want(f.do("POST", "orchestrators/Hello/"+id, `"again"`), http.StatusAccepted)
	if inst := f.waitStatus(id, durable.Completed); inst.Output != `"Hello again"` {
		t.Errorf("output %s", inst.Output)
	}
}
