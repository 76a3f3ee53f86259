package e2e

// Black-box checks of the HTTP surface against the real Functions host's
// contract (docs/contract/host.md sections 4 to 6, and the host's source:
// HostController, KeysController, FunctionsController, the middleware
// pipeline and ASP.NET Core's legacy MVC routing, which the host uses).
// Each expectation is the real host's answer, not funcd's.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/funcd/funcd/hosttest"
)

// startContract runs the contract app with its disabled functions.
func startContract(t *testing.T, opts hosttest.Options) *hosttest.Server {
	t.Helper()
	if opts.Env == nil {
		opts.Env = map[string]string{}
	}
	opts.Env["AzureWebJobs.disabledfn.Disabled"] = "true"
	opts.Env["AzureWebJobs.keyedoff.Disabled"] = "1"
	return hosttest.Start(t, newApp(t, "contract"), opts)
}

// jsonObject decodes a JSON object, failing the test if it is not one.
func jsonObject(t *testing.T, body string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not a JSON object: %v: %q", err, body)
	}
	return m
}

func keysOf(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Admin routes are MVC attribute routes under legacy routing
// (EnableEndpointRouting = false): a verb no action accepts matches nothing,
// so the request falls through to the function routes and ends in 404
// (never 405), before any key is looked at.
func TestContractAdminRouteVerbs(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	master := s.MasterKey(t)
	cases := []struct{ method, path string }{
		{"DELETE", "/admin/host/status"},
		{"HEAD", "/admin/host/status"},
		{"HEAD", "/admin/host/ping"},
		{"PUT", "/admin/host/ping"},
		{"GET", "/admin/host/restart"},
		{"GET", "/admin/host/synctriggers"},
		{"POST", "/admin/functions"},
		{"PATCH", "/admin/functions/echo"},
		{"POST", "/admin/functions/echo/status"},
		{"POST", "/admin/functions/echo/keys"},
		{"DELETE", "/admin/host/keys"},
		{"PATCH", "/admin/host/systemkeys/_master"},
		{"GET", "/admin"},
		{"GET", "/admin/nosuch"},
		{"GET", "/admin/host/keys/a/b"},
	}
	for _, c := range cases {
		for _, key := range []string{"", master} {
			r := do(t, c.method, s.URL+c.path, "", "x-functions-key", key)
			if r.status != http.StatusNotFound || r.body != "" {
				t.Errorf("%s %s (key %t) = %d %q, want 404 with no body", c.method, c.path, key != "", r.status, r.body)
			}
			if a := r.header.Get("Allow"); a != "" {
				t.Errorf("%s %s: Allow = %q on a 404", c.method, c.path, a)
			}
		}
	}
}

// 401 without a valid key (the ASP.NET challenge of every scheme the admin
// policy names, JwtBearer's included), 403 with a valid key of a lower level.
// Admin routes run no function, so a function's own key is no key there.
func TestContractAdminAuth(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	fnKey := s.FunctionKey(t, "keyed")
	hostKey := listKeys(t, s, "/admin/host/functionkeys")["default"]
	sysKey := createKey(t, s, "/admin/host/systemkeys/contract_extension")
	for _, key := range []string{"", "not-a-key", fnKey} {
		r := do(t, "GET", s.URL+"/admin/host/status", "", "x-functions-key", key)
		wantStatus(t, r, http.StatusUnauthorized)
		if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("401 WWW-Authenticate = %q, want Bearer", got)
		}
		if r.body != "" {
			t.Errorf("401 body = %q", r.body)
		}
	}
	for _, key := range []string{hostKey, sysKey} {
		r := do(t, "GET", s.URL+"/admin/functions", "", "x-functions-key", key)
		wantStatus(t, r, http.StatusForbidden)
		if r.header.Get("WWW-Authenticate") != "" {
			t.Errorf("403 carries WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
		}
	}
	// The route matches before authorization runs: an unknown function is
	// 401 without a key and 404 with one.
	wantStatus(t, do(t, "GET", s.URL+"/admin/functions/nosuch", ""), http.StatusUnauthorized)
	wantStatus(t, do(t, "GET", s.URL+"/admin/functions/nosuch", "", "x-functions-key", s.MasterKey(t)), http.StatusNotFound)
	// code works for admin routes too, and the header wins over it.
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/status?code="+s.MasterKey(t), ""), http.StatusOK)
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/status?code="+s.MasterKey(t), "", "x-functions-key", hostKey), http.StatusForbidden)
}

// PathString comparisons and route literals ignore case; a trailing slash is
// ignored; Kestrel decodes the path except %2F; an empty segment matches no
// literal.
func TestContractAdminPaths(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	admin := []string{"x-functions-key", s.MasterKey(t)}
	cases := []struct {
		path string
		want int
	}{
		{"/ADMIN/HOST/STATUS", 200},
		{"/Admin/Functions/ECHO", 200},
		{"/admin/functions/Echo/Status", 200},
		{"/admin/host/SystemKeys", 200},
		{"/admin/host/status/", 200},
		{"/admin/host/%73tatus", 200},
		{"/admin//host/status", 404},
		{"/admin%2Fhost%2Fstatus", 404},
		{"/admin/host%2Fstatus", 404},
	}
	for _, c := range cases {
		if r := do(t, "GET", s.URL+c.path, "", admin...); r.status != c.want {
			t.Errorf("GET %s = %d, want %d", c.path, r.status, c.want)
		}
	}
	r := do(t, "GET", s.URL+"/admin/functions/ECHO", "", admin...)
	var fn struct{ Name string }
	_ = json.Unmarshal([]byte(r.body), &fn)
	if fn.Name != "echo" {
		t.Errorf("GET /admin/functions/ECHO name = %q, want the folder's spelling", fn.Name)
	}
}

// HostController.Ping: GET and POST, no key, [ResponseCache(NoStore = true,
// Location = None)].
func TestContractPing(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	for _, m := range []string{"GET", "POST"} {
		r := do(t, m, s.URL+"/admin/host/ping", "", "x-functions-key", "wrong")
		wantStatus(t, r, http.StatusOK)
		if r.body != "" {
			t.Errorf("%s ping body = %q", m, r.body)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store,no-cache" {
			t.Errorf("%s ping Cache-Control = %q, want no-store,no-cache", m, cc)
		}
		if p := r.header.Get("Pragma"); p != "no-cache" {
			t.Errorf("%s ping Pragma = %q, want no-cache", m, p)
		}
	}
}

// HostStatus: camelCase names, default members omitted except
// functionAppContentEditingState. "worker" is funcd's one addition (the
// handler process's state), which clients that ignore unknown members skip.
func TestContractHostStatusShape(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	r := do(t, "GET", s.URL+"/admin/host/status", "", "x-functions-key", s.MasterKey(t))
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	st := jsonObject(t, r.body)
	for _, k := range []string{"id", "state", "version", "versionDetails", "processUptime", "functionAppContentEditingState"} {
		if _, ok := st[k]; !ok {
			t.Errorf("HostStatus lacks %q: %s", k, r.body)
		}
	}
	allowed := []string{"id", "state", "version", "versionDetails", "platformVersion", "instanceId", "computerName", "errors", "processUptime", "functionAppContentEditingState", "extensionBundle", "worker"}
	for k, v := range st {
		if !slices.Contains(allowed, k) {
			t.Errorf("HostStatus has unknown member %q", k)
		}
		if string(v) == "null" {
			t.Errorf("HostStatus member %q is null; nulls are omitted", k)
		}
	}
	if string(st["state"]) != `"Running"` {
		t.Errorf("state = %s", st["state"])
	}
}

// FunctionMetadataResponse is serialized with MVC's settings: every member,
// nulls included, under its [JsonProperty] name.
func TestContractFunctionMetadataShape(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	admin := []string{"x-functions-key", s.MasterKey(t)}
	want := []string{"config", "config_href", "files", "href", "invoke_url_template", "isDirect", "isDisabled", "isProxy",
		"language", "name", "script_href", "script_root_path_href", "test_data", "test_data_href"}

	r := do(t, "GET", s.URL+"/admin/functions/echo", "", admin...)
	wantStatus(t, r, http.StatusOK)
	m := jsonObject(t, r.body)
	if got := keysOf(m); !slices.Equal(got, want) {
		t.Errorf("members = %v, want %v", got, want)
	}
	if string(m["files"]) != "null" || string(m["test_data"]) != "null" {
		t.Errorf("files, test_data = %s, %s; want null", m["files"], m["test_data"])
	}
	if string(m["invoke_url_template"]) != strconv.Quote(strings.ToLower(s.URL)+"/api/echo/{id:int?}") {
		t.Errorf("invoke_url_template = %s", m["invoke_url_template"])
	}
	if string(m["href"]) != strconv.Quote(s.URL+"/admin/functions/echo") {
		t.Errorf("href = %s (a single GET uses the request's scheme and host)", m["href"])
	}

	r = do(t, "GET", s.URL+"/admin/functions", "", admin...)
	wantStatus(t, r, http.StatusOK)
	var list []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.body), &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range list {
		var n string
		_ = json.Unmarshal(f["name"], &n)
		names = append(names, n)
		if got := keysOf(f); !slices.Equal(got, want) {
			t.Errorf("%s members = %v", n, got)
		}
	}
	// Sorted by name; disabled functions are listed, flagged.
	if !slices.IsSorted(names) || !slices.Contains(names, "disabledfn") {
		t.Errorf("names = %v", names)
	}
	for _, f := range list {
		if string(f["name"]) == `"disabledfn"` && string(f["isDisabled"]) != "true" {
			t.Errorf("disabledfn isDisabled = %s", f["isDisabled"])
		}
	}
}

