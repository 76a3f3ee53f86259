package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/hosttest"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// keyTransport adds a function key to each request.
type keyTransport struct {
	key  string
	base http.RoundTripper
}

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if k.key != "" {
		r.Header.Set("x-functions-key", k.key)
	}
	return k.base.RoundTrip(r)
}

// mcpConnect connects the Go SDK's client to the host's MCP webhook over
// transport "streamable" or "sse", sending key.
func mcpConnect(t *testing.T, s *hosttest.Server, transport, key string, opts *mcp.ClientOptions) (*mcp.ClientSession, error) {
	t.Helper()
	hc := &http.Client{Transport: keyTransport{key: key, base: s.Transport()}}
	var tr mcp.Transport
	endpoint := s.URL + "/runtime/webhooks/mcp"
	switch transport {
	case "streamable":
		tr = &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, MaxRetries: -1}
	case "sse":
		tr = &mcp.SSEClientTransport{Endpoint: endpoint + "/sse", HTTPClient: hc}
	default:
		t.Fatalf("no transport %q", transport)
	}
	// The SSE transport's stream lives as long as the context it was
	// opened with.
	c := mcp.NewClient(&mcp.Implementation{Name: "funcd-e2e", Version: "1.2.3"}, opts)
	return c.Connect(context.Background(), tr, nil)
}

func mcpApp(t *testing.T, env map[string]string) (*hosttest.Server, string) {
	t.Helper()
	dir := newApp(t, "mcp")
	s := hosttest.Start(t, dir, hosttest.Options{Env: env})
	key, err := s.Host.Keys().ExtensionKey(context.Background(), "mcp")
	if err != nil {
		t.Fatal(err)
	}
	return s, key
}

// rpcCode returns the JSON-RPC error code of err, 0 if it is none.
func rpcCode(err error) int64 {
	if we, ok := errors.AsType[*jsonrpc.Error](err); ok {
		return we.Code
	}
	return 0
}

func text(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if len(res.Content) != 1 {
		t.Fatalf("content %d blocks, want 1: %+v", len(res.Content), res.Content)
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("content %T, want text", res.Content[0])
	}
	return tc.Text
}

