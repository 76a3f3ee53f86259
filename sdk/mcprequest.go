package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// MCPToolRequest is a tools/call as an MCP tool's handler gets it.
type MCPToolRequest struct {
	// Name is the tool's name.
	Name string
	// Arguments are the call's arguments, the JSON object the client
	// sent (nil if it sent none). Bind decodes them; Arg and ArgString
	// read one.
	Arguments json.RawMessage
	// SessionID is the client's MCP session (for streamable HTTP, the
	// Mcp-Session-Id header it sent); empty if there is none.
	SessionID string
	// ClientInfo is what the client said of itself at initialize, nil
	// when the host does not know it (the usual case on streamable HTTP,
	// which keeps no session state).
	ClientInfo *MCPClientInfo
	// Transport is how the call arrived.
	Transport MCPTransport
}

// MCPResourceRequest is a resources/read as an MCP resource's handler gets
// it.
type MCPResourceRequest struct {
	// URI is the URI read: the resource's, or for a template one that
	// matches it.
	URI string
	// Params are a template's parameters, by name ("ui://notes/{id}"
	// read as "ui://notes/7" has {"id": "7"}); nil for a static URI.
	Params     map[string]string
	SessionID  string
	ClientInfo *MCPClientInfo
	Transport  MCPTransport
}

// MCPClientInfo names an MCP client (the clientInfo of its initialize).
type MCPClientInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Title   string `json:"title,omitempty"`
}

// MCPTransport is the transport a request came over.
type MCPTransport struct {
	// Name is "http-streamable" (streamable HTTP) or "http-sse" (the
	// legacy SSE transport).
	Name string
	// SessionID is the transport's session: the Mcp-Session-Id header,
	// or the SSE connection's id.
	SessionID string
	// Headers are the HTTP request's headers.
	Headers http.Header
}

// Bind decodes the call's arguments into v (a pointer to a struct or a
// map), as json.Unmarshal does; no arguments leave v as it is.
func (r *MCPToolRequest) Bind(v any) error {
	if isNullJSON(r.Arguments) {
		return nil
	}
	if err := json.Unmarshal(r.Arguments, v); err != nil {
		return fmt.Errorf("the arguments of MCP tool %q: %w", r.Name, err)
	}
	return nil
}

// Arg returns the argument name as the client sent it, JSON.
func (r *MCPToolRequest) Arg(name string) (json.RawMessage, bool) {
	var args map[string]json.RawMessage
	if isNullJSON(r.Arguments) || json.Unmarshal(r.Arguments, &args) != nil {
		return nil, false
	}
	v, ok := args[name]
	return v, ok
}

// ArgString returns the argument name as a string, as the host's
// mcpToolProperty input binding renders it: a JSON string's text, any
// other value's JSON ("42", "true", "{…}"), "" when it is missing or null.
func (r *MCPToolRequest) ArgString(name string) string {
	v, ok := r.Arg(name)
	if !ok || isNullJSON(v) {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) == nil {
		return buf.String()
	}
	return string(v)
}

func isNullJSON(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "null"
}

// mcpContext is the trigger value of the MCP triggers: the host's
// ToolInvocationContext or ResourceInvocationContext, lowercase
// "sessionid" at the top and camelCase "sessionId" in the transport.
type mcpContext struct {
	Name       string          `json:"name"`
	URI        string          `json:"uri"`
	Arguments  json.RawMessage `json:"arguments"`
	SessionID  string          `json:"sessionid"`
	ClientInfo *MCPClientInfo  `json:"clientinfo"`
	Transport  *struct {
		Name       string `json:"name"`
		SessionID  string `json:"sessionId"`
		Properties struct {
			Headers map[string]json.RawMessage `json:"headers"`
		} `json:"properties"`
	} `json:"transport"`
}

// mcpContext decodes the trigger value, or when it is empty the context
// in the trigger metadata (key ctxKey).
func (inv *invocation) mcpContext(ctxKey string) (*mcpContext, error) {
	what := "the trigger value"
	b := typedBytes(inv.trigger())
	if isNullJSON(b) {
		what = "trigger metadata " + ctxKey
		b = typedBytes(inv.metaData(ctxKey))
	}
	c := &mcpContext{}
	if isNullJSON(b) {
		return c, nil
	}
	b = bytes.TrimSpace(b)
	if b[0] == '"' { // the context JSON sent as a JSON string
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		b = []byte(s)
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s is not the MCP invocation context (a JSON object with name, arguments, sessionid, clientinfo, transport): %w", what, err)
	}
	return c, nil
}

// metaData is the trigger metadata value key; the key's case does not
// matter, as in the host's binding data.
func (inv *invocation) metaData(key string) *rpcpb.TypedData {
	tm := inv.req.GetTriggerMetadata()
	if td, ok := tm[key]; ok {
		return td
	}
	for k, td := range tm {
		if strings.EqualFold(k, key) {
			return td
		}
	}
	return nil
}