// Key responses: ApiModel with camelCase names, nulls dropped, and links
// [{rel: self, href: scheme://host/path}] (no query).
func TestContractKeyResponses(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	admin := []string{"x-functions-key", s.MasterKey(t)}

	for _, path := range []string{"/admin/host/keys", "/admin/host/functionkeys", "/admin/host/systemkeys", "/admin/functions/echo/keys", "/admin/functions/ECHO/keys", "/admin/host/FunctionKeys"} {
		r := do(t, "GET", s.URL+path+"?x=1", "", admin...)
		wantStatus(t, r, http.StatusOK)
		m := jsonObject(t, r.body)
		if got := keysOf(m); !slices.Equal(got, []string{"keys", "links"}) {
			t.Errorf("%s members = %v", path, got)
		}
		var list struct {
			Keys  []map[string]json.RawMessage
			Links []map[string]string
		}
		_ = json.Unmarshal([]byte(r.body), &list)
		for _, k := range list.Keys {
			if got := keysOf(k); !slices.Equal(got, []string{"name", "value"}) {
				t.Errorf("%s key members = %v", path, got)
			}
		}
		if len(list.Links) != 1 || list.Links[0]["rel"] != "self" || list.Links[0]["href"] != s.URL+path || len(list.Links[0]) != 2 {
			t.Errorf("%s links = %v", path, list.Links)
		}
	}

	r := do(t, "GET", s.URL+"/admin/functions/echo/keys/default", "", admin...)
	wantStatus(t, r, http.StatusOK)
	if got := keysOf(jsonObject(t, r.body)); !slices.Equal(got, []string{"links", "name", "value"}) {
		t.Errorf("single key members = %v", got)
	}

	// Created: 201, Location is the request URL.
	url := s.URL + "/admin/host/functionkeys/made"
	r = do(t, "PUT", url, `{"name":"made","value":"made-value-0123456789"}`, append(admin, "Content-Type", "application/json")...)
	wantStatus(t, r, http.StatusCreated)
	if r.header.Get("Location") != url {
		t.Errorf("Location = %q, want %q", r.header.Get("Location"), url)
	}
	// Unknown functions: 404 for every key operation.
	for _, m := range []string{"GET", "POST", "DELETE"} {
		wantStatus(t, do(t, m, s.URL+"/admin/functions/nosuch/keys/k", "", admin...), http.StatusNotFound)
	}
}

