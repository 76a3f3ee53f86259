package httpworker

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/funcd/funcd"
)

// reply is a handler's answer in the default protocol. Field names match
// case-insensitively, as Json.NET matches them.
type reply struct {
	Outputs     map[string]json.RawMessage
	Logs        []json.RawMessage
	ReturnValue json.RawMessage
}

// errOutputFormat is the real host's message for an http output it cannot
// read.
const errOutputFormat = "Failed while trying to Deserialize to httpOutputBindingResponse. Output is not in expected format"

// parseReply reads a reply body. It fails unless the body is one JSON object
// whose Outputs (if any) is an object and whose Logs (if any) is an array of
// strings, numbers or booleans.
func parseReply(body []byte) (*reply, []string, error) {
	if !isJSONObject(body) {
		return nil, nil, errors.New("the body is not a JSON object")
	}
	var r reply
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, nil, err
	}
	logs, err := replyLogs(r.Logs)
	if err != nil {
		return nil, nil, err
	}
	if string(r.ReturnValue) == "null" {
		r.ReturnValue = nil
	}
	return &r, logs, nil
}

func isJSONObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '{'
	}
	return false
}

// replyLogs converts Logs as Json.NET reads a List<string>: numbers and
// booleans become their .NET text, nulls are dropped, anything else fails.
func replyLogs(raw []json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	logs := make([]string, 0, len(raw))
	for _, r := range raw {
		switch r[0] {
		case 'n':
			continue
		case '"':
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return nil, err
			}
			logs = append(logs, s)
		case 't', 'f':
			logs = append(logs, boolString(r[0] == 't'))
		case '{', '[':
			return nil, fmt.Errorf("a Logs entry is not a string: %.40s", r)
		default:
			logs = append(logs, numberString(string(r)))
		}
	}
	return logs, nil
}

// mapReply turns a parsed reply into the invocation's result: Logs, the
// ReturnValue, the values of declared output bindings found under their
// exact name in Outputs, and, for an HTTP-triggered invocation, the response
// its http output binding makes. Outputs without the http binding's name
// answers 200 "{}"; no Outputs at all answers nothing (Result.HTTP nil).
func mapReply(fn *funcd.Function, r *reply, logs []string, httpTriggered bool) (*funcd.Result, error) {
	res := &funcd.Result{Logs: logs}
	if r.ReturnValue != nil {
		res.ReturnValue = funcd.JSONValue(r.ReturnValue)
	}
	for _, b := range fn.Bindings {
		if b.Direction != funcd.Out && b.Direction != funcd.InOut {
			continue
		}
		isHTTP := strings.EqualFold(b.Type, "http")
		switch {
		case b.Name == "$return":
			if isHTTP && httpTriggered && r.ReturnValue != nil {
				resp, err := returnResponse(r.ReturnValue, b.DataType)
				if err != nil {
					return nil, err
				}
				res.HTTP = resp
			}
			if !isHTTP && r.ReturnValue != nil {
				if err := setOutput(res, &b, r.ReturnValue); err != nil {
					return nil, err
				}
			}
		case isHTTP:
			if httpTriggered && r.Outputs != nil {
				resp, err := outputResponse(r.Outputs, b.Name)
				if err != nil {
					return nil, err
				}
				res.HTTP = resp
			}
		default:
			if v, ok := r.Outputs[b.Name]; ok {
				if err := setOutput(res, &b, v); err != nil {
					return nil, err
				}
			}
		}
	}
	return res, nil
}

// setOutput converts an output binding's value from the reply (see
// outputValue) into res.Outputs.
func setOutput(res *funcd.Result, b *funcd.Binding, raw json.RawMessage) error {
	v, err := outputValue(raw, b.DataType)
	if err != nil {
		return &replyError{msg: "Invalid HttpResponseMessage", detail: fmt.Sprintf("Outputs[%q]: %v", b.Name, err)}
	}
	if res.Outputs == nil {
		res.Outputs = make(map[string]funcd.Value)
	}
	res.Outputs[b.Name] = v
	return nil
}

