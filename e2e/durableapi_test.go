package e2e

// End-to-end checks of the Durable Functions management HTTP API: the
// real durable-functions v3 client (testdata/durablenode) calling it
// through rpcBaseUrl, and a caller following the 202 + Location pattern on
// the public webhook with the system key.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/hosttest"
)

// followStatus polls a statusQueryGetUri (GET, as a client of the
// asynchronous HTTP pattern does, honoring Location) until it answers
// something other than 202, and returns that answer.
func followStatus(t *testing.T, uri string, headers ...string) response {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := do(t, "GET", uri, "", headers...)
		if r.status != http.StatusAccepted {
			return r
		}
		if loc := r.header.Get("Location"); loc != "" {
			uri = loc
		}
		if r.header.Get("Retry-After") != "5" {
			t.Fatalf("a running instance's status has Retry-After %q", r.header.Get("Retry-After"))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still 202 after 30s: %s", uri, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type checkStatus struct {
	ID                    string `json:"id"`
	StatusQueryGetURI     string `json:"statusQueryGetUri"`
	SendEventPostURI      string `json:"sendEventPostUri"`
	TerminatePostURI      string `json:"terminatePostUri"`
	RewindPostURI         string `json:"rewindPostUri"`
	PurgeHistoryDeleteURI string `json:"purgeHistoryDeleteUri"`
	RestartPostURI        string `json:"restartPostUri"`
	SuspendPostURI        string `json:"suspendPostUri"`
	ResumePostURI         string `json:"resumePostUri"`
}

type instanceStatus struct {
	Name          string            `json:"name"`
	InstanceID    string            `json:"instanceId"`
	RuntimeStatus string            `json:"runtimeStatus"`
	Input         json.RawMessage   `json:"input"`
	CustomStatus  json.RawMessage   `json:"customStatus"`
	Output        json.RawMessage   `json:"output"`
	CreatedTime   string            `json:"createdTime"`
	HistoryEvents []json.RawMessage `json:"historyEvents"`
}

func decode(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("body %q (status %d): %v", r.body, r.status, err)
	}
}

