package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// MCPContent is a content block of an MCP tool's result: TextContent,
// ImageContent, AudioContent, ResourceLink or EmbeddedResource. A type of
// one's own is a block too if its JSON is an MCP content block whose
// "type" is ContentType().
type MCPContent interface {
	// ContentType is the block's "type": "text", "image", "audio",
	// "resource_link" or "resource".
	ContentType() string
}

// TextContent is a text block.
type TextContent struct {
	Text string
	Meta map[string]any // _meta
}

// ImageContent is an image block; Data is sent base64-encoded.
type ImageContent struct {
	Data     []byte
	MIMEType string // "image/png", …
	Meta     map[string]any
}

// AudioContent is an audio block; Data is sent base64-encoded.
type AudioContent struct {
	Data     []byte
	MIMEType string // "audio/wav", …
	Meta     map[string]any
}

// ResourceLink is a link to a resource the client may read.
type ResourceLink struct {
	URI         string
	Name        string
	Title       string
	Description string
	MIMEType    string
	Size        int64 // bytes; 0 leaves it out
	Meta        map[string]any
}

// EmbeddedResource is a resource's contents embedded in the result.
type EmbeddedResource struct {
	Resource ResourceContents
	Meta     map[string]any
}

// ResourceContents are a resource's contents: Text, or Blob when it is
// not nil (sent base64-encoded). An MCP resource handler returns them to
// set the URI, MIME type or _meta of what resources/read returns (for an
// MCP App, _meta.ui with its csp and prefersBorder); an empty URI or
// MIMEType is the resource's.
type ResourceContents struct {
	URI      string
	MIMEType string
	Text     string
	Blob     []byte
	Meta     map[string]any
}

// CallToolResult is an MCP tool's whole result. When StructuredContent is
// set and Content has no TextContent, a text block with its JSON is
// added, for clients that show only content.
type CallToolResult struct {
	Content []MCPContent
	// StructuredContent is the result's structured data, a value that
	// encodes to a JSON object; for an MCP App, what its view renders.
	StructuredContent any
	// IsError reports a failure of the tool to the model, with Content
	// saying what went wrong.
	IsError bool
	Meta    map[string]any
}

// StructuredResult is what Structured returns.
type StructuredResult struct {
	Value any
}

// Structured makes v, which must encode to a JSON object, an MCP tool's
// structured content; the text block is v's JSON.
func Structured(v any) StructuredResult { return StructuredResult{Value: v} }

// ContentType is "text".
func (TextContent) ContentType() string { return "text" }

// ContentType is "image".
func (ImageContent) ContentType() string { return "image" }

// ContentType is "audio".
func (AudioContent) ContentType() string { return "audio" }

// ContentType is "resource_link".
func (ResourceLink) ContentType() string { return "resource_link" }

// ContentType is "resource".
func (EmbeddedResource) ContentType() string { return "resource" }

// MarshalJSON is the block's MCP JSON.
func (c TextContent) MarshalJSON() ([]byte, error) {
	return marshalJSON(struct {
		Type string         `json:"type"`
		Text string         `json:"text"`
		Meta map[string]any `json:"_meta,omitempty"`
	}{"text", c.Text, c.Meta})
}

type mediaJSON struct {
	Type     string         `json:"type"`
	Data     []byte         `json:"data"`
	MIMEType string         `json:"mimeType,omitempty"`
	Meta     map[string]any `json:"_meta,omitempty"`
}

// MarshalJSON is the block's MCP JSON.
func (c ImageContent) MarshalJSON() ([]byte, error) {
	return marshalJSON(mediaJSON{"image", nonNil(c.Data), c.MIMEType, c.Meta})
}

