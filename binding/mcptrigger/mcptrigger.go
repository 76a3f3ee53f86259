// Package mcptrigger is the MCP extension's bindings as function.json and
// worker indexing declare them: mcpToolTrigger (a tool: name, description,
// toolProperties, metadata), mcpToolProperty (an input bound to one of the
// call's arguments) and mcpResourceTrigger (a resource or resource
// template: uri, resourceName, mimeType, size, metadata). It reads them into
// Tool and Resource, builds a tool's input schema as the real extension
// does, and validates them when the app loads. The MCP server that serves
// them is httpapi/mcpapi; the triggers have no listener.
package mcptrigger

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
)

// The binding types.
const (
	ToolTriggerType     = "mcpToolTrigger"
	ToolPropertyType    = "mcpToolProperty"
	ResourceTriggerType = "mcpResourceTrigger"
	PromptTriggerType   = "mcpPromptTrigger"
	PromptArgumentType  = "mcpPromptArgument"
)

// Trigger data (binding data) names of a tool or resource invocation, as
// the real extension sets them.
const (
	DataToolContext     = "mcptoolcontext"
	DataToolArgs        = "mcptoolargs"
	DataSessionID       = "mcpsessionid"
	DataResourceURI     = "mcpresourceuri"
	DataResourceContext = "mcpresourcecontext"
	DataPromptContext   = "mcppromptcontext"
	DataPromptArgs      = "mcppromptargs"
)

// maxMetadataDepth is how deeply a metadata object may nest (the real
// extension's MetadataParser).
const maxMetadataDepth = 32

// Property is one of a tool's arguments, an element of toolProperties or an
// mcpToolProperty binding.
type Property struct {
	Name        string   `json:"propertyName"`
	Type        string   `json:"propertyType"`
	Description string   `json:"description,omitempty"`
	Required    bool     `json:"isRequired,omitempty"`
	Array       bool     `json:"isArray,omitempty"`
	Enum        []string `json:"enumValues,omitempty"`
}

// Tool is a function served as an MCP tool.
type Tool struct {
	// Function is the function's name.
	Function    string
	Name        string
	Description string
	Properties  []Property
	// InputSchema is the tool's JSON Schema: built from Properties, or the
	// worker's own (useWorkerInputSchema).
	InputSchema json.RawMessage
	// OutputSchema is outputSchema (or resultSchema, the Node library's
	// name), nil when absent.
	OutputSchema json.RawMessage
	// Meta is the metadata object, the tool's _meta; nil when absent.
	Meta map[string]any
	// UseResultSchema: the function returns the result envelope
	// ({"type","content","structuredContent"}) rather than a value shown as
	// text.
	UseResultSchema bool
}

// Required lists the names of the required properties.
func (t *Tool) Required() []string {
	var out []string
	for _, p := range t.Properties {
		if p.Required {
			out = append(out, p.Name)
		}
	}
	return out
}

// Resource is a function served as an MCP resource, or a resource template
// when its URI has {parameters}.
type Resource struct {
	Function    string
	URI         string
	Name        string
	Title       string
	Description string
	MIMEType    string
	// Size is the size in bytes, -1 when not given.
	Size int64
	Meta map[string]any

	template *regexp.Regexp // nil for a static URI
	params   []string
}

// IsTemplate reports whether the URI has {parameters}.
func (r *Resource) IsTemplate() bool { return r.template != nil }

// Match reports whether uri names this resource: a static URI compares
// case-insensitively; a template binds each {parameter} to a part of uri
// without '/', '?' or '#' (in the query, without '&' or '#').
func (r *Resource) Match(uri string) (params map[string]string, ok bool) {
	if r.template == nil {
		return nil, strings.EqualFold(r.URI, uri)
	}
	m := r.template.FindStringSubmatch(uri)
	if m == nil {
		return nil, false
	}
	params = make(map[string]string, len(r.params))
	for i, name := range r.params {
		params[name] = m[i+1]
	}
	return params, true
}

