package funcd

import "encoding/json"

// ValueKind says what a binding value holds.
type ValueKind uint8

// Value kinds. Each worker protocol encodes them its own way: a custom
// handler receives a string double-encoded and bytes as base64; a language
// worker receives TypedData string, bytes or json.
const (
	// ValueNone is no value (JSON null).
	ValueNone ValueKind = iota
	// ValueString is text, Data its UTF-8 bytes.
	ValueString
	// ValueBytes is binary data, Data the bytes.
	ValueBytes
	// ValueJSON is a JSON document, Data its text.
	ValueJSON
)

// Value is a binding's value: what a trigger or input binding produced, or
// what a function returned for an output binding.
type Value struct {
	Kind ValueKind
	Data []byte
}

// StringValue returns a text value.
func StringValue(s string) Value { return Value{Kind: ValueString, Data: []byte(s)} }

// BytesValue returns a binary value.
func BytesValue(b []byte) Value { return Value{Kind: ValueBytes, Data: b} }

// JSONValue returns a JSON value; raw must be valid JSON.
func JSONValue(raw json.RawMessage) Value { return Value{Kind: ValueJSON, Data: raw} }

// IsNone reports whether v holds no value.
func (v Value) IsNone() bool { return v.Kind == ValueNone }