// fill sets the fields the request types share.
func (c *mcpContext) fill(inv *invocation) (sessionID string, client *MCPClientInfo, t MCPTransport) {
	if c.Transport != nil {
		t.Name = c.Transport.Name
		t.SessionID = c.Transport.SessionID
		if hs := c.Transport.Properties.Headers; len(hs) > 0 {
			t.Headers = make(http.Header, len(hs))
			for k, v := range hs {
				var s string
				var list []string
				switch {
				case json.Unmarshal(v, &s) == nil:
				case json.Unmarshal(v, &list) == nil:
					s = strings.Join(list, ",")
				default:
					s = string(v)
				}
				t.Headers[http.CanonicalHeaderKey(k)] = []string{s}
			}
		}
	}
	sessionID = c.SessionID
	if sessionID == "" {
		sessionID = t.SessionID
	}
	if sessionID == "" {
		sessionID = metaString(inv.metaData("mcpsessionid"))
	}
	return sessionID, c.ClientInfo, t
}

func (inv *invocation) mcpToolRequest(toolName string) (*MCPToolRequest, error) {
	c, err := inv.mcpContext("mcptoolcontext")
	if err != nil {
		return nil, err
	}
	req := &MCPToolRequest{Name: c.Name, Arguments: c.Arguments}
	if req.Name == "" {
		req.Name = toolName
	}
	if isNullJSON(req.Arguments) {
		req.Arguments = nil
		if td := inv.metaData("mcptoolargs"); td != nil {
			if req.Arguments, err = argsFromMetadata(typedBytes(td)); err != nil {
				return nil, err
			}
		}
	} else if b := bytes.TrimSpace(req.Arguments); b[0] != '{' {
		return nil, fmt.Errorf("the arguments are %s; want a JSON object", b)
	}
	req.SessionID, req.ClientInfo, req.Transport = c.fill(inv)
	return req, nil
}

// argsFromMetadata turns the host's mcptoolargs (each argument rendered
// as a string) back into an arguments object. A string holding a JSON
// object or array is taken as that value; numbers and booleans stay
// strings, as the host sent them.
func argsFromMetadata(b []byte) (json.RawMessage, error) {
	if isNullJSON(b) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("trigger metadata mcptoolargs is not a JSON object: %w", err)
	}
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) != nil {
			continue
		}
		if t := strings.TrimSpace(s); t != "" && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(t)) {
			m[k] = json.RawMessage(t)
		}
	}
	return marshalJSON(m)
}

func (inv *invocation) mcpResourceRequest(uri string, params []string) (*MCPResourceRequest, error) {
	c, err := inv.mcpContext("mcpresourcecontext")
	if err != nil {
		return nil, err
	}
	req := &MCPResourceRequest{URI: c.URI}
	if req.URI == "" {
		req.URI = metaString(inv.metaData("mcpresourceuri"))
	}
	if req.URI == "" {
		req.URI = uri
	}
	if len(params) > 0 {
		matched := matchURITemplate(uri, req.URI)
		req.Params = make(map[string]string, len(params))
		for _, p := range params {
			if td := inv.metaData(p); td != nil {
				req.Params[p] = metaString(td)
			} else if v, ok := matched[p]; ok {
				req.Params[p] = v
			}
		}
	}
	req.SessionID, req.ClientInfo, req.Transport = c.fill(inv)
	return req, nil
}

// matchURITemplate matches uri against a resource URI template as the
// host does ({x} is [^/?#]+, or [^&#]+ in the query) and returns the
// parameters, nil if it does not match.
func matchURITemplate(template, uri string) map[string]string {
	var expr strings.Builder
	expr.WriteString("(?i)^")
	var names []string
	rest, inQuery := template, false
	for {
		i := strings.IndexByte(rest, '{')
		j := strings.IndexByte(rest[max(i, 0):], '}')
		if i < 0 || j < 0 {
			expr.WriteString(regexp.QuoteMeta(rest))
			break
		}
		expr.WriteString(regexp.QuoteMeta(rest[:i]))
		inQuery = inQuery || strings.ContainsRune(rest[:i], '?')
		if inQuery {
			expr.WriteString("([^&#]+)")
		} else {
			expr.WriteString("([^/?#]+)")
		}
		names = append(names, strings.TrimSpace(rest[i+1:i+j]))
		rest = rest[i+j+1:]
	}
	expr.WriteString("$")
	re, err := regexp.Compile(expr.String())
	if err != nil {
		return nil
	}
	m := re.FindStringSubmatch(uri)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(names))
	for i, n := range names {
		out[n] = m[i+1]
	}
	return out
}
