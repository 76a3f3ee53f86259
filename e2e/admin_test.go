package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/hosttest"
)

func TestAdminAuth(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	fnKey := s.FunctionKey(t, "keyed")
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/status", ""), http.StatusUnauthorized)
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/status", "", "x-functions-key", "wrong"), http.StatusUnauthorized)
	hostKey := listKeys(t, s, "/admin/host/keys")["default"]
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/status", "", "x-functions-key", hostKey), http.StatusForbidden)
	wantStatus(t, do(t, "GET", s.URL+"/admin/functions?code="+fnKey, ""), http.StatusUnauthorized)
	// ping needs no key.
	r := do(t, "GET", s.URL+"/admin/host/ping", "")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.header.Get("Cache-Control"), "no-store") {
		t.Errorf("ping Cache-Control = %q", r.header.Get("Cache-Control"))
	}
	wantStatus(t, do(t, "POST", s.URL+"/admin/host/ping", ""), http.StatusOK)
}

func TestHostStatus(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	r := do(t, "GET", s.URL+"/admin/host/status", "", "x-functions-key", s.MasterKey(t))
	wantStatus(t, r, 200)
	var st map[string]any
	if err := json.Unmarshal([]byte(r.body), &st); err != nil {
		t.Fatal(err)
	}
	if st["state"] != "Running" || st["id"] == "" || !strings.HasPrefix(st["version"].(string), "4.") || st["functionAppContentEditingState"] != "Unknown" {
		t.Errorf("status = %s", r.body)
	}
	if _, ok := st["errors"]; ok {
		t.Errorf("a healthy host reports errors: %s", r.body)
	}
}

func TestFunctionsAdmin(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	admin := []string{"x-functions-key", s.MasterKey(t)}

	r := do(t, "GET", s.URL+"/admin/functions", "", admin...)
	wantStatus(t, r, 200)
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.body), &list); err != nil {
		t.Fatal(err)
	}
	byName := map[string]map[string]any{}
	for _, f := range list {
		byName[f["name"].(string)] = f
	}
	if _, ok := byName["broken"]; ok {
		t.Error("a function in error is listed")
	}
	echo := byName["echo"]
	if echo == nil {
		t.Fatalf("echo missing from %s", r.body)
	}
	if echo["invoke_url_template"] != strings.ToLower(s.URL)+"/api/echo/{id:int?}" {
		t.Errorf("invoke_url_template = %v", echo["invoke_url_template"])
	}
	if echo["href"] != s.URL+"/admin/functions/echo" || echo["config_href"] != s.URL+"/admin/vfs/echo/function.json" {
		t.Errorf("hrefs = %v %v", echo["href"], echo["config_href"])
	}
	cfg, _ := echo["config"].(map[string]any)
	if _, ok := cfg["bindings"]; !ok {
		t.Errorf("config = %v", echo["config"])
	}
	for _, k := range []string{"script_root_path_href", "script_href", "test_data_href", "language", "files", "test_data", "isDisabled", "isDirect", "isProxy"} {
		if _, ok := echo[k]; !ok {
			t.Errorf("FunctionMetadataResponse lacks %q", k)
		}
	}

	r = do(t, "GET", s.URL+"/admin/functions/ECHO", "", admin...)
	wantStatus(t, r, 200)
	wantStatus(t, do(t, "GET", s.URL+"/admin/functions/nosuch", "", admin...), 404)

	// A broken function's status names the file, line, column and field.
	r = do(t, "GET", s.URL+"/admin/functions/broken/status", "", admin...)
	wantStatus(t, r, 200)
	var st struct{ Errors []string }
	_ = json.Unmarshal([]byte(r.body), &st)
	if len(st.Errors) == 0 || !strings.Contains(st.Errors[0], "broken/function.json:3:") || !strings.Contains(st.Errors[0], "'sideways' is not a valid binding direction.") {
		t.Errorf("broken status = %s", r.body)
	}
	r = do(t, "GET", s.URL+"/admin/functions/echo/status", "", admin...)
	if r.status != 200 || r.body != "{}" {
		t.Errorf("healthy status = %d %s", r.status, r.body)
	}
	wantStatus(t, do(t, "GET", s.URL+"/admin/functions/nosuch/status", "", admin...), 404)

	// Invoking through the admin API answers 202 at once.
	jsonAdmin := append(admin, "Content-Type", "application/json")
	wantStatus(t, do(t, "POST", s.URL+"/admin/functions/echo", `{"input":"hello"}`, jsonAdmin...), http.StatusAccepted)
	wantStatus(t, do(t, "POST", s.URL+"/admin/functions/echo", "", jsonAdmin...), http.StatusBadRequest)
	wantStatus(t, do(t, "POST", s.URL+"/admin/functions/nosuch", `{"input":""}`, jsonAdmin...), http.StatusNotFound)

	r = do(t, "POST", s.URL+"/admin/host/synctriggers", "", admin...)
	if r.status != 200 || r.body != `{"status":"success"}` {
		t.Errorf("synctriggers = %d %s", r.status, r.body)
	}
}

