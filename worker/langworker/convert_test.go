package langworker

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeWorker answers InvocationRequests with reply.
type fakeWorker struct {
	got   *rpcpb.InvocationRequest
	reply func(ctx context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error)
}

func (f *fakeWorker) Invoke(ctx context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error) {
	f.got = req
	return f.reply(ctx, req)
}

func (f *fakeWorker) InvokeAsync(ctx context.Context, req *rpcpb.InvocationRequest, done func(*rpcpb.InvocationResponse, error)) error {
	go func() { done(f.Invoke(ctx, req)) }()
	return nil
}

// Expect is not used: the fake offers no inline invocations.
func (f *fakeWorker) Expect(context.Context, string, func(*rpcpb.InvocationResponse, error)) (func() bool, error) {
	return nil, errors.New("fakeWorker: no inline invocations")
}

func success(req *rpcpb.InvocationRequest) *rpcpb.InvocationResponse {
	return &rpcpb.InvocationResponse{InvocationId: req.InvocationId, Result: &rpcpb.StatusResult{Status: rpcpb.StatusResult_Success}}
}

func str(s string) *string { return &s }

func httpFunction() *funcd.Function {
	return &funcd.Function{Name: "hello", Bindings: []funcd.Binding{
		{Name: "req", Type: "httpTrigger", Direction: funcd.In},
		{Name: "$return", Type: "http", Direction: funcd.Out},
	}}
}

func httpInvocation() *funcd.Invocation {
	return &funcd.Invocation{ID: "3f1c2a4e-0000-4000-8000-000000000001", Function: httpFunction(), HTTP: &funcd.HTTPRequest{
		Method: "POST", URL: "https://example.org/api/hello/7?name=a+b&x=1&x=2&empty=", Path: "/api/hello/7", RawQuery: "name=a+b&x=1&x=2&empty=",
		Header: map[string][]string{"Content-Type": {"application/json"}, "X-Empty": {""}, "Accept": {"a", "b"}},
		Params: map[string]*string{"id": str("7"), "opt": nil},
		Body:   []byte(`{ "a": 1 }`), ContentLength: 10,
		Identities: []funcd.Identity{{AuthenticationType: funcd.KeyAuthenticationType, Claims: []funcd.Claim{{Type: funcd.ClaimAuthLevel, Value: "Function"}}}},
	}}
}

func data(td *rpcpb.TypedData) string {
	switch x := td.GetData().(type) {
	case *rpcpb.TypedData_String_:
		return "string:" + x.String_
	case *rpcpb.TypedData_Json:
		return "json:" + x.Json
	case *rpcpb.TypedData_Bytes:
		return "bytes:" + string(x.Bytes)
	case nil:
		return "none"
	}
	return "other"
}

