package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/funcd/funcd/sdk/bindings"
	"github.com/funcd/funcd/sdk/internal/bridge"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

func jsonData(s string) *rpcpb.TypedData {
	return &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: s}}
}
func strData(s string) *rpcpb.TypedData {
	return &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: s}}
}

// invokeFn runs the function name of app with a trigger value (binding
// "context") and trigger metadata.
func invokeFn(t *testing.T, app *App, name string, trigger *rpcpb.TypedData, meta map[string]*rpcpb.TypedData) *rpcpb.InvocationResponse {
	t.Helper()
	for _, f := range bridge.Functions(app) {
		if f.Name != name {
			continue
		}
		req := &rpcpb.InvocationRequest{InvocationId: "i-" + name, TriggerMetadata: meta}
		if trigger != nil {
			req.InputData = []*rpcpb.ParameterBinding{{Name: "context", RpcData: &rpcpb.ParameterBinding_Data{Data: trigger}}}
		}
		var resp *rpcpb.InvocationResponse
		f.Invoke(t.Context(), req, nil, nil, func(r *rpcpb.InvocationResponse) { resp = r })
		return resp
	}
	t.Fatalf("no function %q", name)
	return nil
}

func rawBindings(app *App) map[string][]string {
	out := map[string][]string{}
	for _, f := range bridge.Functions(app) {
		out[f.Name] = f.Metadata.GetRawBindings()
	}
	return out
}

func TestMCPMetadata(t *testing.T) {
	app := FunctionApp()
	h := func(context.Context, *MCPToolRequest) (any, error) { return nil, nil }
	app.MCPTool("get_weather", h).Description("Current weather of a city").
		Property("location", "string", "City name", Required()).
		Property("units", "string", "Units", Enum("metric", "imperial")).
		ArrayProperty("days", "integer", "Days ahead").
		Metadata(map[string]any{"ui": map[string]any{"resourceUri": "ui://weather/index.html"}})
	app.MCPTool("echoFunction", h, WithToolName("echo"), WithProperty("message", "string", "What to echo", Required()))
	app.MCPTool("bare", h)
	rh := func(context.Context, *MCPResourceRequest) (any, error) { return nil, nil }
	app.MCPResource("weather_widget", "ui://weather/index.html", rh).ResourceName("Weather Widget").
		Title("Weather").Description("The weather view").MIMEType("text/html;profile=mcp-app").Size(1234).
		Metadata(map[string]any{"ui": map[string]any{"prefersBorder": true}})
	app.MCPResource("note", "file://notes/{id}", rh)

	want := map[string][]string{
		"get_weather": {`{"name":"context","type":"mcpToolTrigger","direction":"in","description":"Current weather of a city",` +
			`"metadata":"{\"ui\":{\"resourceUri\":\"ui://weather/index.html\"}}","toolName":"get_weather",` +
			`"toolProperties":"[{\"propertyName\":\"location\",\"propertyType\":\"string\",\"description\":\"City name\",\"isRequired\":true,\"isArray\":false},` +
			`{\"propertyName\":\"units\",\"propertyType\":\"string\",\"description\":\"Units\",\"isRequired\":false,\"isArray\":false,\"enumValues\":[\"metric\",\"imperial\"]},` +
			`{\"propertyName\":\"days\",\"propertyType\":\"integer\",\"description\":\"Days ahead\",\"isRequired\":false,\"isArray\":true}]",` +
			`"useResultSchema":true}`},
		"echoFunction": {`{"name":"context","type":"mcpToolTrigger","direction":"in","description":"","toolName":"echo",` +
			`"toolProperties":"[{\"propertyName\":\"message\",\"propertyType\":\"string\",\"description\":\"What to echo\",\"isRequired\":true,\"isArray\":false}]",` +
			`"useResultSchema":true}`},
		"bare": {`{"name":"context","type":"mcpToolTrigger","direction":"in","description":"","toolName":"bare","toolProperties":"[]","useResultSchema":true}`},
		"weather_widget": {`{"name":"context","type":"mcpResourceTrigger","direction":"in","description":"The weather view",` +
			`"metadata":"{\"ui\":{\"prefersBorder\":true}}","mimeType":"text/html;profile=mcp-app","resourceName":"Weather Widget",` +
			`"size":1234,"title":"Weather","uri":"ui://weather/index.html"}`},
		"note": {`{"name":"context","type":"mcpResourceTrigger","direction":"in","resourceName":"note","uri":"file://notes/{id}"}`},
	}
	got := rawBindings(app)
	for name, raw := range want {
		if !slices.Equal(got[name], raw) {
			t.Errorf("%s raw bindings\n got %q\nwant %q", name, got[name], raw)
		}
	}
	for _, f := range bridge.Functions(app) {
		if st := f.Metadata.GetStatus(); st != nil {
			t.Errorf("%s: status %v", f.Name, st)
		}
		if b := f.Metadata.GetBindings()["context"]; b.GetDirection() != rpcpb.BindingInfo_in || len(f.Metadata.GetBindings()) != 1 {
			t.Errorf("%s: bindings %v", f.Name, f.Metadata.GetBindings())
		}
	}
	// The toolProperties value is a JSON array as the host reads it.
	var props []map[string]any
	if err := json.Unmarshal([]byte(mustField(t, got["get_weather"][0], "toolProperties")), &props); err != nil || len(props) != 3 {
		t.Errorf("toolProperties %v (%v)", props, err)
	}
}

