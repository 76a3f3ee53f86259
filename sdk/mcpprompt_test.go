package sdk

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

func TestMCPPrompt(t *testing.T) {
	app := FunctionApp()
	var got *MCPPromptRequest
	var ret any
	var fail error
	h := func(_ context.Context, r *MCPPromptRequest) (any, error) { got = r; return ret, fail }
	app.MCPPrompt("summarizeFn", h).PromptName("summarize").Title("Summarize").Description("Asks for a summary.").
		Argument("topic", "What to summarize", Required()).Argument("style", "").
		Metadata(map[string]any{"team": "docs"})

	raw := rawBindings(app)["summarizeFn"]
	want := `{"name":"context","type":"mcpPromptTrigger","direction":"in","description":"Asks for a summary.","metadata":"{\"team\":\"docs\"}","promptArguments":"[{\"name\":\"topic\",\"description\":\"What to summarize\",\"required\":true},{\"name\":\"style\"}]","promptName":"summarize","title":"Summarize","useResultSchema":true}`
	if len(raw) != 1 || raw[0] != want {
		t.Errorf("binding\n got %v\nwant %s", raw, want)
	}

	ctx := `{"name":"summarize","arguments":{"topic":"MCP","n":3},"sessionid":"s1","clientinfo":{"name":"c","version":"1"},"transport":{"name":"http-sse","sessionId":"s1"}}`
	for _, c := range []struct {
		ret  any
		want string
	}{
		{"Summarize MCP", `{"type":"prompt_messages","content":"[{\"role\":\"user\",\"content\":{\"type\":\"text\",\"text\":\"Summarize MCP\"}}]"}`},
		{[]PromptMessage{{Role: "user", Content: TextContent{Text: "a"}}, {Role: "assistant", Content: TextContent{Text: "b"}}},
			`{"type":"prompt_messages","content":"[{\"role\":\"user\",\"content\":{\"type\":\"text\",\"text\":\"a\"}},{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"b\"}}]"}`},
		{&GetPromptResult{Description: "d"}, `{"type":"get_prompt_result","content":"{\"description\":\"d\",\"messages\":[]}"}`},
		{nil, ""},
	} {
		ret = c.ret
		resp := invokeFn(t, app, "summarizeFn", jsonData(ctx), nil)
		if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success || resp.GetReturnValue().GetString_() != c.want {
			t.Errorf("%T: response %v, want %s", c.ret, resp, c.want)
		}
	}
	if got.Name != "summarize" || got.Arguments["topic"] != "MCP" || got.Arguments["n"] != "3" || got.SessionID != "s1" ||
		got.ClientInfo.Name != "c" || got.Transport.Name != "http-sse" {
		t.Errorf("request %+v", got)
	}
	// From the trigger metadata when the value is missing.
	invokeFn(t, app, "summarizeFn", nil, map[string]*rpcpb.TypedData{"mcppromptargs": jsonData(`{"topic":"x"}`), "mcpsessionid": strData("s2")})
	if got.Name != "summarize" || got.Arguments["topic"] != "x" || got.SessionID != "s2" {
		t.Errorf("from metadata: %+v", got)
	}

	ret = 42
	if resp := invokeFn(t, app, "summarizeFn", jsonData(ctx), nil); !strings.Contains(resp.GetResult().GetResult(), "a prompt returns a string") {
		t.Errorf("bad return: %v", resp.GetResult())
	}
	ret, fail = nil, errors.New("no")
	if resp := invokeFn(t, app, "summarizeFn", jsonData(ctx), nil); resp.GetResult().GetStatus() != rpcpb.StatusResult_Failure {
		t.Errorf("failed prompt: %v", resp.GetResult())
	}

	for name, f := range map[string]func(){
		"duplicate name":     func() { app.MCPPrompt("other", h).PromptName("SUMMARIZE") },
		"duplicate argument": func() { app.MCPPrompt("p2", h).Argument("a", "").Argument("a", "") },
		"on a tool": func() {
			app.MCPTool("t", func(context.Context, *MCPToolRequest) (any, error) { return nil, nil }).Argument("a", "")
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
