// Package mcpapi is the MCP extension's webhook, /runtime/webhooks/mcp: an
// MCP server, built on the official Go SDK, whose tools and resources are
// the running app's functions with mcpToolTrigger and mcpResourceTrigger
// bindings. It speaks the streamable HTTP transport at the root (stateless,
// with the real extension's Mcp-Session-Id token) and the legacy SSE
// transport at /sse with its /message endpoint, follows the app through
// reloads (live SSE sessions are told the lists changed), and maps calls
// and results as the real extension does (see docs/MCP.md).
package mcpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding/mcptrigger"
	"github.com/funcd/funcd/host"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	sjson "github.com/segmentio/encoding/json"
)

// Transport names in the invocation context, as the real extension writes
// them.
const (
	transportStreamable = "http-streamable"
	transportSSE        = "http-sse"
)

// ssePing is how often an SSE session is pinged, as the real extension does.
const ssePing = 25 * time.Second

// maxBody is the largest JSON-RPC message a client may POST.
const maxBody = mcp.DefaultMaxRequestBodyBytes

// Options configure a Handler.
type Options struct {
	// Host runs the app whose functions the server serves.
	Host   *host.Host
	Logger *slog.Logger
}

// Handler serves /runtime/webhooks/mcp (the path it sees is what follows
// that prefix). Make it with New.
type Handler struct {
	host *host.Host
	log  *slog.Logger

	mu  sync.Mutex // guards rebuilding cat and the servers
	cat atomic.Pointer[catalog]

	sessions sync.Map // SSE client id → *sseSession
	bySess   sync.Map // *mcp.ServerSession → *sseSession
}

// catalog is what the server serves for one generation of the app.
type catalog struct {
	gen       *host.Generation
	settings  Settings
	state     clientState
	instance  string
	tools     map[string]*mcptrigger.Tool   // by lower-case name
	resources []*mcptrigger.Resource        // static ones first, then templates
	prompts   map[string]*mcptrigger.Prompt // by lower-case name
	stream    *mcp.Server                   // serves streamable HTTP requests
	sse       *mcp.Server                   // serves SSE sessions (with pings)
	handler   http.Handler                  // the SDK's streamable handler on stream
}

// sseSession is one client's legacy SSE session.
type sseSession struct {
	id        string
	transport *mcp.SSEServerTransport
	header    http.Header
	end       context.CancelFunc // ends the stream
}

// New returns the MCP webhook handler of opts.Host.
func New(opts Options) *Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{host: opts.Host, log: log}
}

// ServeHTTP routes a request: a path ending in "sse" or "message" is the
// legacy SSE transport, anything else the streamable one.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cat, err := h.catalog()
	if err != nil {
		h.log.Error("the MCP extension cannot serve the app: "+err.Error(), "error", err)
		rpcError(w, http.StatusInternalServerError, err.Error())
		return
	}
	p := strings.ToLower(strings.TrimRight(r.URL.Path, "/"))
	switch {
	case strings.HasSuffix(p, "sse"):
		h.serveSSE(w, r, cat)
	case strings.HasSuffix(p, "message"):
		h.serveMessage(w, r, cat)
	default:
		h.serveStreamable(w, r, cat)
	}
}