// The master key is "_master": readable under systemkeys only, settable
// under any host scope, never deletable (BadRequest(string) goes through
// ASP.NET's StringOutputFormatter: text/plain unless the client asks for
// JSON).
func TestContractMasterKeyRules(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	master := s.MasterKey(t)
	admin := []string{"x-functions-key", master}

	r := do(t, "GET", s.URL+"/admin/host/systemkeys/_master", "", admin...)
	wantStatus(t, r, http.StatusOK)
	var k struct{ Name, Value string }
	_ = json.Unmarshal([]byte(r.body), &k)
	if k.Name != "_master" || k.Value != master {
		t.Errorf("systemkeys/_master = %s", r.body)
	}
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/functionkeys/_master", "", admin...), http.StatusNotFound)
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/keys/_master", "", admin...), http.StatusNotFound)

	for _, path := range []string{"/admin/host/keys/_master", "/admin/host/systemkeys/_master", "/admin/functions/echo/keys/_master"} {
		r = do(t, "DELETE", s.URL+path, "", admin...)
		wantStatus(t, r, http.StatusBadRequest)
		if r.body != "Cannot delete System Key." || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("DELETE %s = %q (%s)", path, r.body, r.header.Get("Content-Type"))
		}
	}
	r = do(t, "DELETE", s.URL+"/admin/host/keys/_master", "", append(admin, "Accept", "application/json")...)
	if r.body != `"Cannot delete System Key."` || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("DELETE _master asking for JSON = %q (%s)", r.body, r.header.Get("Content-Type"))
	}
	r = do(t, "PUT", s.URL+"/admin/host/keys/x", `{"name":"x"}`, append(admin, "Content-Type", "application/json")...)
	wantStatus(t, r, http.StatusBadRequest)
	if r.body != "Invalid key value" {
		t.Errorf("PUT without a value = %q", r.body)
	}

	// Setting _master under the function keys scope sets the master key.
	r = do(t, "PUT", s.URL+"/admin/host/functionkeys/_master", `{"name":"_master","value":"new-master-key-0123456789"}`, append(admin, "Content-Type", "application/json")...)
	wantStatus(t, r, http.StatusOK)
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/status", "", admin...), http.StatusUnauthorized)
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/status", "", "x-functions-key", "new-master-key-0123456789"), http.StatusOK)
}

// AuthenticationLevelHandler: a present x-functions-key header is used even
// when empty, and the code query is then not looked at. Keys that match
// nothing are anonymous, whatever they look like.
func TestContractKeyPresentation(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	fnKey := s.FunctionKey(t, "keyed")
	wantStatus(t, do(t, "GET", s.URL+"/api/keyed?code="+fnKey, ""), http.StatusOK)
	wantStatus(t, do(t, "GET", s.URL+"/api/keyed?code="+fnKey, "", "x-functions-key", ""), http.StatusUnauthorized)
	wantStatus(t, do(t, "GET", s.URL+"/api/keyed?code="+fnKey+"&code=other", ""), http.StatusOK)
	wantStatus(t, do(t, "GET", s.URL+"/api/keyed?code=other&code="+fnKey, ""), http.StatusUnauthorized)

	// The key's identity reaches the handler with the claims in the real
	// host's order (AuthenticationLevelHandler): level, invoke, key name.
	r := do(t, "GET", s.URL+"/api/keyed", "", "x-functions-key", fnKey)
	var p struct {
		Data struct {
			Req struct {
				Identities []struct {
					Claims []struct{ Type, Value string }
				}
			}
		}
	}
	_ = json.Unmarshal([]byte(r.body), &p)
	var claims []string
	for _, id := range p.Data.Req.Identities {
		for _, c := range id.Claims {
			claims = append(claims, strings.TrimPrefix(c.Type, "http://schemas.microsoft.com/2017/07/functions/claims/")+"="+c.Value)
		}
	}
	if want := []string{"authlevel=Function", "invoke=true", "keyid=default"}; !slices.Equal(claims, want) {
		t.Errorf("claims = %v, want %v", claims, want)
	}

	malformed := []string{strings.Repeat("k", 8000), "ключ", "a b", `"` + fnKey + `"`, fnKey + "x", "%zz"}
	for _, key := range malformed {
		if r := do(t, "GET", s.URL+"/api/keyed", "", "x-functions-key", key); r.status != http.StatusUnauthorized {
			t.Errorf("key %.20q on a function-level function = %d, want 401", key, r.status)
		}
		if r := do(t, "GET", s.URL+"/api/echo", "", "x-functions-key", key); r.status != http.StatusOK {
			t.Errorf("key %.20q on an anonymous function = %d, want 200", key, r.status)
		}
		if r := do(t, "GET", s.URL+"/admin/host/status", "", "x-functions-key", key); r.status != http.StatusUnauthorized {
			t.Errorf("key %.20q on an admin route = %d, want 401", key, r.status)
		}
	}
	wantStatus(t, do(t, "GET", s.URL+"/api/keyed?code=%zz", ""), http.StatusUnauthorized)
}

