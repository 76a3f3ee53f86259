package mcpapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding/mcptrigger"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func resultJSON(t *testing.T, v any, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestToolResult(t *testing.T) {
	plain := &mcptrigger.Tool{Name: "t"}
	schema := &mcptrigger.Tool{Name: "t", UseResultSchema: true}
	env := func(typ, content, structured string) funcd.Value {
		m := map[string]string{"type": typ, "content": content}
		if structured != "" {
			m["structuredContent"] = structured
		}
		b, _ := json.Marshal(m)
		return funcd.StringValue(string(b))
	}
	cases := []struct {
		name string
		tool *mcptrigger.Tool
		v    funcd.Value
		want string
	}{
		{"null", plain, funcd.Value{}, `{"content":[]}`},
		{"json null", plain, funcd.JSONValue(json.RawMessage("null")), `{"content":[]}`},
		{"string", plain, funcd.StringValue("hello"), `{"content":[{"type":"text","text":"hello"}]}`},
		{"json string", plain, funcd.JSONValue(json.RawMessage(`"hello"`)), `{"content":[{"type":"text","text":"hello"}]}`},
		{"object as text", plain, funcd.JSONValue(json.RawMessage(`{"a":1}`)), `{"content":[{"type":"text","text":"{\"a\":1}"}]}`},
		{"envelope without useResultSchema", plain, env("text", `{"type":"text","text":"x"}`, ""), `{"content":[{"type":"text","text":"{\"content\":\"{\\\"type\\\":\\\"text\\\",\\\"text\\\":\\\"x\\\"}\",\"type\":\"text\"}"}]}`},
		{"text block", schema, env("text", `{"type":"text","text":"x"}`, ""), `{"content":[{"type":"text","text":"x"}]}`},
		{"structured", schema, env("text", `{"type":"text","text":"x"}`, `{"a":1}`), `{"content":[{"type":"text","text":"x"}],"structuredContent":{"a":1}}`},
		{"image", schema, env("image", `{"type":"image","data":"AAEC","mimeType":"image/png"}`, ""), `{"content":[{"type":"image","mimeType":"image/png","data":"AAEC"}]}`},
		{"multi", schema, env("multi_content_result", `[{"type":"text","text":"a"},{"type":"resource_link","uri":"file://x","name":"x"}]`, ""),
			`{"content":[{"type":"text","text":"a"},{"type":"resource_link","uri":"file://x","name":"x"}]}`},
		{"call_tool_result", schema, env("call_tool_result", `{"content":[{"type":"text","text":"bad"}],"isError":true}`, ""), `{"content":[{"type":"text","text":"bad"}],"isError":true}`},
		{"not an envelope", schema, funcd.StringValue("just text"), `{"content":[{"type":"text","text":"just text"}]}`},
	}
	for _, c := range cases {
		res, err := toolResult(c.tool, c.v)
		if got := resultJSON(t, res, err); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	for _, v := range []funcd.Value{env("multi_content_result", `[]`, ""), env("text", `{"type":"nope"}`, ""), env("text", `{"type":"text","text":"x"}`, `{bad`)} {
		if _, err := toolResult(schema, v); err == nil {
			t.Errorf("%s: no error", v.Data)
		}
	}
	if got := resultJSON(t, failedTool("get"), nil); got != `{"content":[{"type":"text","text":"An error occurred invoking 'get'."}],"isError":true}` {
		t.Errorf("failed tool %s", got)
	}
}

