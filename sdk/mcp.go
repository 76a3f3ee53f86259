package sdk

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Handler types of the MCP triggers.
type (
	// MCPToolHandler serves an MCP tool: its return value becomes the
	// tools/call result (see App.MCPTool) and an error fails the call.
	MCPToolHandler = func(context.Context, *MCPToolRequest) (any, error)
	// MCPResourceHandler serves an MCP resource: its return value becomes
	// the resources/read contents (see App.MCPResource).
	MCPResourceHandler = func(context.Context, *MCPResourceRequest) (any, error)
)

// The trigger types of the MCP extension.
const (
	mcpToolTrigger     = "mcpToolTrigger"
	mcpResourceTrigger = "mcpResourceTrigger"
)

// MCPTool registers a function with an mcpToolTrigger: the tool name
// (the function's name unless ToolName changes it) served by the host's
// MCP server at /runtime/webhooks/mcp. Description, Property,
// ArrayProperty and Metadata describe the tool:
//
//	app.MCPTool("get_weather", getWeather).
//		Description("Current weather of a city").
//		Property("location", "string", "City name", sdk.Required()).
//		Metadata(map[string]any{"ui": map[string]any{"resourceUri": "ui://weather/index.html"}})
//
// The handler's return value is the tool's result, mapped as the Node.js
// library maps it (useResultSchema is always on): a string is one text
// block; an MCPContent (TextContent, ImageContent, AudioContent,
// ResourceLink, EmbeddedResource) is that block and a []MCPContent those
// blocks; a CallToolResult or *CallToolResult is the whole result
// (content, structuredContent, isError, _meta); Structured(v) is v as
// structuredContent with its JSON as the text block; nil is an empty
// result; any other value is its JSON as one text block. A returned error
// fails the invocation, which the host reports to the client as a result
// with isError set.
func (a *App) MCPTool(name string, h MCPToolHandler, opts ...Option) *Function {
	if h == nil {
		panic(fmt.Sprintf("sdk: MCP tool %q has a nil handler", name))
	}
	f := a.register(name, h, mcpToolTrigger, "context", opts, func(f *Function) {
		f.trigger.fields["toolName"] = f.name
		f.trigger.fields["description"] = ""
		f.trigger.fields["toolProperties"] = "[]"
		f.trigger.fields["useResultSchema"] = true
	})
	a.uniqueTool(f)
	f.mcpListed = true
	f.run = func(ctx context.Context, inv *invocation) error {
		toolName, _ := f.trigger.fields["toolName"].(string)
		req, err := inv.mcpToolRequest(toolName)
		if err != nil {
			return fmt.Errorf("MCP tool %q: %w", toolName, err)
		}
		v, err := h(ctx, req)
		if err != nil {
			return err
		}
		td, err := mcpToolResult(v)
		if err != nil {
			return fmt.Errorf("the result of MCP tool %q: %w", req.Name, err)
		}
		return inv.setReturn(td)
	}
	return f
}

// MCPResource registers a function with an mcpResourceTrigger: the
// resource at uri, an absolute URI that is a template when it holds
// {parameters} ("ui://weather/index.html", "file://notes/{name}"). Its
// resource name is the function's name unless ResourceName changes it;
// Title, Description, MIMEType, Size and Metadata describe it further:
//
//	app.MCPResource("weather_widget", "ui://weather/index.html", widget).
//		ResourceName("Weather Widget").MIMEType("text/html;profile=mcp-app")
//
// The handler returns the resource's contents: a string is its text, a
// []byte its blob, a ResourceContents or *ResourceContents the contents
// with their own URI, MIME type and _meta (what the resource's Metadata
// does not carry into resources/read); nil reads as no contents.
func (a *App) MCPResource(name, uri string, h MCPResourceHandler, opts ...Option) *Function {
	if h == nil {
		panic(fmt.Sprintf("sdk: MCP resource %q has a nil handler", name))
	}
	if err := checkResourceURI(uri); err != nil {
		panic(fmt.Sprintf("sdk: MCP resource %q: %v", name, err))
	}
	f := a.register(name, h, mcpResourceTrigger, "context", opts, func(f *Function) {
		f.trigger.fields["uri"] = uri
		f.trigger.fields["resourceName"] = f.name
	})
	a.uniqueResource(f)
	params := uriTemplateParams(uri)
	f.run = func(ctx context.Context, inv *invocation) error {
		req, err := inv.mcpResourceRequest(uri, params)
		if err != nil {
			return fmt.Errorf("MCP resource %q: %w", uri, err)
		}
		v, err := h(ctx, req)
		if err != nil {
			return err
		}
		td, err := mcpResourceResult(v)
		if err != nil {
			return fmt.Errorf("the contents of MCP resource %q: %w", req.URI, err)
		}
		return inv.setReturn(td)
	}
	return f
}