func TestTriggerKinds(t *testing.T) {
	tests := []struct {
		name    string
		binding funcd.Binding
		value   funcd.Value
		want    string
	}{
		{"queue string", funcd.Binding{Name: "msg", Type: "queueTrigger"}, funcd.StringValue("hi"), "string:hi"},
		{"queue json", funcd.Binding{Name: "msg", Type: "queueTrigger"}, funcd.JSONValue(json.RawMessage(`{"a":1}`)), `json:{"a":1}`},
		{"timer", funcd.Binding{Name: "t", Type: "timerTrigger"}, funcd.JSONValue(json.RawMessage(`{"Schedule":{"AdjustForDST":true},"IsPastDue":false}`)), `json:{"Schedule":{"AdjustForDST":true},"IsPastDue":false}`},
		{"blob as bytes", funcd.Binding{Name: "b", Type: "blobTrigger"}, funcd.StringValue("blob"), "bytes:blob"},
		{"blob dataType string", funcd.Binding{Name: "b", Type: "blobTrigger", DataType: "string"}, funcd.StringValue("blob"), "string:blob"},
		{"bytes", funcd.Binding{Name: "b", Type: "eventHubTrigger"}, funcd.BytesValue([]byte{1}), "bytes:\x01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.binding
			b.Direction = funcd.In
			inv := &funcd.Invocation{ID: "id1", Function: &funcd.Function{Name: "f", Bindings: []funcd.Binding{b,
				{Name: "in1", Type: "blob", Direction: funcd.In}, {Name: "out1", Type: "queue", Direction: funcd.Out}}},
				Trigger: tt.value, Inputs: map[string]funcd.Value{"in1": funcd.StringValue("x")},
				Metadata: map[string]json.RawMessage{"Id": json.RawMessage(`"abc"`), "DequeueCount": json.RawMessage(`2`),
					"Props": json.RawMessage(`{"k":"v"}`), "Gone": json.RawMessage(`null`)}}
			fw := &fakeWorker{reply: func(_ context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error) {
				return success(req), nil
			}}
			if _, err := invoke(context.Background(), fw, nil, inv, "fid", nil); err != nil {
				t.Fatal(err)
			}
			req := fw.got
			if req.FunctionId != "fid" || req.InvocationId != "id1" || len(req.InputData) != 2 {
				t.Fatalf("request = %v", req)
			}
			if req.InputData[0].Name != b.Name || data(req.InputData[0].GetData()) != tt.want {
				t.Errorf("trigger = %s %s, want %s", req.InputData[0].Name, data(req.InputData[0].GetData()), tt.want)
			}
			if req.InputData[1].Name != "in1" || data(req.InputData[1].GetData()) != "string:x" {
				t.Errorf("input = %v", req.InputData[1])
			}
			md := req.TriggerMetadata
			if data(md["Id"]) != "string:abc" || data(md["DequeueCount"]) != "json:2" || data(md["Props"]) != `json:{"k":"v"}` || md["Gone"] != nil {
				t.Errorf("metadata = %v", md)
			}
			if !validTraceparent(req.TraceContext.GetTraceParent()) || req.RetryContext != nil {
				t.Errorf("trace %q retry %v", req.TraceContext.GetTraceParent(), req.RetryContext)
			}
		})
	}
}

