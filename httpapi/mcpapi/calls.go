package mcpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding/bindexpr"
	"github.com/funcd/funcd/binding/mcptrigger"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// middleware serves tools/call and resources/read from the functions; the
// SDK serves the rest (initialize, the lists, ping).
func (h *Handler) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "tools/call":
			if r, ok := req.(*mcp.CallToolRequest); ok {
				return h.callTool(ctx, r)
			}
		case "resources/read":
			if r, ok := req.(*mcp.ReadResourceRequest); ok {
				return h.readResource(ctx, r)
			}
		case "prompts/get":
			if r, ok := req.(*mcp.GetPromptRequest); ok {
				return h.getPrompt(ctx, r)
			}
		}
		return next(ctx, method, req)
	}
}

// invocationContext is the trigger value a tool or resource function gets
// (the real extension's ToolInvocationContext and
// ResourceInvocationContext, with its wire names).
type invocationContext struct {
	Name       string          `json:"name,omitempty"`
	URI        string          `json:"uri,omitempty"`
	Arguments  json.RawMessage `json:"arguments,omitempty"`
	SessionID  *string         `json:"sessionid"`
	ClientInfo *clientInfo     `json:"clientinfo"`
	Transport  transport       `json:"transport"`
}

type clientInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type transport struct {
	Name       string              `json:"name"`
	SessionID  *string             `json:"sessionId"`
	Properties transportProperties `json:"properties"`
}

type transportProperties struct {
	Headers map[string]string `json:"headers"`
}

// caller describes the client of a request: its session and transport.
func (h *Handler) caller(req mcp.Request) (sessionID *string, info *clientInfo, tr transport) {
	tr = transport{Name: transportStreamable, Properties: transportProperties{Headers: map[string]string{}}}
	var header http.Header
	ss, _ := req.GetSession().(*mcp.ServerSession)
	if s, ok := h.bySess.Load(ss); ok && ss != nil {
		sse := s.(*sseSession)
		tr.Name = transportSSE
		id := sse.id
		tr.SessionID = &id
		header = sse.header
	} else if extra := req.GetExtra(); extra != nil {
		header = extra.Header
		if v := header.Get("Mcp-Session-Id"); v != "" {
			tr.SessionID = &v
		}
	}
	for k, vs := range header {
		if strings.EqualFold(k, "x-functions-key") {
			continue // the key never reaches the function
		}
		tr.Properties.Headers[k] = strings.Join(vs, ",")
	}
	sessionID = tr.SessionID
	if sessionID == nil && ss != nil && ss.ID() != "" {
		id := ss.ID()
		sessionID = &id
	}
	if ss != nil {
		if p := ss.InitializeParams(); p != nil && p.ClientInfo != nil && p.ClientInfo.Name != "" {
			info = &clientInfo{Name: p.ClientInfo.Name, Version: p.ClientInfo.Version}
		}
	}
	return sessionID, info, tr
}

// callTool runs a tool's function: unknown tools and missing required
// arguments are JSON-RPC errors (-32602), a failed function is a result
// with isError.
func (h *Handler) callTool(ctx context.Context, req *mcp.CallToolRequest) (mcp.Result, error) {
	cat, err := h.catalog()
	if err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
	}
	name := req.Params.Name
	t := cat.tools[strings.ToLower(name)]
	if t == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("Unknown tool: '%s'", name)}
	}
	var args map[string]json.RawMessage
	if raw := bytes.TrimSpace(req.Params.Arguments); len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "The tool's arguments must be a JSON object."}
		}
	}
	var missing []string
	for _, p := range t.Required() {
		if v, ok := args[p]; !ok || string(bytes.TrimSpace(v)) == "null" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams,
			Message: "One or more required tool properties are missing values. Please provide: " + strings.Join(missing, ", ")}
	}

	sessionID, info, tr := h.caller(req)
	argsJSON := req.Params.Arguments
	if len(args) == 0 {
		argsJSON = json.RawMessage("{}")
	}
	ictx, _ := json.Marshal(invocationContext{Name: t.Name, Arguments: argsJSON, SessionID: sessionID, ClientInfo: info, Transport: tr})
	argText := make(map[string]string, len(args))
	for k, v := range args {
		argText[k], _ = valueText(funcd.JSONValue(v))
	}
	md := map[string]json.RawMessage{mcptrigger.DataToolContext: ictx}
	md[mcptrigger.DataToolArgs], _ = json.Marshal(argText)
	md[mcptrigger.DataSessionID], _ = json.Marshal(sessionID)

	res, err := h.invoke(ctx, t.Function, ictx, md)
	if err != nil {
		if isUnknownFunction(err) {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("Unknown tool: '%s'", name)}
		}
		return failedTool(t.Name), nil
	}
	out, err := toolResult(t, res.ReturnValue)
	if err != nil {
		h.log.Error(fmt.Sprintf("The MCP tool '%s' (function '%s') returned a result funcd cannot read: %v", t.Name, t.Function, err))
		return failedTool(t.Name), nil
	}
	return out, nil
}