// Prompt is a function served as an MCP prompt.
type Prompt struct {
	Function    string
	Name        string
	Title       string
	Description string
	Arguments   []PromptArgument
	// Icons is the icons JSON array, nil when absent.
	Icons json.RawMessage
	Meta  map[string]any
	// UseResultSchema: the function returns the result envelope
	// ({"type":"get_prompt_result"|"prompt_messages","content"}) rather
	// than text for one user message.
	UseResultSchema bool
}

// PromptArgument is one of a prompt's arguments, an element of
// promptArguments or an mcpPromptArgument binding.
type PromptArgument struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
}

// Required lists the names of the required arguments.
func (p *Prompt) Required() []string {
	var out []string
	for _, a := range p.Arguments {
		if a.Required {
			out = append(out, a.Name)
		}
	}
	return out
}

// Kinds returns the MCP binding types for the host's registry.
func Kinds() []binding.Kind {
	return []binding.Kind{
		{Type: ToolTriggerType, Validate: func(fn *funcd.Function, b *funcd.Binding, _ *binding.Env) error {
			_, err := toolOf(fn, b)
			return err
		}},
		{Type: ToolPropertyType, Validate: func(_ *funcd.Function, b *funcd.Binding, _ *binding.Env) error {
			_, err := propertyOf(b, "")
			return err
		}, Read: readProperty},
		{Type: ResourceTriggerType, Validate: func(fn *funcd.Function, b *funcd.Binding, _ *binding.Env) error {
			_, err := resourceOf(fn, b)
			return err
		}},
		{Type: PromptTriggerType, Validate: func(fn *funcd.Function, b *funcd.Binding, _ *binding.Env) error {
			_, err := promptOf(fn, b)
			return err
		}},
		{Type: PromptArgumentType, Validate: func(_ *funcd.Function, b *funcd.Binding, _ *binding.Env) error {
			_, err := promptArgumentOf(b, "")
			return err
		}, Read: readPromptArgument},
	}
}

// Trigger returns fn's MCP trigger binding (tool, resource or prompt), nil
// when fn has none.
func Trigger(fn *funcd.Function) *funcd.Binding {
	for i := range fn.Bindings {
		b := &fn.Bindings[i]
		if strings.EqualFold(b.Type, ToolTriggerType) || strings.EqualFold(b.Type, ResourceTriggerType) || strings.EqualFold(b.Type, PromptTriggerType) {
			return b
		}
	}
	return nil
}

// ToolOf reads the tool fn serves; nil, nil when fn is not a tool.
func ToolOf(fn *funcd.Function) (*Tool, error) {
	b := Trigger(fn)
	if b == nil || !strings.EqualFold(b.Type, ToolTriggerType) {
		return nil, nil
	}
	return toolOf(fn, b)
}

// ResourceOf reads the resource fn serves; nil, nil when fn is not a
// resource.
func ResourceOf(fn *funcd.Function) (*Resource, error) {
	b := Trigger(fn)
	if b == nil || !strings.EqualFold(b.Type, ResourceTriggerType) {
		return nil, nil
	}
	return resourceOf(fn, b)
}

// PromptOf reads the prompt fn serves; nil, nil when fn is not a prompt.
func PromptOf(fn *funcd.Function) (*Prompt, error) {
	b := Trigger(fn)
	if b == nil || !strings.EqualFold(b.Type, PromptTriggerType) {
		return nil, nil
	}
	return promptOf(fn, b)
}