func TestResourceResult(t *testing.T) {
	r := &mcptrigger.Resource{URI: "ui://w/index.html", MIMEType: "text/html;profile=mcp-app", Meta: map[string]any{"ui": map[string]any{"prefersBorder": true}}}
	bare := &mcptrigger.Resource{URI: "file://x", MIMEType: "text/plain"}
	envelope := `{"content":"{\"text\":\"t\",\"_meta\":{\"ui\":{\"domain\":\"a.example\"}}}"}`
	cases := []struct {
		name string
		r    *mcptrigger.Resource
		v    funcd.Value
		want string
	}{
		{"text with the binding's metadata", r, funcd.StringValue("<html></html>"), `{"contents":[{"uri":"ui://w/index.html","mimeType":"text/html;profile=mcp-app","text":"\u003chtml\u003e\u003c/html\u003e","_meta":{"ui":{"prefersBorder":true}}}]}`},
		{"text", bare, funcd.JSONValue(json.RawMessage(`"doc"`)), `{"contents":[{"uri":"file://x","mimeType":"text/plain","text":"doc"}]}`},
		{"null", bare, funcd.Value{}, `{"contents":[]}`},
		{"bytes", bare, funcd.BytesValue([]byte{0xff, 0, 1}), `{"contents":[{"uri":"file://x","mimeType":"text/plain","blob":"/wAB"}]}`},
		{"envelope", r, funcd.StringValue(envelope), `{"contents":[{"uri":"ui://w/index.html","mimeType":"text/html;profile=mcp-app","text":"t","_meta":{"ui":{"domain":"a.example"}}}]}`},
	}
	for _, c := range cases {
		res, err := resourceResult(c.r, c.r.URI, c.v)
		got := resultJSON(t, res, err)
		// The SDK's result carries fields of newer revisions; compare the
		// contents.
		got = got[strings.Index(got, `"contents"`)-1:]
		got = "{" + got[1:]
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestClientState(t *testing.T) {
	plain, err := newClientState(true, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := plain.seal("abc123", "host")
	if tok != "abc123|host" {
		t.Errorf("plain token %q", tok)
	}
	if id, ok := plain.open(tok); !ok || id != "abc123" {
		t.Errorf("open %q %v", id, ok)
	}
	for _, bad := range []string{"", "abc", "|host", "a b|host"} {
		if _, ok := plain.open(bad); ok {
			t.Errorf("plain token %q opened", bad)
		}
	}

	sealed, err := newClientState(true, map[string]string{SettingAuthEncryptionKey: strings.Repeat("0f", 32)})
	if err != nil {
		t.Fatal(err)
	}
	tok = sealed.seal("abc123", "host")
	if strings.Contains(tok, "abc123") {
		t.Errorf("sealed token %q shows the session", tok)
	}
	if id, ok := sealed.open(tok); !ok || id != "abc123" {
		t.Errorf("open sealed %q %v", id, ok)
	}
	if _, ok := sealed.open("abc123|host"); ok {
		t.Error("a plain token opened with encryption on")
	}
	if _, ok := sealed.open(tok[:len(tok)-2] + "AA"); ok {
		t.Error("a tampered token opened")
	}
	other, _ := newClientState(true, map[string]string{SettingContainerEncryptionKey: strings.Repeat("a", 43) + "="})
	if _, ok := other.open(tok); ok {
		t.Error("a token opened with another key")
	}
	if _, err := newClientState(true, map[string]string{SettingAuthEncryptionKey: "short"}); err == nil || !strings.Contains(err.Error(), SettingAuthEncryptionKey) {
		t.Errorf("bad key: %v", err)
	}
	if c, _ := newClientState(false, map[string]string{SettingAuthEncryptionKey: strings.Repeat("0f", 32)}); c.aead != nil {
		t.Error("encryptClientState false still encrypts")
	}
	if c, _ := newClientState(true, map[string]string{SettingAuthEncryptionKey: strings.Repeat("0f", 32), "FUNCTIONS_CORETOOLS_ENVIRONMENT": "true"}); c.aead != nil {
		t.Error("Core Tools' environment still encrypts")
	}
	if id := newID(); len(id) != 16 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Errorf("id %q", id)
	}
}

func TestParseSettings(t *testing.T) {
	s, err := ParseSettings(nil)
	if err != nil || s != (Settings{ServerName: DefaultServerName, ServerVersion: DefaultServerVersion, EncryptClientState: true}) {
		t.Errorf("defaults %+v %v", s, err)
	}
	s, err = ParseSettings(json.RawMessage(`{"ServerName":"S","serverVersion":"2","instructions":"i","encryptClientState":false,
		"messageOptions":{"useAbsoluteUriForEndpoint":true},"system":{"webhookAuthorizationLevel":"anonymous"}}`))
	if err != nil || s != (Settings{ServerName: "S", ServerVersion: "2", Instructions: "i", AbsoluteEndpoint: true, Anonymous: true}) {
		t.Errorf("settings %+v %v", s, err)
	}
	for raw, field := range map[string]string{
		`[]`: "extensions.mcp",
		`{"system":{"webhookAuthorizationLevel":"Function"}}`: "extensions.mcp.system.webhookAuthorizationLevel",
	} {
		_, err := ParseSettings(json.RawMessage(raw))
		if ce, ok := errors.AsType[*funcd.ConfigError](err); !ok || ce.File != "host.json" || ce.Field != field {
			t.Errorf("%s: %v, want an error on %s", raw, err, field)
		}
	}
}

func TestAcceptAndMethod(t *testing.T) {
	for accept, want := range map[string]bool{
		"application/json, text/event-stream":      true,
		"text/event-stream;q=0.9,application/json": true,
		"*/*":                                true,
		"application/json":                   false,
		"":                                   false,
		"text/event-stream, application/xml": false,
	} {
		if got := acceptsBoth([]string{accept}); got != want {
			t.Errorf("Accept %q: %v, want %v", accept, got, want)
		}
	}
	for body, want := range map[string]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`: "initialize",
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`:     "notifications/initialized",
		`{"jsonrpc":"2.0","id":1,"result":{}}`:                       "",
		`[{"jsonrpc":"2.0","method":"a"}]`:                           "",
	} {
		if got, ok := rpcMethod([]byte(body)); !ok || got != want {
			t.Errorf("%s: %q %v, want %q", body, got, ok, want)
		}
	}
	for _, body := range []string{``, `{}`, `{"method":"x"}`, `[]`, `nope`} {
		if _, ok := rpcMethod([]byte(body)); ok {
			t.Errorf("%q read as a JSON-RPC message", body)
		}
	}
}

func TestPromptResult(t *testing.T) {
	plain := &mcptrigger.Prompt{Name: "p"}
	schema := &mcptrigger.Prompt{Name: "p", UseResultSchema: true}
	env := func(typ, content string) funcd.Value {
		b, _ := json.Marshal(map[string]string{"type": typ, "content": content})
		return funcd.StringValue(string(b))
	}
	msgs := `[{"role":"user","content":{"type":"text","text":"hi"}},{"role":"assistant","content":{"type":"text","text":"yes"}}]`
	for _, c := range []struct {
		name string
		p    *mcptrigger.Prompt
		v    funcd.Value
		want string
	}{
		{"null", plain, funcd.Value{}, `"messages":[]`},
		{"text", plain, funcd.StringValue("Write a poem"), `"messages":[{"content":{"type":"text","text":"Write a poem"},"role":"user"}]`},
		{"object as text", plain, funcd.JSONValue(json.RawMessage(`{"a":1}`)), `"messages":[{"content":{"type":"text","text":"{\"a\":1}"},"role":"user"}]`},
		{"prompt_messages", schema, env("prompt_messages", msgs), `"messages":[{"content":{"type":"text","text":"hi"},"role":"user"},{"content":{"type":"text","text":"yes"},"role":"assistant"}]`},
		{"get_prompt_result", schema, env("get_prompt_result", `{"description":"d","messages":[]}`), `"description":"d","messages":[]`},
	} {
		res, err := promptResult(c.p, c.v)
		if got := resultJSON(t, res, err); !strings.Contains(got, c.want) {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	for _, v := range []funcd.Value{funcd.StringValue("not json"), env("nope", "[]"), env("prompt_messages", `{"a":1}`), funcd.StringValue(`{"type":"prompt_messages"}`)} {
		if _, err := promptResult(schema, v); err == nil {
			t.Errorf("%s: no error", v.Data)
		}
	}
}

// TestMethodAsSDK checks that rpcMethod accepts and reads single messages
// exactly as the SDK's jsonrpc.DecodeMessage does.
func TestMethodAsSDK(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	for _, body := range []string{
		``, ` `, `null`, `{}`, `"x"`, `nope`, `{`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"noop"}}`,
		`{"jsonrpc":"2.0","id":"a","method":"ping"}`,
		`{"jsonrpc":"2.0","id":null,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":1.5,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":true,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":{},"method":"ping"}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","method":null}`,
		`{"jsonrpc":"2.0","method":""}`,
		`{"jsonrpc":"2.0","method":7}`,
		`{"jsonrpc":"2.0","method":"a\u0062c"}`,
		`{"JSONRPC":"2.0","id":1,"method":"ping"}`,
		`{"jsonrpc":"2.0","ID":1,"Method":"ping"}`,
		`{"jsonrpc":"1.0","id":1,"method":"ping"}`,
		`{"jsonrpc":2,"id":1,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":1,"result":{}}`,
		`{"jsonrpc":"2.0","result":{}}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"m"}}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}`,
		`{"jsonrpc":"2.0","id":1,"error":[]}`,
		`{"jsonrpc":"2.0","id":1,"method":"ping"} trailing`,
		`{"jsonrpc":"2.0","id":1,"method":"ping",}`,
		`{"jsonrpc":"2.0","id":1,"method":"ping","params":` + deep + `}`,
		`{"jsonrpc":"2.0","id":1,"method":"p\"[[["}`,
	} {
		want := ""
		msg, err := jsonrpc.DecodeMessage([]byte(body))
		if req, isReq := msg.(*jsonrpc.Request); isReq {
			want = req.Method
		}
		got, ok := rpcMethod([]byte(body))
		if ok != (err == nil) || got != want {
			t.Errorf("%s: %q %v; the SDK: %q %v", body, got, ok, want, err)
		}
	}
}

// TestPlainTextAsSDK checks that a text envelope maps to the result the
// SDK's content decoding gives, whether or not plainText takes it.
func TestPlainTextAsSDK(t *testing.T) {
	schema := &mcptrigger.Tool{Name: "t", UseResultSchema: true}
	for _, block := range []string{
		`{"type":"text","text":"ok"}`,
		`{"text":"ok","type":"text"}`,
		`{"type":"text","text":""}`,
		`{"type":"text","text":"line\nbreak \"quoted\" \u00e9 \ud83d\ude00"}`,
		`{"type":"text","text":"x","annotations":{"priority":1}}`,
		`{"type":"text","text":"x","_meta":{"a":1}}`,
		`{"type":"text","text":7}`,
		`{"type":"text","text":null}`,
		`{"type":"text"}`,
		`{"type":"te\u0078t","text":"x"}`,
		`{"Type":"text","text":"x"}`,
		`{"type":"text","Text":"x"}`,
		`{"type":"image","data":"AAEC"}`,
		"{\"type\":\"text\",\"text\":\"bad \xff utf-8\"}",
	} {
		b, _ := json.Marshal(map[string]string{"type": "text", "content": block})
		got, gotErr := toolResult(schema, funcd.StringValue(string(b)))
		var want mcp.CallToolResult
		wantErr := json.Unmarshal([]byte(`{"content":[`+block+`]}`), &want)
		if (gotErr != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v; the SDK's %v", block, gotErr, wantErr)
			continue
		}
		if gotErr == nil {
			if g, w := resultJSON(t, got, nil), resultJSON(t, &want, nil); g != w {
				t.Errorf("%s:\n got %s\nwant %s", block, g, w)
			}
		}
	}
}