// FunctionInvocationMiddleware authorizes first (401), then hides disabled
// functions from non-admin callers (404).
func TestContractDisabledFunctions(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	master := s.MasterKey(t)
	fnKey := s.FunctionKey(t, "keyedoff")
	cases := []struct {
		path string
		key  string
		want int
	}{
		{"/api/keyedoff", "", http.StatusUnauthorized},
		{"/api/keyedoff", "wrong", http.StatusUnauthorized},
		{"/api/keyedoff", fnKey, http.StatusNotFound},
		{"/api/keyedoff", master, http.StatusOK},
		{"/api/disabledfn", "", http.StatusNotFound},
		{"/api/disabledfn", master, http.StatusOK},
	}
	for _, c := range cases {
		if r := do(t, "GET", s.URL+c.path, "", "x-functions-key", c.key); r.status != c.want {
			t.Errorf("GET %s (key %.8q) = %d, want %d", c.path, c.key, r.status, c.want)
		}
	}
}

// FunctionsController.Invoke: [FromBody] is bound before the action runs, so
// a missing body is 400 even for an unknown function; 202 with no body.
func TestContractAdminInvoke(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	admin := []string{"x-functions-key", s.MasterKey(t), "Content-Type", "application/json"}
	r := do(t, "POST", s.URL+"/admin/functions/ECHO", `{"input":"hi"}`, admin...)
	if r.status != http.StatusAccepted || r.body != "" {
		t.Errorf("invoke = %d %q, want 202 with no body", r.status, r.body)
	}
	wantStatus(t, do(t, "POST", s.URL+"/admin/functions/echo", `{}`, admin...), http.StatusAccepted)
	for _, body := range []string{"", "null", "not json"} {
		wantStatus(t, do(t, "POST", s.URL+"/admin/functions/echo", body, admin...), http.StatusBadRequest)
		wantStatus(t, do(t, "POST", s.URL+"/admin/functions/nosuch", body, admin...), http.StatusBadRequest)
	}
	wantStatus(t, do(t, "POST", s.URL+"/admin/functions/nosuch", `{"input":""}`, admin...), http.StatusNotFound)
	wantStatus(t, do(t, "POST", s.URL+"/admin/functions/echo", `{"input":""}`), http.StatusUnauthorized)
}

// HomepageMiddleware runs after the rest of the pipeline for any request to
// "/" that no function took: any method, HTML (ContentResult "text/html"),
// or 204 when AzureWebJobsDisableHomepage is true.
func TestContractHomepage(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	for _, m := range []string{"GET", "POST", "DELETE"} {
		r := do(t, m, s.URL+"/", "")
		wantStatus(t, r, http.StatusOK)
		if r.header.Get("Content-Type") != "text/html" || !strings.Contains(r.body, "Your Functions 4.0 app is up and running") {
			t.Errorf("%s / = %q %.40q", m, r.header.Get("Content-Type"), r.body)
		}
	}
	r := do(t, "HEAD", s.URL+"/", "")
	if r.status != http.StatusOK || r.body != "" {
		t.Errorf("HEAD / = %d %q", r.status, r.body)
	}
	off := startContract(t, hosttest.Options{Env: map[string]string{"AzureWebJobsDisableHomepage": "True"}})
	for _, m := range []string{"GET", "POST"} {
		r := do(t, m, off.URL+"/", "")
		if r.status != http.StatusNoContent || r.body != "" {
			t.Errorf("%s / with the homepage disabled = %d %q", m, r.status, r.body)
		}
	}
}

// Function routes: ASP.NET Core route matching on the decoded path (except
// %2F), HttpMethodRouteConstraint for the methods (HEAD is not GET), and
// Kestrel's request line limit (8 KB: 414).
func TestContractFunctionPaths(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	cases := []struct {
		method, path string
		want         int
		wantID       string // the id route value the handler saw, "null" if none
	}{
		{"GET", "/api/echo/", 200, "null"},
		{"GET", "/api/echo/7/", 200, `"7"`},
		{"GET", "/api/%65cho/%34%32", 200, `"42"`},
		{"GET", "/Api/ECHO", 200, "null"},
		{"GET", "/api//echo", 404, ""},
		{"GET", "/api/echo//7", 404, ""},
		{"GET", "/api%2Fecho", 404, ""},
		{"HEAD", "/api/echo", 404, ""},    // methods get, post: HEAD does not match
		{"OPTIONS", "/api/echo", 404, ""}, // no CORS configured: an ordinary method
		{"GET", "/api/echo?" + strings.Repeat("q", 4000), 200, "null"},
		{"GET", "/api/echo?" + strings.Repeat("q", 16000), 414, ""},
	}
	for _, c := range cases {
		r := do(t, c.method, s.URL+c.path, "")
		if r.status != c.want {
			t.Errorf("%s %.60s = %d, want %d", c.method, c.path, r.status, c.want)
			continue
		}
		if c.wantID != "" {
			var p struct {
				Data struct {
					Req struct{ Params map[string]json.RawMessage }
				} `json:"Data"`
			}
			_ = json.Unmarshal([]byte(r.body), &p)
			if got := string(p.Data.Req.Params["id"]); got != c.wantID {
				t.Errorf("%s %s: id = %s, want %s", c.method, c.path, got, c.wantID)
			}
		}
	}

	// A function without methods accepts every method, HEAD and OPTIONS
	// included; HEAD answers carry no body.
	r := do(t, "OPTIONS", s.URL+"/api/any", "")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `"Method":"OPTIONS"`) {
		t.Errorf("OPTIONS did not reach the handler as OPTIONS: %s", r.body)
	}
	r = do(t, "HEAD", s.URL+"/api/any", "")
	if r.status != http.StatusOK || r.body != "" {
		t.Errorf("HEAD /api/any = %d %q", r.status, r.body)
	}
}

