package rpcpb

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestRoundTrip: a StreamingMessage with a nested invocation survives
// encoding and decoding.
func TestRoundTrip(t *testing.T) {
	in := &StreamingMessage{
		RequestId: "r1",
		Content: &StreamingMessage_InvocationRequest{InvocationRequest: &InvocationRequest{
			InvocationId: "i1",
			FunctionId:   "f1",
			InputData: []*ParameterBinding{{
				Name: "req",
				RpcData: &ParameterBinding_Data{Data: &TypedData{Data: &TypedData_Http{Http: &RpcHttp{
					Method:          "POST",
					Url:             "http://localhost/api/x?y=1",
					Body:            &TypedData{Data: &TypedData_Bytes{Bytes: []byte("hi")}},
					NullableHeaders: map[string]*NullableString{"a": {String_: &NullableString_Value{Value: "b"}}},
					Identities:      []*RpcClaimsIdentity{{Claims: []*RpcClaim{{Type: "t", Value: "v"}}}},
				}}}},
			}},
			TriggerMetadata: map[string]*TypedData{
				"n":    {Data: &TypedData_Int{Int: -7}},
				"list": {Data: &TypedData_CollectionString{CollectionString: &CollectionString{String_: []string{"a", "b"}}}},
			},
			TraceContext: &RpcTraceContext{TraceParent: "00-x", Baggage: map[string]string{"k": "v"}},
			RetryContext: &RetryContext{RetryCount: 1, MaxRetryCount: 3},
		}},
	}
	b, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out StreamingMessage
	if err := proto.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in, &out) {
		t.Fatalf("round trip changed the message:\n in: %v\nout: %v", in, &out)
	}
	if got := out.GetInvocationRequest().GetTriggerMetadata()["n"].GetInt(); got != -7 {
		t.Errorf("sint64 = %d", got)
	}

	term := &StreamingMessage{Content: &StreamingMessage_WorkerTerminate{
		WorkerTerminate: &WorkerTerminate{GracePeriod: durationpb.New(5e9)}}}
	b, _ = proto.Marshal(term)
	// Field 14 (worker_terminate), length-delimited: tag byte 14<<3|2.
	if b[0] != 14<<3|2 {
		t.Errorf("WorkerTerminate encodes with tag byte %#x", b[0])
	}
}

