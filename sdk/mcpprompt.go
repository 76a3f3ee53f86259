package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// MCPPromptHandler serves an MCP prompt: its return value becomes the
// prompts/get result (see App.MCPPrompt).
type MCPPromptHandler = func(context.Context, *MCPPromptRequest) (any, error)

const mcpPromptTrigger = "mcpPromptTrigger"

// MCPPromptRequest is a prompts/get call of an MCP prompt.
type MCPPromptRequest struct {
	// Name is the prompt's name.
	Name string
	// Arguments are the prompt's arguments (MCP prompt arguments are
	// strings); a missing one is absent.
	Arguments  map[string]string
	SessionID  string
	ClientInfo *MCPClientInfo
	Transport  MCPTransport
}

// PromptMessage is one message of a prompt: Role "user" or "assistant",
// and one content block.
type PromptMessage struct {
	Role    string
	Content MCPContent
}

// MarshalJSON writes the message as MCP does.
func (m PromptMessage) MarshalJSON() ([]byte, error) {
	if m.Content == nil {
		return nil, fmt.Errorf("a prompt message (role %q) has no content", m.Role)
	}
	return marshalJSON(struct {
		Role    string     `json:"role"`
		Content MCPContent `json:"content"`
	}{m.Role, m.Content})
}

// GetPromptResult is a whole prompts/get result.
type GetPromptResult struct {
	Description string
	Messages    []PromptMessage
}

// MarshalJSON writes the result as MCP does.
func (r GetPromptResult) MarshalJSON() ([]byte, error) {
	msgs := r.Messages
	if msgs == nil {
		msgs = []PromptMessage{}
	}
	return marshalJSON(struct {
		Description string          `json:"description,omitempty"`
		Messages    []PromptMessage `json:"messages"`
	}{r.Description, msgs})
}

// mcpPromptArgument is one element of the promptArguments JSON array.
type mcpPromptArgument struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
}

// MCPPrompt registers a function with an mcpPromptTrigger: the prompt name
// (the function's name unless PromptName changes it) served by the host's
// MCP server. Description, Title, Argument and Metadata describe it:
//
//	app.MCPPrompt("summarize", summarize).
//		Description("Asks for a summary of a topic.").
//		Argument("topic", "What to summarize", sdk.Required())
//
// The handler's return value is the prompt: a string is one user message
// with that text; a PromptMessage or []PromptMessage those messages; a
// GetPromptResult or *GetPromptResult the whole result; nil no messages.
// A returned error fails the call.
func (a *App) MCPPrompt(name string, h MCPPromptHandler, opts ...Option) *Function {
	if h == nil {
		panic(fmt.Sprintf("sdk: MCP prompt %q has a nil handler", name))
	}
	f := a.register(name, h, mcpPromptTrigger, "context", opts, func(f *Function) {
		f.trigger.fields["promptName"] = f.name
		f.trigger.fields["promptArguments"] = "[]"
		f.trigger.fields["useResultSchema"] = true
	})
	a.uniquePrompt(f)
	f.run = func(ctx context.Context, inv *invocation) error {
		promptName, _ := f.trigger.fields["promptName"].(string)
		req, err := inv.mcpPromptRequest(promptName)
		if err != nil {
			return fmt.Errorf("MCP prompt %q: %w", promptName, err)
		}
		v, err := h(ctx, req)
		if err != nil {
			return err
		}
		td, err := mcpPromptResult(v)
		if err != nil {
			return fmt.Errorf("the result of MCP prompt %q: %w", req.Name, err)
		}
		return inv.setReturn(td)
	}
	return f
}

// uniquePrompt panics when another function serves f's prompt name
// (compared without case, as the host does).
func (a *App) uniquePrompt(f *Function) {
	a.mu.Lock()
	defer a.mu.Unlock()
	name, _ := f.trigger.fields["promptName"].(string)
	for _, g := range a.funcs {
		if g != f && g.trigger.typ == mcpPromptTrigger && strings.EqualFold(g.trigger.fields["promptName"].(string), name) {
			panic(fmt.Sprintf("sdk: functions %q and %q both serve the MCP prompt %q", g.name, f.name, name))
		}
	}
}

