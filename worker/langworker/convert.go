package langworker

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// buildRequest returns the InvocationRequest of inv for the function the
// worker indexed under functionID. proxied says that the HTTP request goes
// to the worker's HttpUri: the trigger is then an empty RpcHttp.
func buildRequest(inv *funcd.Invocation, functionID string, caps Capabilities, proxied bool) (*rpcpb.InvocationRequest, error) {
	fn := inv.Function
	req := &rpcpb.InvocationRequest{
		InvocationId: inv.ID,
		FunctionId:   functionID,
		InputData:    make([]*rpcpb.ParameterBinding, 0, 1+len(inv.Inputs)),
		TraceContext: traceContext(inv),
		RetryContext: retryContext(inv.Retry),
	}
	trigger := fn.Trigger()
	if trigger != nil {
		var data *rpcpb.TypedData
		switch {
		case inv.HTTP != nil && proxied:
			data = &rpcpb.TypedData{Data: &rpcpb.TypedData_Http{Http: &rpcpb.RpcHttp{}}}
		case inv.HTTP != nil:
			data = &rpcpb.TypedData{Data: &rpcpb.TypedData_Http{Http: toRPCHTTP(inv.HTTP, caps)}}
		default:
			data = triggerData(trigger, inv.Trigger)
		}
		req.InputData = append(req.InputData, &rpcpb.ParameterBinding{Name: trigger.Name, RpcData: &rpcpb.ParameterBinding_Data{Data: data}})
	}
	// Inputs in the function's binding order, so the request is the same
	// every time.
	for i := range fn.Bindings {
		b := &fn.Bindings[i]
		if b.IsTrigger() || b.Direction == funcd.Out {
			continue
		}
		v, ok := inv.Inputs[b.Name]
		if !ok {
			continue
		}
		req.InputData = append(req.InputData, &rpcpb.ParameterBinding{Name: b.Name, RpcData: &rpcpb.ParameterBinding_Data{Data: valueData(v)}})
	}
	md, err := triggerMetadata(inv, caps, proxied)
	if err != nil {
		return nil, err
	}
	req.TriggerMetadata = md
	return req, nil
}

// triggerData is a non-HTTP trigger's value. A blob arrives as bytes unless
// the binding asks for a string, as the real host sends it.
func triggerData(b *funcd.Binding, v funcd.Value) *rpcpb.TypedData {
	if strings.EqualFold(b.Type, "blobTrigger") && !strings.EqualFold(b.DataType, "string") && v.Kind == funcd.ValueString {
		v.Kind = funcd.ValueBytes
	}
	return valueData(v)
}

// valueData is v as TypedData: string, bytes or json; none is empty
// TypedData, as the real host sends null.
func valueData(v funcd.Value) *rpcpb.TypedData {
	switch v.Kind {
	case funcd.ValueString:
		return &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: string(v.Data)}}
	case funcd.ValueBytes:
		return &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: v.Data}}
	case funcd.ValueJSON:
		return &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: string(v.Data)}}
	}
	return &rpcpb.TypedData{}
}

// metadataData is one trigger metadata value as the real host converts
// binding data: a string as string, null left out, anything else (numbers,
// booleans, objects, arrays) as json.
func metadataData(raw json.RawMessage) *rpcpb.TypedData {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: s}}
		}
	}
	return &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: string(raw)}}
}