func TestDurableNodeHTTPAPI(t *testing.T) {
	s, c, logs := durableApp(t, nodeApp(t, "durablenode"))
	ctx := context.Background()
	sysKey, err := s.Host.Keys().ExtensionKey(ctx, "durabletask")
	if err != nil {
		t.Fatal(err)
	}
	webhook := s.URL + "/runtime/webhooks/durabletask"

	t.Run("CheckStatusResponse", func(t *testing.T) {
		// The starter calls startNew (through rpcBaseUrl) and returns
		// createCheckStatusResponse; the caller follows Location.
		r := do(t, "POST", s.URL+"/api/orchestrators/Chain", "")
		wantStatus(t, r, http.StatusAccepted)
		var cs checkStatus
		decode(t, r, &cs)
		if cs.ID == "" || r.header.Get("Location") != cs.StatusQueryGetURI || r.header.Get("Retry-After") != "10" {
			t.Fatalf("check-status response %s, headers %v", r.body, r.header)
		}
		want := webhook + "/instances/" + cs.ID + "?taskHub=TestHubName&connection=Storage&code=" + sysKey
		if cs.StatusQueryGetURI != want || !strings.HasPrefix(cs.RewindPostURI, webhook+"/instances/"+cs.ID+"/rewind?reason=") {
			t.Errorf("statusQueryGetUri %q, want %q; payload %s", cs.StatusQueryGetURI, want, r.body)
		}
		r = followStatus(t, r.header.Get("Location"))
		wantStatus(t, r, http.StatusOK)
		var st instanceStatus
		decode(t, r, &st)
		if st.Name != "Chain" || st.InstanceID != cs.ID || st.RuntimeStatus != "Completed" {
			t.Fatalf("status %s", r.body)
		}
		jsonEq(t, "output", string(st.Output), `["Hello Tokyo!","Hello Seattle!","Hello London!"]`)

		// The other management URLs of the payload work as given.
		r = do(t, "DELETE", cs.PurgeHistoryDeleteURI, "")
		wantStatus(t, r, http.StatusOK)
		jsonEq(t, "purge", r.body, `{"instancesDeleted":1}`)
		wantStatus(t, do(t, "GET", cs.StatusQueryGetURI, ""), http.StatusNotFound)
	})

	t.Run("WaitForCompletion", func(t *testing.T) {
		r := do(t, "POST", s.URL+"/api/orchestrators/FanOut?wait=1", "4")
		wantStatus(t, r, http.StatusOK)
		jsonEq(t, "output", r.body, `20`)
		// A failure: 500 with the status.
		r = do(t, "POST", s.URL+"/api/orchestrators/Failing?wait=1", "")
		wantStatus(t, r, http.StatusInternalServerError)
		var st instanceStatus
		decode(t, r, &st)
		if st.RuntimeStatus != "Failed" || !strings.Contains(string(st.Output), "second") {
			t.Errorf("failed instance %s", r.body)
		}
	})

	t.Run("GetStatusAndRaiseEvent", func(t *testing.T) {
		r := do(t, "POST", s.URL+"/api/orchestrators/Approval/appr-1", "60")
		wantStatus(t, r, http.StatusAccepted)
		var cs checkStatus
		decode(t, r, &cs)
		var st instanceStatus
		eventually(t, 20*time.Second, "the orchestration waits for its approval", func() bool {
			r := do(t, "GET", s.URL+"/api/client/appr-1", "")
			st = instanceStatus{}
			return r.status == 200 && json.Unmarshal([]byte(r.body), &st) == nil && string(st.CustomStatus) == `"waiting"`
		})
		// (The SDK's DurableOrchestrationStatus reads "history", not the
		// "historyEvents" the real host sends, so the history is lost on
		// the way.)
		if st.RuntimeStatus != "Running" || st.Name != "Approval" || string(st.Input) != "60" {
			t.Errorf("getStatus %+v", st)
		}
		wantStatus(t, do(t, "POST", s.URL+"/api/client/appr-1/Approval", `{"by":"node"}`), http.StatusAccepted)
		r = followStatus(t, cs.StatusQueryGetURI)
		wantStatus(t, r, http.StatusOK)
		decode(t, r, &st)
		jsonEq(t, "output", string(st.Output), `"approved: {\"by\":\"node\"}"`)
		r = do(t, "GET", cs.StatusQueryGetURI+"&showHistory=true&showHistoryOutput=true", "")
		wantStatus(t, r, http.StatusOK)
		for _, want := range []string{`"EventType":"ExecutionStarted"`, `"FunctionName":"Approval"`, `"EventType":"EventRaised"`, `"EventType":"TimerCreated"`, `"OrchestrationStatus":"Completed"`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("history without %s: %s", want, r.body)
			}
		}
		// The public sendEventPostUri of a finished instance: 410.
		ev := strings.Replace(cs.SendEventPostURI, "{eventName}", "Approval", 1)
		wantStatus(t, do(t, "POST", ev, `1`, "Content-Type", "application/json"), http.StatusGone)
	})

	t.Run("TerminateSuspendResume", func(t *testing.T) {
		id := start(t, c, "Approval", "60")
		eventually(t, 20*time.Second, "the orchestration runs", func() bool {
			inst, err := c.Status(ctx, id)
			return err == nil && inst.CustomStatus == `"waiting"`
		})
		wantStatus(t, do(t, "POST", s.URL+"/api/manage/"+id+"/suspend", ""), http.StatusAccepted)
		waitFor(t, c, id, durable.Suspended, logs)
		wantStatus(t, do(t, "POST", s.URL+"/api/manage/"+id+"/resume", ""), http.StatusAccepted)
		waitFor(t, c, id, durable.Running, logs)
		wantStatus(t, do(t, "POST", s.URL+"/api/manage/"+id+"/terminate?reason=enough", ""), http.StatusAccepted)
		inst := waitFor(t, c, id, durable.Terminated, logs)
		jsonEq(t, "output", inst.Output, `"enough"`)
		// The client's rewind of an instance that has not failed: 412, an
		// error with the host's message.
		r := do(t, "POST", s.URL+"/api/manage/"+id+"/rewind", "")
		wantStatus(t, r, http.StatusBadRequest)
		if !strings.Contains(r.body, `only orchestrations in the "Failed" state can be rewound`) {
			t.Errorf("rewind of a terminated instance: %s", r.body)
		}
		r = do(t, "POST", s.URL+"/api/manage/"+id+"/purge", "")
		wantStatus(t, r, http.StatusOK)
		jsonEq(t, "purge", r.body, `{"instancesDeleted":1}`)
	})

	t.Run("Entities", func(t *testing.T) {
		wantStatus(t, do(t, "POST", s.URL+"/api/entity/api-1?op=add", "3"), http.StatusAccepted)
		wantStatus(t, do(t, "POST", s.URL+"/api/entity/api-1?op=add", "4"), http.StatusAccepted)
		eventually(t, 20*time.Second, "the counter reaches 7", func() bool {
			r := do(t, "GET", s.URL+"/api/entity/api-1", "")
			var st struct {
				EntityExists bool `json:"entityExists"`
				EntityState  int  `json:"entityState"`
			}
			return r.status == 200 && json.Unmarshal([]byte(r.body), &st) == nil && st.EntityExists && st.EntityState == 7
		})
		r := do(t, "GET", s.URL+"/api/entity/none", "")
		wantStatus(t, r, http.StatusOK)
		jsonEq(t, "missing entity", r.body, `{"entityExists":false}`)
		// The public API reads it too, and lists it.
		r = do(t, "GET", webhook+"/entities/Counter/api-1?code="+url.QueryEscape(sysKey), "")
		wantStatus(t, r, http.StatusOK)
		jsonEq(t, "entity", r.body, `7`)
		r = do(t, "GET", webhook+"/entities/Counter?fetchState=true", "", "x-functions-key", sysKey)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.body, `"entityId":{"name":"counter","key":"api-1"}`) {
			t.Errorf("entity listing %s", r.body)
		}
	})

	t.Run("List", func(t *testing.T) {
		id := start(t, c, "Chain", "")
		waitFor(t, c, id, durable.Completed, logs)
		r := do(t, "GET", s.URL+"/api/instances?status=Completed", "")
		wantStatus(t, r, http.StatusOK)
		var list []instanceStatus
		decode(t, r, &list)
		found := false
		for _, st := range list {
			if st.RuntimeStatus != "Completed" {
				t.Errorf("getStatusBy(Completed) lists %+v", st)
			}
			found = found || st.InstanceID == id
		}
		if !found {
			t.Errorf("%s not in %s", id, r.body)
		}
		r = do(t, "GET", s.URL+"/api/instances", "")
		wantStatus(t, r, http.StatusOK)
		decode(t, r, &list)
		if len(list) < 2 {
			t.Errorf("getStatusAll: %s", r.body)
		}
	})
}