// TestFieldNumbers checks names and numbers against the protocol's: they
// are the wire contract with the real workers.
func TestFieldNumbers(t *testing.T) {
	tests := []struct {
		msg    proto.Message
		fields map[string]protoreflect.FieldNumber
	}{
		{&StreamingMessage{}, map[string]protoreflect.FieldNumber{
			"request_id": 1, "rpc_log": 2, "invocation_request": 4, "invocation_response": 5,
			"file_change_event_request": 6, "worker_action_response": 7, "function_load_request": 8,
			"function_load_response": 9, "worker_status_request": 12, "worker_status_response": 13,
			"worker_terminate": 14, "worker_heartbeat": 15, "worker_init_response": 16, "worker_init_request": 17,
			"start_stream": 20, "invocation_cancel": 21, "function_environment_reload_request": 25,
			"function_environment_reload_response": 26, "close_shared_memory_resources_request": 27,
			"close_shared_memory_resources_response": 28, "functions_metadata_request": 29,
			"function_metadata_response": 30, "function_load_request_collection": 31,
			"function_load_response_collection": 32, "worker_warmup_request": 33, "worker_warmup_response": 34,
		}},
		{&StartStream{}, map[string]protoreflect.FieldNumber{"worker_id": 2}},
		{&WorkerInitRequest{}, map[string]protoreflect.FieldNumber{
			"host_version": 1, "capabilities": 2, "log_categories": 3, "worker_directory": 4, "function_app_directory": 5}},
		{&WorkerInitResponse{}, map[string]protoreflect.FieldNumber{
			"worker_version": 1, "capabilities": 2, "result": 3, "worker_metadata": 4, "app_capabilities": 5}},
		{&StatusResult{}, map[string]protoreflect.FieldNumber{"result": 1, "exception": 2, "logs": 3, "status": 4}},
		{&TypedData{}, map[string]protoreflect.FieldNumber{
			"string": 1, "json": 2, "bytes": 3, "stream": 4, "http": 5, "int": 6, "double": 7,
			"collection_bytes": 8, "collection_string": 9, "collection_double": 10, "collection_sint64": 11,
			"model_binding_data": 12, "collection_model_binding_data": 13}},
		{&InvocationRequest{}, map[string]protoreflect.FieldNumber{
			"invocation_id": 1, "function_id": 2, "input_data": 3, "trigger_metadata": 4,
			"trace_context": 5, "retry_context": 6}},
		{&InvocationResponse{}, map[string]protoreflect.FieldNumber{
			"invocation_id": 1, "output_data": 2, "result": 3, "return_value": 4, "trace_context_attributes": 5}},
		{&InvocationCancel{}, map[string]protoreflect.FieldNumber{"grace_period": 1, "invocation_id": 2}},
		{&RpcFunctionMetadata{}, map[string]protoreflect.FieldNumber{
			"directory": 1, "script_file": 2, "entry_point": 3, "name": 4, "bindings": 6, "is_proxy": 7,
			"status": 8, "language": 9, "raw_bindings": 10, "function_id": 13, "managed_dependency_enabled": 14,
			"retry_options": 15, "properties": 16}},
		{&RpcHttp{}, map[string]protoreflect.FieldNumber{
			"method": 1, "url": 2, "headers": 3, "body": 4, "params": 10, "status_code": 12, "query": 15,
			"enable_content_negotiation": 16, "rawBody": 17, "identities": 18, "cookies": 19,
			"nullable_headers": 20, "nullable_params": 21, "nullable_query": 22}},
		{&RpcLog{}, map[string]protoreflect.FieldNumber{
			"invocation_id": 1, "category": 2, "level": 3, "message": 4, "event_id": 5, "exception": 6,
			"properties": 7, "log_category": 8, "propertiesMap": 9}},
		{&RpcException{}, map[string]protoreflect.FieldNumber{
			"stack_trace": 1, "message": 2, "source": 3, "is_user_exception": 4, "type": 5}},
		{&RpcTraceContext{}, map[string]protoreflect.FieldNumber{
			"trace_parent": 1, "trace_state": 2, "attributes": 3, "baggage": 4}},
		{&ParameterBinding{}, map[string]protoreflect.FieldNumber{"name": 1, "data": 2, "rpc_shared_memory": 3}},
		{&BindingInfo{}, map[string]protoreflect.FieldNumber{"type": 2, "direction": 3, "data_type": 4, "properties": 5}},
		{&RpcHttpCookie{}, map[string]protoreflect.FieldNumber{
			"name": 1, "value": 2, "domain": 3, "path": 4, "expires": 5, "secure": 6, "http_only": 7,
			"same_site": 8, "max_age": 9}},
	}
	for _, tt := range tests {
		d := tt.msg.ProtoReflect().Descriptor()
		if d.FullName().Parent() != "AzureFunctionsRpcMessages" {
			t.Errorf("%s is not in package AzureFunctionsRpcMessages", d.FullName())
		}
		if got, want := d.Fields().Len(), len(tt.fields); got != want {
			t.Errorf("%s has %d fields, want %d", d.FullName(), got, want)
		}
		for name, num := range tt.fields {
			f := d.Fields().ByName(protoreflect.Name(name))
			if f == nil {
				t.Errorf("%s has no field %s", d.FullName(), name)
				continue
			}
			if f.Number() != num {
				t.Errorf("%s.%s = %d, want %d", d.FullName(), name, f.Number(), num)
			}
		}
	}

	if f := (&TypedData{}).ProtoReflect().Descriptor().Fields().ByName("int"); f.Kind() != protoreflect.Sint64Kind {
		t.Errorf("TypedData.int is %v, want sint64", f.Kind())
	}
	sd := File_functionrpc_proto.Services().ByName("FunctionRpc")
	if sd == nil || sd.FullName() != "AzureFunctionsRpcMessages.FunctionRpc" {
		t.Fatal("no service AzureFunctionsRpcMessages.FunctionRpc")
	}
	m := sd.Methods().ByName("EventStream")
	if m == nil || !m.IsStreamingClient() || !m.IsStreamingServer() {
		t.Error("EventStream is not a bidirectional stream")
	}
	if FunctionRpc_EventStream_FullMethodName != "/AzureFunctionsRpcMessages.FunctionRpc/EventStream" {
		t.Errorf("method name %q", FunctionRpc_EventStream_FullMethodName)
	}
	enums := map[string]map[string]protoreflect.EnumNumber{
		"StatusResult.Status": {"Failure": 0, "Success": 1, "Cancelled": 2},
		"RpcLog.Level":        {"Trace": 0, "Debug": 1, "Information": 2, "Warning": 3, "Error": 4, "Critical": 5, "None": 6},
	}
	for name, vals := range enums {
		var ed protoreflect.EnumDescriptor
		switch name {
		case "StatusResult.Status":
			ed = StatusResult_Failure.Descriptor()
		case "RpcLog.Level":
			ed = RpcLog_Trace.Descriptor()
		}
		for v, n := range vals {
			if ev := ed.Values().ByName(protoreflect.Name(v)); ev == nil || ev.Number() != n {
				t.Errorf("%s.%s is not %d", name, v, n)
			}
		}
	}
}