func TestRetryAndTraceContext(t *testing.T) {
	inv := httpInvocation()
	inv.Retry = &funcd.RetryContext{RetryCount: 0, MaxRetryCount: 5}
	if req, err := buildRequest(inv, "fn-id", nil, false); err != nil || req.RetryContext != nil {
		t.Errorf("first attempt: retry context %v, %v; want none", req.GetRetryContext(), err)
	}
	inv.Retry = &funcd.RetryContext{RetryCount: 2, MaxRetryCount: 5, Err: errors.New("boom")}
	tp := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	inv.HTTP.Header["Traceparent"] = []string{tp}
	req, err := buildRequest(inv, "f", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if r := req.RetryContext; r.RetryCount != 2 || r.MaxRetryCount != 5 || r.Exception.GetMessage() != "boom" {
		t.Errorf("retry = %v", r)
	}
	if req.TraceContext.TraceParent != tp {
		t.Errorf("traceparent = %q", req.TraceContext.TraceParent)
	}
}

func TestHTTPClassicRequest(t *testing.T) {
	all := Capabilities{capRawHTTPBodyBytes: "true", capRPCHTTPBodyOnly: "true", capTriggerMetadataRemoved: "true",
		capIgnoreEmptyHeaders: "true", capNullableDictionaryForHTTP: "true"}
	t.Run("node capabilities", func(t *testing.T) {
		req, err := buildRequest(httpInvocation(), "f", all, false)
		if err != nil {
			t.Fatal(err)
		}
		h := req.InputData[0].GetData().GetHttp()
		if req.InputData[0].Name != "req" || h.Url != "https://example.org/api/hello/7?name=a+b&x=1&x=2&empty=" || h.Method != "POST" {
			t.Fatalf("http = %v", h)
		}
		if len(h.Headers) != 0 || h.NullableHeaders["x-empty"].GetValue() != "" || h.NullableHeaders["x-empty"] == nil || h.NullableHeaders["accept"].GetValue() != "a,b" {
			t.Errorf("headers %v nullable %v", h.Headers, h.NullableHeaders)
		}
		if h.NullableQuery["name"].GetValue() != "a b" || h.NullableQuery["x"].GetValue() != "1,2" || h.NullableQuery["empty"] == nil {
			t.Errorf("query %v", h.NullableQuery)
		}
		if h.NullableParams["id"].GetValue() != "7" || len(h.NullableParams) != 1 {
			t.Errorf("params %v", h.NullableParams)
		}
		if data(h.Body) != `bytes:{ "a": 1 }` || h.RawBody != nil {
			t.Errorf("body %s raw %v", data(h.Body), h.RawBody)
		}
		if len(h.Identities) != 1 || h.Identities[0].AuthenticationType.GetValue() != "WebJobsAuthLevel" || h.Identities[0].Claims[0].Value != "Function" {
			t.Errorf("identities %v", h.Identities)
		}
		if len(req.TriggerMetadata) != 0 {
			t.Errorf("trigger metadata %v", req.TriggerMetadata)
		}
	})
	t.Run("no capabilities", func(t *testing.T) {
		req, err := buildRequest(httpInvocation(), "f", nil, false)
		if err != nil {
			t.Fatal(err)
		}
		h := req.InputData[0].GetData().GetHttp()
		if h.Headers["x-empty"] != "" || len(h.NullableHeaders) != 0 || h.Headers["content-type"] != "application/json" {
			t.Errorf("headers %v", h.Headers)
		}
		if _, ok := h.Headers["x-empty"]; !ok {
			t.Errorf("empty header dropped without IgnoreEmptyValuedRpcHttpHeaders")
		}
		if _, ok := h.Query["empty"]; ok || h.Query["x"] != "1,2" {
			t.Errorf("query %v", h.Query)
		}
		if h.Params["id"] != "7" {
			t.Errorf("params %v", h.Params)
		}
		if data(h.Body) != `json:{"a":1}` || data(h.RawBody) != `string:{ "a": 1 }` {
			t.Errorf("body %s raw %s", data(h.Body), data(h.RawBody))
		}
		md := req.TriggerMetadata
		if data(md["id"]) != "string:7" || !strings.HasPrefix(data(md["Query"]), "json:{") || md["req"].GetHttp() == nil || !strings.Contains(data(md["Headers"]), `"Accept":"a,b"`) {
			t.Errorf("metadata %v", md)
		}
	})
	t.Run("ignore empty headers, text body", func(t *testing.T) {
		inv := httpInvocation()
		inv.HTTP.Header["Content-Type"] = []string{"text/plain"}
		req, _ := buildRequest(inv, "f", Capabilities{capIgnoreEmptyHeaders: "true", capRPCHTTPBodyOnly: "true"}, false)
		h := req.InputData[0].GetData().GetHttp()
		if _, ok := h.Headers["x-empty"]; ok {
			t.Errorf("empty header sent")
		}
		if data(h.Body) != `string:{ "a": 1 }` {
			t.Errorf("body %s", data(h.Body))
		}
	})
	t.Run("binary body", func(t *testing.T) {
		inv := httpInvocation()
		inv.HTTP.Header["Content-Type"] = []string{"application/octet-stream"}
		req, _ := buildRequest(inv, "f", nil, false)
		h := req.InputData[0].GetData().GetHttp()
		if data(h.Body) != `bytes:{ "a": 1 }` || data(h.RawBody) != `string:{ "a": 1 }` {
			t.Errorf("body %s raw %s", data(h.Body), data(h.RawBody))
		}
	})
}

func replyWith(out func(req *rpcpb.InvocationRequest, r *rpcpb.InvocationResponse)) *fakeWorker {
	return &fakeWorker{reply: func(_ context.Context, req *rpcpb.InvocationRequest) (*rpcpb.InvocationResponse, error) {
		r := success(req)
		out(req, r)
		return r, nil
	}}
}

func httpReturn(h *rpcpb.RpcHttp) func(*rpcpb.InvocationRequest, *rpcpb.InvocationResponse) {
	return func(_ *rpcpb.InvocationRequest, r *rpcpb.InvocationResponse) {
		r.ReturnValue = &rpcpb.TypedData{Data: &rpcpb.TypedData_Http{Http: h}}
	}
}

func TestHTTPClassicResponse(t *testing.T) {
	exp := timestamppb.New(mustTime(t, "2030-01-02T03:04:05Z"))
	tests := []struct {
		name   string
		h      *rpcpb.RpcHttp
		status int
		header map[string]string
		body   string
	}{
		{"empty status is 200, bytes body", &rpcpb.RpcHttp{Body: &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: []byte("hi")}}, Headers: map[string]string{"content-type": "text/html"}},
			200, map[string]string{"Content-Type": "text/html"}, "hi"},
		{"status string, string body", &rpcpb.RpcHttp{StatusCode: "201", Body: &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: "made"}}},
			201, map[string]string{"Content-Type": "text/plain; charset=utf-8"}, "made"},
		{"json body", &rpcpb.RpcHttp{StatusCode: " 202 ", Body: &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: `{"a":1}`}}},
			202, map[string]string{"Content-Type": "application/json; charset=utf-8"}, `{"a":1}`},
		{"int body", &rpcpb.RpcHttp{Body: &rpcpb.TypedData{Data: &rpcpb.TypedData_Int{Int: 42}}},
			200, map[string]string{"Content-Type": "application/json; charset=utf-8"}, "42"},
		{"bytes body default type", &rpcpb.RpcHttp{Body: &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: []byte{0}}}},
			200, map[string]string{"Content-Type": "application/octet-stream"}, "\x00"},
		{"no body", &rpcpb.RpcHttp{StatusCode: "204", EnableContentNegotiation: true}, 204, map[string]string{"Content-Type": ""}, ""},
		{"cookies", &rpcpb.RpcHttp{Cookies: []*rpcpb.RpcHttpCookie{
			{Name: "a", Value: "1", Domain: nullableString("example.org"), Path: nullableString("/api"),
				Expires: &rpcpb.NullableTimestamp{Timestamp: &rpcpb.NullableTimestamp_Value{Value: exp}},
				Secure:  &rpcpb.NullableBool{Bool: &rpcpb.NullableBool_Value{Value: true}}, HttpOnly: &rpcpb.NullableBool{Bool: &rpcpb.NullableBool_Value{Value: true}},
				SameSite: rpcpb.RpcHttpCookie_ExplicitNone, MaxAge: &rpcpb.NullableDouble{Double: &rpcpb.NullableDouble_Value{Value: 60}}},
			{Name: "b", Value: "2", SameSite: rpcpb.RpcHttpCookie_None},
			{Name: "c", Value: "3", SameSite: rpcpb.RpcHttpCookie_Strict},
		}}, 200, map[string]string{"Set-Cookie": "a=1; expires=Wed, 02 Jan 2030 03:04:05 GMT; max-age=60; domain=example.org; path=/api; secure; samesite=none; httponly|b=2|c=3; samesite=strict"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := invoke(context.Background(), replyWith(httpReturn(tt.h)), nil, httpInvocation(), "f", nil)
			if err != nil {
				t.Fatal(err)
			}
			r := res.HTTP
			if r.Status != tt.status || string(r.Body) != tt.body {
				t.Errorf("status %d body %q, want %d %q", r.Status, r.Body, tt.status, tt.body)
			}
			for k, v := range tt.header {
				if got := strings.Join(r.Header[k], "|"); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestHTTPOutputBindingAndNoReturn(t *testing.T) {
	inv := httpInvocation()
	inv.Function.Bindings[1].Name = "res"
	fw := replyWith(func(_ *rpcpb.InvocationRequest, r *rpcpb.InvocationResponse) {
		r.OutputData = []*rpcpb.ParameterBinding{{Name: "res", RpcData: &rpcpb.ParameterBinding_Data{Data: &rpcpb.TypedData{Data: &rpcpb.TypedData_Http{Http: &rpcpb.RpcHttp{StatusCode: "418"}}}}}}
	})
	res, err := invoke(context.Background(), fw, nil, inv, "f", nil)
	if err != nil || res.HTTP.Status != 418 {
		t.Fatalf("res %v err %v", res, err)
	}
	res, err = invoke(context.Background(), replyWith(func(*rpcpb.InvocationRequest, *rpcpb.InvocationResponse) {}), nil, httpInvocation(), "f", nil)
	if err != nil || res.HTTP != nil {
		t.Fatalf("no return: res %v err %v", res, err)
	}
}

func TestOutputs(t *testing.T) {
	fn := &funcd.Function{Name: "f", Bindings: []funcd.Binding{{Name: "msg", Type: "queueTrigger", Direction: funcd.In},
		{Name: "$return", Type: "queue", Direction: funcd.Out}}}
	pb := func(name string, d *rpcpb.TypedData) *rpcpb.ParameterBinding {
		return &rpcpb.ParameterBinding{Name: name, RpcData: &rpcpb.ParameterBinding_Data{Data: d}}
	}
	fw := replyWith(func(_ *rpcpb.InvocationRequest, r *rpcpb.InvocationResponse) {
		r.OutputData = []*rpcpb.ParameterBinding{
			pb("s", &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: "text"}}),
			pb("b", &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: []byte("raw")}}),
			pb("st", &rpcpb.TypedData{Data: &rpcpb.TypedData_Stream{Stream: []byte("st")}}),
			pb("j", &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: `[1,2]`}}),
			pb("i", &rpcpb.TypedData{Data: &rpcpb.TypedData_Int{Int: -3}}),
			pb("d", &rpcpb.TypedData{Data: &rpcpb.TypedData_Double{Double: 1.5}}),
			pb("cs", &rpcpb.TypedData{Data: &rpcpb.TypedData_CollectionString{CollectionString: &rpcpb.CollectionString{String_: []string{"a", "\""}}}}),
			pb("cb", &rpcpb.TypedData{Data: &rpcpb.TypedData_CollectionBytes{CollectionBytes: &rpcpb.CollectionBytes{Bytes: [][]byte{[]byte("hi")}}}}),
			pb("cd", &rpcpb.TypedData{Data: &rpcpb.TypedData_CollectionDouble{CollectionDouble: &rpcpb.CollectionDouble{Double: []float64{0.5, 2}}}}),
			pb("ci", &rpcpb.TypedData{Data: &rpcpb.TypedData_CollectionSint64{CollectionSint64: &rpcpb.CollectionSInt64{Sint64: []int64{1, -1}}}}),
			pb("n", &rpcpb.TypedData{}),
		}
		r.ReturnValue = &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: "ret"}}
	})
	res, err := invoke(context.Background(), fw, nil, &funcd.Invocation{ID: "i1", Function: fn, Trigger: funcd.StringValue("m")}, "f", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]funcd.Value{
		"s": funcd.StringValue("text"), "b": funcd.BytesValue([]byte("raw")), "st": funcd.BytesValue([]byte("st")),
		"j": funcd.JSONValue([]byte(`[1,2]`)), "i": funcd.JSONValue([]byte(`-3`)), "d": funcd.JSONValue([]byte(`1.5`)),
		"cs": funcd.JSONValue([]byte(`["a","\""]`)), "cb": funcd.JSONValue([]byte(`["aGk="]`)), "cd": funcd.JSONValue([]byte(`[0.5,2]`)),
		"ci": funcd.JSONValue([]byte(`[1,-1]`)), "n": {}, "$return": funcd.StringValue("ret"),
	}
	for k, v := range want {
		if got := res.Outputs[k]; got.Kind != v.Kind || string(got.Data) != string(v.Data) {
			t.Errorf("%s = %d %q, want %d %q", k, got.Kind, got.Data, v.Kind, v.Data)
		}
	}
	if len(res.Outputs) != len(want) || string(res.ReturnValue.Data) != "ret" {
		t.Errorf("outputs %v return %v", res.Outputs, res.ReturnValue)
	}
}