// catalog returns the catalog of the app's current generation, building
// it when the app has been reloaded.
func (h *Handler) catalog() (*catalog, error) {
	g := h.host.Current()
	if g == nil {
		return nil, errors.New("the function host is not running")
	}
	if c := h.cat.Load(); c != nil && c.gen == g {
		return c, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.cat.Load()
	if old != nil && old.gen == g {
		return old, nil
	}
	c, err := h.build(g, old)
	if err != nil {
		return nil, err
	}
	h.cat.Store(c)
	return c, nil
}

// build makes the catalog of g: its settings, tools and resources. The
// servers of old are kept when the settings are the same, their tools and
// resources brought up to date (live sessions are notified); otherwise new
// servers are made.
func (h *Handler) build(g *host.Generation, old *catalog) (*catalog, error) {
	settings, err := ParseSettings(g.App.Host.Extensions["mcp"])
	if err != nil {
		return nil, err
	}
	state, err := newClientState(settings.EncryptClientState, g.Env().Settings)
	if err != nil {
		return nil, err
	}
	c := &catalog{gen: g, settings: settings, state: state, instance: g.Env().HostID, tools: map[string]*mcptrigger.Tool{}, prompts: map[string]*mcptrigger.Prompt{}}
	log := g.Env().Logger
	if log == nil {
		log = h.log
	}
	var templates []*mcptrigger.Resource
	for _, fn := range g.Functions() {
		if fn.Disabled {
			continue
		}
		t, err := mcptrigger.ToolOf(fn)
		if err != nil {
			log.Error(fmt.Sprintf("The function '%s' is not served as an MCP tool: %v", fn.Name, err))
			continue
		}
		if t != nil {
			key := strings.ToLower(t.Name)
			if prev, dup := c.tools[key]; dup {
				log.Error(fmt.Sprintf("The MCP tool '%s' of function '%s' is already defined by function '%s' (tool names are case-insensitive); it is not served.", t.Name, fn.Name, prev.Function))
				continue
			}
			c.tools[key] = t
			continue
		}
		p, err := mcptrigger.PromptOf(fn)
		if err != nil {
			log.Error(fmt.Sprintf("The function '%s' is not served as an MCP prompt: %v", fn.Name, err))
			continue
		}
		if p != nil {
			key := strings.ToLower(p.Name)
			if prev, dup := c.prompts[key]; dup {
				log.Error(fmt.Sprintf("The MCP prompt '%s' of function '%s' is already defined by function '%s' (prompt names are case-insensitive); it is not served.", p.Name, fn.Name, prev.Function))
				continue
			}
			c.prompts[key] = p
			continue
		}
		r, err := mcptrigger.ResourceOf(fn)
		if err != nil {
			log.Error(fmt.Sprintf("The function '%s' is not served as an MCP resource: %v", fn.Name, err))
			continue
		}
		if r == nil {
			continue
		}
		if slices.ContainsFunc(append(c.resources, templates...), func(o *mcptrigger.Resource) bool { return strings.EqualFold(o.URI, r.URI) }) {
			log.Error(fmt.Sprintf("The MCP resource '%s' of function '%s' is already defined by another function; it is not served.", r.URI, fn.Name))
			continue
		}
		if r.IsTemplate() {
			templates = append(templates, r)
		} else {
			c.resources = append(c.resources, r)
		}
	}
	c.resources = append(c.resources, templates...)

	if old != nil && old.settings == settings {
		c.stream, c.sse, c.handler = old.stream, old.sse, old.handler
		h.sync(c.stream, old, c)
		h.sync(c.sse, old, c)
		return c, nil
	}
	c.stream = h.newServer(settings, 0)
	c.sse = h.newServer(settings, ssePing)
	h.sync(c.stream, nil, c)
	h.sync(c.sse, nil, c)
	c.handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return h.currentStream() },
		&mcp.StreamableHTTPOptions{Stateless: true, DisableLocalhostProtection: true, MaxRequestBodyBytes: maxBody})
	return c, nil
}

// currentStream is the streamable server of the latest catalog.
func (h *Handler) currentStream() *mcp.Server {
	if c := h.cat.Load(); c != nil {
		return c.stream
	}
	return nil
}

func (h *Handler) newServer(s Settings, keepAlive time.Duration) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: s.ServerName, Version: s.ServerVersion}, &mcp.ServerOptions{
		Instructions: s.Instructions,
		KeepAlive:    keepAlive,
		Capabilities: &mcp.ServerCapabilities{
			Tools:     &mcp.ToolCapabilities{ListChanged: true},
			Resources: &mcp.ResourceCapabilities{ListChanged: true},
			Prompts:   &mcp.PromptCapabilities{ListChanged: true},
		},
	})
	srv.AddReceivingMiddleware(h.middleware)
	return srv
}