// checkResourceURI says what is wrong with a resource's URI: it must be
// absolute (scheme ":" …).
func checkResourceURI(uri string) error {
	i := strings.IndexByte(uri, ':')
	if i <= 0 || i == len(uri)-1 {
		return fmt.Errorf("uri %q is not an absolute URI (scheme:rest, e.g. ui://app/index.html)", uri)
	}
	for j, c := range uri[:i] {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (j == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return fmt.Errorf("uri %q has no valid scheme before its ':'", uri)
		}
	}
	return nil
}

// uriTemplateParams are the {parameter} names of a resource URI template.
func uriTemplateParams(uri string) []string {
	var names []string
	for {
		i := strings.IndexByte(uri, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(uri[i:], '}')
		if j < 0 {
			return names
		}
		if p := strings.TrimSpace(uri[i+1 : i+j]); p != "" {
			names = append(names, p)
		}
		uri = uri[i+j+1:]
	}
}

// uniqueTool panics when another tool has f's tool name: the host's tool
// registry ignores case and refuses duplicates. The caller must not hold
// a.mu (options run under it: ToolName checks only once f is listed).
func (a *App) uniqueTool(f *Function) {
	a.mu.Lock()
	defer a.mu.Unlock()
	name, _ := f.trigger.fields["toolName"].(string)
	for _, g := range a.funcs {
		if g != f && g.trigger.typ == mcpToolTrigger && strings.EqualFold(g.trigger.fields["toolName"].(string), name) {
			panic(fmt.Sprintf("sdk: functions %q and %q both serve the MCP tool %q", g.name, f.name, name))
		}
	}
}

// uniqueResource panics when another resource has f's URI (compared
// without case, as the host matches static URIs).
func (a *App) uniqueResource(f *Function) {
	a.mu.Lock()
	defer a.mu.Unlock()
	uri, _ := f.trigger.fields["uri"].(string)
	for _, g := range a.funcs {
		if g != f && g.trigger.typ == mcpResourceTrigger && strings.EqualFold(g.trigger.fields["uri"].(string), uri) {
			panic(fmt.Sprintf("sdk: functions %q and %q both serve the MCP resource %q", g.name, f.name, uri))
		}
	}
}

// needMCP panics unless f has one of the MCP triggers.
func (f *Function) needMCP(method string) {
	if f.trigger.typ != mcpToolTrigger && f.trigger.typ != mcpResourceTrigger && f.trigger.typ != mcpPromptTrigger {
		panic(fmt.Sprintf("sdk: %s applies to an mcpToolTrigger, mcpResourceTrigger or mcpPromptTrigger; function %q has a %s", method, f.name, f.trigger.typ))
	}
}

// ToolName sets the name an MCP tool is listed and called by (default:
// the function's name).
func (f *Function) ToolName(name string) *Function {
	f.need(mcpToolTrigger, "ToolName")
	if name == "" {
		panic(fmt.Sprintf("sdk: function %q: an empty MCP tool name", f.name))
	}
	f.trigger.fields["toolName"] = name
	if f.mcpListed {
		f.app.uniqueTool(f)
	}
	return f
}

// Description sets an MCP tool's, resource's or prompt's description.
func (f *Function) Description(text string) *Function {
	f.needMCP("Description")
	f.trigger.fields["description"] = text
	return f
}

// The property types of an MCP tool (the JSON Schema types the host puts
// in the tool's input schema).
var mcpPropertyTypes = []string{"string", "number", "integer", "boolean", "object"}

// mcpToolProperty is one element of the toolProperties JSON array.
type mcpToolProperty struct {
	PropertyName string   `json:"propertyName"`
	PropertyType string   `json:"propertyType"`
	Description  string   `json:"description"`
	IsRequired   bool     `json:"isRequired"`
	IsArray      bool     `json:"isArray"`
	EnumValues   []string `json:"enumValues,omitempty"`
}

// PropertyOption refines an MCP tool property: Required, Enum.
type PropertyOption func(*mcpToolProperty)

// Required makes an MCP tool property required: the host refuses a call
// without it.
func Required() PropertyOption { return func(p *mcpToolProperty) { p.IsRequired = true } }

// Enum restricts an MCP tool property (or, for an array property, its
// items) to values.
func Enum(values ...string) PropertyOption {
	return func(p *mcpToolProperty) { p.EnumValues = append(p.EnumValues, values...) }
}

// Property adds a property to an MCP tool's input schema: its name, its
// type (string, number, integer, boolean or object) and description.
func (f *Function) Property(name, typ, description string, opts ...PropertyOption) *Function {
	f.need(mcpToolTrigger, "Property")
	return f.addProperty(name, typ, description, false, opts)
}

// ArrayProperty adds a property whose value is an array of items of type
// itemType (string, number, integer, boolean or object).
func (f *Function) ArrayProperty(name, itemType, description string, opts ...PropertyOption) *Function {
	f.need(mcpToolTrigger, "ArrayProperty")
	return f.addProperty(name, itemType, description, true, opts)
}

func (f *Function) addProperty(name, typ, description string, array bool, opts []PropertyOption) *Function {
	if name == "" {
		panic(fmt.Sprintf("sdk: MCP tool %q: a property has no name", f.name))
	}
	if !slices.Contains(mcpPropertyTypes, typ) {
		panic(fmt.Sprintf("sdk: MCP tool %q: property %q has type %q; want one of %s", f.name, name, typ, strings.Join(mcpPropertyTypes, ", ")))
	}
	for _, p := range f.toolProps {
		if p.PropertyName == name {
			panic(fmt.Sprintf("sdk: MCP tool %q has two properties named %q", f.name, name))
		}
	}
	p := mcpToolProperty{PropertyName: name, PropertyType: typ, Description: description, IsArray: array}
	for _, o := range opts {
		o(&p)
	}
	f.toolProps = append(f.toolProps, p)
	b, err := marshalJSON(f.toolProps)
	if err != nil {
		panic(fmt.Sprintf("sdk: MCP tool %q: its properties: %v", f.name, err))
	}
	f.trigger.fields["toolProperties"] = string(b)
	return f
}

// Metadata sets an MCP tool's or resource's _meta, which the host lists
// as it is: for an MCP App, a tool's {"ui": {"resourceUri": "ui://…"}}
// or a resource's {"ui": {"prefersBorder": true, "csp": {…}}}. It must
// encode to JSON; nil removes it.
func (f *Function) Metadata(meta map[string]any) *Function {
	f.needMCP("Metadata")
	if meta == nil {
		delete(f.trigger.fields, "metadata")
		return f
	}
	b, err := marshalJSON(meta)
	if err != nil {
		panic(fmt.Sprintf("sdk: function %q: its MCP metadata does not encode to JSON: %v", f.name, err))
	}
	f.trigger.fields["metadata"] = string(b)
	return f
}

// ResourceName sets an MCP resource's name (default: the function's name).
func (f *Function) ResourceName(name string) *Function {
	f.need(mcpResourceTrigger, "ResourceName")
	if name == "" {
		panic(fmt.Sprintf("sdk: function %q: an empty MCP resource name", f.name))
	}
	f.trigger.fields["resourceName"] = name
	return f
}

// Title sets an MCP resource's or prompt's title, its name for people.
func (f *Function) Title(title string) *Function {
	if f.trigger.typ == mcpPromptTrigger {
		return f.set(mcpPromptTrigger, "Title", "title", title)
	}
	return f.set(mcpResourceTrigger, "Title", "title", title)
}

// MIMEType sets an MCP resource's MIME type; an MCP App's user interface
// is "text/html;profile=mcp-app".
func (f *Function) MIMEType(mimeType string) *Function {
	return f.set(mcpResourceTrigger, "MIMEType", "mimeType", mimeType)
}

// Size sets an MCP resource's size in bytes, as resources/list reports it.
func (f *Function) Size(n int64) *Function {
	if n < 0 {
		panic(fmt.Sprintf("sdk: MCP resource %q: size %d is negative", f.name, n))
	}
	return f.set(mcpResourceTrigger, "Size", "size", n)
}

// WithToolName is Function.ToolName.
func WithToolName(name string) Option { return func(f *Function) { f.ToolName(name) } }

// WithDescription is Function.Description.
func WithDescription(text string) Option { return func(f *Function) { f.Description(text) } }

// WithProperty is Function.Property.
func WithProperty(name, typ, description string, opts ...PropertyOption) Option {
	return func(f *Function) { f.Property(name, typ, description, opts...) }
}

// WithArrayProperty is Function.ArrayProperty.
func WithArrayProperty(name, itemType, description string, opts ...PropertyOption) Option {
	return func(f *Function) { f.ArrayProperty(name, itemType, description, opts...) }
}

// WithMetadata is Function.Metadata.
func WithMetadata(meta map[string]any) Option { return func(f *Function) { f.Metadata(meta) } }

// WithResourceName is Function.ResourceName.
func WithResourceName(name string) Option { return func(f *Function) { f.ResourceName(name) } }

// WithTitle is Function.Title.
func WithTitle(title string) Option { return func(f *Function) { f.Title(title) } }

// WithMIMEType is Function.MIMEType.
func WithMIMEType(mimeType string) Option { return func(f *Function) { f.MIMEType(mimeType) } }

// WithSize is Function.Size.
func WithSize(n int64) Option { return func(f *Function) { f.Size(n) } }