// readResource runs a resource's function; an unknown URI is a JSON-RPC
// error (-32602).
func (h *Handler) readResource(ctx context.Context, req *mcp.ReadResourceRequest) (mcp.Result, error) {
	cat, err := h.catalog()
	if err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
	}
	uri := req.Params.URI
	var r *mcptrigger.Resource
	var params map[string]string
	for _, c := range cat.resources {
		if p, ok := c.Match(uri); ok {
			r, params = c, p
			break
		}
	}
	if r == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("Unknown resource: '%s'", uri)}
	}
	sessionID, info, tr := h.caller(req)
	ictx, _ := json.Marshal(invocationContext{URI: uri, SessionID: sessionID, ClientInfo: info, Transport: tr})
	md := map[string]json.RawMessage{mcptrigger.DataResourceContext: ictx}
	md[mcptrigger.DataResourceURI], _ = json.Marshal(uri)
	md[mcptrigger.DataSessionID], _ = json.Marshal(sessionID)
	for k, v := range params {
		md[k], _ = json.Marshal(v)
	}
	res, err := h.invoke(ctx, r.Function, ictx, md)
	if err != nil {
		if isUnknownFunction(err) {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("Unknown resource: '%s'", uri)}
		}
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("An error occurred reading the resource '%s'.", uri)}
	}
	out, err := resourceResult(r, uri, res.ReturnValue)
	if err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
	}
	return out, nil
}

// getPrompt runs a prompt's function; an unknown prompt and missing
// required arguments are JSON-RPC errors (-32602).
func (h *Handler) getPrompt(ctx context.Context, req *mcp.GetPromptRequest) (mcp.Result, error) {
	cat, err := h.catalog()
	if err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
	}
	name := req.Params.Name
	p := cat.prompts[strings.ToLower(name)]
	if p == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("Unknown prompt: '%s'", name)}
	}
	var missing []string
	for _, a := range p.Required() {
		if _, ok := req.Params.Arguments[a]; !ok {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams,
			Message: "One or more required prompt arguments are missing values. Please provide: " + strings.Join(missing, ", ")}
	}
	sessionID, info, tr := h.caller(req)
	args := req.Params.Arguments
	if args == nil {
		args = map[string]string{}
	}
	argsJSON, _ := json.Marshal(args)
	ictx, _ := json.Marshal(invocationContext{Name: p.Name, Arguments: argsJSON, SessionID: sessionID, ClientInfo: info, Transport: tr})
	md := map[string]json.RawMessage{mcptrigger.DataPromptContext: ictx, mcptrigger.DataPromptArgs: argsJSON}
	md[mcptrigger.DataSessionID], _ = json.Marshal(sessionID)
	res, err := h.invoke(ctx, p.Function, ictx, md)
	if err != nil {
		if isUnknownFunction(err) {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("Unknown prompt: '%s'", name)}
		}
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("An error occurred getting the prompt '%s'.", p.Name)}
	}
	out, err := promptResult(p, res.ReturnValue)
	if err != nil {
		h.log.Error(fmt.Sprintf("The MCP prompt '%s' (function '%s') returned a result funcd cannot read: %v", p.Name, p.Function, err))
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("An error occurred getting the prompt '%s'.", p.Name)}
	}
	return out, nil
}

var errUnknownFunction = errors.New("the function is no longer in the app")

func isUnknownFunction(err error) bool { return errors.Is(err, errUnknownFunction) }

// invoke runs a function of the current generation with the invocation
// context as its trigger.
func (h *Handler) invoke(ctx context.Context, function string, trigger json.RawMessage, md map[string]json.RawMessage) (*funcd.Result, error) {
	g, err := h.host.Acquire()
	if err != nil {
		return nil, err
	}
	defer g.Release()
	fn := g.Function(function)
	if fn == nil || fn.Disabled {
		return nil, errUnknownFunction
	}
	inv := &funcd.Invocation{ID: bindexpr.NewGUID(), Function: fn, Trigger: funcd.JSONValue(trigger), Metadata: md}
	res, err := g.Invoke(ctx, inv)
	if err != nil {
		return nil, err
	}
	if res.HTTP != nil && res.HTTP.BodyReader != nil {
		_ = res.HTTP.BodyReader.Close()
	}
	return res, nil
}
