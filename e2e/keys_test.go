package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcd/funcd/hosttest"
)

func TestAuthLevels(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{Env: map[string]string{"AzureWebJobs.disabledfn.Disabled": "true"}})
	master := s.MasterKey(t)
	fnKey := s.FunctionKey(t, "keyed")
	otherFnKey := s.FunctionKey(t, "echo")
	hostKey := listKeys(t, s, "/admin/host/functionkeys")["default"]
	systemKey := createKey(t, s, "/admin/host/systemkeys/test_extension")

	cases := []struct {
		name, path string
		headers    []string
		want       int
	}{
		{"function level, no key", "/api/keyed", nil, 401},
		{"function level, wrong key", "/api/keyed", []string{"x-functions-key", "nope"}, 401},
		{"function level, its key in the header", "/api/keyed", []string{"x-functions-key", fnKey}, 200},
		{"function level, its key as code", "/api/keyed?code=" + fnKey, nil, 200},
		{"header wins over code", "/api/keyed?code=" + fnKey, []string{"x-functions-key", "nope"}, 401},
		{"function level, host function key", "/api/keyed", []string{"x-functions-key", hostKey}, 200},
		{"function level, master key", "/api/keyed", []string{"x-functions-key", master}, 200},
		{"function level, another function's key", "/api/keyed", []string{"x-functions-key", otherFnKey}, 401},
		{"function level, system key", "/api/keyed", []string{"x-functions-key", systemKey}, 401},
		{"admin level, function key", "/api/secured", []string{"x-functions-key", fnKey}, 401},
		{"admin level, master key", "/api/secured", []string{"x-functions-key", master}, 200},
		{"anonymous, no key", "/api/echo", nil, 200},
		{"anonymous, wrong key", "/api/echo", []string{"x-functions-key", "nope"}, 200},
		{"disabled, no key", "/api/disabledfn", nil, 404},
		{"disabled, master key", "/api/disabledfn", []string{"x-functions-key", master}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := do(t, "GET", s.URL+c.path, "", c.headers...); r.status != c.want {
				t.Errorf("GET %s = %d, want %d", c.path, r.status, c.want)
			}
		})
	}

	// The identity the handler sees names the key.
	r := do(t, "GET", s.URL+"/api/keyed", "", "x-functions-key", fnKey)
	if !strings.Contains(r.body, "WebJobsAuthLevel") || !strings.Contains(r.body, `"Value":"Function"`) {
		t.Errorf("identity missing from payload: %s", r.body)
	}
}

func TestNoAuth(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{NoAuth: true})
	wantStatus(t, do(t, "GET", s.URL+"/api/keyed", ""), 200)
	wantStatus(t, do(t, "GET", s.URL+"/api/secured", ""), 200)
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/status", ""), 200)
}

// TestFileSecrets: with AzureWebJobsSecretStorageType=files, an operator's
// pre-provisioned host.json secrets file is used as is.
func TestFileSecrets(t *testing.T) {
	dir := t.TempDir()
	secrets := `{"masterKey":{"name":"master","value":"operator-master-key","encrypted":false},"functionKeys":[{"name":"default","value":"operator-host-key","encrypted":false}],"systemKeys":[],"hostName":null,"instanceId":"x","source":"runtime","decryptionKeyId":""}`
	if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(secrets), 0o600); err != nil {
		t.Fatal(err)
	}
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{Env: map[string]string{
		"AzureWebJobsSecretStorageType": "files",
		"FUNCTIONS_SECRETS_PATH":        dir,
	}})
	wantStatus(t, do(t, "GET", s.URL+"/api/secured", "", "x-functions-key", "operator-master-key"), 200)
	wantStatus(t, do(t, "GET", s.URL+"/api/keyed?code=operator-host-key", ""), 200)

	// A key created through the admin API lands in the function's file.
	createKey(t, s, "/admin/functions/keyed/keys/fromapi")
	data, err := os.ReadFile(filepath.Join(dir, "keyed.json"))
	if err != nil || !strings.Contains(string(data), `"fromapi"`) {
		t.Errorf("keyed.json = %s, %v", data, err)
	}
	info, err := os.Stat(filepath.Join(dir, "keyed.json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("keyed.json mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}
}

