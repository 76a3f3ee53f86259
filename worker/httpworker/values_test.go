package httpworker

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/funcd/funcd"
)

// Each kind of value as the real host's GetHttpScriptInvocationContextValue
// and Json.NET put it in Data.
func TestDataValueEncoding(t *testing.T) {
	tests := []struct {
		name string
		v    funcd.Value
		want string
	}{
		{"string double-encoded", funcd.StringValue("hello"), `"\"hello\""`},
		{"string with quotes", funcd.StringValue(`say "hi"` + "\n"), `"\"say \\\"hi\\\"\\n\""`},
		{"empty string", funcd.StringValue(""), `"\"\""`},
		{"bytes as base64", funcd.BytesValue([]byte{0, 1, 2, 0xff}), `"AAEC/w=="`},
		{"JSON object as is", funcd.JSONValue(json.RawMessage(`{ "a" : [1, "x"] }`)), `{"a":[1,"x"]}`},
		{"JSON array as its text", funcd.JSONValue(json.RawMessage(`[1, 2]`)), `"[1,2]"`},
		{"JSON number as its text", funcd.JSONValue(json.RawMessage(`4`)), `"4"`},
		{"JSON boolean as its text", funcd.JSONValue(json.RawMessage(`true`)), `"true"`},
		{"JSON string double-encoded", funcd.JSONValue(json.RawMessage(`"abc"`)), `"\"abc\""`},
		{"none", funcd.Value{}, `"null"`},
	}
	for _, tt := range tests {
		got, err := appendDataValue(nil, tt.v)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: got %s (%v), want %s", tt.name, got, err, tt.want)
		}
	}
}

// Metadata values are natural JSON; dates are DateTimeOffsets, sent as
// JSON dates to the second with their offset.
func TestMetadataValueEncoding(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`"abc"`, `"\"abc\""`},
		{`1`, `"1"`},
		{`2.5`, `"2.5"`},
		{`false`, `"false"`},
		{`{"Name":"x","Size":3}`, `{"Name":"x","Size":3}`},
		{`["a"]`, `"[\"a\"]"`},
		{`"2024-10-24T12:34:56.789Z"`, `"2024-10-24T12:34:56+00:00"`},
		{`"2024-10-24T12:34:56-07:00"`, `"2024-10-24T12:34:56-07:00"`},
		{`"2024-10-24"`, `"\"2024-10-24\""`},
	}
	for _, tt := range tests {
		got, err := appendMetadataValue(nil, json.RawMessage(tt.raw))
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: got %s (%v), want %s", tt.raw, got, err, tt.want)
		}
	}
}

func TestRetryContextEncoding(t *testing.T) {
	got := string(appendRetryContext(nil, "fn", &funcd.RetryContext{RetryCount: 0, MaxRetryCount: 3}))
	if want := `{"RetryCount":0,"MaxRetryCount":3,"Exception":null}`; got != want {
		t.Errorf("first attempt: %s, want %s", got, want)
	}
	got = string(appendRetryContext(nil, "fn", &funcd.RetryContext{RetryCount: 2, MaxRetryCount: -1, Err: errors.New("boom")}))
	var rc struct {
		RetryCount, MaxRetryCount int
		Exception                 struct {
			ClassName, Message string
			InnerException     struct{ Message string }
		}
	}
	if err := json.Unmarshal([]byte(got), &rc); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if rc.RetryCount != 2 || rc.MaxRetryCount != -1 || rc.Exception.Message != "Exception while executing function: Functions.fn" || rc.Exception.InnerException.Message != "boom" {
		t.Errorf("retry context %s", got)
	}
}

// Output values: unless dataType is binary, a string that is valid base64
// becomes its bytes (the real host's GetBindingValue).
func TestOutputValueConversion(t *testing.T) {
	tests := []struct {
		raw, dataType string
		want          funcd.Value
	}{
		{`"abcd"`, "", funcd.BytesValue([]byte{0x69, 0xb7, 0x1d})},
		{`"abcd"`, "binary", funcd.StringValue("abcd")},
		{`"hello world"`, "", funcd.StringValue("hello world")},
		{`"[1,2]"`, "", funcd.StringValue("[1,2]")},
		{`[1, 2]`, "", funcd.JSONValue(json.RawMessage(`[1,2]`))},
		{`{"a": 1}`, "string", funcd.JSONValue(json.RawMessage(`{"a":1}`))},
		{`null`, "", funcd.Value{}},
	}
	for _, tt := range tests {
		got, err := outputValue(json.RawMessage(tt.raw), tt.dataType)
		if err != nil || got.Kind != tt.want.Kind || string(got.Data) != string(tt.want.Data) {
			t.Errorf("%s (%s): got %v %q (%v), want %v %q", tt.raw, tt.dataType, got.Kind, got.Data, err, tt.want.Kind, tt.want.Data)
		}
	}
}

func TestReplyReturnBindingOutput(t *testing.T) {
	fn := &funcd.Function{Name: "q", Bindings: []funcd.Binding{
		{Name: "msg", Type: "queueTrigger", Direction: funcd.In},
		{Name: "$return", Type: "queue", Direction: funcd.Out},
		{Name: "out", Type: "queue", Direction: funcd.Out, DataType: "binary"},
	}}
	r, logs, err := parseReply([]byte(`{"Outputs":{"out":"abcd"},"ReturnValue":"text with spaces"}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := mapReply(fn, r, logs, false)
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Outputs["$return"]; v.Kind != funcd.ValueString || string(v.Data) != "text with spaces" {
		t.Errorf("$return = %v %q", v.Kind, v.Data)
	}
	if v := res.Outputs["out"]; v.Kind != funcd.ValueString || string(v.Data) != "abcd" {
		t.Errorf("out = %v %q", v.Kind, v.Data)
	}
	if res.ReturnValue.Kind != funcd.ValueJSON || string(res.ReturnValue.Data) != `"text with spaces"` {
		t.Errorf("ReturnValue = %v %q", res.ReturnValue.Kind, res.ReturnValue.Data)
	}
}