// sync brings srv's tools and resources from old's to c's.
func (h *Handler) sync(srv *mcp.Server, old, c *catalog) {
	var oldTools map[string]*mcptrigger.Tool
	var oldRes []*mcptrigger.Resource
	if old != nil {
		oldTools, oldRes = old.tools, old.resources
	}
	var gone []string
	for k, t := range oldTools {
		if n, ok := c.tools[k]; !ok || n.Name != t.Name {
			gone = append(gone, t.Name)
		}
	}
	if len(gone) > 0 {
		srv.RemoveTools(gone...)
	}
	keys := make([]string, 0, len(c.tools))
	for k := range c.tools {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t := c.tools[k]
		if o, ok := oldTools[k]; ok && reflect.DeepEqual(o, t) {
			continue
		}
		h.addTool(srv, t)
	}
	var oldPrompts map[string]*mcptrigger.Prompt
	if old != nil {
		oldPrompts = old.prompts
	}
	var gonePrompts []string
	for k, p := range oldPrompts {
		if n, ok := c.prompts[k]; !ok || n.Name != p.Name {
			gonePrompts = append(gonePrompts, p.Name)
		}
	}
	if len(gonePrompts) > 0 {
		srv.RemovePrompts(gonePrompts...)
	}
	for k, p := range c.prompts {
		if o, ok := oldPrompts[k]; ok && reflect.DeepEqual(o, p) {
			continue
		}
		h.addPrompt(srv, p)
	}
	var goneRes, goneTmpl []string
	for _, r := range oldRes {
		if !slices.ContainsFunc(c.resources, func(n *mcptrigger.Resource) bool { return n.URI == r.URI }) {
			if r.IsTemplate() {
				goneTmpl = append(goneTmpl, r.URI)
			} else {
				goneRes = append(goneRes, r.URI)
			}
		}
	}
	if len(goneRes) > 0 {
		srv.RemoveResources(goneRes...)
	}
	if len(goneTmpl) > 0 {
		srv.RemoveResourceTemplates(goneTmpl...)
	}
	for _, r := range c.resources {
		if slices.ContainsFunc(oldRes, func(o *mcptrigger.Resource) bool { return reflect.DeepEqual(o, r) }) {
			continue
		}
		h.addResource(srv, r)
	}
}

// unreachable answers for a tool or resource the middleware did not take,
// which does not happen: the middleware serves every call and read.
func unreachable(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "the tool is not served"}
}

func (h *Handler) addTool(srv *mcp.Server, t *mcptrigger.Tool) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error(fmt.Sprintf("The MCP tool '%s' of function '%s' is not served: %v", t.Name, t.Function, p))
		}
	}()
	tool := &mcp.Tool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema}
	if len(t.OutputSchema) > 0 {
		tool.OutputSchema = t.OutputSchema
	}
	if len(t.Meta) > 0 {
		tool.Meta = mcp.Meta(t.Meta)
	}
	srv.AddTool(tool, unreachable)
}

func (h *Handler) addResource(srv *mcp.Server, r *mcptrigger.Resource) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error(fmt.Sprintf("The MCP resource '%s' of function '%s' is not served: %v", r.URI, r.Function, p))
		}
	}()
	read := func(context.Context, *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "the resource is not served"}
	}
	var meta mcp.Meta
	if len(r.Meta) > 0 {
		meta = mcp.Meta(r.Meta)
	}
	if r.IsTemplate() {
		srv.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: r.URI, Name: r.Name, Title: r.Title,
			Description: r.Description, MIMEType: r.MIMEType, Meta: meta}, read)
		return
	}
	res := &mcp.Resource{URI: r.URI, Name: r.Name, Title: r.Title, Description: r.Description, MIMEType: r.MIMEType, Meta: meta}
	if r.Size >= 0 {
		res.Size = r.Size
	}
	srv.AddResource(res, read)
}

func (h *Handler) addPrompt(srv *mcp.Server, p *mcptrigger.Prompt) {
	defer func() {
		if r := recover(); r != nil {
			h.log.Error(fmt.Sprintf("The MCP prompt '%s' of function '%s' is not served: %v", p.Name, p.Function, r))
		}
	}()
	prompt := &mcp.Prompt{Name: p.Name, Title: p.Title, Description: p.Description}
	for _, a := range p.Arguments {
		prompt.Arguments = append(prompt.Arguments, &mcp.PromptArgument{Name: a.Name, Title: a.Title, Description: a.Description, Required: a.Required})
	}
	if len(p.Icons) > 0 {
		_ = json.Unmarshal(p.Icons, &prompt.Icons)
	}
	if len(p.Meta) > 0 {
		prompt.Meta = mcp.Meta(p.Meta)
	}
	srv.AddPrompt(prompt, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "the prompt is not served"}
	})
}

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
	inv := &funcd.Invocation{ID: invocationID(), Function: fn, Trigger: funcd.JSONValue(trigger), Metadata: md}
	res, err := g.Invoke(ctx, inv)
	if err != nil {
		return nil, err
	}
	if res.HTTP != nil && res.HTTP.BodyReader != nil {
		_ = res.HTTP.BodyReader.Close()
	}
	return res, nil
}

