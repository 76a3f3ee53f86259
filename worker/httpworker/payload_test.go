package httpworker

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/funcd/funcd"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// echoed is what the test handler's echo function returns.
type echoed struct {
	Raw     string              `json:"raw"`
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
}

func (e *testEnv) echo(inv *funcd.Invocation) echoed {
	e.t.Helper()
	res := e.mustInvoke(inv)
	var got echoed
	decodeJSON(e.t, res.ReturnValue.Data, &got)
	return got
}

var (
	utcNowRe   = regexp.MustCompile(`"UtcNow":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z)"`)
	randGUIDRe = regexp.MustCompile(`"RandGuid":"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})"`)
)

// normalise replaces the payload's volatile values after checking their
// form.
func normalise(t *testing.T, raw string) string {
	t.Helper()
	if !utcNowRe.MatchString(raw) || !randGUIDRe.MatchString(raw) {
		t.Fatalf("sys.UtcNow or sys.RandGuid missing or malformed in %s", raw)
	}
	raw = utcNowRe.ReplaceAllString(raw, `"UtcNow":"<UtcNow>"`)
	return randGUIDRe.ReplaceAllString(raw, `"RandGuid":"<RandGuid>"`)
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got+"\n" != string(want) {
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, []byte(got), "", "  ")
		t.Errorf("payload differs from %s:\n got: %s\nwant: %s\npretty got:\n%s", path, got, want, pretty.String())
	}
}

func strp(s string) *string { return &s }

func TestPayloadHTTP(t *testing.T) {
	e := newTestEnv(t).start()
	fn := httpFunction("echo", "items/{id:int}/{opt?}")
	inv := httpInvocation(fn, "POST", "/api/items/42", "name=a+b&x=1&X=2&code=secret&empty&=v&sys=user",
		`{"message":"hi <there> & \"you\"","n":2,"f":1.50,"big":1e20,"ok":true,"nested":{"a":[1,2],"b":null},"arr":[1],"nul":null,"id":"from body","é":"\u2028"}`)
	inv.HTTP.Header = map[string][]string{
		"Content-Type": {"application/json"},
		"Accept":       {"*/*"},
		"X-Multi":      {"a", "b,c"},
	}
	inv.HTTP.Params = map[string]*string{"id": strp("42"), "opt": nil}
	inv.HTTP.Identities = []funcd.Identity{{
		AuthenticationType: funcd.KeyAuthenticationType,
		Claims: []funcd.Claim{
			{Type: funcd.ClaimAuthLevel, Value: "Function"},
			{Type: funcd.ClaimKeyID, Value: "default"},
		},
	}}
	got := e.echo(inv)
	checkGolden(t, "http_payload.json", normalise(t, got.Raw))

	if got.Method != "POST" || got.Path != "/echo" {
		t.Errorf("request = %s %s, want POST /echo", got.Method, got.Path)
	}
	wantHeaders := map[string]string{
		"Content-Type":                   "application/json; charset=utf-8",
		"User-Agent":                     "Azure-Functions-Host/" + testHostVersion,
		"X-Azure-Functions-Hostversion":  testHostVersion,
		"X-Azure-Functions-Invocationid": inv.ID,
	}
	for k, v := range wantHeaders {
		if vs := got.Headers[k]; len(vs) != 1 || vs[0] != v {
			t.Errorf("header %s = %q, want %q", k, vs, v)
		}
	}
	if _, ok := got.Headers["Accept-Encoding"]; ok {
		t.Error("the request asks for compression; the host's does not")
	}
}

func TestPayloadHTTPBinaryBody(t *testing.T) {
	e := newTestEnv(t).start()
	fn := httpFunction("echo", "")
	for _, ct := range []string{"application/octet-stream", "multipart/form-data; boundary=x", "Application/Octet-Stream; q=1"} {
		inv := httpInvocation(fn, "PUT", "/api/echo", "", "\x00\xffbin")
		inv.HTTP.Header = map[string][]string{"Content-Type": {ct}}
		var p struct {
			Data struct{ Req struct{ Body string } }
		}
		decodeJSON(t, []byte(e.echo(inv).Raw), &p)
		if p.Data.Req.Body != "AP9iaW4=" {
			t.Errorf("%s body = %q, want base64", ct, p.Data.Req.Body)
		}
	}
	// No body: no Body property, and no body binding data.
	inv := httpInvocation(fn, "GET", "/api/echo", "", "")
	raw := e.echo(inv).Raw
	if bytes.Contains([]byte(raw), []byte(`"Body"`)) {
		t.Errorf("payload of a request without a body has Body: %s", raw)
	}
}

func TestPayloadNonHTTP(t *testing.T) {
	e := newTestEnv(t).start()
	fn := &funcd.Function{Name: "echo", Bindings: []funcd.Binding{
		{Name: "msg", Type: "queueTrigger", Direction: funcd.In},
		{Name: "blob", Type: "blob", Direction: funcd.In},
		{Name: "out", Type: "queue", Direction: funcd.Out},
	}}
	inv := &funcd.Invocation{
		ID:       nextID(),
		Function: fn,
		Trigger:  funcd.StringValue("hello"),
		Inputs:   map[string]funcd.Value{"blob": funcd.JSONValue(json.RawMessage(`{ "a" : 1 }`)), "extra": {}},
		Metadata: map[string]json.RawMessage{
			"DequeueCount": json.RawMessage(`1`),
			"Id":           json.RawMessage(`"abc"`),
			"QueueTrigger": json.RawMessage(`"hello"`),
			"Gone":         json.RawMessage(`null`),
		},
		Started: time.Now(),
	}
	checkGolden(t, "queue_payload.json", normalise(t, e.echo(inv).Raw))
}

func TestTemplateParams(t *testing.T) {
	got := templateParams("a/{id:int}/{{lit}}/{*rest}/{opt?}/{d=5}")
	want := []string{"id", "rest", "opt", "d"}
	if len(got) != len(want) {
		t.Fatalf("templateParams = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("templateParams = %q, want %q", got, want)
		}
	}
}

// A binary body is not copied to replace its invalid UTF-8: it goes into
// the payload as base64 of its own bytes.
func TestRequestTextBinaryIsNotCopied(t *testing.T) {
	body := bytes.Repeat([]byte("a\xff"), 1024)
	for _, ct := range []string{"application/octet-stream", "multipart/form-data; boundary=x"} {
		text := requestText(&funcd.HTTPRequest{Header: map[string][]string{"Content-Type": {ct}}, Body: body})
		if len(text) != len(body) || &text[0] != &body[0] {
			t.Errorf("%s: the body was copied (%d bytes from %d)", ct, len(text), len(body))
		}
	}
	text := requestText(&funcd.HTTPRequest{Header: map[string][]string{"Content-Type": {"text/plain"}}, Body: body})
	if !utf8.Valid(text) {
		t.Errorf("a text body keeps invalid UTF-8: %q", text[:8])
	}
}