// triggerMetadata converts inv.Metadata and, for an HTTP trigger, adds what
// the HTTP binding contributes: in proxy mode Headers and Query (json) and
// each route value (string); over gRPC also the request as "req" unless the
// worker set RpcHttpTriggerMetadataRemoved.
func triggerMetadata(inv *funcd.Invocation, caps Capabilities, proxied bool) (map[string]*rpcpb.TypedData, error) {
	n := len(inv.Metadata)
	if inv.HTTP != nil {
		n += 3 + len(inv.HTTP.Params)
	}
	if n == 0 {
		return nil, nil
	}
	md := make(map[string]*rpcpb.TypedData, n)
	for k, raw := range inv.Metadata {
		if d := metadataData(raw); d != nil {
			md[k] = d
		}
	}
	r := inv.HTTP
	if r == nil {
		return md, nil
	}
	if !proxied && caps.Has(capTriggerMetadataRemoved) {
		return md, nil
	}
	for name, v := range r.Params {
		if v != nil {
			md[name] = &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: *v}}
		}
	}
	if _, ok := md["Headers"]; !ok {
		md["Headers"] = &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: headersJSON(r.Header)}}
	}
	if _, ok := md["Query"]; !ok {
		md["Query"] = &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: queryJSON(r.RawQuery)}}
	}
	if !proxied {
		if _, ok := md["req"]; !ok {
			md["req"] = &rpcpb.TypedData{Data: &rpcpb.TypedData_Http{Http: toRPCHTTP(r, caps)}}
		}
	}
	return md, nil
}

// headersJSON is the request's headers as a JSON object, values
// comma-joined, as the HTTP binding's "Headers" binding data.
func headersJSON(h map[string][]string) string {
	return string(appendHeadersJSON(make([]byte, 0, 256), h))
}

func appendHeadersJSON(b []byte, h map[string][]string) []byte {
	b = append(b, '{')
	first := true
	for k, vs := range h {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, k)
		b = append(b, ':')
		if len(vs) == 1 {
			b = appendJSONString(b, vs[0])
		} else {
			b = appendJSONString(b, strings.Join(vs, ","))
		}
	}
	return append(b, '}')
}

// queryJSON is the query as a JSON object, repeated values comma-joined.
func queryJSON(raw string) string {
	return string(appendQueryJSON(make([]byte, 0, 64), raw))
}

func appendQueryJSON(b []byte, raw string) []byte {
	b = append(b, '{')
	for i, p := range parseQuery(raw) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, p.key)
		b = append(b, ':')
		b = appendJSONString(b, strings.Join(p.values, ","))
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// traceContext is the W3C trace context of inv: the request's traceparent
// when it sent a valid one, else a new one.
func traceContext(inv *funcd.Invocation) *rpcpb.RpcTraceContext {
	parent, state := traceParent(inv)
	return &rpcpb.RpcTraceContext{TraceParent: parent, TraceState: state, Attributes: map[string]string{"ProcessId": pid}}
}

// traceParent is the traceparent and tracestate of inv's trace context.
func traceParent(inv *funcd.Invocation) (parent, state string) {
	if inv.HTTP != nil {
		if vs := inv.HTTP.Header["Traceparent"]; len(vs) > 0 && validTraceparent(vs[0]) {
			if ts := inv.HTTP.Header["Tracestate"]; len(ts) > 0 {
				state = strings.Join(ts, ",")
			}
			return vs[0], state
		}
	}
	return newTraceparent(), ""
}

// validTraceparent checks the version-00 shape
// "00-<32 hex>-<16 hex>-<2 hex>".
func validTraceparent(s string) bool {
	if len(s) != 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 2 || i == 35 || i == 52 {
			continue
		}
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s[3:35] != "00000000000000000000000000000000" && s[36:52] != "0000000000000000"
}

// newTraceparent is a sampled traceparent with random ids.
func newTraceparent() string {
	var id [24]byte
	_, _ = rand.Read(id[:])
	var b [55]byte
	copy(b[:], "00-")
	hex.Encode(b[3:35], id[:16])
	b[35] = '-'
	hex.Encode(b[36:52], id[16:])
	copy(b[52:], "-01")
	return string(b[:])
}