// TestMCPCustomHandler drives tools and resources of a custom handler app
// with the official Go SDK's client, over both transports.
func TestMCPCustomHandler(t *testing.T) {
	s, key := mcpApp(t, nil)
	ctx := context.Background()
	for _, transport := range []string{"streamable", "sse"} {
		t.Run(transport, func(t *testing.T) {
			cs, err := mcpConnect(t, s, transport, key, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			init := cs.InitializeResult()
			if init.ServerInfo.Name != "funcd e2e tools" || init.ServerInfo.Version != "2.0.0" || init.Instructions != "Tools of funcd's end-to-end tests." {
				t.Errorf("initialize result %+v", init)
			}

			tools, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tool := range tools.Tools {
				names = append(names, tool.Name)
				switch tool.Name {
				case "echo":
					schema, _ := json.Marshal(tool.InputSchema)
					want := `{"properties":{"count":{"description":"How many","type":"integer"},"message":{"description":"The message","type":"string"}},"required":["message"],"type":"object"}`
					if string(schema) != want {
						t.Errorf("echo input schema %s, want %s", schema, want)
					}
				case "get_weather":
					if ui, _ := tool.Meta["ui"].(map[string]any); ui["resourceUri"] != "ui://weather/index.html" {
						t.Errorf("get_weather _meta %v", tool.Meta)
					}
				}
			}
			if want := []string{"crash", "echo", "fail", "get_weather", "multi", "noop"}; !slices.Equal(names, want) {
				t.Errorf("tools %v, want %v", names, want)
			}

			// The function sees the real extension's invocation context.
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "Echo", Arguments: map[string]any{"message": "hi", "count": 3}})
			if err != nil {
				t.Fatal(err)
			}
			var seen struct {
				Msg     string `json:"msg"`
				Context struct {
					Name       string         `json:"name"`
					Arguments  map[string]any `json:"arguments"`
					SessionID  *string        `json:"sessionid"`
					ClientInfo *struct {
						Name, Version string
					} `json:"clientinfo"`
					Transport struct {
						Name       string  `json:"name"`
						SessionID  *string `json:"sessionId"`
						Properties struct {
							Headers map[string]string `json:"headers"`
						} `json:"properties"`
					} `json:"transport"`
				} `json:"context"`
				Metadata map[string]json.RawMessage `json:"metadata"`
			}
			if err := json.Unmarshal([]byte(text(t, res)), &seen); err != nil {
				t.Fatalf("echo result %s: %v", text(t, res), err)
			}
			c := seen.Context
			wantTransport := map[string]string{"streamable": "http-streamable", "sse": "http-sse"}[transport]
			if c.Name != "echo" || c.Arguments["message"] != "hi" || c.Arguments["count"] != float64(3) || c.Transport.Name != wantTransport {
				t.Errorf("invocation context %+v", c)
			}
			if init.ProtocolVersion >= "2026-07-28" {
				// The newest revision has no sessions.
				if c.SessionID != nil || c.Transport.SessionID != nil {
					t.Errorf("session ids %v and %v on protocol %s, want none", c.SessionID, c.Transport.SessionID, init.ProtocolVersion)
				}
			} else if c.SessionID == nil || *c.SessionID == "" || c.Transport.SessionID == nil || *c.SessionID != *c.Transport.SessionID {
				t.Errorf("session ids %v and %v, want the same non-empty id", c.SessionID, c.Transport.SessionID)
			}
			if transport == "sse" && (c.ClientInfo == nil || c.ClientInfo.Name != "funcd-e2e" || c.ClientInfo.Version != "1.2.3") {
				t.Errorf("clientinfo %+v, want the client's", c.ClientInfo)
			}
			for k, v := range c.Transport.Properties.Headers {
				if strings.EqualFold(k, "x-functions-key") || strings.Contains(v, key) {
					t.Errorf("the function saw the key in header %s: %s", k, v)
				}
			}
			if string(seen.Metadata["mcptoolargs"]) != `{"count":"3","message":"hi"}` {
				t.Errorf("mcptoolargs %s", seen.Metadata["mcptoolargs"])
			}
			if seen.Msg != `"hi"` { // a custom handler's string input is JSON text
				t.Errorf("mcpToolProperty input %q", seen.Msg)
			}

			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"city": "Lisbon"}})
			if err != nil {
				t.Fatal(err)
			}
			if sc, _ := json.Marshal(res.StructuredContent); text(t, res) != "sunny, 21 C" || string(sc) != `{"city":"Lisbon","temperature":21}` || res.IsError {
				t.Errorf("get_weather result %+v", res)
			}
			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "multi"})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Content) != 2 {
				t.Fatalf("multi: %d blocks", len(res.Content))
			}
			if img, ok := res.Content[1].(*mcp.ImageContent); !ok || img.MIMEType != "image/png" || len(img.Data) == 0 {
				t.Errorf("multi's second block %+v", res.Content[1])
			}
			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "fail"})
			if err != nil {
				t.Fatal(err)
			}
			if !res.IsError || text(t, res) != "An error occurred invoking 'fail'." {
				t.Errorf("fail result %+v", res)
			}
			_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"count": 1, "message": nil}})
			if rpcCode(err) != -32602 || !strings.Contains(err.Error(), "One or more required tool properties are missing values. Please provide: message") {
				t.Errorf("missing argument: %v", err)
			}
			_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "nope"})
			if rpcCode(err) != -32602 || !strings.Contains(err.Error(), "Unknown tool: 'nope'") {
				t.Errorf("unknown tool: %v", err)
			}

			prompts, err := cs.ListPrompts(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(prompts.Prompts) != 2 || prompts.Prompts[1].Name != "summarize" || len(prompts.Prompts[1].Arguments) != 2 ||
				!prompts.Prompts[1].Arguments[0].Required || prompts.Prompts[1].Arguments[1].Name != "style" {
				b, _ := json.Marshal(prompts)
				t.Errorf("prompts %s", b)
			}
			pr, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "Summarize", Arguments: map[string]string{"topic": "MCP", "style": "terse"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(pr.Messages) != 1 || pr.Messages[0].Role != "user" || pr.Messages[0].Content.(*mcp.TextContent).Text != "Summarize MCP in a terse style." {
				b, _ := json.Marshal(pr)
				t.Errorf("summarize %s", b)
			}
			pr, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "conversation"})
			if err != nil || len(pr.Messages) != 2 || pr.Messages[1].Role != "assistant" {
				t.Errorf("conversation %+v %v", pr, err)
			}
			_, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "summarize"})
			if rpcCode(err) != -32602 || !strings.Contains(err.Error(), "One or more required prompt arguments are missing values. Please provide: topic") {
				t.Errorf("missing prompt argument: %v", err)
			}
			_, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "nope"})
			if rpcCode(err) != -32602 || !strings.Contains(err.Error(), "Unknown prompt: 'nope'") {
				t.Errorf("unknown prompt: %v", err)
			}

			resources, err := cs.ListResources(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(resources.Resources) != 2 {
				t.Fatalf("resources %+v", resources.Resources)
			}
			widget := resources.Resources[1]
			if widget.URI != "ui://weather/index.html" || widget.MIMEType != "text/html;profile=mcp-app" || widget.Name != "Weather Widget" {
				t.Errorf("widget %+v", widget)
			}
			if ui, _ := widget.Meta["ui"].(map[string]any); ui["prefersBorder"] != true {
				t.Errorf("widget _meta %v", widget.Meta)
			}
			if resources.Resources[0].Size != 9 {
				t.Errorf("size %d, want 9", resources.Resources[0].Size)
			}
			templates, err := cs.ListResourceTemplates(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(templates.ResourceTemplates) != 1 || templates.ResourceTemplates[0].URITemplate != "file://docs/{name}" {
				t.Errorf("templates %+v", templates.ResourceTemplates)
			}

			read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "ui://weather/index.html"})
			if err != nil {
				t.Fatal(err)
			}
			rc := read.Contents[0]
			if len(read.Contents) != 1 || rc.MIMEType != "text/html;profile=mcp-app" || !strings.Contains(rc.Text, "<h1>Weather</h1>") {
				t.Errorf("widget contents %+v", read.Contents)
			}
			if ui, _ := rc.Meta["ui"].(map[string]any); ui["prefersBorder"] != true {
				t.Errorf("widget read _meta %v, want the resource's ui settings", rc.Meta)
			}
			read, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "file://docs/readme"})
			if err != nil {
				t.Fatal(err)
			}
			if rc := read.Contents[0]; rc.URI != "file://docs/readme" || rc.MIMEType != "text/plain" || rc.Text != "document readme" {
				t.Errorf("template read %+v", rc)
			}
			read, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "ui://meta/view.html"})
			if err != nil {
				t.Fatal(err)
			}
			if rc := read.Contents[0]; rc.Text != "with meta" || rc.URI != "ui://meta/view.html" || rc.MIMEType != "text/html;profile=mcp-app" || rc.Meta["ui"] == nil {
				t.Errorf("envelope read %+v", rc)
			}
			_, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "ui://nothing"})
			if rpcCode(err) != -32602 || !strings.Contains(err.Error(), "Unknown resource: 'ui://nothing'") {
				t.Errorf("unknown resource: %v", err)
			}
		})
	}
}