// The webhook takes the durabletask_extension system key or the master
// key, in code= or x-functions-key; a wrong or missing key is 401, another
// valid key 403. The local RPC endpoint takes none.
func TestDurableHTTPAPIAuth(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "handler")
	buildDurableCustom(t, bin)
	app := hosttest.CopyApp(t, filepath.Join("testdata", "durablecustom", "app"))
	copyFile(t, bin, filepath.Join(app, "handler"))
	s, _, _ := durableApp(t, app)
	ctx := context.Background()
	sysKey, err := s.Host.Keys().ExtensionKey(ctx, "durabletask")
	if err != nil {
		t.Fatal(err)
	}
	master := s.MasterKey(t)
	webhook := s.URL + "/runtime/webhooks/durabletask"

	wantStatus(t, do(t, "POST", webhook+"/orchestrators/Hello", ""), http.StatusUnauthorized)
	wantStatus(t, do(t, "POST", webhook+"/orchestrators/Hello?code=wrong", ""), http.StatusUnauthorized)
	wantStatus(t, do(t, "GET", webhook+"/instances", "", "x-functions-key", "wrong"), http.StatusUnauthorized)

	r := do(t, "POST", webhook+"/orchestrators/Hello?code="+url.QueryEscape(sysKey), "")
	wantStatus(t, r, http.StatusAccepted)
	var cs checkStatus
	decode(t, r, &cs)
	if !strings.Contains(cs.StatusQueryGetURI, "taskHub=CustomHub") || !strings.Contains(cs.StatusQueryGetURI, "code="+sysKey) {
		t.Errorf("statusQueryGetUri %q", cs.StatusQueryGetURI)
	}
	r = followStatus(t, cs.StatusQueryGetURI)
	wantStatus(t, r, http.StatusOK)
	var st instanceStatus
	decode(t, r, &st)
	if st.RuntimeStatus != "Completed" {
		t.Fatalf("status %s", r.body)
	}
	statusPath := webhook + "/instances/" + cs.ID
	wantStatus(t, do(t, "GET", statusPath, ""), http.StatusUnauthorized)
	wantStatus(t, do(t, "GET", statusPath, "", "x-functions-key", master), http.StatusOK)
	wantStatus(t, do(t, "GET", statusPath+"?code="+url.QueryEscape(master), ""), http.StatusOK)
	// Another extension's system key is valid, but not for this webhook.
	other, _, err := s.Host.Keys().SetHostKey(ctx, "systemkeys", "other_extension", "")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, do(t, "GET", statusPath, "", "x-functions-key", other.Value), http.StatusForbidden)
	// A function's own key is no key here.
	wantStatus(t, do(t, "GET", statusPath, "", "x-functions-key", s.FunctionKey(t, "Start")), http.StatusUnauthorized)

	// The local endpoint of the durableClient binding: no key.
	r = do(t, "POST", s.URL+"/api/Start", "")
	wantStatus(t, r, 200)
	var binding struct {
		RPCBaseURL string `json:"rpcBaseUrl"`
	}
	decode(t, r, &binding)
	if !strings.HasPrefix(binding.RPCBaseURL, "http://127.0.0.1:") || !strings.HasSuffix(binding.RPCBaseURL, "/durabletask/") {
		t.Fatalf("rpcBaseUrl %q", binding.RPCBaseURL)
	}
	wantStatus(t, do(t, "GET", binding.RPCBaseURL+"instances/"+cs.ID, ""), http.StatusOK)
}