// TestRestartKeepsInFlightRequests restarts the host while a request runs:
// the request completes, and a function added meanwhile appears.
func TestRestartKeepsInFlightRequests(t *testing.T) {
	dir := newApp(t, "basic")
	s := hosttest.Start(t, dir, hosttest.Options{})
	admin := []string{"x-functions-key", s.MasterKey(t)}

	slow := make(chan response, 1)
	go func() { slow <- do(t, "GET", s.URL+"/api/slow?ms=1500", "") }()
	eventually(t, 10*time.Second, "the slow request to start", func() bool { return s.Host.Current().InFlight() > 0 })

	// Add a function, then restart.
	if err := os.MkdirAll(filepath.Join(dir, "added"), 0o755); err != nil {
		t.Fatal(err)
	}
	fj := `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","route":"added"},{"type":"http","direction":"out","name":"res"}]}`
	if err := os.WriteFile(filepath.Join(dir, "added", "function.json"), []byte(fj), 0o644); err != nil {
		t.Fatal(err)
	}
	old := s.Host.Current()
	r := do(t, "POST", s.URL+"/admin/host/restart", "", admin...)
	wantStatus(t, r, 200)
	if !strings.Contains(r.body, `"isSelfHost":true`) {
		t.Errorf("restart answer = %s", r.body)
	}
	eventually(t, 30*time.Second, "the new generation", func() bool { return s.Host.Current() != old })
	wantStatus(t, <-slow, http.StatusOK)
	// The handler has no "added" behaviour: it answers 404, so the host says 500;
	// the point is that the route now exists (an unknown route would be 404).
	wantStatus(t, do(t, "GET", s.URL+"/api/added", ""), http.StatusInternalServerError)
	wantStatus(t, do(t, "GET", s.URL+"/api/echo", ""), http.StatusOK)
}