// invocationID returns a new GUID.
func invocationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// serveStreamable answers the streamable HTTP transport: POST only, an
// Accept that takes both JSON and SSE (406), a body that is a JSON-RPC
// message (400), and a valid Mcp-Session-Id when one is sent (400). An
// initialize request gets a new session token in Mcp-Session-Id. Replies
// are SSE frames.
func (h *Handler) serveStreamable(w http.ResponseWriter, r *http.Request, cat *catalog) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !acceptsBoth(r.Header.Values("Accept")) {
		rpcError(w, http.StatusNotAcceptable, "Not Acceptable: Client must accept both application/json and text/event-stream")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			rpcError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request Entity Too Large: the JSON-RPC message is over %d bytes.", maxBody))
			return
		}
		rpcError(w, http.StatusBadRequest, "Bad Request: the request body could not be read.")
		return
	}
	method, ok := rpcMethod(body)
	if !ok {
		rpcError(w, http.StatusBadRequest, "Bad Request: The POST body did not contain a valid JSON-RPC message.")
		return
	}
	if token := r.Header.Get("Mcp-Session-Id"); token != "" {
		if _, ok := cat.state.open(token); !ok {
			rpcError(w, http.StatusBadRequest, "Invalid client state.")
			return
		}
	}
	if method == "initialize" {
		w.Header().Set("Mcp-Session-Id", cat.state.seal(newID(), cat.instance))
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	cat.handler.ServeHTTP(w, r)
}

// rpcMethod reads a POSTed JSON-RPC message's method ("" for a response
// or a batch); ok is false when the body is no JSON-RPC message.
//
// It accepts what the SDK's jsonrpc.DecodeMessage accepts, with the same
// JSON decoder and rules (case-sensitive names, the first value of the
// body, nesting at most maxDepth, version "2.0", an id that is null, a
// number or a string, a string method, or else a response with an id), but
// without DecodeMessage's buffered decoder, which allocates 32 KiB for each
// of its two passes: the SDK decodes the body again when it serves it.
func rpcMethod(body []byte) (method string, ok bool) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var batch []json.RawMessage
		return "", json.Unmarshal(body, &batch) == nil && len(batch) > 0
	}
	if !depthWithin(body, maxDepth) {
		return "", false
	}
	var msg wireMessage
	if _, err := sjson.Parse(body, &msg, sjson.DontMatchCaseInsensitiveStructFields); err != nil || msg.Version != "2.0" {
		return "", false
	}
	id, err := jsonrpc.MakeID(msg.ID)
	if err != nil {
		return "", false
	}
	if len(msg.Method) > 0 {
		if _, err := sjson.Parse(msg.Method, &method, sjson.DontMatchCaseInsensitiveStructFields); err != nil {
			return "", false
		}
		return method, true
	}
	return "", id.IsValid()
}

