package mcpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding/mcptrigger"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// valueText returns a function's return value as the text the real host
// would see: a string's value, bytes as text, JSON as its text; null is
// ok=false.
func valueText(v funcd.Value) (text string, ok bool) {
	switch v.Kind {
	case funcd.ValueNone:
		return "", false
	case funcd.ValueJSON:
		raw := bytes.TrimSpace(v.Data)
		if len(raw) == 0 || string(raw) == "null" {
			return "", false
		}
		if raw[0] == '"' {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return s, true
			}
		}
		return string(raw), true
	default:
		return string(v.Data), true
	}
}

// envelope is the result a worker returns for a tool with
// useResultSchema: content and structuredContent are JSON text (a worker
// may also give them as JSON values).
type envelope struct {
	Type              string          `json:"type"`
	Content           json.RawMessage `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
}

// unquote turns a JSON string holding JSON into that JSON; other JSON stays.
func unquote(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return json.RawMessage(s)
		}
	}
	return raw
}

// toolResult maps a tool function's return value to the tools/call result,
// as the real extension does: without useResultSchema the value is one
// text block (null: no content); with it, the value is the envelope
// {"type","content","structuredContent"} (type call_tool_result: a whole
// result; multi_content_result: an array of blocks; else one block). A
// value that is not an envelope is shown as text.
func toolResult(t *mcptrigger.Tool, v funcd.Value) (*mcp.CallToolResult, error) {
	text, ok := valueText(v)
	if !ok {
		return &mcp.CallToolResult{Content: []mcp.Content{}}, nil
	}
	if t.UseResultSchema {
		var env envelope
		if err := json.Unmarshal([]byte(text), &env); err == nil && env.Type != "" && len(env.Content) > 0 {
			return envelopeResult(env)
		}
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil
}

func envelopeResult(env envelope) (*mcp.CallToolResult, error) {
	content := unquote(env.Content)
	var res mcp.CallToolResult
	switch env.Type {
	case "call_tool_result":
		if err := json.Unmarshal(content, &res); err != nil {
			return nil, fmt.Errorf("the function returned a call_tool_result whose content is not a tool result: %w", err)
		}
	case "multi_content_result":
		if err := json.Unmarshal(append(append([]byte(`{"content":`), content...), '}'), &res); err != nil {
			return nil, fmt.Errorf("the function returned a multi_content_result whose content is not an array of content blocks: %w", err)
		}
		if len(res.Content) == 0 {
			return nil, errors.New("the function returned a multi_content_result with no content blocks")
		}
	default:
		if text, ok := plainText(env.Type, content); ok {
			res.Content = []mcp.Content{&mcp.TextContent{Text: text}}
			break
		}
		if err := json.Unmarshal(append(append([]byte(`{"content":[`), content...), ']', '}'), &res); err != nil {
			return nil, fmt.Errorf("the function returned a %s result whose content is not a content block: %w", env.Type, err)
		}
	}
	if res.Content == nil {
		res.Content = []mcp.Content{}
	}
	if sc := unquote(env.StructuredContent); len(sc) > 0 && string(sc) != "null" {
		var v any
		if err := json.Unmarshal(sc, &v); err != nil {
			return nil, fmt.Errorf("the function returned structuredContent that is not JSON: %w", err)
		}
		res.StructuredContent = v
	}
	return &res, nil
}

// plainText reads the commonest envelope, a text block with nothing but
// its type and text, without the SDK's content decoding (which allocates
// a 32 KiB buffer for each JSON value it decodes); ok is false for any
// other block, which the SDK then decodes as before.
func plainText(typ string, content json.RawMessage) (text string, ok bool) {
	if typ != "text" || !utf8.Valid(content) {
		return "", false
	}
	var block map[string]json.RawMessage
	if json.Unmarshal(content, &block) != nil || len(block) != 2 || string(block["type"]) != `"text"` {
		return "", false
	}
	raw, has := block["text"]
	if !has || json.Unmarshal(raw, &text) != nil || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	return text, true
}

// failedTool is the result of a tool whose function failed: the real
// host's words, without the exception's.
func failedTool(name string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("An error occurred invoking '%s'.", name)}}}
}

// resourceResult maps a resource function's return value to the
// resources/read result: a string is the envelope {"content":"<contents
// JSON>"} or else the text itself, bytes are a blob, null is no contents.
// The content's uri and mimeType default to the request's and the
// binding's; a plain result carries the binding's metadata as its _meta, so
// that an MCP App's ui settings reach resources/read.
func resourceResult(r *mcptrigger.Resource, uri string, v funcd.Value) (*mcp.ReadResourceResult, error) {
	if v.Kind == funcd.ValueBytes && !utf8.Valid(v.Data) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: r.MIMEType, Blob: v.Data}}}, nil
	}
	text, ok := valueText(v)
	if !ok {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{}}, nil
	}
	var env struct {
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal([]byte(text), &env); err == nil && len(env.Content) > 0 {
		var c mcp.ResourceContents
		if err := json.Unmarshal(unquote(env.Content), &c); err == nil && (c.Text != "" || c.Blob != nil) {
			if c.URI == "" {
				c.URI = uri
			}
			if c.MIMEType == "" {
				c.MIMEType = r.MIMEType
			}
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{&c}}, nil
		}
	}
	c := &mcp.ResourceContents{URI: uri, MIMEType: r.MIMEType, Text: text}
	if len(r.Meta) > 0 {
		c.Meta = mcp.Meta(r.Meta)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{c}}, nil
}

// promptResult maps a prompt function's return value to the prompts/get
// result, as the real extension does: without useResultSchema the value is
// the text of one user message (null: no messages); with it, the value is
// the envelope {"type":"get_prompt_result"|"prompt_messages","content"}.
func promptResult(p *mcptrigger.Prompt, v funcd.Value) (*mcp.GetPromptResult, error) {
	text, ok := valueText(v)
	if !ok {
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{}}, nil
	}
	if !p.UseResultSchema {
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}}}, nil
	}
	var env envelope
	if err := json.Unmarshal([]byte(text), &env); err != nil {
		return nil, fmt.Errorf("the function return value is not a prompt result envelope: %w", err)
	}
	content := unquote(env.Content)
	if len(content) == 0 || string(content) == "null" {
		return nil, errors.New("the prompt result envelope has no content")
	}
	var res mcp.GetPromptResult
	switch strings.ToLower(env.Type) {
	case "get_prompt_result":
		if err := json.Unmarshal(content, &res); err != nil {
			return nil, fmt.Errorf("the get_prompt_result content is not a prompt result: %w", err)
		}
	case "prompt_messages":
		if err := json.Unmarshal(append(append([]byte(`{"messages":`), content...), '}'), &res); err != nil {
			return nil, fmt.Errorf("the prompt_messages content is not an array of prompt messages: %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown prompt result type %q", env.Type)
	}
	if res.Messages == nil {
		res.Messages = []*mcp.PromptMessage{}
	}
	return &res, nil
}