// /runtime/webhooks/{extension}/{*extra} is an MVC route with the system key
// policy: the key is checked before the host finds no such extension.
func TestContractRuntimeWebhooks(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	master := s.MasterKey(t)
	extKey := createKey(t, s, "/admin/host/systemkeys/nosuch_extension")
	otherKey := createKey(t, s, "/admin/host/systemkeys/other_extension")
	r := do(t, "POST", s.URL+"/runtime/webhooks/nosuch", "")
	wantStatus(t, r, http.StatusUnauthorized)
	if r.header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}
	wantStatus(t, do(t, "GET", s.URL+"/runtime/webhooks/nosuch/a/b", "", "x-functions-key", otherKey), http.StatusForbidden)
	wantStatus(t, do(t, "GET", s.URL+"/runtime/webhooks/nosuch?code="+master, ""), http.StatusNotFound)
	wantStatus(t, do(t, "DELETE", s.URL+"/runtime/webhooks/NoSuch/x", "", "x-functions-key", extKey), http.StatusNotFound)
	wantStatus(t, do(t, "PATCH", s.URL+"/runtime/webhooks/nosuch", ""), http.StatusNotFound)
	wantStatus(t, do(t, "GET", s.URL+"/runtime/webhooks", ""), http.StatusNotFound)
}

// customHeaders are added (TryAdd, when the response starts) by the job host
// pipeline, which every admin and function request goes through; throttled
// requests are turned away before it.
func TestContractCustomHeaders(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/echo", 200},
		{"GET", "/api/nothing", 404},
		{"GET", "/api/keyed", 401},
		{"GET", "/api/fail", 500},
		{"GET", "/", 200},
		{"GET", "/admin/host/ping", 200},
		{"GET", "/admin/host/status", 401},
	} {
		r := do(t, c.method, s.URL+c.path, "")
		if r.status != c.want || r.header.Get("X-Contract") != "yes" {
			t.Errorf("%s %s = %d, X-Contract %q; want %d with the custom header", c.method, c.path, r.status, r.header.Get("X-Contract"), c.want)
		}
	}
}

// ASP.NET Core's CorsMiddleware with the host's policy (origins, any header,
// any method): every preflight is answered 204, with CORS headers only for
// an allowed origin; requested headers are echoed comma-joined.
func TestContractCORSPreflight(t *testing.T) {
	s := startContract(t, hosttest.Options{CORS: []string{"https://app.example"}})
	r := do(t, "OPTIONS", s.URL+"/api/echo", "", "Origin", "https://app.example",
		"Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "X-A, x-b")
	wantStatus(t, r, http.StatusNoContent)
	h := r.header
	if h.Get("Access-Control-Allow-Origin") != "https://app.example" || h.Get("Access-Control-Allow-Methods") != "PUT" || h.Get("Access-Control-Allow-Headers") != "X-A,x-b" {
		t.Errorf("allowed preflight headers = %v", h)
	}
	for _, path := range []string{"/api/echo", "/api/nothing", "/admin/host/status"} {
		r = do(t, "OPTIONS", s.URL+path, "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
		if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("preflight from a foreign origin to %s = %d %v; want 204 without CORS headers", path, r.status, r.header)
		}
	}
}

// HttpThrottleMiddleware runs for every non-admin request, before routing:
// 429 with X-FUNCTION-SCALEOUT: 1, for unknown routes too; admin requests are
// never throttled.
func TestContractThrottling(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "limits"), hosttest.Options{})
	slow := make(chan response, 1)
	go func() { slow <- do(t, "GET", s.URL+"/slow?ms=2000", "") }()
	eventually(t, 10*time.Second, "the slow request to be running", func() bool { return s.Host.Current().InFlight() > 0 })
	for _, path := range []string{"/echo", "/nothing"} {
		r := do(t, "GET", s.URL+path, "")
		wantStatus(t, r, http.StatusTooManyRequests)
		if r.header.Get("X-FUNCTION-SCALEOUT") != "1" {
			t.Errorf("429 headers = %v", r.header)
		}
	}
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/ping", ""), http.StatusOK)
	wantStatus(t, <-slow, http.StatusOK)
	wantStatus(t, do(t, "GET", s.URL+"/nothing", ""), http.StatusNotFound)
}