// buildDurableCustom builds the custom handler of testdata/durablecustom.
func buildDurableCustom(t *testing.T, bin string) {
	t.Helper()
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/durablecustom/handler").CombinedOutput(); err != nil {
		t.Fatalf("building the handler: %v\n%s", err, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// The Go SDK's CreateCheckStatusResponse behind funcd: the URLs name the
// host the client called (X-Forwarded-Host), not the worker's loopback
// address, and following Location reaches the output.
func TestDurableGoCheckStatusResponse(t *testing.T) {
	s, _, _ := durableApp(t, goApp(t, filepath.Join("testdata", "durablego")))
	sysKey, err := s.Host.Keys().ExtensionKey(context.Background(), "durabletask")
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, "POST", s.URL+"/api/orchestrators/FanOut", "4")
	wantStatus(t, r, http.StatusAccepted)
	var cs checkStatus
	decode(t, r, &cs)
	want := s.URL + "/runtime/webhooks/durabletask/instances/" + cs.ID + "?taskHub=TestHubName&connection=Storage&code=" + sysKey
	if cs.ID == "" || cs.StatusQueryGetURI != want || r.header.Get("Location") != want || r.header.Get("Retry-After") != "10" {
		t.Fatalf("check-status response %s, headers %v; want statusQueryGetUri %s", r.body, r.header, want)
	}
	r = followStatus(t, r.header.Get("Location"))
	wantStatus(t, r, http.StatusOK)
	var st instanceStatus
	decode(t, r, &st)
	if st.RuntimeStatus != "Completed" {
		t.Fatalf("status %s", r.body)
	}
	jsonEq(t, "output", string(st.Output), `20`)
}