// TestMCPAuth: the webhook takes the mcp_extension system key or the master
// key, in x-functions-key or code; host.json can make it anonymous.
func TestMCPAuth(t *testing.T) {
	s, key := mcpApp(t, nil)
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	url := s.URL + "/runtime/webhooks/mcp"
	accept := []string{"Content-Type", "application/json", "Accept", "application/json, text/event-stream"}
	wantStatus(t, do(t, "POST", url, init, accept...), http.StatusUnauthorized)
	wantStatus(t, do(t, "POST", url+"?code=wrong", init, accept...), http.StatusUnauthorized)
	wantStatus(t, do(t, "POST", url+"?code="+key, init, accept...), http.StatusOK)
	wantStatus(t, do(t, "POST", url, init, append(accept, "x-functions-key", s.MasterKey(t))...), http.StatusOK)
	for _, transport := range []string{"streamable", "sse"} {
		if _, err := mcpConnect(t, s, transport, "", nil); err == nil || !strings.Contains(err.Error(), "401") && !strings.Contains(strings.ToLower(err.Error()), "unauthorized") {
			t.Errorf("%s without a key: %v, want 401", transport, err)
		}
	}

	dir := newApp(t, "mcp")
	hj := filepath.Join(dir, "host.json")
	b, _ := os.ReadFile(hj)
	b = []byte(strings.Replace(string(b), `"serverName"`, `"system": {"webhookAuthorizationLevel": "Anonymous"}, "serverName"`, 1))
	if err := os.WriteFile(hj, b, 0o644); err != nil {
		t.Fatal(err)
	}
	anon := hosttest.Start(t, dir, hosttest.Options{})
	cs, err := mcpConnect(t, anon, "streamable", "", nil)
	if err != nil {
		t.Fatalf("anonymous webhook: %v", err)
	}
	cs.Close()
}