// The body limit holds for bodies without a Content-Length too.
func TestContractBodyLimitChunked(t *testing.T) {
	s := startContract(t, hosttest.Options{Env: map[string]string{"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "1000"}})
	send := func(n int) int {
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write([]byte(strings.Repeat("x", n)))
			_ = pw.Close()
		}()
		req, _ := http.NewRequest("POST", s.URL+"/api/echo", pr) // unknown length: chunked
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if got := send(1000); got != http.StatusOK {
		t.Errorf("chunked body at the limit = %d", got)
	}
	if got := send(5000); got != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit = %d, want 413", got)
	}
}

// rawExchange writes a request on a new connection and returns the status
// lines read until the final (non-1xx) one, and the final response. send is
// called with the connection after the request head is written.
func rawExchange(t *testing.T, s *hosttest.Server, head string, send func(net.Conn)) (interim []int, final *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	sent := false
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		if res.StatusCode >= 200 {
			_, _ = io.Copy(io.Discard, res.Body)
			return interim, res
		}
		interim = append(interim, res.StatusCode)
		if res.StatusCode == http.StatusContinue && !sent && send != nil {
			sent = true
			send(conn)
		}
	}
}

// Expect: 100-continue: the server asks for the body only when the request
// gets as far as reading it.
func TestContractExpectContinue(t *testing.T) {
	s := startContract(t, hosttest.Options{Env: map[string]string{"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "1000"}})
	body := `{"a":1}`
	head := func(path string, n int) string {
		return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", path, n)
	}
	interim, res := rawExchange(t, s, head("/api/echo", len(body)), func(c net.Conn) { _, _ = io.WriteString(c, body) })
	if !slices.Equal(interim, []int{100}) || res.StatusCode != http.StatusOK {
		t.Errorf("accepted body: interim %v, final %d; want [100] then 200", interim, res.StatusCode)
	}
	interim, res = rawExchange(t, s, head("/api/echo", 5000), func(c net.Conn) { t.Error("a body over the limit was asked for") })
	if len(interim) != 0 || res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit: interim %v, final %d; want 413 alone", interim, res.StatusCode)
	}
	interim, res = rawExchange(t, s, head("/api/keyed", len(body)), func(c net.Conn) { t.Error("the body of an unauthorized request was asked for") })
	if len(interim) != 0 || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("no key: interim %v, final %d; want 401 alone", interim, res.StatusCode)
	}
}

// Kestrel's MinRequestBodyDataRate (240 bytes/s after a 5 s grace period):
// a body that arrives more slowly is abandoned with 408 and the connection
// closed, and the request no longer counts as in flight.
func TestContractSlowRequestBody(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	head := "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("x", 100)
	_, res := rawExchange(t, s, head, nil)
	if res.StatusCode != http.StatusRequestTimeout || !res.Close {
		t.Errorf("stalled body = %d (close %t), want 408 and the connection closed", res.StatusCode, res.Close)
	}
	eventually(t, 10*time.Second, "the stalled request to end", func() bool { return s.Host.Current().InFlight() == 0 })
	wantStatus(t, do(t, "GET", s.URL+"/api/echo", ""), http.StatusOK)
}

// hangStats returns how many hang invocations reached the handler and how
// many of those the host cancelled.
func hangStats(t *testing.T, s *hosttest.Server) (started, cancelled int) {
	t.Helper()
	r := do(t, "GET", s.URL+"/api/hangstats", "")
	wantStatus(t, r, http.StatusOK)
	if _, err := fmt.Sscan(r.body, &started, &cancelled); err != nil {
		t.Fatalf("hangstats = %q", r.body)
	}
	return started, cancelled
}

// A client that goes away mid-invocation cancels the handler's request, and
// nothing is left behind: no invocation in flight, no goroutines.
func TestContractClientDisconnect(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	tr := &http.Transport{}
	client := &http.Client{Transport: tr}
	get := func(ctx context.Context, path string) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+path, nil)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		return res.Body.Close()
	}
	if err := get(context.Background(), "/api/echo"); err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleConnections()
	settled := func() int {
		tr.CloseIdleConnections()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		var n int
		for range 3 {
			runtime.GC()
			n = runtime.NumGoroutine()
			time.Sleep(10 * time.Millisecond)
		}
		return n
	}
	before := settled()

	const n = 20
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := get(ctx, "/api/hang"); !errors.Is(err, context.Canceled) {
				t.Errorf("hang ended with %v, want the client's cancellation", err)
			}
		}()
	}
	eventually(t, 20*time.Second, "every hang invocation to reach the handler", func() bool {
		started, _ := hangStats(t, s)
		return started == n
	})
	cancel()
	wg.Wait()
	eventually(t, 20*time.Second, "the handler's requests to be cancelled", func() bool {
		_, cancelled := hangStats(t, s)
		return cancelled == n
	})
	eventually(t, 10*time.Second, "no invocation in flight", func() bool { return s.Host.Current().InFlight() == 0 })
	var after int
	eventually(t, 20*time.Second, "the goroutines to go back to their number before", func() bool {
		after = settled()
		return after <= before+4 // the handler connection pool may hold a few more
	})
	t.Logf("goroutines: %d before, %d after %d disconnects", before, after, n)
}

// A huge handler body reaches the client whole.
func TestContractHugeResponse(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	const size = 24 << 20
	r := do(t, "GET", s.URL+"/api/huge?bytes="+strconv.Itoa(size), "")
	wantStatus(t, r, http.StatusOK)
	if len(r.body) != size || r.body[:10] != "0123456789" || r.body[size-10:] != strings.Repeat("0123456789", size/10+1)[size-10:size] {
		t.Errorf("body of %d bytes, want %d", len(r.body), size)
	}
	if r.header.Get("Content-Length") != strconv.Itoa(size) {
		t.Errorf("Content-Length = %q", r.header.Get("Content-Length"))
	}
}