// MarshalJSON is the block's MCP JSON.
func (c AudioContent) MarshalJSON() ([]byte, error) {
	return marshalJSON(mediaJSON{"audio", nonNil(c.Data), c.MIMEType, c.Meta})
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// MarshalJSON is the block's MCP JSON.
func (c ResourceLink) MarshalJSON() ([]byte, error) {
	return marshalJSON(struct {
		Type        string         `json:"type"`
		URI         string         `json:"uri"`
		Name        string         `json:"name,omitempty"`
		Title       string         `json:"title,omitempty"`
		Description string         `json:"description,omitempty"`
		MIMEType    string         `json:"mimeType,omitempty"`
		Size        int64          `json:"size,omitempty"`
		Meta        map[string]any `json:"_meta,omitempty"`
	}{"resource_link", c.URI, c.Name, c.Title, c.Description, c.MIMEType, c.Size, c.Meta})
}

// MarshalJSON is the block's MCP JSON.
func (c EmbeddedResource) MarshalJSON() ([]byte, error) {
	return marshalJSON(struct {
		Type     string           `json:"type"`
		Resource ResourceContents `json:"resource"`
		Meta     map[string]any   `json:"_meta,omitempty"`
	}{"resource", c.Resource, c.Meta})
}

// MarshalJSON is the contents' MCP JSON: uri, mimeType, text or blob,
// _meta.
func (c ResourceContents) MarshalJSON() ([]byte, error) {
	if c.Blob != nil {
		return marshalJSON(struct {
			URI      string         `json:"uri"`
			MIMEType string         `json:"mimeType,omitempty"`
			Blob     []byte         `json:"blob"`
			Meta     map[string]any `json:"_meta,omitempty"`
		}{c.URI, c.MIMEType, c.Blob, c.Meta})
	}
	return marshalJSON(struct {
		URI      string         `json:"uri"`
		MIMEType string         `json:"mimeType,omitempty"`
		Text     string         `json:"text"`
		Meta     map[string]any `json:"_meta,omitempty"`
	}{c.URI, c.MIMEType, c.Text, c.Meta})
}

// marshalJSON is json.Marshal without HTML escaping: text reaches the
// client as it was written.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// mcpToolEnvelope is the return value of a tool with useResultSchema:
// the host's McpToolResult, whose content and structuredContent are JSON
// text.
type mcpToolEnvelope struct {
	Type              string  `json:"type"`
	Content           string  `json:"content"`
	StructuredContent *string `json:"structuredContent,omitempty"`
}

var mcpContentType = reflect.TypeFor[MCPContent]()

// mcpToolResult maps a tool handler's return value to the envelope the
// host reads (see App.MCPTool); nil for none.
func mcpToolResult(v any) (*rpcpb.TypedData, error) {
	if isNil(v) {
		return nil, nil
	}
	var env mcpToolEnvelope
	switch r := v.(type) {
	case string:
		return textEnvelope(r, nil)
	case []byte:
		return textEnvelope(string(r), nil)
	case json.RawMessage:
		return textEnvelope(string(r), nil)
	case StructuredResult:
		return structuredEnvelope(r.Value)
	case *StructuredResult:
		return structuredEnvelope(r.Value)
	case CallToolResult:
		return callToolEnvelope(&r)
	case *CallToolResult:
		return callToolEnvelope(r)
	case MCPContent:
		b, err := marshalJSON(r)
		if err != nil {
			return nil, err
		}
		env = mcpToolEnvelope{Type: r.ContentType(), Content: string(b)}
	default:
		blocks, ok := contentBlocks(v)
		if !ok {
			b, err := marshalJSON(v)
			if err != nil {
				return nil, err
			}
			return textEnvelope(string(b), nil)
		}
		switch len(blocks) {
		case 0:
			return nil, errors.New("an empty list of content blocks; return nil for an empty result")
		case 1:
			return mcpToolResult(blocks[0])
		}
		b, err := marshalJSON(blocks)
		if err != nil {
			return nil, err
		}
		env = mcpToolEnvelope{Type: "multi_content_result", Content: string(b)}
	}
	return envelopeData(&env)
}

// isNil says whether v is nil or a nil pointer, map, slice or interface.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// contentBlocks are the blocks of a slice of MCPContent ([]MCPContent,
// []TextContent, …); false if v is not one.
func contentBlocks(v any) ([]MCPContent, bool) {
	if s, ok := v.([]MCPContent); ok {
		return s, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || !rv.Type().Elem().Implements(mcpContentType) {
		return nil, false
	}
	out := make([]MCPContent, rv.Len())
	for i := range out {
		out[i], _ = rv.Index(i).Interface().(MCPContent)
	}
	return out, true
}

func textEnvelope(text string, structured *string) (*rpcpb.TypedData, error) {
	b, err := marshalJSON(TextContent{Text: text})
	if err != nil {
		return nil, err
	}
	return envelopeData(&mcpToolEnvelope{Type: "text", Content: string(b), StructuredContent: structured})
}

func structuredEnvelope(v any) (*rpcpb.TypedData, error) {
	b, err := structuredJSON(v)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return textEnvelope(s, &s)
}

// structuredJSON is a structured content's JSON, which must be an object.
func structuredJSON(v any) ([]byte, error) {
	b, err := marshalJSON(v)
	if err != nil {
		return nil, fmt.Errorf("its structured content: %w", err)
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("its structured content is %.40s; want a value that encodes to a JSON object", t)
	}
	return b, nil
}

func callToolEnvelope(r *CallToolResult) (*rpcpb.TypedData, error) {
	out := struct {
		Content           []MCPContent    `json:"content"`
		StructuredContent json.RawMessage `json:"structuredContent,omitempty"`
		IsError           bool            `json:"isError,omitempty"`
		Meta              map[string]any  `json:"_meta,omitempty"`
	}{Content: make([]MCPContent, 0, len(r.Content)+1), IsError: r.IsError, Meta: r.Meta}
	hasText := false
	for i, c := range r.Content {
		if isNil(c) {
			return nil, fmt.Errorf("content block %d is nil", i)
		}
		switch c.(type) {
		case TextContent, *TextContent:
			hasText = true
		}
		out.Content = append(out.Content, c)
	}
	if !isNil(r.StructuredContent) {
		b, err := structuredJSON(r.StructuredContent)
		if err != nil {
			return nil, err
		}
		out.StructuredContent = b
		if !hasText {
			out.Content = append(out.Content, TextContent{Text: string(b)})
		}
	}
	b, err := marshalJSON(out)
	if err != nil {
		return nil, err
	}
	return envelopeData(&mcpToolEnvelope{Type: "call_tool_result", Content: string(b)})
}

func envelopeData(env *mcpToolEnvelope) (*rpcpb.TypedData, error) {
	b, err := marshalJSON(env)
	if err != nil {
		return nil, err
	}
	return &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: string(b)}}, nil
}

// mcpResourceResult maps a resource handler's return value to what the
// host reads: a string (text), bytes (a blob), or the envelope
// {"content": "<contents JSON>"}; nil for none.
func mcpResourceResult(v any) (*rpcpb.TypedData, error) {
	if isNil(v) {
		return nil, nil
	}
	var c ResourceContents
	switch r := v.(type) {
	case string:
		return &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: r}}, nil
	case []byte:
		return &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: r}}, nil
	case ResourceContents:
		c = r
	case *ResourceContents:
		c = *r
	default:
		return nil, fmt.Errorf("a %T; a resource returns a string, a []byte or sdk.ResourceContents", v)
	}
	b, err := marshalJSON(c)
	if err != nil {
		return nil, err
	}
	env, err := marshalJSON(struct {
		Content string `json:"content"`
	}{string(b)})
	if err != nil {
		return nil, err
	}
	return &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: string(env)}}, nil
}