// outputResponse maps Outputs[name] of an http output binding (an object,
// or a string holding one) to a response: statusCode (a number or numeric
// string; default 200), headers, body (a string as is, an object or array as
// indented JSON, null or missing as empty).
func outputResponse(outputs map[string]json.RawMessage, name string) (*funcd.HTTPResponse, error) {
	raw, ok := outputs[name]
	if !ok {
		return textResponse(http.StatusOK, nil, tokenString, "{}")
	}
	v, err := parseJSON(raw)
	if err == nil && v.kind == jstring {
		v, err = parseJSON([]byte(v.s))
	}
	if err != nil || v.kind != jobject {
		return nil, outputError(name, "is not a JSON object or a string holding one")
	}
	status := http.StatusOK
	for _, field := range []string{"statusCode", "status"} {
		s, ok, err := propertyString(&v, field)
		if err != nil {
			return nil, outputError(name, err.Error())
		}
		if ok && field == "statusCode" {
			if n, valid := parseDotnetInt32(s); valid {
				status = n
			}
		}
	}
	headers, _ := lastFold(&v, "headers")
	if headers.kind != jnull && headers.kind != jobject {
		return nil, outputError(name, "has headers that are not an object")
	}
	body, _ := lastFold(&v, "body")
	text, _ := tokenString(body)
	return textResponse(status, headers.obj, tokenString, text)
}

// propertyString reads a string property of HttpOutputBindingResponse:
// ok is false for null; objects and arrays do not convert.
func propertyString(v *jvalue, name string) (s string, ok bool, err error) {
	p, _ := lastFold(v, name)
	switch p.kind {
	case jnull:
		return "", false, nil
	case jobject, jarray:
		return "", false, fmt.Errorf("has a %s that is not a string or a number", name)
	}
	s, ok = scalarString(p)
	return s, ok, nil
}

// lastFold returns the last member whose name equals name ignoring case:
// Json.NET assigns a property once for each spelling it meets.
func lastFold(v *jvalue, name string) (jvalue, bool) {
	for i := len(v.obj) - 1; i >= 0; i-- {
		if strings.EqualFold(v.obj[i].name, name) {
			return v.obj[i].val, true
		}
	}
	return jvalue{}, false
}

func outputError(name, problem string) error {
	return &replyError{msg: errOutputFormat, detail: fmt.Sprintf("Outputs[%q] %s", name, problem)}
}

// returnResponse maps the ReturnValue bound to an http $return binding as
// HttpBinding.CreateResult does. A string is first tried as base64 (unless
// the binding's dataType is binary), which makes the body those bytes; then
// as JSON. An object with a "body" property is a response object
// (statusCode or status, headers, body); any other value is the body of a
// 200 response.
func returnResponse(raw json.RawMessage, dataType string) (*funcd.HTTPResponse, error) {
	v, err := parseJSON(raw)
	if err != nil {
		return nil, &replyError{msg: "Invalid ReturnValue", detail: err.Error()}
	}
	if v.kind == jstring && !strings.EqualFold(dataType, "binary") {
		if b, ok := dotnetBase64(v.s); ok {
			return &funcd.HTTPResponse{Status: http.StatusOK, Header: map[string][]string{}, Body: b}, nil
		}
	}
	if v.kind == jstring {
		if parsed, err := parseJSON([]byte(v.s)); err == nil {
			v = parsed
		}
	}
	if v.kind != jobject {
		text, _ := tokenString(v)
		return textResponse(http.StatusOK, nil, tokenString, text)
	}
	body, ok := v.get("body")
	if !ok {
		return textResponse(http.StatusOK, nil, tokenString, string(appendJSON(nil, v, true, 0)))
	}
	status, err := expandoStatus(&v)
	if err != nil {
		return nil, err
	}
	var headers []jmember
	if h, ok := v.get("headers"); ok && h.kind == jobject {
		headers = h.obj
	}
	text := ""
	switch body.kind {
	case jobject:
		text = string(appendJSON(nil, body, false, 0))
	default:
		text, _ = expandoString(body)
	}
	return textResponse(status, headers, expandoString, text)
}