// When the host is in the Error state (the handler kept crashing),
// HostAvailabilityCheckMiddleware answers every non-admin request with 503
// "Function host is not running."; the admin API keeps working and reports
// the error.
func TestContractHostInError(t *testing.T) {
	s := startContract(t, hosttest.Options{ExitOnWorkerFailure: true})
	master := s.MasterKey(t)
	crashUntilHostGivesUp(t, s)
	for _, path := range []string{"/api/echo", "/api/nothing", "/"} {
		r := do(t, "GET", s.URL+path, "")
		if r.status != http.StatusServiceUnavailable || r.body != "Function host is not running." {
			t.Errorf("GET %s in Error = %d %q", path, r.status, r.body)
		}
	}
	r := do(t, "GET", s.URL+"/admin/host/status", "", "x-functions-key", master)
	wantStatus(t, r, http.StatusOK)
	var st struct {
		State  string
		Errors []string
	}
	if err := json.Unmarshal([]byte(r.body), &st); err != nil || st.State != "Error" || len(st.Errors) != 1 || st.Errors[0] == "" {
		t.Errorf("status in Error = %s", r.body)
	}
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/ping", ""), http.StatusOK)
	wantStatus(t, do(t, "POST", s.URL+"/admin/functions/echo", `{"input":""}`, "x-functions-key", master, "Content-Type", "application/json"), http.StatusServiceUnavailable)
}

// Requests that arrive while the host restarts are served, by the previous
// generation or by the new one once its handler is ready: none fails.
func TestContractRequestsDuringRestart(t *testing.T) {
	s := startContract(t, hosttest.Options{Env: map[string]string{"E2E_START_DELAY": "1500"}})
	oldPID := do(t, "GET", s.URL+"/api/pid", "").body
	wantStatus(t, do(t, "POST", s.URL+"/admin/host/restart", "", "x-functions-key", s.MasterKey(t)), http.StatusOK)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10000 {
				r := do(t, "GET", s.URL+"/api/pid", "")
				if r.status != http.StatusOK {
					t.Errorf("GET /api/pid during the restart = %d", r.status)
					return
				}
				if r.body != oldPID {
					return // the new handler answered
				}
			}
			t.Error("the restart never finished")
		}()
	}
	wg.Wait()
}