// retryContext is the protocol's retry context of rc: nil without one and
// on a first attempt, as the real host sends one only with a retry (the
// failure before it as its exception). The Node.js library fails an
// invocation whose retry context has no retry count.
func retryContext(rc *funcd.RetryContext) *rpcpb.RetryContext {
	if rc == nil || rc.RetryCount == 0 {
		return nil
	}
	r := &rpcpb.RetryContext{RetryCount: clampInt32(rc.RetryCount), MaxRetryCount: clampInt32(rc.MaxRetryCount)}
	if rc.Err != nil {
		r.Exception = &rpcpb.RpcException{Message: rc.Err.Error()}
	}
	return r
}

func clampInt32(n int) int32 {
	return int32(max(math.MinInt32, min(math.MaxInt32, n)))
}

// outputValue converts a TypedData the worker returned for binding name of
// function fn to a funcd.Value: string as text, bytes and stream as bytes,
// json as it is (validated), numbers and collections as JSON.
func outputValue(fn, name string, d *rpcpb.TypedData) (funcd.Value, error) {
	switch x := d.GetData().(type) {
	case nil:
		return funcd.Value{}, nil
	case *rpcpb.TypedData_String_:
		return funcd.StringValue(x.String_), nil
	case *rpcpb.TypedData_Bytes:
		return funcd.BytesValue(x.Bytes), nil
	case *rpcpb.TypedData_Stream:
		return funcd.BytesValue(x.Stream), nil
	case *rpcpb.TypedData_Json:
		if !json.Valid([]byte(x.Json)) {
			return funcd.Value{}, replyError(fn, name, "json is not valid JSON")
		}
		return funcd.JSONValue(json.RawMessage(x.Json)), nil
	case *rpcpb.TypedData_Int:
		return funcd.JSONValue(strconv.AppendInt(nil, x.Int, 10)), nil
	case *rpcpb.TypedData_Double:
		b, ok := appendDouble(nil, x.Double)
		if !ok {
			return funcd.Value{}, replyError(fn, name, "double is not a finite number")
		}
		return funcd.JSONValue(b), nil
	case *rpcpb.TypedData_CollectionString:
		b := []byte{'['}
		for i, s := range x.CollectionString.GetString_() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		return funcd.JSONValue(append(b, ']')), nil
	case *rpcpb.TypedData_CollectionBytes:
		b := []byte{'['}
		for i, v := range x.CollectionBytes.GetBytes() {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, v)
			b = append(b, '"')
		}
		return funcd.JSONValue(append(b, ']')), nil
	case *rpcpb.TypedData_CollectionDouble:
		b := []byte{'['}
		for i, v := range x.CollectionDouble.GetDouble() {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendDouble(b, v); !ok {
				return funcd.Value{}, replyError(fn, name, "collection_double holds a value that is not a finite number")
			}
		}
		return funcd.JSONValue(append(b, ']')), nil
	case *rpcpb.TypedData_CollectionSint64:
		b := []byte{'['}
		for i, v := range x.CollectionSint64.GetSint64() {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, v, 10)
		}
		return funcd.JSONValue(append(b, ']')), nil
	case *rpcpb.TypedData_Http:
		return funcd.Value{}, replyError(fn, name, "http is only valid for an http output binding")
	}
	return funcd.Value{}, replyError(fn, name, fmt.Sprintf("unsupported TypedData %s; expected string, json, bytes, stream, int, double or a collection", typedDataCase(d)))
}

func appendDouble(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64), true
}

// typedDataCase names d's case as the protocol does.
func typedDataCase(d *rpcpb.TypedData) string {
	switch d.GetData().(type) {
	case nil:
		return "(none)"
	case *rpcpb.TypedData_ModelBindingData:
		return "model_binding_data"
	case *rpcpb.TypedData_CollectionModelBindingData:
		return "collection_model_binding_data"
	}
	return fmt.Sprintf("%T", d.GetData())
}

// replyError is a malformed InvocationResponse: which function, which
// binding, what is wrong.
func replyError(fn, binding, problem string) error {
	return funcd.Errorf(funcd.EINTERNAL, "function '%s': the language worker's InvocationResponse is malformed: binding '%s': %s", fn, binding, problem)
}

var pid = strconv.Itoa(os.Getpid())