// expandoStatus reads statusCode, or status when there is no statusCode, as
// HttpBinding.TryParseStatusCode does: an integer or a string holding one;
// anything else means 200.
func expandoStatus(v *jvalue) (int, error) {
	s, ok := v.get("statusCode")
	if !ok {
		s, ok = v.get("status")
	}
	if !ok {
		return http.StatusOK, nil
	}
	switch {
	case s.kind == jnumber && !isFloat(s.s):
		n, err := strconv.ParseInt(s.s, 10, 64)
		if err != nil { // a BigInteger: not a type the host handles
			return http.StatusOK, nil
		}
		if n != int64(int32(n)) {
			return 0, &replyError{msg: "Value was either too large or too small for an Int32.", detail: "statusCode " + s.s}
		}
		return int(n), nil
	case s.kind == jstring:
		if n, ok := parseDotnetInt32(s.s); ok {
			return n, nil
		}
	}
	return http.StatusOK, nil
}

// textResponse makes a response whose body the string formatter writes: the
// Content-Type (text/plain unless a header sets it) gets charset=utf-8.
// Headers are added in order; a name already present (in any case) is
// dropped, and Content-Type is set by its last occurrence.
func textResponse(status int, headers []jmember, toString func(jvalue) (string, bool), body string) (*funcd.HTTPResponse, error) {
	if status < 100 || status > 999 {
		return nil, &replyError{msg: "Invalid HTTP status code", detail: strconv.Itoa(status)}
	}
	h := make(map[string][]string, len(headers)+1)
	contentType := "text/plain"
	for _, m := range headers {
		val, ok := toString(m.val)
		if strings.EqualFold(m.name, "content-type") {
			if !ok {
				return nil, &replyError{msg: "content-type header cannot be null"}
			}
			contentType = val
			continue
		}
		if !ok {
			return nil, &replyError{msg: "Invalid response header", detail: fmt.Sprintf("header %q is null", m.name)}
		}
		if err := checkHeader(m.name, val); err != nil {
			return nil, err
		}
		key := http.CanonicalHeaderKey(m.name)
		if _, dup := h[key]; !dup {
			h[key] = []string{val}
		}
	}
	contentType = withUTF8Charset(contentType)
	if err := checkHeader("Content-Type", contentType); err != nil {
		return nil, err
	}
	h["Content-Type"] = []string{contentType}
	return &funcd.HTTPResponse{Status: status, Header: h, Body: []byte(body)}, nil
}

// checkHeader rejects what Kestrel refuses to write: a name that is not an
// HTTP token, a value with control or non-ASCII characters.
func checkHeader(name, value string) error {
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return r >= 0x80 || !tokenChar[r] }) >= 0 {
		return &replyError{msg: "Invalid response header", detail: fmt.Sprintf("invalid header name %q", name)}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c != '\t' && (c < 0x20 || c > 0x7e) {
			return &replyError{msg: "Invalid response header", detail: fmt.Sprintf("invalid character 0x%02X in header %q", c, name)}
		}
	}
	return nil
}

var tokenChar = func() (t [128]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = true
	}
	for _, c := range `"(),/:;<=>?@[\]{}` {
		t[c] = false
	}
	return t
}()

// withUTF8Charset sets the charset parameter of a media type to utf-8, as
// ASP.NET Core's TextOutputFormatter does ("text/plain" becomes
// "text/plain; charset=utf-8"; a charset other than utf-8 is replaced).
func withUTF8Charset(mediaType string) string {
	params := mediaType
	offset := 0
	for {
		i := strings.IndexByte(params, ';')
		if i < 0 {
			return mediaType + "; charset=utf-8"
		}
		offset += i + 1
		params = params[i+1:]
		name, value, found := strings.Cut(params, "=")
		if !found || !strings.EqualFold(strings.TrimSpace(name), "charset") {
			continue
		}
		start := offset + len(name) + 1
		if end := strings.IndexByte(value, ';'); end >= 0 {
			value = value[:end]
		}
		lead := len(value) - len(strings.TrimLeft(value, " \t"))
		v := strings.TrimSpace(value)
		if strings.EqualFold(strings.Trim(v, `"`), "utf-8") {
			return mediaType
		}
		start += lead
		return mediaType[:start] + "utf-8" + mediaType[start+len(v):]
	}
}

// replyError is a reply the host cannot use. The invoker turns it into a
// funcd.Error that names the function and the handler.
type replyError struct {
	msg    string // the real host's words
	detail string // what exactly was wrong
}

func (e *replyError) Error() string {
	if e.detail == "" {
		return e.msg
	}
	return e.msg + ": " + e.detail
}