// wireMessage is a JSON-RPC message as the SDK decodes it.
type wireMessage struct {
	Version string          `json:"jsonrpc"`
	ID      any             `json:"id,omitempty"`
	Method  json.RawMessage `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *jsonrpc.Error  `json:"error,omitempty"`
}

// maxDepth is the deepest nesting of objects and arrays the SDK decodes.
const maxDepth = 1000

// depthWithin reports whether the JSON text data nests objects and arrays
// at most max deep, counting as the SDK does.
func depthWithin(data []byte, max int) bool {
	depth := 0
	inString, escaped := false, false
	for _, b := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return false
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return true
}

// acceptsBoth reports whether an Accept header takes both application/json
// and text/event-stream (wildcards count).
func acceptsBoth(values []string) bool {
	var jsonOK, sseOK bool
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			switch mt {
			case "*/*":
				jsonOK, sseOK = true, true
			case "application/*", "application/json":
				jsonOK = true
			case "text/*", "text/event-stream":
				sseOK = true
			}
		}
	}
	return jsonOK && sseOK
}

// rpcError answers with a JSON-RPC error (code -32000) and status.
func rpcError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": nil, "error": map[string]any{"code": -32000, "message": msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serveSSE opens a legacy SSE session: the first event names the message
// endpoint (relative, or absolute with useAbsoluteUriForEndpoint) with the
// client's state and, when the request carried one, its key. The request
// no longer holds the app: a reload or shutdown does not wait for it.
func (h *Handler) serveSSE(w http.ResponseWriter, r *http.Request, cat *catalog) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	id := newID()
	endpoint := "message?azmcpcs=" + url.QueryEscape(cat.state.seal(id, cat.instance))
	if key := presentedKey(r); key != "" {
		endpoint += "&code=" + url.QueryEscape(key)
	}
	if cat.settings.AbsoluteEndpoint {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
			scheme = p
		}
		path, _, _ := strings.Cut(r.RequestURI, "?")
		path = strings.TrimRight(path, "/")
		if i := strings.LastIndexByte(path, '/'); i >= 0 {
			path = path[:i]
		}
		endpoint = scheme + "://" + r.Host + path + "/" + endpoint
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache,no-store")
	w.Header().Set("Content-Encoding", "identity")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	host.Detach(r.Context())
	ctx, end := context.WithCancel(r.Context())
	defer end()
	sess := &sseSession{id: id, header: r.Header.Clone(), end: end,
		transport: &mcp.SSEServerTransport{Endpoint: endpoint, Response: w, MaxRequestBodyBytes: maxBody}}
	h.sessions.Store(id, sess)
	defer h.sessions.Delete(id)
	ss, err := cat.sse.Connect(ctx, sess.transport, nil)
	if err != nil {
		h.log.Error("cannot open an MCP SSE session", "error", err)
		return
	}
	h.bySess.Store(ss, sess)
	defer h.bySess.Delete(ss)
	defer ss.Close()
	done := make(chan struct{})
	go func() {
		_ = ss.Wait()
		close(done)
	}()
	select {
	case <-ctx.Done():
	case <-done:
	}
}

// Close ends every SSE session's stream, so that a server shutting down
// does not wait for clients that keep their streams open. Calls in flight
// finish; clients reconnect to the next server.
func (h *Handler) Close() {
	h.sessions.Range(func(_, s any) bool {
		s.(*sseSession).end()
		return true
	})
}

// serveMessage takes a message of an SSE session: 202 "Accepted", the
// reply going out on the session's stream.
func (h *Handler) serveMessage(w http.ResponseWriter, r *http.Request, cat *catalog) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	state := r.URL.Query().Get("azmcpcs")
	if state == "" {
		plainError(w, http.StatusBadRequest, "Missing service context. Please connect to the /sse endpoint to initiate your session.")
		return
	}
	id, ok := cat.state.open(state)
	if !ok {
		plainError(w, http.StatusBadRequest, "Invalid client state. Please connect to the /sse endpoint to initiate a new session.")
		return
	}
	s, ok := h.sessions.Load(id)
	if !ok {
		plainError(w, http.StatusBadRequest, "No active session for this client. Please connect to the /sse endpoint to initiate a new session.")
		return
	}
	aw := &acceptedWriter{ResponseWriter: w}
	s.(*sseSession).transport.ServeHTTP(aw, r)
	if aw.status == http.StatusAccepted {
		_, _ = w.Write([]byte("Accepted"))
	}
}

// acceptedWriter adds the real extension's "Accepted" body to a 202.
type acceptedWriter struct {
	http.ResponseWriter
	status int
}

func (a *acceptedWriter) WriteHeader(code int) {
	a.status = code
	if code == http.StatusAccepted {
		a.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	a.ResponseWriter.WriteHeader(code)
}

func plainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

// presentedKey is the request's function key: the x-functions-key header,
// else the code query parameter.
func presentedKey(r *http.Request) string {
	if v := r.Header.Get("X-Functions-Key"); v != "" {
		return v
	}
	return r.URL.Query().Get("code")
}