func TestKeysAdminAPI(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	master := s.MasterKey(t)
	admin := []string{"x-functions-key", master}

	// Listing a function's keys creates its default key.
	if keys := listKeys(t, s, "/admin/functions/keyed/keys"); keys["default"] == "" {
		t.Fatalf("function keys = %v", keys)
	}

	// Set a key with a chosen value: 201, then 200 for an update.
	url := s.URL + "/admin/functions/keyed/keys/mykey"
	r := do(t, "PUT", url, `{"name":"mykey","value":"my-secret-value-1234567890"}`, append(admin, "Content-Type", "application/json")...)
	wantStatus(t, r, http.StatusCreated)
	var k struct {
		Name, Value string
		Links       []struct{ Rel, Href string }
	}
	if err := json.Unmarshal([]byte(r.body), &k); err != nil || k.Name != "mykey" || k.Value != "my-secret-value-1234567890" || len(k.Links) != 1 || k.Links[0].Rel != "self" {
		t.Fatalf("PUT answer = %s (%v)", r.body, err)
	}
	if r.header.Get("Location") == "" {
		t.Error("201 without Location")
	}
	wantStatus(t, do(t, "GET", s.URL+"/api/keyed?code=my-secret-value-1234567890", ""), 200)
	wantStatus(t, do(t, "PUT", url, `{"name":"mykey","value":"my-secret-value-0987654321"}`, append(admin, "Content-Type", "application/json")...), http.StatusOK)
	wantStatus(t, do(t, "GET", s.URL+"/api/keyed?code=my-secret-value-1234567890", ""), 401)

	// POST generates a value.
	r = do(t, "POST", s.URL+"/admin/functions/keyed/keys/generated", "", admin...)
	wantStatus(t, r, http.StatusCreated)
	_ = json.Unmarshal([]byte(r.body), &k)
	if len(k.Value) < 40 {
		t.Errorf("generated key %q is too short", k.Value)
	}

	// List, get, delete.
	keys := listKeys(t, s, "/admin/functions/keyed/keys")
	if _, ok := keys["mykey"]; !ok || keys["default"] == "" {
		t.Errorf("function keys = %v", keys)
	}
	wantStatus(t, do(t, "GET", url, "", admin...), 200)
	wantStatus(t, do(t, "DELETE", url, "", admin...), http.StatusNoContent)
	wantStatus(t, do(t, "GET", url, "", admin...), http.StatusNotFound)
	wantStatus(t, do(t, "DELETE", url, "", admin...), http.StatusNotFound)

	// Bad input and unknown functions.
	wantStatus(t, do(t, "PUT", url, `{"name":"mykey"}`, append(admin, "Content-Type", "application/json")...), http.StatusBadRequest)
	wantStatus(t, do(t, "GET", s.URL+"/admin/functions/nosuch/keys", "", admin...), http.StatusNotFound)

	// The master key can be read and renewed but not deleted.
	r = do(t, "GET", s.URL+"/admin/host/systemkeys/_master", "", admin...)
	wantStatus(t, r, 200)
	if !strings.Contains(r.body, master) {
		t.Errorf("_master = %s", r.body)
	}
	r = do(t, "DELETE", s.URL+"/admin/host/systemkeys/_master", "", admin...)
	wantStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(r.body, "Cannot delete System Key.") {
		t.Errorf("delete _master = %s", r.body)
	}
	// Renewing the master key generates a value (the real host answers 201).
	r = do(t, "POST", s.URL+"/admin/host/systemkeys/_master", "", admin...)
	wantStatus(t, r, http.StatusCreated)
	wantStatus(t, do(t, "GET", s.URL+"/admin/host/status", "", admin...), http.StatusUnauthorized)
}

// listKeys GETs a keys list route with the master key and returns name -> value.
func listKeys(t *testing.T, s *hosttest.Server, path string) map[string]string {
	t.Helper()
	r := do(t, "GET", s.URL+path, "", "x-functions-key", s.MasterKey(t))
	wantStatus(t, r, 200)
	var list struct {
		Keys  []struct{ Name, Value string }
		Links []struct{ Rel, Href string }
	}
	if err := json.Unmarshal([]byte(r.body), &list); err != nil {
		t.Fatalf("%s: %v: %s", path, err, r.body)
	}
	if len(list.Links) != 1 || list.Links[0].Href != s.URL+path {
		t.Errorf("%s links = %v", path, list.Links)
	}
	out := map[string]string{}
	for _, k := range list.Keys {
		out[k.Name] = k.Value
	}
	return out
}

// createKey POSTs a key route (generating a value) and returns the value.
func createKey(t *testing.T, s *hosttest.Server, path string) string {
	t.Helper()
	r := do(t, "POST", s.URL+path, "", "x-functions-key", s.MasterKey(t))
	if r.status != 201 && r.status != 200 {
		t.Fatalf("POST %s = %d %s", path, r.status, r.body)
	}
	var k struct{ Value string }
	_ = json.Unmarshal([]byte(r.body), &k)
	return k.Value
}
