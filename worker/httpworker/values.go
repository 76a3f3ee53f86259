package httpworker

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/funcd/funcd"
)

// Binding values go into the payload as the real host's
// ScriptInvocationContextExtensions.GetHttpScriptInvocationContextValue
// makes them, then Json.NET writes them:
//
//   - bytes: a base64 string (dataType binary keeps the byte[], which
//     Json.NET writes as the same base64);
//   - a DateTime or DateTimeOffset: parsed again from its text, so written
//     as a JSON date to the second;
//   - anything JObject.FromObject accepts (a POCO, a dictionary): the
//     object;
//   - anything else, strings and numbers above all: JsonConvert.
//     SerializeObject's text as a JSON string, so the string hello arrives
//     as "\"hello\"" and the number 4 as "4".
//
// The same rule applies to Data (the trigger and the input bindings) and to
// Metadata (the trigger's binding data); in Metadata a null is left out,
// and so is every key ending in "trigger".

// appendDataValue appends a trigger's or input binding's value. No value
// is Json.NET's text of null, as a string.
func appendDataValue(dst []byte, v funcd.Value) ([]byte, error) {
	switch v.Kind {
	case funcd.ValueString:
		return appendDoubleEncoded(dst, string(v.Data)), nil
	case funcd.ValueBytes:
		return appendBase64(dst, v.Data), nil
	case funcd.ValueJSON:
		return appendJSONValue(dst, v.Data, false)
	}
	return append(dst, `"null"`...), nil
}

// appendMetadataValue appends a value of binding data (natural JSON, not
// null). A string that is an RFC 3339 time is a DateTimeOffset of the
// binding data, which the host sends as a date rather than as text.
func appendMetadataValue(dst []byte, raw json.RawMessage) ([]byte, error) {
	return appendJSONValue(dst, raw, true)
}

// appendJSONValue appends a JSON value the host holds as a .NET value: an
// object as the object, anything else as the JSON string of its text. With
// dates, a string holding an RFC 3339 time is written as the date.
func appendJSONValue(dst []byte, raw json.RawMessage, dates bool) ([]byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, err
	}
	text := compact.Bytes()
	switch {
	case text[0] == '{':
		return append(dst, text...), nil
	case text[0] == '"':
		var s string
		if err := json.Unmarshal(text, &s); err != nil {
			return nil, err
		}
		if dates {
			if t, ok := parseDate(s); ok {
				return appendDate(dst, t), nil
			}
		}
		return appendDoubleEncoded(dst, s), nil
	case string(text) == "null":
		return append(dst, `"null"`...), nil
	}
	// Arrays, numbers and booleans: SerializeObject's text, as a string.
	return appendString(dst, string(text)), nil
}

// parseDate reads an RFC 3339 date and time, the form binding data gives
// DateTimeOffset values.
func parseDate(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[4] != '-' || s[10] != 'T' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// appendDate appends a DateTimeOffset as the host sends it: re-parsed from
// its text (to the second) and written by Json.NET with its offset.
func appendDate(dst []byte, t time.Time) []byte {
	t = t.Truncate(time.Second)
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, "2006-01-02T15:04:05")
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	dst = append(dst, sign)
	dst = appendTwo(dst, off/3600)
	dst = append(dst, ':')
	dst = appendTwo(dst, off%3600/60)
	return append(dst, '"')
}

func appendTwo(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// appendRetryContext appends Metadata.RetryContext: RetryCount,
// MaxRetryCount and the failure of the attempt before as Json.NET writes a
// .NET exception (the host's FunctionInvocationException around the
// worker's failure), null on the first attempt.
func appendRetryContext(dst []byte, fn string, rc *funcd.RetryContext) []byte {
	dst = append(dst, `{"RetryCount":`...)
	dst = appendInt(dst, rc.RetryCount)
	dst = append(dst, `,"MaxRetryCount":`...)
	dst = appendInt(dst, rc.MaxRetryCount)
	dst = append(dst, `,"Exception":`...)
	if rc.Err == nil {
		dst = append(dst, "null"...)
	} else {
		inner := appendException(nil, "System.Exception", rc.Err.Error(), nil)
		dst = appendException(dst, "Microsoft.Azure.WebJobs.Host.FunctionInvocationException",
			"Exception while executing function: Functions."+fn, inner)
	}
	return append(dst, '}')
}

// appendException appends a .NET exception as Json.NET serializes one
// through ISerializable.GetObjectData.
func appendException(dst []byte, class, msg string, inner []byte) []byte {
	dst = append(dst, `{"ClassName":`...)
	dst = appendString(dst, class)
	dst = append(dst, `,"Message":`...)
	dst = appendString(dst, msg)
	dst = append(dst, `,"Data":null,"InnerException":`...)
	if inner == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, inner...)
	}
	return append(dst, `,"HelpURL":null,"StackTraceString":null,"RemoteStackTraceString":null,"RemoteStackIndex":0,"ExceptionMethod":null,"HResult":-2146233088,"Source":null,"WatsonBuckets":null}`...)
}

func appendInt(dst []byte, n int) []byte {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return append(dst, b[i:]...)
}

// outputValue converts an output binding's value from the reply as the
// host's GetBindingValue does: unless the binding's dataType is binary, a
// string that is valid base64 becomes its bytes; any other string stays
// text; other JSON is passed on as JSON; null is no value.
func outputValue(raw json.RawMessage, dataType string) (funcd.Value, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return funcd.Value{}, err
	}
	text := compact.Bytes()
	switch text[0] {
	case 'n':
		return funcd.Value{}, nil
	case '"':
		var s string
		if err := json.Unmarshal(text, &s); err != nil {
			return funcd.Value{}, err
		}
		if !strings.EqualFold(dataType, "binary") {
			if b, ok := dotnetBase64(s); ok {
				return funcd.BytesValue(b), nil
			}
		}
		return funcd.StringValue(s), nil
	}
	return funcd.JSONValue(text), nil
}
