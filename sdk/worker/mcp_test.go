package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/worker/grpcworker"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// TestMCPFunctions runs an MCP tool and an MCP resource through the worker
// as the host drives them: the indexed bindings, a tools/call with its
// result envelope, a failing call, and a resources/read.
func TestMCPFunctions(t *testing.T) {
	app := sdk.FunctionApp()
	app.MCPTool("echo", func(_ context.Context, r *sdk.MCPToolRequest) (any, error) {
		var args struct{ Message string }
		if err := r.Bind(&args); err != nil {
			return nil, err
		}
		if args.Message == "" {
			return nil, errors.New("nothing to echo")
		}
		return args.Message + " from " + r.SessionID, nil
	}).Description("Echoes a message").Property("message", "string", "The message", sdk.Required())
	app.MCPResource("widget", "ui://echo/view.html", func(context.Context, *sdk.MCPResourceRequest) (any, error) {
		return sdk.ResourceContents{Text: "<html></html>", Meta: map[string]any{"ui": map[string]any{"prefersBorder": true}}}, nil
	}).MIMEType("text/html;profile=mcp-app")

	h := startHost(t, app)
	_, md := h.handshake()
	want := map[string]string{
		"echo": `{"name":"context","type":"mcpToolTrigger","direction":"in","description":"Echoes a message","toolName":"echo",` +
			`"toolProperties":"[{\"propertyName\":\"message\",\"propertyType\":\"string\",\"description\":\"The message\",\"isRequired\":true,\"isArray\":false}]",` +
			`"useResultSchema":true}`,
		"widget": `{"name":"context","type":"mcpResourceTrigger","direction":"in","mimeType":"text/html;profile=mcp-app","resourceName":"widget","uri":"ui://echo/view.html"}`,
	}
	for name, raw := range want {
		if got := md[name].GetRawBindings(); len(got) != 1 || got[0] != raw {
			t.Errorf("%s raw bindings\n got %q\nwant %q", name, got, raw)
		}
		if md[name].GetStatus() != nil {
			t.Errorf("%s: indexing failed: %v", name, md[name].GetStatus())
		}
	}

	resp := h.invoke(invocation("t1", "echo", "mcpToolTrigger", "context",
		jsonData(`{"name":"echo","arguments":{"message":"hi"},"sessionid":"s1","transport":{"name":"http-streamable","sessionId":"s1"}}`)))
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success ||
		resp.GetReturnValue().GetString_() != `{"type":"text","content":"{\"type\":\"text\",\"text\":\"hi from s1\"}"}` {
		t.Errorf("tool response %v", resp)
	}
	resp = h.invoke(invocation("t2", "echo", "mcpToolTrigger", "context", jsonData(`{"name":"echo","arguments":{}}`)))
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Failure || !strings.Contains(resp.GetResult().GetException().GetMessage(), "nothing to echo") {
		t.Errorf("failing tool response %v", resp.GetResult())
	}
	resp = h.invoke(invocation("r1", "widget", "mcpResourceTrigger", "context", jsonData(`{"uri":"ui://echo/view.html"}`)))
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success ||
		resp.GetReturnValue().GetString_() != `{"content":"{\"uri\":\"\",\"text\":\"<html></html>\",\"_meta\":{\"ui\":{\"prefersBorder\":true}}}"}` {
		t.Errorf("resource response %v", resp)
	}
}

// TestMCPSampleWithHost builds the MCP test app (e2e/testdata/mcpgo) and
// runs it under the host's FunctionRpc implementation, grpcworker.Worker:
// its indexed tools and resource, and one call of each.
func TestMCPSampleWithHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sample app")
	}
	dir := "../../e2e/testdata/mcpgo"
	bin := filepath.Join(t.TempDir(), "app")
	if out, err := exec.Command("go", "build", "-o", bin, dir).CombinedOutput(); err != nil {
		t.Fatalf("go build of the sample: %v\n%s", err, out)
	}
	w, err := grpcworker.New(grpcworker.Config{Path: bin, Dir: dir, HostVersion: "4.1040.0.0", AppDirectory: dir, StartTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	if err := w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	fns, err := w.Functions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	triggers := map[string]string{}
	for _, f := range fns {
		if f.Err != nil {
			t.Errorf("function %s: %v", f.Metadata.GetName(), f.Err)
		}
		var b map[string]any
		if err := json.Unmarshal([]byte(f.Metadata.GetRawBindings()[0]), &b); err != nil {
			t.Fatal(err)
		}
		triggers[f.Metadata.GetName()] = fmt.Sprint(b["type"], " ", b["metadata"])
	}
	want := map[string]string{
		"echo":            "mcpToolTrigger <nil>",
		"get_temperature": "mcpToolTrigger <nil>",
		"fail":            "mcpToolTrigger <nil>",
		"get_weather":     `mcpToolTrigger {"ui":{"resourceUri":"ui://weather/index.html"}}`,
		"weather_widget":  `mcpResourceTrigger {"ui":{"prefersBorder":true}}`,
		"summarize":       "mcpPromptTrigger <nil>",
	}
	if !maps.Equal(triggers, want) {
		t.Errorf("functions %q, want %q", triggers, want)
	}

	call := func(function, payload string) *rpcpb.InvocationResponse {
		t.Helper()
		typ := "mcpToolTrigger"
		if function == "weather_widget" {
			typ = "mcpResourceTrigger"
		}
		resp, err := w.Invoke(t.Context(), invocation("i-"+function, function, typ, "context", jsonData(payload)))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, c := range []struct{ function, payload, want string }{
		{"echo", `{"name":"echo","arguments":{"message":"hello"}}`, `{"type":"text","content":"{\"type\":\"text\",\"text\":\"hello\"}"}`},
		{"get_temperature", `{"name":"get_temperature","arguments":{"city":"Oslo"}}`,
			`{"type":"text","content":"{\"type\":\"text\",\"text\":\"{\\\"city\\\":\\\"Oslo\\\",\\\"temperature\\\":-3,\\\"unit\\\":\\\"celsius\\\"}\"}",` +
				`"structuredContent":"{\"city\":\"Oslo\",\"temperature\":-3,\"unit\":\"celsius\"}"}`},
		{"get_weather", `{"name":"get_weather","arguments":{"location":"Rome"}}`,
			`{"type":"call_tool_result","content":"{\"content\":[{\"type\":\"text\",\"text\":\"Rome: 21.0 °C, cloudy\"}],` +
				`\"structuredContent\":{\"location\":\"Rome\",\"celsius\":21,\"conditions\":\"cloudy\"}}"}`},
	} {
		if resp := call(c.function, c.payload); resp.GetResult().GetStatus() != rpcpb.StatusResult_Success || resp.GetReturnValue().GetString_() != c.want {
			t.Errorf("%s: response %v\nwant return value %s", c.function, resp, c.want)
		}
	}
	if resp := call("fail", `{"name":"fail"}`); resp.GetResult().GetStatus() != rpcpb.StatusResult_Failure ||
		resp.GetResult().GetException().GetMessage() != "this tool always fails" {
		t.Errorf("fail: %v", resp.GetResult())
	}
	resp := call("weather_widget", `{"uri":"ui://weather/index.html"}`)
	if html := resp.GetReturnValue().GetString_(); resp.GetResult().GetStatus() != rpcpb.StatusResult_Success ||
		!strings.HasPrefix(html, "<!DOCTYPE html>") || !strings.Contains(html, "ui/notifications/tool-result") {
		t.Errorf("weather_widget: %v", resp)
	}
}