// TestMCPStreamableHTTP checks the streamable transport's status codes and
// session token at the HTTP level.
func TestMCPStreamableHTTP(t *testing.T) {
	s, key := mcpApp(t, map[string]string{"WEBSITE_AUTH_ENCRYPTION_KEY": strings.Repeat("ab", 32)})
	url := s.URL + "/runtime/webhooks/mcp?code=" + key
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	ct := []string{"Content-Type", "application/json"}
	both := append(ct, "Accept", "application/json, text/event-stream")

	r := do(t, "POST", url, init, ct...)
	wantStatus(t, r, http.StatusNotAcceptable)
	if !strings.Contains(r.body, "Not Acceptable: Client must accept both application/json and text/event-stream") || !strings.Contains(r.body, "-32000") {
		t.Errorf("406 body %s", r.body)
	}
	wantStatus(t, do(t, "GET", url, "", both...), http.StatusMethodNotAllowed)
	wantStatus(t, do(t, "DELETE", url, "", both...), http.StatusMethodNotAllowed)
	r = do(t, "POST", url, `{"not":"json-rpc"}`, both...)
	wantStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(r.body, "did not contain a valid JSON-RPC message") {
		t.Errorf("400 body %s", r.body)
	}

	r = do(t, "POST", url, init, both...)
	wantStatus(t, r, http.StatusOK)
	token := r.header.Get("Mcp-Session-Id")
	if token == "" || strings.Contains(token, "|") || r.header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("initialize: session token %q (want an encrypted one), headers %v", token, r.header)
	}
	if !strings.HasPrefix(r.body, "event: message\ndata: ") || !strings.Contains(r.body, `"protocolVersion":"2025-06-18"`) {
		t.Errorf("initialize body %s", r.body)
	}
	wantStatus(t, do(t, "POST", url, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, append(both, "Mcp-Session-Id", token)...), http.StatusAccepted)
	r = do(t, "POST", url, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"noop"}}`, append(both, "Mcp-Session-Id", token)...)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `"text":"ok"`) {
		t.Errorf("tools/call body %s", r.body)
	}
	r = do(t, "POST", url, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"m"}}}`, append(both, "Mcp-Session-Id", token)...)
	wantStatus(t, r, http.StatusOK)
	if want := fmt.Sprintf(`\"sessionid\":\"%s\"`, token); !strings.Contains(r.body, want) {
		t.Errorf("the tool did not see the session token %s: %s", want, r.body)
	}
	r = do(t, "POST", url, `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`, append(both, "Mcp-Session-Id", "forged|instance")...)
	wantStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(r.body, "Invalid client state.") {
		t.Errorf("forged session body %s", r.body)
	}
	// The newest revision (no initialize, Mcp-Method header) works too.
	r = do(t, "POST", url, `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"noop","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}}}`,
		append(both, "Mcp-Method", "tools/call", "Mcp-Name", "noop", "MCP-Protocol-Version", "2026-07-28")...)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `"text":"ok"`) {
		t.Errorf("2026-07-28 tools/call body %s", r.body)
	}
}