func promptOf(fn *funcd.Function, b *funcd.Binding) (*Prompt, error) {
	r := props{b: b}
	p := &Prompt{Function: fn.Name, Name: r.str("promptName", true), Title: r.str("title", false),
		Description: r.str("description", false), UseResultSchema: r.bool("useResultSchema"), Meta: r.meta()}
	raw, icons := r.str("promptArguments", false), r.str("icons", false)
	if r.err != nil {
		return nil, r.err
	}
	if strings.TrimSpace(raw) != "" {
		if err := json.Unmarshal([]byte(raw), &p.Arguments); err != nil {
			return nil, &funcd.ConfigError{Field: "promptArguments", Msg: fmt.Sprintf("is not a JSON array of prompt arguments: %v", err),
				Hint: `Give a JSON string holding an array, such as "[{\"name\":\"topic\",\"description\":\"What to write about\",\"required\":true}]".`}
		}
		for i, a := range p.Arguments {
			if strings.TrimSpace(a.Name) == "" {
				return nil, &funcd.ConfigError{Field: "promptArguments", Msg: fmt.Sprintf("element %d has no name", i)}
			}
		}
	}
	for i := range fn.Bindings {
		ab := &fn.Bindings[i]
		if !strings.EqualFold(ab.Type, PromptArgumentType) {
			continue
		}
		a, err := promptArgumentOf(ab, fmt.Sprintf("bindings[%d].", i))
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(p.Arguments, func(q PromptArgument) bool { return q.Name == a.Name }) {
			p.Arguments = append(p.Arguments, a)
		}
	}
	if strings.TrimSpace(icons) != "" {
		var list []struct {
			Src string `json:"src"`
		}
		if err := json.Unmarshal([]byte(icons), &list); err != nil {
			return nil, &funcd.ConfigError{Field: "icons", Msg: fmt.Sprintf("is not a JSON array of icons ({\"src\", \"mimeType\", \"sizes\"}): %v", err)}
		}
		p.Icons = json.RawMessage(icons)
	}
	return p, nil
}

func promptArgumentOf(b *funcd.Binding, prefix string) (PromptArgument, error) {
	r := props{b: b, prefix: prefix}
	a := PromptArgument{Name: r.str("argumentName", true), Description: r.str("description", false), Required: r.bool("isRequired")}
	return a, r.err
}

// readPromptArgument binds an mcpPromptArgument input: the argument's
// value, "" when it is missing (an error when it is required).
func readPromptArgument(_ context.Context, _ *binding.Env, _ *funcd.Function, b *funcd.Binding, data binding.Data) (funcd.Value, error) {
	name := binding.StringProperty(b, "argumentName")
	v, ok, err := argument(data, DataPromptArgs, name)
	if err != nil {
		return funcd.Value{}, err
	}
	if !ok {
		if r := (props{b: b}); r.bool("isRequired") {
			//lint:ignore ST1005 the real host's words
			return funcd.Value{}, fmt.Errorf("Required prompt argument '%s' was not provided.", name)
		}
	}
	return funcd.StringValue(v), nil
}