func mustField(t *testing.T, raw, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[key].(string)
	return s
}

func TestMCPRegistrationMistakes(t *testing.T) {
	app := FunctionApp()
	h := func(context.Context, *MCPToolRequest) (any, error) { return nil, nil }
	rh := func(context.Context, *MCPResourceRequest) (any, error) { return nil, nil }
	mustPanic(t, `MCP tool "n" has a nil handler`, func() { app.MCPTool("n", nil) })
	mustPanic(t, `property "x" has type "date"; want one of string, number, integer, boolean, object`,
		func() { app.MCPTool("t1", h).Property("x", "date", "") })
	mustPanic(t, `two properties named "x"`, func() { app.MCPTool("t2", h).Property("x", "string", "").ArrayProperty("x", "number", "") })
	mustPanic(t, "a property has no name", func() { app.MCPTool("t3", h).Property("", "string", "") })
	app.MCPTool("echo", h)
	mustPanic(t, `functions "echo" and "Echo" both serve the MCP tool "Echo"`, func() { app.MCPTool("Echo", h) })
	mustPanic(t, `both serve the MCP tool "ECHO"`, func() { app.MCPTool("other", h).ToolName("ECHO") })
	mustPanic(t, `both serve the MCP tool "echo"`, func() { app.MCPTool("other2", h, WithToolName("echo")) })
	mustPanic(t, "Title applies to a mcpResourceTrigger", func() { app.MCPTool("t4", h).Title("x") })
	mustPanic(t, "Schedule applies to a timerTrigger", func() { app.MCPTool("t5", h).Schedule("* * * * * *") })
	mustPanic(t, "Description applies to an mcpToolTrigger, mcpResourceTrigger or mcpPromptTrigger",
		func() {
			app.Queue("q", func(context.Context, bindings.QueueMessage) error { return nil }).Description("x")
		})
	mustPanic(t, `uri "index.html" is not an absolute URI`, func() { app.MCPResource("r1", "index.html", rh) })
	mustPanic(t, `uri "1x://a" has no valid scheme`, func() { app.MCPResource("r2", "1x://a", rh) })
	mustPanic(t, "size -1 is negative", func() { app.MCPResource("r3", "ui://a", rh).Size(-1) })
	mustPanic(t, "Property applies to a mcpToolTrigger", func() { app.MCPResource("r4", "ui://b", rh).Property("x", "string", "") })
	mustPanic(t, "does not encode to JSON", func() { app.MCPResource("r5", "ui://c", rh).Metadata(map[string]any{"f": func() {}}) })
	app.MCPResource("r6", "ui://D", rh)
	mustPanic(t, `functions "r6" and "r7" both serve the MCP resource "ui://d"`, func() { app.MCPResource("r7", "ui://d", rh) })
	mustPanic(t, "an empty MCP resource name", func() { app.MCPResource("r8", "ui://e", rh).ResourceName("") })
}