// TestMCPConcurrentClients: 50 clients call tools at once.
func TestMCPConcurrentClients(t *testing.T) {
	s, key := mcpApp(t, nil)
	const clients, calls = 50, 5
	var wg sync.WaitGroup
	errs := make(chan error, clients*calls)
	for i := range clients {
		wg.Go(func() {
			transport := "streamable"
			if i%5 == 0 {
				transport = "sse"
			}
			cs, err := mcpConnect(t, s, transport, key, nil)
			if err != nil {
				errs <- err
				return
			}
			defer cs.Close()
			for j := range calls {
				msg := fmt.Sprintf("client %d call %d", i, j)
				res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": msg}})
				if err != nil {
					errs <- err
					continue
				}
				if tc, ok := res.Content[0].(*mcp.TextContent); !ok || !strings.Contains(tc.Text, `"msg":"\"`+msg+`\""`) {
					errs <- fmt.Errorf("client %d got %+v for %q", i, res.Content, msg)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestMCPReload: tools follow a reload of the app; a live SSE session is
// told that the list changed.
func TestMCPReload(t *testing.T) {
	s, key := mcpApp(t, nil)
	changed := make(chan struct{}, 4)
	cs, err := mcpConnect(t, s, "sse", key, &mcp.ClientOptions{ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
		changed <- struct{}{}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ctx := context.Background()
	dir := s.Host.ScriptRoot()
	if err := os.RemoveAll(filepath.Join(dir, "mcp_fail")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "mcp_noop2"), 0o755); err != nil {
		t.Fatal(err)
	}
	fj := `{"bindings":[{"type":"mcpToolTrigger","direction":"in","name":"context","toolName":"added","description":"Added by a reload."}]}`
	if err := os.WriteFile(filepath.Join(dir, "mcp_noop2", "function.json"), []byte(fj), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Host.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	if !slices.Contains(names, "added") || slices.Contains(names, "fail") {
		t.Errorf("tools after the reload %v", names)
	}
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Error("the SSE session was not told that the tools changed")
	}
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "fail"}); rpcCode(err) != -32602 {
		t.Errorf("removed tool: %v", err)
	}
}

// TestMCPShutdownEndsSSE: an open SSE session does not hold up the HTTP
// server's shutdown.
func TestMCPShutdownEndsSSE(t *testing.T) {
	s, key := mcpApp(t, nil)
	cs, err := mcpConnect(t, s, "sse", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.HTTP.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an SSE session open: %v after %v", err, time.Since(start))
	}
	done := make(chan error, 1)
	go func() { done <- cs.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("the client's session did not end")
	}
}

// sseEndpoint opens an SSE stream and returns the endpoint its first event
// names; the stream stays open until the test ends.
func sseEndpoint(t *testing.T, s *hosttest.Server, query string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/runtime/webhooks/mcp/sse"+query, nil)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /sse: %d %v", resp.StatusCode, resp.Header)
	}
	buf := make([]byte, 4096)
	var got string
	for !strings.Contains(got, "\n\n") {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("reading the endpoint event: %v (%q)", err, got)
		}
		got += string(buf[:n])
	}
	event, data, _ := strings.Cut(strings.TrimSpace(got), "\n")
	if event != "event: endpoint" || !strings.HasPrefix(data, "data: ") {
		t.Fatalf("first event %q", got)
	}
	return strings.TrimPrefix(data, "data: ")
}

// TestMCPSSEHTTP checks the legacy SSE transport's endpoint event and the
// message endpoint's errors at the HTTP level.
func TestMCPSSEHTTP(t *testing.T) {
	s, key := mcpApp(t, nil)
	endpoint := sseEndpoint(t, s, "?code="+key)
	if !strings.HasPrefix(endpoint, "message?azmcpcs=") || !strings.HasSuffix(endpoint, "&code="+url.QueryEscape(key)) {
		t.Fatalf("endpoint %q, want message?azmcpcs=<state>&code=<key>", endpoint)
	}
	base := s.URL + "/runtime/webhooks/mcp/"
	ct := []string{"Content-Type", "application/json"}
	r := do(t, "POST", base+endpoint, `{"jsonrpc":"2.0","id":1,"method":"ping"}`, ct...)
	if wantStatus(t, r, http.StatusAccepted); r.body != "Accepted" {
		t.Errorf("message body %q", r.body)
	}
	for query, want := range map[string]string{
		"?code=" + key:                                  "Missing service context",
		"?azmcpcs=forged&code=" + key:                   "Invalid client state",
		"?azmcpcs=abcdefghij012345%7Cother&code=" + key: "No active session",
	} {
		r := do(t, "POST", base+"message"+query, `{"jsonrpc":"2.0","id":1,"method":"ping"}`, ct...)
		if wantStatus(t, r, http.StatusBadRequest); !strings.Contains(r.body, want) {
			t.Errorf("%s: %q, want %q", query, r.body, want)
		}
	}
	wantStatus(t, do(t, "POST", base+"sse?code="+key, "{}", ct...), http.StatusMethodNotAllowed)

	// messageOptions.useAbsoluteUriForEndpoint
	dir := newApp(t, "mcp")
	hj := filepath.Join(dir, "host.json")
	b, _ := os.ReadFile(hj)
	b = []byte(strings.Replace(string(b), `"serverName"`, `"messageOptions": {"useAbsoluteUriForEndpoint": true}, "serverName"`, 1))
	if err := os.WriteFile(hj, b, 0o644); err != nil {
		t.Fatal(err)
	}
	abs := hosttest.Start(t, dir, hosttest.Options{NoAuth: true})
	if got, want := sseEndpoint(t, abs, ""), abs.URL+"/runtime/webhooks/mcp/message?azmcpcs="; !strings.HasPrefix(got, want) {
		t.Errorf("absolute endpoint %q, want %s...", got, want)
	}
}

// TestMCPWorkerCrash: a tool whose handler process dies mid-call is an
// isError result; the handler is restarted and the next call succeeds.
func TestMCPWorkerCrash(t *testing.T) {
	s, key := mcpApp(t, nil)
	cs, err := mcpConnect(t, s, "streamable", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ctx := context.Background()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "crash"})
	if err != nil || !res.IsError || text(t, res) != "An error occurred invoking 'crash'." {
		t.Fatalf("crash: %+v %v", res, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "noop"})
		if err == nil && !res.IsError && text(t, res) == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no call succeeded after the crash: %+v %v", res, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