// Restarts, several at once, under load: every request is answered 200, and
// the handler processes of the replaced generations exit.
func TestContractConcurrentRestartsUnderLoad(t *testing.T) {
	// The admin API's restart answers before it is done; the log's "Host
	// restarted." lines tell when every restart has swapped its generation
	// in.
	var (
		logMu sync.Mutex
		log   bytes.Buffer
	)
	logw := writerFunc(func(p []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return log.Write(p) })
	restarted := func() int {
		logMu.Lock()
		defer logMu.Unlock()
		return strings.Count(log.String(), `msg="Host restarted."`)
	}
	defer func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("host log:\n%s", log.String())
			logMu.Unlock()
		}
	}()
	s := startContract(t, hosttest.Options{Logger: slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	master := s.MasterKey(t)
	// Each load generator's state, for the report when the test fails.
	type loader struct {
		sent    int
		since   time.Time // the request in flight started then; zero when none
		stopped string    // why the generator stopped early
	}
	var (
		mu      sync.Mutex
		pids    = map[int]int{} // pid -> requests it served
		loaders = make([]loader, 8)
	)
	report := func() string {
		mu.Lock()
		defer mu.Unlock()
		var b strings.Builder
		fmt.Fprintf(&b, "requests per handler pid %v", pids)
		for i, l := range loaders {
			fmt.Fprintf(&b, "\nload %d: %d sent", i, l.sent)
			if !l.since.IsZero() {
				fmt.Fprintf(&b, ", one in flight for %v", time.Since(l.since).Round(time.Millisecond))
			}
			if l.stopped != "" {
				fmt.Fprintf(&b, ", stopped: %s", l.stopped)
			}
		}
		return b.String()
	}
	stop := make(chan struct{})
	var load sync.WaitGroup
	stopLoad := sync.OnceFunc(func() { close(stop); load.Wait() })
	defer stopLoad()
	for i := range loaders {
		load.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				loaders[i].since = time.Now()
				mu.Unlock()
				r, err := send("GET", s.URL+"/api/pid", "")
				pid, perr := strconv.Atoi(r.body)
				mu.Lock()
				loaders[i].since = time.Time{}
				switch {
				case err != nil:
					loaders[i].stopped = err.Error()
				case r.status != http.StatusOK || perr != nil:
					loaders[i].stopped = fmt.Sprintf("%d %q", r.status, r.body)
				default:
					pids[pid]++
					loaders[i].sent++
				}
				stopped := loaders[i].stopped
				mu.Unlock()
				if stopped != "" {
					t.Errorf("GET /api/pid during restarts: %s", stopped)
					return
				}
			}
		})
	}
	var restarts sync.WaitGroup
	for range 4 {
		restarts.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.Host.Restart(ctx); err != nil {
				t.Errorf("restart: %v", err)
			}
		})
	}
	wantStatus(t, do(t, "POST", s.URL+"/admin/host/restart", "", "x-functions-key", master), http.StatusOK)
	restarts.Wait()
	eventually(t, time.Minute, "the admin API's restart to finish", func() bool { return restarted() == 5 })
	// Let the load see the last generation too: the handler that answers
	// now must have served load requests.
	last, err := send("GET", s.URL+"/api/pid", "")
	current, perr := strconv.Atoi(last.body)
	if err != nil || last.status != http.StatusOK || perr != nil {
		t.Fatalf("GET /api/pid after the restarts = %d %q %v\n%s", last.status, last.body, err, report())
	}
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		served, running := pids[current], 0
		for _, l := range loaders {
			if l.stopped == "" {
				running++
			}
		}
		mu.Unlock()
		if served > 0 {
			break
		}
		if running == 0 || time.Now().After(deadline) {
			t.Fatalf("the load never reached the last generation's handler (pid %d)\n%s", current, report())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopLoad()

	// A replaced handler exits once its generation has drained; one still
	// there (a zombie counts: nothing reaped it) is reported with its state.
	alive := func() []string {
		var out []string
		for pid := range pids {
			if pid == current || syscall.Kill(pid, 0) != nil {
				continue
			}
			st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			out = append(out, fmt.Sprintf("pid %d: %s", pid, strings.TrimSpace(string(st))))
		}
		return out
	}
	deadline = time.Now().Add(30 * time.Second)
	for left := alive(); len(left) > 0; left = alive() {
		if time.Now().After(deadline) {
			t.Fatalf("replaced handlers still running 30s after the restarts (current pid %d):\n%s\n%s", current, strings.Join(left, "\n"), report())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Log(report())
}

// A broken host.json on restart: funcd keeps the previous configuration
// serving (a documented difference) and reports the error in host status.
func TestContractRestartWithBrokenConfig(t *testing.T) {
	dir := newApp(t, "contract")
	s := hosttest.Start(t, dir, hosttest.Options{})
	master := s.MasterKey(t)
	if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(`{"version": "2.0",`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Host.Restart(ctx); err == nil {
		t.Fatal("a restart with a broken host.json succeeded")
	}
	wantStatus(t, do(t, "GET", s.URL+"/api/echo", ""), http.StatusOK)
	r := do(t, "GET", s.URL+"/admin/host/status", "", "x-functions-key", master)
	var st struct {
		State  string
		Errors []string
	}
	_ = json.Unmarshal([]byte(r.body), &st)
	if st.State != "Running" || len(st.Errors) != 1 || !strings.Contains(st.Errors[0], "host.json") {
		t.Errorf("status after a failed restart = %s", r.body)
	}
}

// The admin actions with a [FromBody] parameter (invoke, PUT on a key) take
// the body only in a type MVC's JSON input formatter reads; anything else,
// no Content-Type included, is 415 with no body, after the key check and
// before anything the action does (the running-host check, 400, 404).
func TestContractAdminUnsupportedMediaType(t *testing.T) {
	s := startContract(t, hosttest.Options{})
	master := s.MasterKey(t)
	type request struct{ method, path, body string }
	requests := []request{
		{"POST", "/admin/functions/echo", `{"input":"x"}`},
		{"POST", "/admin/functions/nosuch", `{"input":"x"}`},
		{"PUT", "/admin/host/keys/k415", `{"name":"k415","value":"value-0123456789-abcdef"}`},
		{"PUT", "/admin/host/systemkeys/k415", `{"name":"k415","value":"value-0123456789-abcdef"}`},
		{"PUT", "/admin/functions/echo/keys/k415", `{"name":"k415","value":"value-0123456789-abcdef"}`},
		{"PUT", "/admin/functions/nosuch/keys/k415", `{"name":"k415","value":"value-0123456789-abcdef"}`},
	}
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/xml", "application/*",
		"application/json; charset=latin1", "json", "multipart/form-data; boundary=x"} {
		for _, rq := range requests {
			headers := []string{"x-functions-key", master}
			if ct != "" {
				headers = append(headers, "Content-Type", ct)
			}
			r := do(t, rq.method, s.URL+rq.path, rq.body, headers...)
			if r.status != http.StatusUnsupportedMediaType || r.body != "" {
				t.Errorf("%s %s with Content-Type %q = %d %q, want 415", rq.method, rq.path, ct, r.status, r.body)
			}
		}
	}
	// The key check comes first.
	wantStatus(t, do(t, "PUT", s.URL+"/admin/host/keys/k415", "x", "Content-Type", "text/plain"), http.StatusUnauthorized)

	// The types the formatter reads.
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "APPLICATION/JSON;charset=UTF-8",
		"text/json", "application/problem+json", "application/vnd.funcd.key+json", "text/x+json"} {
		headers := []string{"x-functions-key", master, "Content-Type", ct}
		wantStatus(t, do(t, "POST", s.URL+"/admin/functions/echo", `{"input":"x"}`, headers...), http.StatusAccepted)
		r := do(t, "PUT", s.URL+"/admin/host/keys/k415", `{"name":"k415","value":"value-0123456789-abcdef"}`, headers...)
		if r.status != http.StatusOK && r.status != http.StatusCreated {
			t.Errorf("PUT with Content-Type %q = %d %q", ct, r.status, r.body)
		}
		// Binding (400) before the action's lookup (404).
		wantStatus(t, do(t, "PUT", s.URL+"/admin/functions/nosuch/keys/k415", `{"name":"k415"}`, headers...), http.StatusBadRequest)
		wantStatus(t, do(t, "PUT", s.URL+"/admin/functions/nosuch/keys/k415", `{"name":"k415","value":"v-0123456789"}`, headers...), http.StatusNotFound)
	}
	// UTF-16 is read too.
	utf16 := []byte{0xFF, 0xFE}
	for _, c := range `{"name":"k16","value":"utf16-value-0123456789"}` {
		utf16 = append(utf16, byte(c), 0)
	}
	r := do(t, "PUT", s.URL+"/admin/host/keys/k16", string(utf16), "x-functions-key", master, "Content-Type", "application/json; charset=utf-16")
	if r.status != http.StatusCreated || !strings.Contains(r.body, "utf16-value-0123456789") {
		t.Errorf("PUT in UTF-16 = %d %q", r.status, r.body)
	}
}
