package nodeworker_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/worker/grpcworker"
)

// mcpToolContext is the tool trigger's value as the MCP extension sends
// it: the invocation context, with its lowercase wire names.
func mcpToolContext(name, args, session string) string {
	return `{"name":` + jsonString(name) + `,"arguments":` + args + `,"sessionid":` + jsonString(session) +
		`,"clientinfo":{"name":"funcd-test","version":"1.0.0"},"transport":{"name":"http-streamable","sessionId":` +
		jsonString(session) + `,"properties":{"headers":{"accept":"application/json, text/event-stream"}}}}`
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// mcpToolArgs renders arguments as the host's mcptoolargs: each value as
// a string, a string's own text and any other value's JSON.
func mcpToolArgs(t *testing.T, args string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(args), &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
			continue
		}
		out[k] = string(v)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMCPApp runs e2e/testdata/mcpnode, whose tools and resources are
// registered with @azure/functions' app.mcpTool and app.mcpResource:
// the bindings it reports, and invocations with the payloads of the MCP
// extension, down to the envelope each returns.
func TestMCPApp(t *testing.T) {
	dir := testApp(t, "mcpnode")
	w, book, err := startNode(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	fns, err := w.Functions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*grpcworker.FunctionMetadata{}
	var ids []string
	for _, f := range fns {
		if f.Err != nil {
			t.Errorf("function %s: %v", f.Metadata.GetName(), f.Err)
		}
		byID[f.Metadata.GetFunctionId()] = f.Metadata
		ids = append(ids, f.Metadata.GetFunctionId())
	}
	// The files load in name order: prompts.js, resources.js, tools.js.
	if want := []string{"nodeGreeting", "nodeWidget", "nodeItem", "nodeEcho", "nodeWeather", "nodeFail", "nodeArgs", "nodeMulti", "nodePoint"}; !slices.Equal(ids, want) {
		t.Fatalf("function ids = %v, want %v", ids, want)
	}

	// trigger returns the function's one binding, which must be its
	// trigger of type typ.
	trigger := func(t *testing.T, fn, typ string) map[string]any {
		t.Helper()
		rb := rawBindings(t, byID[fn])
		if len(rb) != 1 || rb[typ] == nil {
			t.Fatalf("%s bindings = %v, want only a %s", fn, rb, typ)
		}
		return rb[typ]
	}
	// exactly checks the properties of a raw binding but its name, a hash
	// the library derives from the options.
	exactly := func(t *testing.T, fn string, got map[string]any, want string) {
		t.Helper()
		name, _ := got["name"].(string)
		if !strings.HasPrefix(name, got["type"].(string)) || len(name) <= len(got["type"].(string)) {
			t.Errorf("%s binding name = %q, want the type and a hash", fn, name)
		}
		rest := maps.Clone(got)
		delete(rest, "name")
		var w map[string]any
		if err := json.Unmarshal([]byte(want), &w); err != nil {
			t.Fatal(err)
		}
		gb, _ := json.Marshal(rest)
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			t.Errorf("%s binding =\n%s\nwant\n%s", fn, gb, wb)
		}
	}

	t.Run("metadata", func(t *testing.T) {
		for _, id := range ids {
			if f := byID[id]; f.GetName() != id || f.GetScriptFile() == "" || f.GetLanguage() != "node" {
				t.Errorf("%s = name %q script %q language %q", id, f.GetName(), f.GetScriptFile(), f.GetLanguage())
			}
		}
		if s := byID["nodeEcho"].GetScriptFile(); s != "tools.js" || byID["nodeEcho"].GetDirectory() != filepath.Join(dir, "src", "functions") {
			t.Errorf("nodeEcho script file %q directory %q", s, byID["nodeEcho"].GetDirectory())
		}
		exactly(t, "nodeEcho", trigger(t, "nodeEcho", "mcpToolTrigger"), `{
			"type":"mcpToolTrigger","direction":"in","properties":{"supportsDeferredBinding":"false"},
			"toolName":"node_echo","description":"Echoes the message it is given.","useResultSchema":true,
			"toolProperties":"[{\"propertyName\":\"message\",\"propertyType\":\"string\",\"description\":\"The text to echo.\",\"isRequired\":true}]"}`)
		exactly(t, "nodeWeather", trigger(t, "nodeWeather", "mcpToolTrigger"), `{
			"type":"mcpToolTrigger","direction":"in","properties":{"supportsDeferredBinding":"false"},
			"toolName":"node_weather","description":"Reports the weather of a city, with structured content.","useResultSchema":true,
			"metadata":"{\"ui\":{\"resourceUri\":\"ui://node/widget.html\"}}",
			"resultSchema":"{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"number\"},\"sky\":{\"type\":\"string\"}},\"required\":[\"city\",\"sky\"]}",
			"toolProperties":"[{\"propertyName\":\"city\",\"propertyType\":\"string\",\"description\":\"The city.\",\"isRequired\":true,\"isArray\":false},{\"propertyName\":\"days\",\"propertyType\":\"number\",\"description\":\"How many days ahead.\",\"isRequired\":false,\"isArray\":false}]"}`)
		exactly(t, "nodeFail", trigger(t, "nodeFail", "mcpToolTrigger"), `{
			"type":"mcpToolTrigger","direction":"in","properties":{"supportsDeferredBinding":"false"},
			"toolName":"node_fail","description":"Always fails.","useResultSchema":true,"toolProperties":"[]"}`)
		exactly(t, "nodeArgs", trigger(t, "nodeArgs", "mcpToolTrigger"), `{
			"type":"mcpToolTrigger","direction":"in","properties":{"supportsDeferredBinding":"false"},
			"toolName":"node_args","description":"Reports its arguments as the trigger metadata carries them.","useResultSchema":true,
			"toolProperties":"[{\"propertyName\":\"text\",\"propertyType\":\"string\",\"description\":\"Some text.\",\"isRequired\":true},{\"propertyName\":\"count\",\"propertyType\":\"integer\",\"description\":\"A number.\"},{\"propertyName\":\"tags\",\"propertyType\":\"string\",\"description\":\"Some tags.\",\"isArray\":true}]"}`)
		exactly(t, "nodeWidget", trigger(t, "nodeWidget", "mcpResourceTrigger"), `{
			"type":"mcpResourceTrigger","direction":"in","properties":{"supportsDeferredBinding":"false"},
			"uri":"ui://node/widget.html","resourceName":"Node widget","title":"Node weather widget",
			"description":"The view that shows node_weather results.","mimeType":"text/html;profile=mcp-app",
			"metadata":"{\"ui\":{\"prefersBorder\":true}}"}`)
		exactly(t, "nodeItem", trigger(t, "nodeItem", "mcpResourceTrigger"), `{
			"type":"mcpResourceTrigger","direction":"in","properties":{"supportsDeferredBinding":"false"},
			"uri":"node://items/{id}","resourceName":"Node item","description":"One item, by id.","mimeType":"application/json"}`)
		for _, id := range ids {
			for name, b := range byID[id].GetBindings() {
				if b.GetDirection().String() != "in" || !strings.HasSuffix(b.GetType(), "Trigger") || !strings.HasPrefix(name, b.GetType()) {
					t.Errorf("%s binding %s = %v", id, name, b)
				}
			}
		}
	})

	// toolRequest is the request the host sends a tool function for
	// tools/call.
	toolRequest := func(t *testing.T, fn, tool, args, session string) *grpcworker.InvocationRequest {
		t.Helper()
		trig := trigger(t, fn, "mcpToolTrigger")["name"].(string)
		req := &grpcworker.InvocationRequest{
			InvocationId: "inv-" + fn,
			FunctionId:   fn,
			InputData: []*grpcworker.ParameterBinding{{Name: trig, RpcData: &grpcworker.ParameterBindingData{
				Data: &grpcworker.TypedData{Data: &grpcworker.TypedDataJSON{Json: mcpToolContext(tool, args, session)}},
			}}},
			TriggerMetadata: map[string]*grpcworker.TypedData{
				"mcptoolcontext": {Data: &grpcworker.TypedDataJSON{Json: mcpToolContext(tool, args, session)}},
				"mcpsessionid":   {Data: &grpcworker.TypedDataString{String_: session}},
				"mcptoolargs":    {Data: &grpcworker.TypedDataJSON{Json: mcpToolArgs(t, args)}},
			},
		}
		return req
	}
	invoke := func(t *testing.T, req *grpcworker.InvocationRequest) *grpcworker.InvocationResponse {
		t.Helper()
		resp, err := w.Invoke(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetInvocationId() != req.InvocationId {
			t.Errorf("invocation id = %q, want %q", resp.GetInvocationId(), req.InvocationId)
		}
		return resp
	}
	// callTool invokes a tool function as the host does for tools/call.
	callTool := func(t *testing.T, fn, tool, args, session string) *grpcworker.InvocationResponse {
		t.Helper()
		return invoke(t, toolRequest(t, fn, tool, args, session))
	}
	// envelope checks a successful invocation's return value: a string
	// holding exactly want.
	envelope := func(t *testing.T, resp *grpcworker.InvocationResponse, want string) {
		t.Helper()
		if r := resp.GetResult(); r.GetStatus() != grpcworker.StatusSuccess {
			t.Fatalf("result = %v", r)
		}
		rv := resp.GetReturnValue()
		if _, ok := rv.GetData().(*grpcworker.TypedDataString); !ok {
			t.Fatalf("return value = %v, want a string", rv)
		}
		if got := rv.GetString_(); got != want {
			t.Errorf("return value =\n%s\nwant\n%s", got, want)
		}
		if len(resp.GetOutputData()) != 0 {
			t.Errorf("output data = %v", resp.GetOutputData())
		}
	}

	t.Run("echo", func(t *testing.T) {
		resp := callTool(t, "nodeEcho", "node_echo", `{"message":"hello \"MCP\""}`, "s-echo")
		envelope(t, resp, `{"type":"text","content":"{\"type\":\"text\",\"text\":\"hello \\\"MCP\\\"\"}"}`)
		// The invocation context as JSON text in a string reads the same.
		req := toolRequest(t, "nodeEcho", "node_echo", `{"message":"as a string"}`, "s-echo")
		req.InputData[0].RpcData.(*grpcworker.ParameterBindingData).Data.Data = &grpcworker.TypedDataString{String_: mcpToolContext("node_echo", `{"message":"as a string"}`, "s-echo")}
		envelope(t, invoke(t, req), `{"type":"text","content":"{\"type\":\"text\",\"text\":\"as a string\"}"}`)
	})

	t.Run("structured", func(t *testing.T) {
		resp := callTool(t, "nodeWeather", "node_weather", `{"city":"Oslo","days":3}`, "s-weather")
		envelope(t, resp, `{"type":"text","content":"{\"type\":\"text\",\"text\":\"Oslo: clear for 3 day(s)\"}",`+
			`"structuredContent":"{\"city\":\"Oslo\",\"days\":3,\"sky\":\"clear\"}"}`)
		// The optional days left out.
		resp = callTool(t, "nodeWeather", "node_weather", `{"city":"Bergen"}`, "")
		envelope(t, resp, `{"type":"text","content":"{\"type\":\"text\",\"text\":\"Bergen: clear for 1 day(s)\"}",`+
			`"structuredContent":"{\"city\":\"Bergen\",\"days\":1,\"sky\":\"clear\"}"}`)
	})

	t.Run("throws", func(t *testing.T) {
		resp := callTool(t, "nodeFail", "node_fail", `{}`, "s-fail")
		r := resp.GetResult()
		if r.GetStatus() != grpcworker.StatusFailure || r.GetException().GetMessage() != "node_fail always fails" ||
			!strings.Contains(r.GetException().GetStackTrace(), filepath.Join("src", "functions", "tools.js")) {
			t.Errorf("result = %v", r)
		}
		if resp.GetReturnValue() != nil {
			t.Errorf("return value = %v", resp.GetReturnValue())
		}
	})

	t.Run("trigger metadata", func(t *testing.T) {
		resp := callTool(t, "nodeArgs", "node_args", `{"text":"abc","count":42,"tags":["x","y"],"Extra":"E"}`, "s-args")
		// The handler's object, as JSON text in a text block, in the
		// envelope. The library lowers the first letter of trigger
		// metadata keys (Extra), not those of the trigger value.
		inner := `{"mcptoolargs":{"extra":"E","count":"42","tags":"[\"x\",\"y\"]","text":"abc"},"mcpsessionid":"s-args",` +
			`"arguments":{"text":"abc","count":42,"tags":["x","y"],"Extra":"E"},"sessionid":"s-args","transport":"http-streamable"}`
		envelope(t, resp, `{"type":"text","content":`+jsonString(`{"type":"text","text":`+jsonString(inner)+`}`)+`}`)
		book.waitLog(t, "with the session", func(l grpcworker.Log) bool {
			return l.InvocationID == "inv-nodeArgs" && l.Message == "node_args session=s-args" && l.Category == "nodeArgs.Invocation"
		})
	})

	t.Run("content blocks", func(t *testing.T) {
		resp := callTool(t, "nodeMulti", "node_multi", `{}`, "s-multi")
		blocks := `[{"type":"text","text":"three blocks"},{"type":"image","data":"UE5HIQ==","mimeType":"image/png"},` +
			`{"type":"resource_link","uri":"ui://node/widget.html","name":"Node widget","mimeType":"text/html;profile=mcp-app"}]`
		envelope(t, resp, `{"type":"multi_content_result","content":`+jsonString(blocks)+`}`)
	})

	t.Run("marked class", func(t *testing.T) {
		resp := callTool(t, "nodePoint", "node_point", `{"x":3,"y":-4}`, "s-point")
		envelope(t, resp, `{"type":"text","content":`+jsonString(`{"type":"text","text":"{\"x\":3,\"y\":-4}"}`)+
			`,"structuredContent":"{\"x\":3,\"y\":-4}"}`)
	})

	// readResource invokes a resource function as the host does for
	// resources/read.
	readResource := func(t *testing.T, fn, uri string, extra map[string]string) *grpcworker.InvocationResponse {
		t.Helper()
		trig := trigger(t, fn, "mcpResourceTrigger")["name"].(string)
		rctx := `{"uri":` + jsonString(uri) + `,"sessionid":"s-res","clientinfo":null,` +
			`"transport":{"name":"http-streamable","sessionId":"s-res","properties":{"headers":{}}}}`
		meta := map[string]*grpcworker.TypedData{
			"mcpresourceuri":     {Data: &grpcworker.TypedDataString{String_: uri}},
			"mcpresourcecontext": {Data: &grpcworker.TypedDataJSON{Json: rctx}},
			"mcpsessionid":       {Data: &grpcworker.TypedDataString{String_: "s-res"}},
		}
		for k, v := range extra {
			meta[k] = &grpcworker.TypedData{Data: &grpcworker.TypedDataString{String_: v}}
		}
		resp, err := w.Invoke(ctx, &grpcworker.InvocationRequest{
			InvocationId: "inv-" + fn,
			FunctionId:   fn,
			InputData: []*grpcworker.ParameterBinding{{Name: trig, RpcData: &grpcworker.ParameterBindingData{
				Data: &grpcworker.TypedData{Data: &grpcworker.TypedDataJSON{Json: rctx}},
			}}},
			TriggerMetadata: meta,
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	t.Run("resource", func(t *testing.T) {
		resp := readResource(t, "nodeWidget", "ui://node/widget.html", nil)
		envelope(t, resp, "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Node widget</title></head>\n"+
			"<body><main id=\"weather\">Waiting for node_weather.</main></body>\n</html>\n")
	})

	t.Run("resource template", func(t *testing.T) {
		resp := readResource(t, "nodeItem", "node://items/42a", map[string]string{"id": "42a"})
		envelope(t, resp, `{"id":"42a","uri":"node://items/42a"}`)
	})
}

// TestMCPPrompt runs prompts registered with app.mcpPrompt, from an app
// written here that uses mcpnode's packages: the binding they report, the
// PromptInvocationContext the library makes of the trigger value, and
// the return value, which the library converts like any other trigger's.
func TestMCPPrompt(t *testing.T) {
	modules := filepath.Join(testApp(t, "mcpnode"), "node_modules")
	dir := t.TempDir()
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"package.json": `{"main":"prompts.js"}`,
		"prompts.js": `const { app, promptArg } = require('@azure/functions');
app.mcpPrompt('greeting', {
  promptName: 'node_greeting',
  title: 'Greeting',
  description: 'Asks for a greeting.',
  promptArguments: { name: promptArg.describe('Who to greet.').isRequired(), tone: promptArg.describe('How.') },
  metadata: JSON.stringify({ team: 'funcd' }),
  handler: (prompt, context) =>
    'Greet ' + prompt.arguments.name + ' (' + (prompt.arguments.tone || 'plain') + ', ' + prompt.name +
    ', session ' + prompt.sessionId + ', ' + prompt.transport.name + ', metadata ' + context.triggerMetadata.mcpsessionid + ').',
});
app.mcpPrompt('messages', {
  promptName: 'node_messages',
  promptArguments: [{ name: 'topic', required: true }],
  handler: (prompt) => ({ messages: [{ role: 'user', content: { type: 'text', text: 'About ' + prompt.arguments.topic } }] }),
});
`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, _, err := startNode(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	fns, err := w.Functions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 2 || fns[0].Err != nil || fns[1].Err != nil {
		t.Fatalf("Functions = %v", fns)
	}
	greeting := rawBindings(t, fns[0].Metadata)["mcpPromptTrigger"]
	name, _ := greeting["name"].(string)
	delete(greeting, "name")
	gb, _ := json.Marshal(greeting)
	if want := `{"description":"Asks for a greeting.","direction":"in","metadata":"{\"team\":\"funcd\"}",` +
		`"promptArguments":"[{\"name\":\"name\",\"description\":\"Who to greet.\",\"required\":true},{\"name\":\"tone\",\"description\":\"How.\",\"required\":false}]",` +
		`"promptName":"node_greeting","properties":{"supportsDeferredBinding":"false"},"title":"Greeting","type":"mcpPromptTrigger"}`; string(gb) != want {
		t.Errorf("node_greeting binding =\n%s\nwant\n%s", gb, want)
	}

	invoke := func(t *testing.T, fn *grpcworker.FunctionMetadata, binding, value string) *grpcworker.InvocationResponse {
		t.Helper()
		resp, err := w.Invoke(ctx, &grpcworker.InvocationRequest{
			InvocationId: "inv-" + fn.GetFunctionId(),
			FunctionId:   fn.GetFunctionId(),
			InputData: []*grpcworker.ParameterBinding{{Name: binding, RpcData: &grpcworker.ParameterBindingData{
				Data: &grpcworker.TypedData{Data: &grpcworker.TypedDataJSON{Json: value}},
			}}},
			TriggerMetadata: map[string]*grpcworker.TypedData{
				"mcppromptcontext": {Data: &grpcworker.TypedDataJSON{Json: value}},
				"mcpsessionid":     {Data: &grpcworker.TypedDataString{String_: "s-prompt"}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetResult().GetStatus() != grpcworker.StatusSuccess {
			t.Fatalf("result = %v", resp.GetResult())
		}
		return resp
	}
	resp := invoke(t, fns[0].Metadata, name, `{"name":"node_greeting","arguments":{"name":"Ada"},"sessionid":"s-prompt",`+
		`"clientinfo":null,"transport":{"name":"http-streamable","sessionId":"s-prompt","properties":{"headers":{}}}}`)
	if got, want := resp.GetReturnValue().GetString_(), "Greet Ada (plain, node_greeting, session s-prompt, http-streamable, metadata s-prompt)."; got != want {
		t.Errorf("node_greeting = %v, want the string %q", resp.GetReturnValue(), want)
	}
	messages := rawBindings(t, fns[1].Metadata)["mcpPromptTrigger"]
	if messages["promptArguments"] != `[{"name":"topic","description":null,"required":true}]` {
		t.Errorf("node_messages promptArguments = %v", messages["promptArguments"])
	}
	resp = invoke(t, fns[1].Metadata, messages["name"].(string), `{"name":"node_messages","arguments":{"topic":"MCP"},"sessionid":"s-prompt"}`)
	if got, want := resp.GetReturnValue().GetJson(), `{"messages":[{"role":"user","content":{"type":"text","text":"About MCP"}}]}`; got != want {
		t.Errorf("node_messages = %v, want the JSON %s", resp.GetReturnValue(), want)
	}
}
