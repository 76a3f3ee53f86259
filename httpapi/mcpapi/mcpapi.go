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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcd/funcd/binding/mcptrigger"
	"github.com/funcd/funcd/host"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
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