func toolOf(fn *funcd.Function, b *funcd.Binding) (*Tool, error) {
	r := props{b: b}
	t := &Tool{Function: fn.Name, Name: r.str("toolName", true), Description: r.str("description", false),
		UseResultSchema: r.bool("useResultSchema"), Meta: r.meta()}
	raw, useWorker := r.str("toolProperties", false), r.bool("useWorkerInputSchema")
	if r.err != nil {
		return nil, r.err
	}
	for _, name := range []string{"outputSchema", "resultSchema"} {
		s := r.str(name, false)
		if r.err != nil {
			return nil, r.err
		}
		if s == "" {
			continue
		}
		if err := schemaObject(s); err != nil {
			return nil, &funcd.ConfigError{Field: name, Msg: fmt.Sprintf("is not a JSON Schema object: %v", err),
				Hint: `Give a JSON object as a string, such as "{\"type\":\"object\",\"properties\":{}}".`}
		}
		t.OutputSchema = json.RawMessage(s)
		break
	}

	if strings.TrimSpace(raw) != "" {
		if err := json.Unmarshal([]byte(raw), &t.Properties); err != nil {
			return nil, &funcd.ConfigError{Field: "toolProperties",
				Msg:  fmt.Sprintf("is not a JSON array of tool properties: %v", err),
				Hint: `Give a JSON string holding an array, such as "[{\"propertyName\":\"city\",\"propertyType\":\"string\",\"description\":\"The city\",\"isRequired\":true}]".`}
		}
		for i, p := range t.Properties {
			if strings.TrimSpace(p.Name) == "" {
				return nil, &funcd.ConfigError{Field: "toolProperties", Msg: fmt.Sprintf("element %d has no propertyName", i)}
			}
			if strings.TrimSpace(p.Type) == "" {
				return nil, &funcd.ConfigError{Field: "toolProperties", Msg: fmt.Sprintf("property %q has no propertyType", p.Name),
					Hint: "Use string, number, integer, boolean or object."}
			}
		}
	}
	// Without toolProperties, the function's mcpToolProperty bindings are
	// the tool's properties; with them, such bindings add what is missing.
	for i := range fn.Bindings {
		pb := &fn.Bindings[i]
		if !strings.EqualFold(pb.Type, ToolPropertyType) {
			continue
		}
		p, err := propertyOf(pb, fmt.Sprintf("bindings[%d].", i))
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(t.Properties, func(q Property) bool { return q.Name == p.Name }) {
			t.Properties = append(t.Properties, p)
		}
	}

	if useWorker {
		s := r.str("inputSchema", true)
		if r.err != nil {
			return nil, r.err
		}
		if err := schemaObject(s); err != nil {
			return nil, &funcd.ConfigError{Field: "inputSchema", Msg: fmt.Sprintf("is not a JSON Schema object: %v", err)}
		}
		var typ struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal([]byte(s), &typ)
		if typ.Type != "object" {
			return nil, &funcd.ConfigError{Field: "inputSchema", Msg: fmt.Sprintf("has type %q; a tool's input schema must have \"type\": \"object\"", typ.Type)}
		}
		t.InputSchema = json.RawMessage(s)
	} else {
		t.InputSchema = InputSchema(t.Properties)
	}
	return t, nil
}

// InputSchema builds a tool's input schema from its properties, as the
// real extension does: every property has a description ("" when none), an
// array property is {"type":"array","items":{...}}, and "required" is
// always present.
func InputSchema(props []Property) json.RawMessage {
	type item struct {
		Type string   `json:"type"`
		Enum []string `json:"enum,omitempty"`
	}
	type prop struct {
		Type        string   `json:"type"`
		Enum        []string `json:"enum,omitempty"`
		Items       *item    `json:"items,omitempty"`
		Description string   `json:"description"`
	}
	properties := make(map[string]prop, len(props))
	required := []string{}
	for _, p := range props {
		if p.Array {
			properties[p.Name] = prop{Type: "array", Items: &item{Type: p.Type, Enum: p.Enum}, Description: p.Description}
		} else {
			properties[p.Name] = prop{Type: p.Type, Enum: p.Enum, Description: p.Description}
		}
		if p.Required {
			required = append(required, p.Name)
		}
	}
	out, _ := json.Marshal(struct {
		Type       string          `json:"type"`
		Properties map[string]prop `json:"properties"`
		Required   []string        `json:"required"`
	}{"object", properties, required})
	return out
}

func propertyOf(b *funcd.Binding, prefix string) (Property, error) {
	r := props{b: b, prefix: prefix}
	p := Property{Name: r.str("propertyName", true), Type: r.str("propertyType", false), Description: r.str("description", false),
		Required: r.bool("isRequired"), Array: r.bool("isArray")}
	if p.Type == "" {
		p.Type = "string"
	}
	return p, r.err
}

// readProperty binds an mcpToolProperty input: the call's argument as
// text (a string's value, a number's literal, an object's JSON), "" when
// the argument is missing.
func readProperty(_ context.Context, _ *binding.Env, _ *funcd.Function, b *funcd.Binding, data binding.Data) (funcd.Value, error) {
	v, _, err := argument(data, DataToolArgs, binding.StringProperty(b, "propertyName"))
	if err != nil {
		return funcd.Value{}, err
	}
	return funcd.StringValue(v), nil
}