// TestAdminListsEveryReadableFunction: /admin/functions lists functions
// without applying the allow list (FunctionMetadataManager with
// applyAllowList: false) and lists functions in error, except those whose
// function.json could not be read into metadata; errors show in the
// status of the functions the host tried to create.
func TestAdminListsEveryReadableFunction(t *testing.T) {
	dir := newApp(t, "basic")
	// Readable, but its queue name is invalid: in error.
	if err := os.MkdirAll(filepath.Join(dir, "queued"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "queued", "function.json"), []byte(`{"bindings": [{"type": "queueTrigger", "direction": "in", "name": "m", "queueName": "q"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	names := func(s *hosttest.Server, admin []string) []string {
		r := do(t, "GET", s.URL+"/admin/functions", "", admin...)
		wantStatus(t, r, http.StatusOK)
		var list []struct {
			Name       string `json:"name"`
			IsDisabled bool   `json:"isDisabled"`
		}
		if err := json.Unmarshal([]byte(r.body), &list); err != nil {
			t.Fatalf("%v: %s", err, r.body)
		}
		var out []string
		for _, f := range list {
			out = append(out, f.Name)
		}
		return out
	}

	s := hosttest.Start(t, dir, hosttest.Options{})
	admin := []string{"x-functions-key", s.MasterKey(t)}
	got := names(s, admin)
	if !slices.Contains(got, "queued") || !slices.Contains(got, "echo") || slices.Contains(got, "broken") {
		t.Errorf("functions listed = %v, want queued and echo, not broken (unreadable function.json)", got)
	}
	wantStatus(t, do(t, "GET", s.URL+"/admin/functions/queued", "", admin...), http.StatusOK)
	wantStatus(t, do(t, "GET", s.URL+"/admin/functions/broken", "", admin...), http.StatusNotFound)
	r := do(t, "GET", s.URL+"/admin/functions/queued/status", "", admin...)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"errors":[`) || !strings.Contains(r.body, "A queue name must be from 3 to 63 characters long") {
		t.Errorf("status of a function in error = %d %s", r.status, r.body)
	}
	r = do(t, "GET", s.URL+"/admin/functions/broken/status", "", admin...)
	if r.status != http.StatusOK || !strings.Contains(r.body, "sideways") {
		t.Errorf("status of an unreadable function = %d %s", r.status, r.body)
	}
	s.Close()

	// With an allow list, the functions it leaves out are still listed,
	// report no errors (the host never creates them) and do not run.
	s = hosttest.Start(t, dir, hosttest.Options{AllowList: []string{"echo"}})
	admin = []string{"x-functions-key", s.MasterKey(t)}
	got = names(s, admin)
	if !slices.Contains(got, "queued") || !slices.Contains(got, "crash") || !slices.Contains(got, "echo") || slices.Contains(got, "broken") {
		t.Errorf("functions listed with an allow list = %v", got)
	}
	wantStatus(t, do(t, "GET", s.URL+"/admin/functions/crash", "", admin...), http.StatusOK)
	for path, want := range map[string]string{"/admin/functions/queued/status": "{}", "/admin/functions/crash/status": "{}"} {
		if r := do(t, "GET", s.URL+path, "", admin...); r.status != http.StatusOK || r.body != want {
			t.Errorf("GET %s = %d %s, want %s", path, r.status, r.body, want)
		}
	}
	wantStatus(t, do(t, "GET", s.URL+"/admin/functions/broken/status", "", admin...), http.StatusNotFound)
	wantStatus(t, do(t, "GET", s.URL+"/api/crash", ""), http.StatusNotFound)
	wantStatus(t, do(t, "POST", s.URL+"/admin/functions/crash", `{"input":""}`, append(admin, "Content-Type", "application/json")...), http.StatusNotFound)
	wantStatus(t, do(t, "GET", s.URL+"/api/echo", ""), http.StatusOK)
}

// TestAdminInvokeURLOfAFunctionInError: invoke_url_template takes the route
// from function.json even for a function that failed after its trigger was
// written, as the real host reads it from the raw binding.
func TestAdminInvokeURLOfAFunctionInError(t *testing.T) {
	dir := newApp(t, "basic")
	if err := os.MkdirAll(filepath.Join(dir, "routed"), 0o755); err != nil {
		t.Fatal(err)
	}
	fn := `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "route": "things/{id:int}"}, {"type": "htp", "direction": "out", "name": "res"}]}`
	if err := os.WriteFile(filepath.Join(dir, "routed", "function.json"), []byte(fn), 0o644); err != nil {
		t.Fatal(err)
	}
	s := hosttest.Start(t, dir, hosttest.Options{})
	r := do(t, "GET", s.URL+"/admin/functions/routed", "", "x-functions-key", s.MasterKey(t))
	wantStatus(t, r, http.StatusOK)
	var m struct {
		InvokeURLTemplate string `json:"invoke_url_template"`
	}
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if !strings.HasSuffix(m.InvokeURLTemplate, "/api/things/{id:int}") {
		t.Errorf("invoke_url_template = %q, want the route from function.json", m.InvokeURLTemplate)
	}
}
