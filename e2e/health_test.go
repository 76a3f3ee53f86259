package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/hosttest"
)

// hostStatus is the part of /admin/host/status these tests read.
type hostStatus struct {
	State  string   `json:"state"`
	Errors []string `json:"errors"`
	Worker *struct {
		State          string `json:"state"`
		Pid            int    `json:"pid"`
		RestartCount   int    `json:"restartCount"`
		FailuresInARow int    `json:"failuresInARow"`
		LastFailure    string `json:"lastFailure"`
	} `json:"worker"`
}

func getStatus(t *testing.T, s *hosttest.Server, master string) hostStatus {
	t.Helper()
	r := do(t, "GET", s.URL+"/admin/host/status", "", "x-functions-key", master)
	wantStatus(t, r, http.StatusOK)
	var st hostStatus
	if err := json.Unmarshal([]byte(r.body), &st); err != nil {
		t.Fatalf("status is not JSON: %v: %s", err, r.body)
	}
	return st
}

// TestOneBadRequestDoesNotKillTheHost: a request that crashes the handler,
// sent again and again (more often than the real host's limit of three),
// leaves the host serving: the handler comes back each time, requests
// while it is down get 503 at once, and status and readiness report it.
func TestOneBadRequestDoesNotKillTheHost(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	master := s.MasterKey(t)
	const crashes = 4
	var sawDown, sawNotReady bool
	for i := range crashes {
		eventually(t, 60*time.Second, "the handler to serve again", func() bool {
			return do(t, "GET", s.URL+"/api/echo", "").status == http.StatusOK
		})
		wantStatus(t, do(t, "GET", s.URL+"/api/crash", ""), http.StatusInternalServerError)
		// A request sent before the exit is noticed may still reach the
		// dying handler (the real host has the same race): wait until the
		// host has counted the failure.
		eventually(t, 30*time.Second, "the failure to be counted", func() bool {
			st := getStatus(t, s, master)
			return st.Worker != nil && st.Worker.FailuresInARow == i+1
		})

		// Then the handler waits out its backoff (at least a second,
		// doubling): requests fail fast with 503.
		r := do(t, "GET", s.URL+"/api/echo", "")
		switch r.status {
		case http.StatusServiceUnavailable:
			sawDown = true
			if r.header.Get("Retry-After") == "" {
				t.Errorf("503 while the handler is down has no Retry-After: %v", r.header)
			}
		case http.StatusOK: // already back
		default:
			t.Fatalf("crash %d: GET /api/echo = %d %q", i+1, r.status, r.body)
		}
		ready := do(t, "GET", s.URL+"/admin/health/ready?expand=true", "", "x-functions-key", master)
		if ready.status == http.StatusServiceUnavailable {
			sawNotReady = true
			var rep struct {
				Status  string
				Entries map[string]struct {
					Status, Description, Exception string
				}
			}
			if err := json.Unmarshal([]byte(ready.body), &rep); err != nil {
				t.Fatalf("readiness report is not JSON: %v: %s", err, ready.body)
			}
			e := rep.Entries["funcd.worker.lifecycle"]
			if rep.Status != "Unhealthy" || e.Status != "Unhealthy" || !strings.Contains(e.Exception, "exited with code 3") {
				t.Errorf("readiness while the handler is down = %s", ready.body)
			}
		}
		// Liveness and the ping do not depend on the handler.
		wantStatus(t, do(t, "GET", s.URL+"/admin/health/live", "", "x-functions-key", master), http.StatusOK)
		wantStatus(t, do(t, "GET", s.URL+"/admin/host/ping", ""), http.StatusOK)

		st := getStatus(t, s, master)
		if st.State != "Running" || st.Worker == nil || st.Worker.FailuresInARow != i+1 ||
			!strings.Contains(st.Worker.LastFailure, "exited with code 3") {
			t.Errorf("status after crash %d = %+v", i+1, st)
		}
		if st.Worker != nil && st.Worker.State != "Ready" && (len(st.Errors) != 1 || !strings.Contains(st.Errors[0], "The custom handler")) {
			t.Errorf("status while the handler is %s has errors %q", st.Worker.State, st.Errors)
		}
	}
	if !sawDown || !sawNotReady {
		t.Errorf("never saw the handler down: 503 from a function %v, readiness 503 %v", sawDown, sawNotReady)
	}

	// ?wait holds the probe until the handler is back.
	r := do(t, "GET", s.URL+"/admin/health/ready?wait=60", "", "x-functions-key", master)
	if r.status != http.StatusOK || r.body != `{"status":"Healthy"}` {
		t.Fatalf("readiness after ?wait = %d %q", r.status, r.body)
	}
	wantStatus(t, do(t, "GET", s.URL+"/api/echo", ""), http.StatusOK)
	st := getStatus(t, s, master)
	if st.State != "Running" || st.Worker == nil || st.Worker.State != "Ready" || st.Worker.RestartCount != crashes ||
		st.Worker.Pid == 0 || len(st.Errors) != 0 {
		t.Errorf("status once back = %+v", st)
	}
	select {
	case <-s.Host.Fatal():
		t.Fatalf("the host gave up: %v", s.Host.FatalErr())
	default:
	}
}