// argument reads one argument from the trigger data key (mcptoolargs or
// mcppromptargs: an object of strings); ok is false when it is missing.
func argument(data binding.Data, key, name string) (v string, ok bool, err error) {
	var args map[string]string
	if raw, found := data[key]; found {
		if err := json.Unmarshal(raw, &args); err != nil {
			return "", false, fmt.Errorf("the call's arguments (%s) are not an object of strings: %w", key, err)
		}
	}
	v, ok = args[name]
	return v, ok, nil
}

func resourceOf(fn *funcd.Function, b *funcd.Binding) (*Resource, error) {
	props := props{b: b}
	r := &Resource{Function: fn.Name, Size: -1, URI: props.str("uri", true)}
	if props.err != nil {
		return nil, props.err
	}
	u, perr := url.Parse(strings.NewReplacer("{", "", "}", "").Replace(r.URI))
	if perr != nil || u.Scheme == "" {
		return nil, &funcd.ConfigError{Field: "uri", Msg: fmt.Sprintf("is %q; expected an absolute URI such as \"ui://weather/index.html\" or \"file://docs/{name}\"", r.URI)}
	}
	r.Name, r.Title, r.Description = props.str("resourceName", true), props.str("title", false), props.str("description", false)
	r.MIMEType, r.Meta = props.str("mimeType", false), props.meta()
	if props.err != nil {
		return nil, props.err
	}
	if v, ok := binding.Property(b, "size"); ok && v != nil {
		switch n := v.(type) {
		case float64:
			if n < 0 || n != math.Trunc(n) {
				return nil, &funcd.ConfigError{Field: "size", Msg: fmt.Sprintf("is %v; expected a size in bytes (a whole number, 0 or more)", n)}
			}
			r.Size = int64(n)
		case string:
			s, err := strconv.ParseInt(n, 10, 64)
			if err != nil || s < 0 {
				return nil, &funcd.ConfigError{Field: "size", Msg: fmt.Sprintf("is %q; expected a size in bytes (a whole number, 0 or more)", n)}
			}
			r.Size = s
		default:
			return nil, &funcd.ConfigError{Field: "size", Msg: fmt.Sprintf("is %T; expected a size in bytes", v)}
		}
	}
	if strings.Contains(r.URI, "{") {
		var err error
		if r.template, r.params, err = compileTemplate(r.URI); err != nil {
			return nil, &funcd.ConfigError{Field: "uri", Msg: err.Error()}
		}
	}
	return r, nil
}

// compileTemplate turns a URI template into a regular expression: each
// {name} matches one or more characters other than '/', '?' and '#', or in
// the query, other than '&' and '#'.
func compileTemplate(uri string) (*regexp.Regexp, []string, error) {
	var re strings.Builder
	var params []string
	re.WriteString("(?i)^")
	rest := uri
	prevParam := false
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			re.WriteString(regexp.QuoteMeta(rest))
			break
		}
		if open > 0 {
			re.WriteString(regexp.QuoteMeta(rest[:open]))
			prevParam = false
		} else if prevParam {
			return nil, nil, fmt.Errorf("has two parameters side by side in %q; separate them with a literal character", uri)
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, nil, fmt.Errorf("has a '{' without a closing '}' in %q", uri)
		}
		name := rest[open+1 : open+end]
		if name == "" || strings.ContainsAny(name, "{/?#&") {
			return nil, nil, fmt.Errorf("has a parameter {%s} that is not a name in %q", name, uri)
		}
		if slices.Contains(params, name) {
			return nil, nil, fmt.Errorf("names the parameter {%s} twice in %q", name, uri)
		}
		before := uri[:len(uri)-len(rest)+open]
		if strings.Contains(before, "?") {
			re.WriteString("([^&#]+)")
		} else {
			re.WriteString("([^/?#]+)")
		}
		params = append(params, name)
		prevParam = true
		rest = rest[open+end+1:]
	}
	re.WriteString("$")
	rx, err := regexp.Compile(re.String())
	if err != nil {
		return nil, nil, fmt.Errorf("is not a URI template: %v", err)
	}
	return rx, params, nil
}

