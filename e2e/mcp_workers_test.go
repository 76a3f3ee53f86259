package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcd/funcd/hosttest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// tsClient runs the official TypeScript SDK's client (testdata/mcpclient,
// installed by make nodeapps) against the host's MCP webhook and returns
// its report.
func tsClient(t *testing.T, s *hosttest.Server, transport, key string, steps ...map[string]any) tsReport {
	t.Helper()
	dir := filepath.Join("testdata", "mcpclient")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk")); err != nil {
		t.Fatalf("%s has no node_modules/@modelcontextprotocol/sdk: run make nodeapps", dir)
	}
	stepsJSON, _ := json.Marshal(steps)
	cmd := exec.Command("node", "client.mjs", s.URL+"/runtime/webhooks/mcp", transport, key, string(stepsJSON))
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var rep tsReport
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		t.Fatalf("client.mjs (%v): %s\n%s", err, out, stderr.String())
	}
	rep.exit = err
	return rep
}

type tsReport struct {
	ProtocolVersion string          `json:"protocolVersion"`
	SessionID       string          `json:"sessionId"`
	ServerInfo      map[string]any  `json:"serverInfo"`
	Error           json.RawMessage `json:"error"`
	Steps           []struct {
		Op     string          `json:"op"`
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"steps"`
	exit error
}

// TestMCPTypeScriptClient drives the custom handler app with the official
// TypeScript client, over both transports, and without a key.
func TestMCPTypeScriptClient(t *testing.T) {
	s, key := mcpApp(t, nil)
	for _, transport := range []string{"http", "sse"} {
		t.Run(transport, func(t *testing.T) {
			rep := tsClient(t, s, transport, key,
				map[string]any{"op": "listTools"},
				map[string]any{"op": "callTool", "name": "get_weather", "args": map[string]any{"city": "Lisbon"}},
				map[string]any{"op": "callTool", "name": "echo", "args": map[string]any{}},
				map[string]any{"op": "readResource", "uri": "ui://weather/index.html"},
				map[string]any{"op": "listResourceTemplates"})
			if rep.exit != nil || len(rep.Steps) != 5 {
				t.Fatalf("report %+v", rep)
			}
			if rep.ServerInfo["name"] != "funcd e2e tools" {
				t.Errorf("server info %v", rep.ServerInfo)
			}
			if transport == "http" && rep.SessionID == "" {
				t.Errorf("no session id on protocol %s", rep.ProtocolVersion)
			}
			if s := string(rep.Steps[0].Result); !strings.Contains(s, `"name":"get_weather"`) || !strings.Contains(s, `"_meta":{"ui":{"resourceUri":"ui://weather/index.html"}}`) {
				t.Errorf("tools/list %s", s)
			}
			if s := string(rep.Steps[1].Result); !strings.Contains(s, `"structuredContent":{"city":"Lisbon","temperature":21}`) {
				t.Errorf("get_weather %s", s)
			}
			if e := rep.Steps[2].Error; e == nil || e.Code != -32602 || !strings.Contains(e.Message, "Please provide: message") {
				t.Errorf("missing argument: %+v", rep.Steps[2])
			}
			if s := string(rep.Steps[3].Result); !strings.Contains(s, `"mimeType":"text/html;profile=mcp-app"`) || !strings.Contains(s, `"prefersBorder":true`) {
				t.Errorf("widget %s", s)
			}
			if s := string(rep.Steps[4].Result); !strings.Contains(s, `"uriTemplate":"file://docs/{name}"`) {
				t.Errorf("templates %s", s)
			}
		})
	}
	if rep := tsClient(t, s, "http", "", map[string]any{"op": "listTools"}); rep.exit == nil || !strings.Contains(string(rep.Error), "401") {
		t.Errorf("without a key: %s (%v), want 401", rep.Error, rep.exit)
	}
}

// TestMCPLanguageWorkers: tools and resources written with the real
// @azure/functions package (Node.js) and with the Go SDK, called by both
// clients over both transports.
func TestMCPLanguageWorkers(t *testing.T) {
	t.Run("node", func(t *testing.T) {
		s, _, _ := languageHost(t, nodeApp(t, "mcpnode"), nil)
		key, err := s.Host.Keys().ExtensionKey(context.Background(), "mcp")
		if err != nil {
			t.Fatal(err)
		}
		for _, transport := range []string{"streamable", "sse"} {
			cs, err := mcpConnect(t, s, transport, key, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "node_echo", Arguments: map[string]any{"message": "from " + transport}})
			if err != nil || text(t, res) != "from "+transport {
				t.Errorf("%s node_echo: %+v %v", transport, res, err)
			}
			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "node_weather", Arguments: map[string]any{"city": "Oslo", "days": 2}})
			if err != nil {
				t.Fatal(err)
			}
			if sc, _ := json.Marshal(res.StructuredContent); string(sc) != `{"city":"Oslo","days":2,"sky":"clear"}` || text(t, res) != "Oslo: clear for 2 day(s)" {
				t.Errorf("%s node_weather: %s %+v", transport, sc, res.Content)
			}
			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "node_fail"})
			if err != nil || !res.IsError || text(t, res) != "An error occurred invoking 'node_fail'." {
				t.Errorf("%s node_fail: %+v %v", transport, res, err)
			}
			// The template parameter comes as the string "42", which the
			// library parses as JSON, as it does with the real host.
			read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "node://items/42"})
			if err != nil || len(read.Contents) != 1 || read.Contents[0].Text != `{"id":42,"uri":"node://items/42"}` {
				t.Errorf("%s node item: %+v %v", transport, read.Contents[0], err)
			}
			read, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "ui://node/widget.html"})
			if err != nil || !strings.Contains(read.Contents[0].Text, "<main id=\"weather\">") || read.Contents[0].MIMEType != "text/html;profile=mcp-app" {
				t.Errorf("%s widget: %+v %v", transport, read, err)
			}
			pr, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "node_greeting", Arguments: map[string]string{"name": "Ada"}})
			if err != nil || len(pr.Messages) != 1 || pr.Messages[0].Content.(*mcp.TextContent).Text != "Greet Ada in a plain tone." {
				t.Errorf("%s node_greeting: %+v %v", transport, pr, err)
			}
			cs.Close()
		}
		rep := tsClient(t, s, "http", key, map[string]any{"op": "callTool", "name": "node_echo", "args": map[string]any{"message": "ts"}})
		if rep.exit != nil || !strings.Contains(string(rep.Steps[0].Result), `"text":"ts"`) {
			t.Errorf("TypeScript client: %+v", rep)
		}
	})

	t.Run("go", func(t *testing.T) {
		s, _, _ := languageHost(t, goApp(t, filepath.Join("testdata", "mcpgo")), nil)
		key, err := s.Host.Keys().ExtensionKey(context.Background(), "mcp")
		if err != nil {
			t.Fatal(err)
		}
		for _, transport := range []string{"streamable", "sse"} {
			cs, err := mcpConnect(t, s, transport, key, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "go " + transport}})
			if err != nil || text(t, res) != "go "+transport {
				t.Errorf("%s echo: %+v %v", transport, res, err)
			}
			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_temperature", Arguments: map[string]any{"city": "Rome"}})
			if sc, _ := json.Marshal(res.StructuredContent); err != nil || string(sc) != `{"city":"Rome","temperature":21,"unit":"celsius"}` {
				t.Errorf("%s get_temperature: %s %v", transport, sc, err)
			}
			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"location": "Oslo"}})
			if err != nil || res.IsError || !strings.HasPrefix(text(t, res), "Oslo: -3.0") || res.StructuredContent == nil {
				t.Errorf("%s get_weather: %+v %v", transport, res, err)
			}
			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "fail"})
			if err != nil || !res.IsError {
				t.Errorf("%s fail: %+v %v", transport, res, err)
			}
			tools, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, tool := range tools.Tools {
				if tool.Name == "get_weather" {
					if ui, _ := tool.Meta["ui"].(map[string]any); ui["resourceUri"] != "ui://weather/index.html" {
						t.Errorf("get_weather _meta %v", tool.Meta)
					}
				}
			}
			pr, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "summarize", Arguments: map[string]string{"topic": "Go"}})
			if err != nil || len(pr.Messages) != 1 || pr.Messages[0].Role != "user" || pr.Messages[0].Content.(*mcp.TextContent).Text != "Summarize Go." {
				t.Errorf("%s summarize: %+v %v", transport, pr, err)
			}
			if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "summarize"}); rpcCode(err) != -32602 {
				t.Errorf("%s summarize without its topic: %v", transport, err)
			}
			read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "ui://weather/index.html"})
			if err != nil || !strings.Contains(read.Contents[0].Text, "ui/notifications/tool-result") {
				t.Errorf("%s widget: %+v %v", transport, read, err)
			}
			cs.Close()
		}
		rep := tsClient(t, s, "sse", key, map[string]any{"op": "callTool", "name": "echo", "args": map[string]any{"message": "ts"}})
		if rep.exit != nil || !strings.Contains(string(rep.Steps[0].Result), `"text":"ts"`) {
			t.Errorf("TypeScript client: %+v", rep)
		}
	})
}

// TestMCPAppSample runs samples/mcp-weather, an MCP App: the tool names its
// view, the view is served as an MCP App resource, and the view, run by a
// stand-in MCP Apps host (testdata/mcpclient/apphost.mjs), completes the
// protocol's handshake and shows the tool's structured result.
func TestMCPAppSample(t *testing.T) {
	s, _, _ := languageHost(t, goApp(t, filepath.Join("..", "samples", "mcp-weather")), nil)
	key, err := s.Host.Keys().ExtensionKey(context.Background(), "mcp")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcpConnect(t, s, "streamable", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ctx := context.Background()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) != 1 {
		t.Fatalf("tools %+v %v", tools, err)
	}
	ui, _ := tools.Tools[0].Meta["ui"].(map[string]any)
	uri, _ := ui["resourceUri"].(string)
	if uri != "ui://weather/view.html" {
		t.Fatalf("get_weather _meta %v", tools.Tools[0].Meta)
	}
	read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
	if err != nil {
		t.Fatal(err)
	}
	view := read.Contents[0]
	if view.MIMEType != "text/html;profile=mcp-app" || !strings.HasPrefix(view.Text, "<!DOCTYPE html>") {
		t.Fatalf("view %s %q", view.MIMEType, view.Text[:min(len(view.Text), 40)])
	}
	if ui, _ := view.Meta["ui"].(map[string]any); ui["prefersBorder"] != true {
		t.Errorf("view _meta %v", view.Meta)
	}
	args := map[string]any{"city": "Lisbon"}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_weather", Arguments: args})
	if err != nil || res.IsError || res.StructuredContent == nil || !strings.HasPrefix(text(t, res), "Lisbon: ") {
		t.Fatalf("get_weather %+v %v", res, err)
	}
	argsJSON, _ := json.Marshal(args)
	resJSON, _ := json.Marshal(res)
	cmd := exec.Command("node", "apphost.mjs", string(argsJSON), string(resJSON))
	cmd.Dir = filepath.Join("testdata", "mcpclient")
	cmd.Stdin = strings.NewReader(view.Text)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("apphost.mjs: %v\n%s", err, out)
	}
	var shown struct {
		Sent []map[string]any `json:"sent"`
		Text map[string]string
	}
	if err := json.Unmarshal(out, &shown); err != nil {
		t.Fatal(err)
	}
	w := res.StructuredContent.(map[string]any)
	if shown.Text["city"] != "Lisbon" || shown.Text["conditions"] != w["conditions"] || !strings.HasSuffix(shown.Text["temp"], " °C") {
		t.Errorf("the view shows %v for %v", shown.Text, w)
	}
	if len(shown.Sent) < 2 || shown.Sent[0]["method"] != "ui/initialize" || shown.Sent[1]["method"] != "ui/notifications/initialized" {
		t.Errorf("the view sent %v", shown.Sent)
	}
}