// toolContext is a tool trigger value as the host sends it.
const toolContext = `{"name":"get_weather","arguments":{"location":"Seattle","days":[1,2],"detail":{"wind":true},"n":4,"none":null},
	"sessionid":"s-top","clientinfo":{"name":"inspector","version":"1.2"},
	"transport":{"name":"http-streamable","sessionId":"s-transport","properties":{"headers":{"mcp-session-id":"s-transport","Accept":"application/json,text/event-stream","X-List":["a","b"]}}}}`

func TestMCPToolRequest(t *testing.T) {
	app := FunctionApp()
	var got *MCPToolRequest
	var bound struct {
		Location string `json:"location"`
		Days     []int  `json:"days"`
	}
	var bindErr error
	app.MCPTool("weather", func(_ context.Context, r *MCPToolRequest) (any, error) {
		got = r
		bindErr = r.Bind(&bound)
		return "ok", nil
	}).ToolName("get_weather")

	for _, td := range []*rpcpb.TypedData{jsonData(toolContext), strData(toolContext), {Data: &rpcpb.TypedData_Bytes{Bytes: []byte(toolContext)}}} {
		got, bound.Location, bound.Days = nil, "", nil
		resp := invokeFn(t, app, "weather", td, nil)
		if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success {
			t.Fatalf("status %v", resp.GetResult())
		}
		if got.Name != "get_weather" || got.SessionID != "s-top" || got.ClientInfo == nil || *got.ClientInfo != (MCPClientInfo{Name: "inspector", Version: "1.2"}) {
			t.Errorf("request %+v", got)
		}
		if got.Transport.Name != "http-streamable" || got.Transport.SessionID != "s-transport" ||
			got.Transport.Headers.Get("Mcp-Session-Id") != "s-transport" || got.Transport.Headers.Get("accept") != "application/json,text/event-stream" ||
			got.Transport.Headers.Get("X-List") != "a,b" {
			t.Errorf("transport %+v", got.Transport)
		}
		if bindErr != nil || bound.Location != "Seattle" || !slices.Equal(bound.Days, []int{1, 2}) {
			t.Errorf("Bind: %+v, %v", bound, bindErr)
		}
	}
	for arg, want := range map[string]string{"location": "Seattle", "days": "[1,2]", "detail": `{"wind":true}`, "n": "4", "none": "", "missing": ""} {
		if s := got.ArgString(arg); s != want {
			t.Errorf("ArgString(%q) = %q, want %q", arg, s, want)
		}
	}
	if v, ok := got.Arg("n"); !ok || string(v) != "4" {
		t.Errorf("Arg(n) = %s, %v", v, ok)
	}
	if _, ok := got.Arg("missing"); ok {
		t.Error("Arg(missing) found")
	}

	// Without a trigger value: the context and arguments from the trigger
	// metadata, the session from mcpsessionid.
	resp := invokeFn(t, app, "weather", nil, map[string]*rpcpb.TypedData{
		"mcptoolargs":  jsonData(`{"location":"Oslo","days":"[3]","n":"4"}`),
		"mcpsessionid": strData("s-meta"),
	})
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success || got.Name != "get_weather" || got.SessionID != "s-meta" ||
		bound.Location != "Oslo" || !slices.Equal(bound.Days, []int{3}) || got.ArgString("n") != "4" || got.ClientInfo != nil {
		t.Errorf("from metadata: %v, %+v, %+v", resp.GetResult(), got, bound)
	}
	resp = invokeFn(t, app, "weather", nil, map[string]*rpcpb.TypedData{
		"McpToolContext": jsonData(`{"name":"get_weather","arguments":{"location":"Rome"},"transport":{"name":"http-sse","sessionId":"sse-1"}}`),
	})
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success || bound.Location != "Rome" || got.SessionID != "sse-1" || got.Transport.Name != "http-sse" {
		t.Errorf("from mcptoolcontext: %v, %+v", resp.GetResult(), got)
	}

	// No arguments at all: Bind leaves the value alone.
	bound.Location = "kept"
	resp = invokeFn(t, app, "weather", jsonData(`{"name":"get_weather"}`), nil)
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success || got.Arguments != nil || bound.Location != "kept" || bindErr != nil {
		t.Errorf("without arguments: %v, %+v, %v", resp.GetResult(), got, bindErr)
	}

	for payload, want := range map[string]string{
		`{"arguments":[1]}`:              `MCP tool "get_weather": the arguments are [1]; want a JSON object`,
		`[1,2]`:                          `MCP tool "get_weather": the trigger value is not the MCP invocation context`,
		`{"arguments":{"location":5}}`:   `the arguments of MCP tool "get_weather": json: cannot unmarshal number`,
		`{"transport":{"name":{"x":1}}}`: `the trigger value is not the MCP invocation context`,
	} {
		resp := invokeFn(t, app, "weather", jsonData(payload), nil)
		if payload == `{"arguments":{"location":5}}` {
			// A Bind error is the handler's to return; this one returns "ok".
			if bindErr == nil || !strings.Contains(bindErr.Error(), want) {
				t.Errorf("Bind of %s: %v", payload, bindErr)
			}
			continue
		}
		if resp.GetResult().GetStatus() != rpcpb.StatusResult_Failure || !strings.Contains(resp.GetResult().GetResult(), want) {
			t.Errorf("payload %s: result %v, want %q", payload, resp.GetResult(), want)
		}
	}
}