// PromptName sets the name an MCP prompt is listed and got by (default:
// the function's name).
func (f *Function) PromptName(name string) *Function {
	f.need(mcpPromptTrigger, "PromptName")
	if name == "" {
		panic(fmt.Sprintf("sdk: function %q: an empty MCP prompt name", f.name))
	}
	f.trigger.fields["promptName"] = name
	f.app.uniquePrompt(f)
	return f
}

// Argument adds an argument to an MCP prompt; Required() makes the host
// refuse a call without it.
func (f *Function) Argument(name, description string, opts ...PropertyOption) *Function {
	f.need(mcpPromptTrigger, "Argument")
	if name == "" {
		panic(fmt.Sprintf("sdk: MCP prompt %q: an argument without a name", f.name))
	}
	var p mcpToolProperty
	for _, o := range opts {
		o(&p)
	}
	var args []mcpPromptArgument
	_ = json.Unmarshal([]byte(f.trigger.fields["promptArguments"].(string)), &args)
	if slices.ContainsFunc(args, func(a mcpPromptArgument) bool { return a.Name == name }) {
		panic(fmt.Sprintf("sdk: MCP prompt %q: the argument %q is declared twice", f.name, name))
	}
	args = append(args, mcpPromptArgument{Name: name, Description: description, Required: p.IsRequired})
	b, _ := marshalJSON(args)
	f.trigger.fields["promptArguments"] = string(b)
	return f
}

// WithPromptName is Function.PromptName.
func WithPromptName(name string) Option { return func(f *Function) { f.PromptName(name) } }

// WithArgument is Function.Argument.
func WithArgument(name, description string, opts ...PropertyOption) Option {
	return func(f *Function) { f.Argument(name, description, opts...) }
}

func (inv *invocation) mcpPromptRequest(promptName string) (*MCPPromptRequest, error) {
	c, err := inv.mcpContext("mcppromptcontext")
	if err != nil {
		return nil, err
	}
	req := &MCPPromptRequest{Name: c.Name, Arguments: map[string]string{}}
	if req.Name == "" {
		req.Name = promptName
	}
	args := c.Arguments
	if isNullJSON(args) {
		args = typedBytes(inv.metaData("mcppromptargs"))
	}
	if !isNullJSON(args) {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(args, &raw); err != nil {
			return nil, fmt.Errorf("the arguments are %s; want a JSON object", args)
		}
		for k, v := range raw {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v)
			}
			req.Arguments[k] = s
		}
	}
	req.SessionID, req.ClientInfo, req.Transport = c.fill(inv)
	return req, nil
}

// mcpPromptResult maps a prompt handler's return value to the envelope
// the host reads with useResultSchema: {"type":"prompt_messages"|
// "get_prompt_result","content":"<JSON>"}; nil for none.
func mcpPromptResult(v any) (*rpcpb.TypedData, error) {
	var typ string
	var content any
	switch r := v.(type) {
	case nil:
		return nil, nil
	case string:
		typ, content = "prompt_messages", []PromptMessage{{Role: "user", Content: TextContent{Text: r}}}
	case PromptMessage:
		typ, content = "prompt_messages", []PromptMessage{r}
	case []PromptMessage:
		typ, content = "prompt_messages", r
	case GetPromptResult:
		typ, content = "get_prompt_result", r
	case *GetPromptResult:
		if r == nil {
			return nil, nil
		}
		typ, content = "get_prompt_result", *r
	default:
		return nil, fmt.Errorf("a prompt returns a string, a PromptMessage, a []PromptMessage or a GetPromptResult; got %T", v)
	}
	if msgs, ok := content.([]PromptMessage); ok && msgs == nil {
		content = []PromptMessage{}
	}
	b, err := marshalJSON(content)
	if err != nil {
		return nil, err
	}
	return envelopeData(&mcpToolEnvelope{Type: typ, Content: string(b)})
}
