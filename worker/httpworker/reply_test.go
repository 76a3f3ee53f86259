package httpworker

import (
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/funcd/funcd"
)

const textPlain = "text/plain; charset=utf-8"

type wantResponse struct {
	status int
	header map[string]string // exact set of headers
	body   string
}

func checkResponse(t *testing.T, got *funcd.HTTPResponse, want *wantResponse) {
	t.Helper()
	if want == nil {
		if got != nil {
			t.Fatalf("HTTP = %+v, want none", got)
		}
		return
	}
	if got == nil {
		t.Fatal("HTTP = nil, want a response")
	}
	if got.Status != want.status || string(got.Body) != want.body {
		t.Errorf("response = %d %q, want %d %q", got.Status, got.Body, want.status, want.body)
	}
	gotHeader := map[string]string{}
	for k, vs := range got.Header {
		gotHeader[k] = strings.Join(vs, "|")
	}
	if !maps.Equal(gotHeader, want.header) {
		t.Errorf("headers = %v, want %v", gotHeader, want.header)
	}
}

func TestReplyMapping(t *testing.T) {
	e := newTestEnv(t).start()
	resFn := httpFunction("reply", "", funcd.Binding{Name: "msg", Type: "queue", Direction: funcd.Out})
	retFn := returnFunction("reply")
	retBinary := returnFunction("reply")
	retBinary.Bindings[1].DataType = "binary"

	tests := []struct {
		name  string
		fn    *funcd.Function
		reply string
		want  *wantResponse
		logs  []string
	}{
		{"res object", resFn, `{"Outputs":{"res":{"statusCode":201,"headers":{"X-A":"1","Content-Type":"application/json"},"body":"{\"ok\":true}"}}}`,
			&wantResponse{201, map[string]string{"X-A": "1", "Content-Type": "application/json; charset=utf-8"}, `{"ok":true}`}, nil},
		{"res as a JSON string", resFn, `{"Outputs":{"res":"{\"statusCode\":\"202\",\"body\":\"s\"}"}}`,
			&wantResponse{202, map[string]string{"Content-Type": textPlain}, "s"}, nil},
		{"numeric string status with spaces", resFn, `{"Outputs":{"res":{"statusCode":" 404 ","body":"x"}}}`,
			&wantResponse{404, map[string]string{"Content-Type": textPlain}, "x"}, nil},
		{"unparseable status means 200", resFn, `{"Outputs":{"res":{"statusCode":"abc","status":500,"body":"x"}}}`,
			&wantResponse{200, map[string]string{"Content-Type": textPlain}, "x"}, nil},
		{"status alone is ignored", resFn, `{"Outputs":{"res":{"status":500,"body":"x"}}}`,
			&wantResponse{200, map[string]string{"Content-Type": textPlain}, "x"}, nil},
		{"float status", resFn, `{"Outputs":{"res":{"statusCode":201.0,"body":"x"}}}`,
			&wantResponse{201, map[string]string{"Content-Type": textPlain}, "x"}, nil},
		{"object body is indented", resFn, `{"Outputs":{"res":{"body":{"message":"hi","list":[1,2.0,{}],"empty":[]}}}}`,
			&wantResponse{200, map[string]string{"Content-Type": textPlain},
				"{\n  \"message\": \"hi\",\n  \"list\": [\n    1,\n    2.0,\n    {}\n  ],\n  \"empty\": []\n}"}, nil},
		{"null body", resFn, `{"Outputs":{"res":{"statusCode":200,"body":null}}}`,
			&wantResponse{200, map[string]string{"Content-Type": textPlain}, ""}, nil},
		{"number and bool bodies", resFn, `{"Outputs":{"res":{"body":true}}}`,
			&wantResponse{200, map[string]string{"Content-Type": textPlain}, "True"}, nil},
		{"header values stringified", resFn, `{"Outputs":{"res":{"headers":{"x-num":5,"x-bool":false,"x-f":1.50,"X-Num":"dup"},"body":"b"}}}`,
			&wantResponse{200, map[string]string{"X-Num": "5", "X-Bool": "False", "X-F": "1.5", "Content-Type": textPlain}, "b"}, nil},
		{"content type with another charset", resFn, `{"Outputs":{"res":{"headers":{"content-type":"text/html; charset=iso-8859-1"},"body":"<p>"}}}`,
			&wantResponse{200, map[string]string{"Content-Type": "text/html; charset=utf-8"}, "<p>"}, nil},
		{"Outputs without res", resFn, `{"Outputs":{"msg":"queued"}}`,
			&wantResponse{200, map[string]string{"Content-Type": textPlain}, "{}"}, nil},
		{"no Outputs", resFn, `{"Logs":["only logs"]}`, nil, []string{"only logs"}},
		{"res without body", resFn, `{"Outputs":{"res":{"statusCode":"204"}}}`,
			&wantResponse{204, map[string]string{"Content-Type": textPlain}, ""}, nil},
		{"case-insensitive fields", resFn, `{"outputs":{"res":{"STATUSCODE":418,"Body":"teapot"}},"LOGS":["a",1,true,null,2.50],"returnvalue":"r"}`,
			&wantResponse{418, map[string]string{"Content-Type": textPlain}, "teapot"}, []string{"a", "1", "True", "2.5"}},
		{"return string", retFn, `{"ReturnValue":"hello world"}`,
			&wantResponse{200, map[string]string{"Content-Type": textPlain}, "hello world"}, nil},
		{"return base64-looking string", retFn, `{"ReturnValue":"abcd"}`,
			&wantResponse{200, map[string]string{}, "i\xb7\x1d"}, nil},
		{"return string with binary dataType", retBinary, `{"ReturnValue":"abcd"}`,
			&wantResponse{200, map[string]string{"Content-Type": textPlain}, "abcd"}, nil},
		{"return response object", retFn, `{"ReturnValue":{"statusCode":201,"headers":{"X-A":"1","x-n":2,"x-o":{}},"body":"made"}}`,
			&wantResponse{201, map[string]string{"X-A": "1", "X-N": "2", "X-O": "System.Dynamic.ExpandoObject", "Content-Type": textPlain}, "made"}, nil},
		{"return JSON string with body", retFn, `{"ReturnValue":"{\"status\":\"202\",\"body\":{\"a\":[1,2.0]}}"}`,
			&wantResponse{202, map[string]string{"Content-Type": textPlain}, `{"a":[1,2.0]}`}, nil},
		{"return object without body", retFn, `{"ReturnValue":{"a":1}}`,
			&wantResponse{200, map[string]string{"Content-Type": textPlain}, "{\n  \"a\": 1\n}"}, nil},
		{"return array body", retFn, `{"ReturnValue":{"body":[1]}}`,
			&wantResponse{200, map[string]string{"Content-Type": textPlain}, "System.Collections.Generic.List`1[System.Object]"}, nil},
		{"return number", retFn, `{"ReturnValue":42.5}`,
			&wantResponse{200, map[string]string{"Content-Type": textPlain}, "42.5"}, nil},
		{"no return value", retFn, `{"ReturnValue":null}`, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.mustInvoke(replyInvocation(tt.fn, 200, "application/json", tt.reply))
			checkResponse(t, res.HTTP, tt.want)
			if !slices.Equal(res.Logs, tt.logs) {
				t.Errorf("Logs = %q, want %q", res.Logs, tt.logs)
			}
		})
	}
}