// TestExitOnWorkerFailureSetting: the app setting keeps the real host's
// rule (give up after three failures); a value that is not a boolean stops
// the host from starting, naming the setting.
func TestExitOnWorkerFailureSetting(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{Env: map[string]string{"FUNCD_EXIT_ON_WORKER_FAILURE": "true"}})
	crashUntilHostGivesUp(t, s)
	r := do(t, "GET", s.URL+"/admin/health/ready", "", "x-functions-key", s.MasterKey(t))
	if r.status != http.StatusServiceUnavailable || r.body != `{"status":"Unhealthy"}` {
		t.Errorf("readiness after giving up = %d %q", r.status, r.body)
	}

	_, err := hosttest.StartErr(t, newApp(t, "basic"), hosttest.Options{Env: map[string]string{"FUNCD_EXIT_ON_WORKER_FAILURE": "sometimes"}})
	if err == nil || !strings.Contains(err.Error(), `FUNCD_EXIT_ON_WORKER_FAILURE is "sometimes"; expected true or false`) {
		t.Errorf("Start with a bad setting = %v", err)
	}
}

// TestHealthEndpoints: the real host's /admin/health, /live and /ready:
// the master key (bare 401, 403), the minimal and expanded reports, the
// cache headers, ?wait validation, unknown paths under /admin/health.
func TestHealthEndpoints(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	master := s.MasterKey(t)
	wantStatus(t, do(t, "GET", s.URL+"/api/echo", ""), http.StatusOK) // the handler is up

	for _, path := range []string{"/admin/health", "/admin/health/", "/ADMIN/Health/Live", "/admin/health/ready"} {
		r := do(t, "GET", s.URL+path, "")
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != "" {
			t.Errorf("GET %s without a key = %d %v", path, r.status, r.header)
		}
		r = do(t, "GET", s.URL+path, "", "x-functions-key", s.FunctionKey(t, "secured"))
		if r.status != http.StatusUnauthorized {
			t.Errorf("GET %s with a function key = %d", path, r.status)
		}
		r = do(t, "POST", s.URL+path, "", "x-functions-key", master)
		if r.status != http.StatusOK || r.body != `{"status":"Healthy"}` || r.header.Get("Content-Type") != "" ||
			r.header.Get("Cache-Control") != "no-store, no-cache" || r.header.Get("Pragma") != "no-cache" ||
			r.header.Get("Expires") != "Thu, 01 Jan 1970 00:00:00 GMT" || r.header.Get("X-Frame-Options") != "" {
			t.Errorf("POST %s = %d %q %v", path, r.status, r.body, r.header)
		}
	}
	r := do(t, "GET", s.URL+"/admin/health?expand=TRUE", "", "x-functions-key", master)
	var rep struct {
		Status        string
		TotalDuration string
		Entries       map[string]struct {
			Status string
			Tags   []string
			Data   map[string]any
		}
	}
	if err := json.Unmarshal([]byte(r.body), &rep); err != nil || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("expanded report = %v %q %v", err, r.body, r.header)
	}
	want := map[string]string{
		"azure.functions.web_host.lifecycle":    "az.functions.liveness",
		"azure.functions.script_host.lifecycle": "az.functions.readiness",
		"funcd.worker.lifecycle":                "az.functions.readiness",
	}
	if rep.Status != "Healthy" || rep.TotalDuration == "" || len(rep.Entries) != len(want) {
		t.Errorf("expanded report = %s", r.body)
	}
	for name, tag := range want {
		if e := rep.Entries[name]; e.Status != "Healthy" || len(e.Tags) != 1 || e.Tags[0] != tag || e.Data == nil {
			t.Errorf("entry %s = %+v", name, e)
		}
	}
	r = do(t, "GET", s.URL+"/admin/health/live?expand=true", "", "x-functions-key", master)
	if !strings.Contains(r.body, "web_host") || strings.Contains(r.body, "script_host") {
		t.Errorf("liveness report = %s", r.body)
	}

	for _, wait := range []string{"x", "-1", "1.5", "99999999999"} {
		r := do(t, "GET", s.URL+"/admin/health/ready?wait="+wait, "", "x-functions-key", master)
		want := `{"code":"BadArgument","message":"'wait' query param must be a positive integer","target":"wait=` + wait + `","details":[],"additionalInfo":[]}`
		if r.status != http.StatusBadRequest || r.body != want {
			t.Errorf("?wait=%s = %d %q", wait, r.status, r.body)
		}
	}
	wantStatus(t, do(t, "GET", s.URL+"/admin/health/ready?wait=0", "", "x-functions-key", master), http.StatusOK)
	for _, path := range []string{"/admin/health/other", "/admin/health/live/x"} {
		wantStatus(t, do(t, "GET", s.URL+path, "", "x-functions-key", master), http.StatusNotFound)
		wantStatus(t, do(t, "GET", s.URL+path, ""), http.StatusUnauthorized)
	}
}