func TestMalformedAndFailedReplies(t *testing.T) {
	tests := []struct {
		name string
		out  func(*rpcpb.InvocationRequest, *rpcpb.InvocationResponse)
		want []string
	}{
		{"bad status", httpReturn(&rpcpb.RpcHttp{StatusCode: "OK"}), []string{"function 'hello'", "binding '$return'", `status_code "OK"`, "100 to 999"}},
		{"status out of range", httpReturn(&rpcpb.RpcHttp{StatusCode: "42"}), []string{"status_code \"42\""}},
		{"bad header", httpReturn(&rpcpb.RpcHttp{Headers: map[string]string{"x": "a\nb"}}), []string{`header "x"`}},
		{"bad cookie", httpReturn(&rpcpb.RpcHttp{Cookies: []*rpcpb.RpcHttpCookie{{Name: "a b"}}}), []string{`cookie name "a b"`}},
		{"unknown typed data", func(_ *rpcpb.InvocationRequest, r *rpcpb.InvocationResponse) {
			r.OutputData = []*rpcpb.ParameterBinding{{Name: "o", RpcData: &rpcpb.ParameterBinding_Data{Data: &rpcpb.TypedData{Data: &rpcpb.TypedData_ModelBindingData{}}}}}
		}, []string{"binding 'o'", "model_binding_data", "expected string, json"}},
		{"invalid json", func(_ *rpcpb.InvocationRequest, r *rpcpb.InvocationResponse) {
			r.OutputData = []*rpcpb.ParameterBinding{{Name: "o", RpcData: &rpcpb.ParameterBinding_Data{Data: &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: "{"}}}}}
		}, []string{"binding 'o'", "not valid JSON"}},
		{"id mismatch", func(_ *rpcpb.InvocationRequest, r *rpcpb.InvocationResponse) { r.InvocationId = "other" }, []string{`invocation "other"`}},
		{"failure", func(_ *rpcpb.InvocationRequest, r *rpcpb.InvocationResponse) {
			r.Result = &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure, Exception: &rpcpb.RpcException{Message: "boom", StackTrace: "at f (index.js:1)"}}
		}, []string{"Functions.hello -> Result: Failure", "Exception: boom", "Stack: at f (index.js:1)"}},
		{"cancelled", func(_ *rpcpb.InvocationRequest, r *rpcpb.InvocationResponse) {
			r.Result = &rpcpb.StatusResult{Status: rpcpb.StatusResult_Cancelled}
		}, []string{"Result: Cancelled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := invoke(context.Background(), replyWith(tt.out), nil, httpInvocation(), "f", nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	_, err := invoke(context.Background(), replyWith(func(_ *rpcpb.InvocationRequest, r *rpcpb.InvocationResponse) {
		r.Result = &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure, Exception: &rpcpb.RpcException{Message: "boom", StackTrace: "st"}}
	}), nil, httpInvocation(), "f", nil)
	if ie, ok := errors.AsType[*InvocationError](err); !ok || ie.Stack != "st" || funcd.ErrorCode(err) != funcd.EINTERNAL {
		t.Errorf("err %#v", err)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