// envelope decodes a tool's return value: the envelope, its content and
// structured content decoded.
func envelope(t *testing.T, resp *rpcpb.InvocationResponse) (typ string, content, structured any) {
	t.Helper()
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success {
		t.Fatalf("status %v", resp.GetResult())
	}
	rv, ok := resp.GetReturnValue().GetData().(*rpcpb.TypedData_String_)
	if !ok {
		t.Fatalf("return value %v, want a string", resp.GetReturnValue())
	}
	var env map[string]any
	if err := json.Unmarshal([]byte(rv.String_), &env); err != nil {
		t.Fatal(err)
	}
	for k := range env {
		if k != "type" && k != "content" && k != "structuredContent" {
			t.Errorf("envelope key %q", k)
		}
	}
	if err := json.Unmarshal([]byte(env["content"].(string)), &content); err != nil {
		t.Fatalf("content %q: %v", env["content"], err)
	}
	if s, ok := env["structuredContent"].(string); ok {
		if err := json.Unmarshal([]byte(s), &structured); err != nil {
			t.Fatalf("structuredContent %q: %v", s, err)
		}
	}
	return env["type"].(string), content, structured
}

func TestMCPToolResults(t *testing.T) {
	type weather struct {
		City string  `json:"city"`
		Temp float64 `json:"temp"`
	}
	png := []byte{0x89, 'P', 'N', 'G'}
	cases := []struct {
		name    string
		ret     any
		raw     string // the exact return value, when set
		typ     string
		want    string // content, as JSON
		struct_ string // structured content, as JSON
	}{
		{name: "string", ret: "hello <b>&", raw: `{"type":"text","content":"{\"type\":\"text\",\"text\":\"hello <b>&\"}"}`,
			typ: "text", want: `{"type":"text","text":"hello <b>&"}`},
		{name: "value", ret: weather{"Seattle", 12.5}, typ: "text", want: `{"type":"text","text":"{\"city\":\"Seattle\",\"temp\":12.5}"}`},
		{name: "number", ret: 42, typ: "text", want: `{"type":"text","text":"42"}`},
		{name: "map", ret: map[string]int{"a": 1}, typ: "text", want: `{"type":"text","text":"{\"a\":1}"}`},
		{name: "raw json", ret: json.RawMessage(`{"x":1}`), typ: "text", want: `{"type":"text","text":"{\"x\":1}"}`},
		{name: "text block", ret: TextContent{Text: "hi", Meta: map[string]any{"k": "v"}}, typ: "text", want: `{"type":"text","text":"hi","_meta":{"k":"v"}}`},
		{name: "image", ret: &ImageContent{Data: png, MIMEType: "image/png"}, typ: "image", want: `{"type":"image","data":"iVBORw==","mimeType":"image/png"}`},
		{name: "audio", ret: AudioContent{Data: []byte("RIFF"), MIMEType: "audio/wav"}, typ: "audio", want: `{"type":"audio","data":"UklGRg==","mimeType":"audio/wav"}`},
		{name: "link", ret: ResourceLink{URI: "file://a.txt", Name: "a", MIMEType: "text/plain", Size: 3}, typ: "resource_link",
			want: `{"type":"resource_link","uri":"file://a.txt","name":"a","mimeType":"text/plain","size":3}`},
		{name: "embedded", ret: EmbeddedResource{Resource: ResourceContents{URI: "file://b", MIMEType: "application/octet-stream", Blob: []byte{1, 2}}}, typ: "resource",
			want: `{"type":"resource","resource":{"uri":"file://b","mimeType":"application/octet-stream","blob":"AQI="}}`},
		{name: "one block in a list", ret: []MCPContent{TextContent{Text: "only"}}, typ: "text", want: `{"type":"text","text":"only"}`},
		{name: "blocks", ret: []MCPContent{TextContent{Text: "see"}, ImageContent{Data: png, MIMEType: "image/png"}}, typ: "multi_content_result",
			want: `[{"type":"text","text":"see"},{"type":"image","data":"iVBORw==","mimeType":"image/png"}]`},
		{name: "typed blocks", ret: []TextContent{{Text: "a"}, {Text: "b"}}, typ: "multi_content_result", want: `[{"type":"text","text":"a"},{"type":"text","text":"b"}]`},
		{name: "structured", ret: Structured(weather{"Oslo", -3}), typ: "text", want: `{"type":"text","text":"{\"city\":\"Oslo\",\"temp\":-3}"}`,
			struct_: `{"city":"Oslo","temp":-3}`},
		{name: "call tool result", ret: &CallToolResult{Content: []MCPContent{TextContent{Text: "bad city"}}, IsError: true, Meta: map[string]any{"m": 1}},
			typ: "call_tool_result", want: `{"content":[{"type":"text","text":"bad city"}],"isError":true,"_meta":{"m":1}}`},
		{name: "call tool result, structured", ret: CallToolResult{StructuredContent: map[string]any{"temp": 20}},
			typ: "call_tool_result", want: `{"content":[{"type":"text","text":"{\"temp\":20}"}],"structuredContent":{"temp":20}}`},
		{name: "call tool result, structured with text", ret: CallToolResult{Content: []MCPContent{&TextContent{Text: "20 degrees"}}, StructuredContent: weather{"Rome", 20}},
			typ: "call_tool_result", want: `{"content":[{"type":"text","text":"20 degrees"}],"structuredContent":{"city":"Rome","temp":20}}`},
		{name: "empty call tool result", ret: CallToolResult{}, typ: "call_tool_result", want: `{"content":[]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := FunctionApp()
			app.MCPTool("t", func(context.Context, *MCPToolRequest) (any, error) { return c.ret, nil })
			resp := invokeFn(t, app, "t", jsonData(`{"name":"t","arguments":{}}`), nil)
			if c.raw != "" && resp.GetReturnValue().GetString_() != c.raw {
				t.Errorf("return value\n got %s\nwant %s", resp.GetReturnValue().GetString_(), c.raw)
			}
			typ, content, structured := envelope(t, resp)
			if typ != c.typ {
				t.Errorf("type %q, want %q", typ, c.typ)
			}
			if b, _ := json.Marshal(content); !jsonEqual(t, string(b), c.want) {
				t.Errorf("content\n got %s\nwant %s", b, c.want)
			}
			if c.struct_ == "" && structured != nil {
				t.Errorf("structured content %v, want none", structured)
			}
			if c.struct_ != "" {
				if b, _ := json.Marshal(structured); !jsonEqual(t, string(b), c.struct_) {
					t.Errorf("structured content %s, want %s", b, c.struct_)
				}
			}
		})
	}

	// nil is no return value: the host answers an empty result.
	for _, ret := range []any{nil, (*CallToolResult)(nil), (*TextContent)(nil)} {
		app := FunctionApp()
		app.MCPTool("t", func(context.Context, *MCPToolRequest) (any, error) { return ret, nil })
		if resp := invokeFn(t, app, "t", jsonData(`{}`), nil); resp.GetResult().GetStatus() != rpcpb.StatusResult_Success || resp.GetReturnValue() != nil {
			t.Errorf("%T: response %v", ret, resp)
		}
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func TestMCPToolFailures(t *testing.T) {
	for _, c := range []struct {
		ret  any
		err  error
		want string
	}{
		{err: errors.New("no such city"), want: "no such city"},
		{ret: Structured([]int{1}), want: `the result of MCP tool "t": its structured content is [1]; want a value that encodes to a JSON object`},
		{ret: CallToolResult{StructuredContent: "text"}, want: `its structured content is "text"; want a value that encodes to a JSON object`},
		{ret: []MCPContent{}, want: "an empty list of content blocks"},
		{ret: CallToolResult{Content: []MCPContent{nil}}, want: "content block 0 is nil"},
		{ret: func() {}, want: `the result of MCP tool "t": json: unsupported type`},
	} {
		app := FunctionApp()
		app.MCPTool("t", func(context.Context, *MCPToolRequest) (any, error) { return c.ret, c.err })
		resp := invokeFn(t, app, "t", jsonData(`{"name":"t"}`), nil)
		if resp.GetResult().GetStatus() != rpcpb.StatusResult_Failure || !strings.Contains(resp.GetResult().GetResult(), c.want) || resp.GetReturnValue() != nil {
			t.Errorf("%v/%v: response %v, want a failure with %q", c.ret, c.err, resp, c.want)
		}
	}
	// A panic fails the invocation too.
	app := FunctionApp()
	app.MCPTool("t", func(context.Context, *MCPToolRequest) (any, error) { panic("boom") })
	if resp := invokeFn(t, app, "t", jsonData(`{}`), nil); resp.GetResult().GetException().GetType() != "panic" {
		t.Errorf("panic: %v", resp.GetResult())
	}
}

func TestMCPResource(t *testing.T) {
	app := FunctionApp()
	var got *MCPResourceRequest
	var ret any
	h := func(_ context.Context, r *MCPResourceRequest) (any, error) { got = r; return ret, nil }
	app.MCPResource("widget", "ui://weather/index.html", h).MIMEType("text/html;profile=mcp-app")
	app.MCPResource("note", "file://notes/{folder}/{id}?v={version}", h)

	ctx := `{"uri":"ui://weather/index.html","sessionid":"s1","clientinfo":{"name":"c","version":"1"},
		"transport":{"name":"http-streamable","sessionId":"s1","properties":{"headers":{"x-functions-key":"k"}}}}`
	for _, c := range []struct {
		ret  any
		want *rpcpb.TypedData
	}{
		{"<html></html>", strData("<html></html>")},
		{[]byte{1, 2}, &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: []byte{1, 2}}}},
		{ResourceContents{Text: "<p>hi</p>", Meta: map[string]any{"ui": map[string]any{"prefersBorder": true}}},
			strData(`{"content":"{\"uri\":\"\",\"text\":\"<p>hi</p>\",\"_meta\":{\"ui\":{\"prefersBorder\":true}}}"}`)},
		{&ResourceContents{URI: "ui://weather/index.html", MIMEType: "text/html;profile=mcp-app", Blob: []byte("<p>")},
			strData(`{"content":"{\"uri\":\"ui://weather/index.html\",\"mimeType\":\"text/html;profile=mcp-app\",\"blob\":\"PHA+\"}"}`)},
		{nil, nil},
	} {
		ret = c.ret
		resp := invokeFn(t, app, "widget", jsonData(ctx), nil)
		if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success || (c.want == nil) != (resp.GetReturnValue() == nil) ||
			c.want != nil && resp.GetReturnValue().String() != c.want.String() {
			t.Errorf("%T: response %v, want return value %v", c.ret, resp, c.want)
		}
	}
	if got.URI != "ui://weather/index.html" || got.SessionID != "s1" || got.ClientInfo.Name != "c" || got.Params != nil ||
		got.Transport.Name != "http-streamable" || got.Transport.Headers.Get("X-Functions-Key") != "k" {
		t.Errorf("request %+v", got)
	}

	ret = 3
	resp := invokeFn(t, app, "widget", jsonData(ctx), nil)
	if want := `the contents of MCP resource "ui://weather/index.html": a int; a resource returns a string, a []byte or sdk.ResourceContents`; resp.GetResult().GetResult() != want {
		t.Errorf("result %q, want %q", resp.GetResult().GetResult(), want)
	}

	// A template: the parameters from the trigger metadata, else from the
	// URI read.
	ret = "note"
	invokeFn(t, app, "note", jsonData(`{"uri":"file://notes/work/7?v=2"}`), map[string]*rpcpb.TypedData{"id": strData("7"), "folder": strData("work")})
	if want := map[string]string{"folder": "work", "id": "7", "version": "2"}; !maps.Equal(got.Params, want) {
		t.Errorf("params %v, want %v", got.Params, want)
	}
	invokeFn(t, app, "note", nil, map[string]*rpcpb.TypedData{"mcpresourceuri": strData("file://notes/home/a%20b?v=x/y"), "mcpsessionid": strData("s9")})
	if want := map[string]string{"folder": "home", "id": "a%20b", "version": "x/y"}; !maps.Equal(got.Params, want) || got.URI != "file://notes/home/a%20b?v=x/y" || got.SessionID != "s9" {
		t.Errorf("from the URI: %+v", got)
	}
}

func TestMatchURITemplate(t *testing.T) {
	for _, c := range []struct {
		template, uri string
		want          map[string]string
	}{
		{"file://notes/{id}", "file://notes/7", map[string]string{"id": "7"}},
		{"file://notes/{id}", "FILE://Notes/7", map[string]string{"id": "7"}},
		{"file://notes/{id}", "file://notes/7/8", nil},
		{"db://{table}/rows?limit={n}&q={q}", "db://users/rows?limit=10&q=a/b", map[string]string{"table": "users", "n": "10", "q": "a/b"}},
		{"a.b://{x}", "aXb://1", nil},
	} {
		if got := matchURITemplate(c.template, c.uri); !maps.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("matchURITemplate(%q, %q) = %v, want %v", c.template, c.uri, got, c.want)
		}
	}
}

// TestMCPInvocationContext: the handler's ctx is the invocation's.
func TestMCPInvocationContext(t *testing.T) {
	app := FunctionApp()
	var ic *InvocationContext
	app.MCPTool("t", func(ctx context.Context, _ *MCPToolRequest) (any, error) {
		ic, _ = FromContext(ctx)
		return "", nil
	})
	invokeFn(t, app, "t", jsonData(`{}`), map[string]*rpcpb.TypedData{"mcpsessionid": strData("s")})
	if ic == nil || ic.TriggerType != "mcpToolTrigger" || ic.FunctionName != "t" || ic.TriggerMetadata["mcpsessionid"] != "s" {
		t.Errorf("invocation context %+v", ic)
	}
}