func TestReplyOutputsAndReturnValue(t *testing.T) {
	e := newTestEnv(t).start()
	fn := httpFunction("reply", "", funcd.Binding{Name: "msg", Type: "queue", Direction: funcd.Out})
	res := e.mustInvoke(replyInvocation(fn, 200, "application/json",
		`{"Outputs":{"msg":["a","b"],"Msg":"other case","res":{"body":"x"},"undeclared":1},"ReturnValue":{"k":"v"}}`))
	if len(res.Outputs) != 1 || res.Outputs["msg"].Kind != funcd.ValueJSON || string(res.Outputs["msg"].Data) != `["a","b"]` {
		t.Errorf("Outputs = %v", res.Outputs)
	}
	if res.ReturnValue.Kind != funcd.ValueJSON || string(res.ReturnValue.Data) != `{"k":"v"}` {
		t.Errorf("ReturnValue = %v", res.ReturnValue)
	}
}

func TestReplyFailures(t *testing.T) {
	e := newTestEnv(t).start()
	fn := httpFunction("reply", "")
	pid := e.pid()
	tests := []struct {
		name              string
		status            int
		contentType, body string
		want              []string
	}{
		{"status 500", 500, "text/plain", "internal failure",
			[]string{"Response status code does not indicate success: 500 (Internal Server Error).", "Function 'reply'", handlerBin, `"internal failure"`}},
		{"status 302 is not followed into success", 404, "", "",
			[]string{"Response status code does not indicate success: 404 (Not Found)", "(empty body)"}},
		{"garbage", 200, "application/json", "this is not JSON",
			[]string{"Invalid HttpResponseMessage: function 'reply'", handlerBin, `"this is not JSON"`, "JSON object"}},
		{"array", 200, "application/json", "[1,2]", []string{"Invalid HttpResponseMessage"}},
		{"null", 200, "application/json", "null", []string{"Invalid HttpResponseMessage"}},
		{"Outputs not an object", 200, "application/json", `{"Outputs":[1]}`, []string{"Invalid HttpResponseMessage"}},
		{"Logs of objects", 200, "application/json", `{"Logs":[{}]}`, []string{"Invalid HttpResponseMessage"}},
		{"res a number", 200, "application/json", `{"Outputs":{"res":5}}`,
			[]string{errOutputFormat, `Outputs["res"]`, "Function 'reply'", handlerBin}},
		{"res a non-JSON string", 200, "application/json", `{"Outputs":{"res":"plain"}}`, []string{errOutputFormat}},
		{"status code an object", 200, "application/json", `{"Outputs":{"res":{"statusCode":{}}}}`, []string{errOutputFormat}},
		{"null content type", 200, "application/json", `{"Outputs":{"res":{"headers":{"Content-Type":null}}}}`,
			[]string{"content-type header cannot be null"}},
		{"bad header", 200, "application/json", `{"Outputs":{"res":{"headers":{"X-A":"line\nbreak"}}}}`,
			[]string{"Invalid response header"}},
		{"bad status", 200, "application/json", `{"Outputs":{"res":{"statusCode":42}}}`,
			[]string{"Invalid HTTP status code"}},
		{"long body is cut", 500, "", strings.Repeat("y", 2000), []string{"... (1488 more bytes)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.invoke(replyInvocation(fn, tt.status, tt.contentType, tt.body))
			if err == nil {
				t.Fatal("Invoke succeeded")
			}
			t.Log(err)
			var fe *funcd.Error
			if !errors.As(err, &fe) || fe.Code != funcd.EINTERNAL {
				t.Fatalf("err = %#v, want a funcd.Error with code EINTERNAL", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
	// Bad replies do not restart the handler.
	if got := e.pid(); got != pid {
		t.Errorf("handler restarted after bad replies: pid %d -> %d", pid, got)
	}
	e.mustInvoke(replyInvocation(fn, 200, "application/json", `{}`))
}

// An empty 2xx reply is a run without outputs (the real host would wait for
// it until functionTimeout); the first one of each function is logged.
func TestReplyEmptyBody(t *testing.T) {
	e := newTestEnv(t).start()
	fn := httpFunction("reply", "")
	for _, body := range []string{"", "", " \n"} {
		// No response bound: the host answers the caller 200 with an
		// empty body, as for a reply of {}.
		if res := e.mustInvoke(replyInvocation(fn, 200, "", body)); res.HTTP != nil || len(res.Outputs) != 0 {
			t.Errorf("reply %q: HTTP %v, outputs %v; want none", body, res.HTTP, res.Outputs)
		}
	}
	warned := 0
	e.logs.find(func(r logRecord) bool {
		if strings.Contains(r.msg, "answered function 'reply' with 200 and an empty body") && r.level == slog.LevelWarn {
			warned++
		}
		return false
	})
	if warned != 1 {
		t.Errorf("%d warnings about the empty reply, want 1; logs:\n%s", warned, e.logs)
	}
}

func TestReplyContentTypeIsNotChecked(t *testing.T) {
	e := newTestEnv(t).start()
	res := e.mustInvoke(replyInvocation(httpFunction("reply", ""), 200, "", `{"Outputs":{"res":{"body":"sniffed"}}}`))
	checkResponse(t, res.HTTP, &wantResponse{200, map[string]string{"Content-Type": textPlain}, "sniffed"})
}

// Fast, process-free checks of the mapping.

func TestMapReplyNonHTTPTrigger(t *testing.T) {
	fn := httpFunction("f", "")
	r, logs, err := parseReply([]byte(`{"Outputs":{"res":{"body":"x"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := mapReply(fn, r, logs, false)
	if err != nil || res.HTTP != nil {
		t.Fatalf("mapReply = %+v, %v; want no response without an HTTP trigger", res, err)
	}
}

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"Outputs":{"res":{"statusCode":"201","headers":{"a":1},"body":{"x":[1,2.5e300]}}}}`,
		`{"Outputs":{"res":"{\"body\":null}"},"Logs":["a",1,true],"ReturnValue":"abcd"}`,
		`{"ReturnValue":{"body":{"a":{}},"headers":{"Content-Type":"x; charset=\"a\""},"statusCode":99999999999}}`,
		`{"ReturnValue":"{\"statusCode\":-0,\"body\":1e-7}"}`, `{"Outputs":{"res":{"headers":[]}}}`,
	} {
		f.Add([]byte(s))
	}
	fns := []*funcd.Function{
		httpFunction("f", "", funcd.Binding{Name: "q", Type: "queue", Direction: funcd.Out}),
		returnFunction("g"),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, logs, err := parseReply(data)
		if err != nil {
			return
		}
		for _, fn := range fns {
			res, err := mapReply(fn, r, logs, true)
			if err == nil && res.HTTP != nil && (res.HTTP.Status < 100 || res.HTTP.Status > 999) {
				t.Fatalf("status %d", res.HTTP.Status)
			}
		}
		if r.ReturnValue != nil && !json.Valid(r.ReturnValue) {
			t.Fatalf("ReturnValue %q is not JSON", r.ReturnValue)
		}
	})
}