// props reads a binding's properties, keeping the first error (with the
// field prefixed by prefix, for a binding read as part of another's).
type props struct {
	b      *funcd.Binding
	prefix string
	err    error
}

func (r *props) keep(err error) {
	if r.err != nil || err == nil {
		return
	}
	if ce, ok := err.(*funcd.ConfigError); ok && r.prefix != "" {
		c := *ce
		c.Field = r.prefix + c.Field
		err = &c
	}
	r.err = err
}

func (r *props) str(name string, required bool) string {
	s, err := stringProp(r.b, name, required)
	r.keep(err)
	return s
}

func (r *props) bool(name string) bool {
	v, err := boolProp(r.b, name)
	r.keep(err)
	return v
}

func (r *props) meta() map[string]any {
	m, err := metadataProp(r.b)
	r.keep(err)
	return m
}

func stringProp(b *funcd.Binding, name string, required bool) (string, error) {
	v, ok := binding.Property(b, name)
	if !ok || v == nil {
		if required {
			return "", &funcd.ConfigError{Field: name, Msg: fmt.Sprintf("The %s binding %q needs %q.", b.Type, b.Name, name)}
		}
		return "", nil
	}
	s, isString := v.(string)
	if !isString {
		return "", &funcd.ConfigError{Field: name, Msg: fmt.Sprintf("is %T; expected a string", v)}
	}
	if required && strings.TrimSpace(s) == "" {
		return "", &funcd.ConfigError{Field: name, Msg: fmt.Sprintf("The %s binding %q needs %q; it is empty.", b.Type, b.Name, name)}
	}
	return s, nil
}

func boolProp(b *funcd.Binding, name string) (bool, error) {
	v, ok := binding.Property(b, name)
	if !ok || v == nil {
		return false, nil
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if p, err := strconv.ParseBool(x); err == nil {
			return p, nil
		}
	}
	return false, &funcd.ConfigError{Field: name, Msg: fmt.Sprintf("is %v; expected true or false", v)}
}

// metadataProp reads metadata: a JSON object, written as a string holding
// it (as workers send it) or as an object, nested at most 32 deep.
func metadataProp(b *funcd.Binding) (map[string]any, error) {
	v, ok := binding.Property(b, "metadata")
	if !ok || v == nil {
		return nil, nil
	}
	var raw []byte
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, nil
		}
		raw = []byte(x)
	case map[string]any:
		raw, _ = json.Marshal(x)
	default:
		return nil, &funcd.ConfigError{Field: "metadata", Msg: fmt.Sprintf("is %T; expected a JSON object (or a string holding one)", v)}
	}
	if depth(raw) > maxMetadataDepth {
		return nil, &funcd.ConfigError{Field: "metadata", Msg: fmt.Sprintf("nests deeper than %d levels", maxMetadataDepth)}
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		msg := "is not a JSON object"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, &funcd.ConfigError{Field: "metadata", Msg: msg, Hint: `Give an object such as {"ui":{"resourceUri":"ui://weather/index.html"}}, as JSON text.`}
	}
	return m, nil
}

// depth returns how deeply JSON text nests objects and arrays.
func depth(raw []byte) int {
	d, max := 0, 0
	inString, escaped := false, false
	for _, c := range raw {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			if d > max {
				max = d
			}
		case c == '}' || c == ']':
			d--
		}
	}
	return max
}

// schemaObject checks that s is a JSON object.
func schemaObject(s string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return err
	}
	if m == nil {
		return fmt.Errorf("null")
	}
	return nil
}
