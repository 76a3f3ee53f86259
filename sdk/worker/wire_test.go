package worker

import (
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

func typedString(s string) *rpcpb.TypedData {
	return &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: s}}
}

func typedJSON(s string) *rpcpb.TypedData {
	return &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: s}}
}

func binding(name string, td *rpcpb.TypedData) *rpcpb.ParameterBinding {
	return &rpcpb.ParameterBinding{Name: name, RpcData: &rpcpb.ParameterBinding_Data{Data: td}}
}

// inlineShaped is what funcd sends for an HTTP invocation, with every part
// that shape allows.
func inlineShaped() *rpcpb.InvocationRequest {
	return &rpcpb.InvocationRequest{
		InvocationId: "3f1c2a4e-0000-4000-8000-000000000001",
		FunctionId:   "e5301bb2f5228630bea66a181a79f9c949d5f70f6daf33bb092904e16007a66e",
		InputData: []*rpcpb.ParameterBinding{
			binding("req", &rpcpb.TypedData{Data: &rpcpb.TypedData_Http{Http: &rpcpb.RpcHttp{}}}),
			binding("doc", typedString("text é")),
			binding("raw", &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: []byte{0, 1, 0xff}}}),
			binding("obj", typedJSON(`{"k":1}`)),
			binding("none", &rpcpb.TypedData{}),
			binding("", typedString("")),
		},
		TriggerMetadata: map[string]*rpcpb.TypedData{
			"Headers": typedJSON(`{"Accept":"*/*","User-Agent":"curl/7.88.1"}`),
			"Query":   typedJSON(`{"x":"1"}`),
			"id":      typedString("7"),
			"empty":   typedString(""),
			"":        typedJSON(`null`),
			"bin":     {Data: &rpcpb.TypedData_Bytes{Bytes: []byte("b")}},
			"nothing": {},
		},
		TraceContext: &rpcpb.RpcTraceContext{
			TraceParent: "00-9a0c27aa8cecf96208b9d6695274b0f2-7b801dd27d6e9fc3-01",
			TraceState:  "a=1,b=2",
			Attributes:  map[string]string{"ProcessId": "12087", "": ""},
			Baggage:     map[string]string{"k": "v"},
		},
	}
}

// TestDecodeInvocation: what decodeInvocation takes, it decodes as
// protobuf-go does; what it does not take, unmarshalInvocation leaves to
// protobuf-go, errors included.
func TestDecodeInvocation(t *testing.T) {
	taken := map[string]*rpcpb.InvocationRequest{
		"inline shape": inlineShaped(),
		"empty":        {},
		"ids only":     {InvocationId: "i", FunctionId: "f"},
		"a trace context without attributes": {InvocationId: "i",
			TraceContext: &rpcpb.RpcTraceContext{TraceParent: "00-9a0c27aa8cecf96208b9d6695274b0f2-7b801dd27d6e9fc3-01"}},
	}
	for name, msg := range taken {
		t.Run(name, func(t *testing.T) {
			raw, err := proto.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			got := new(rpcpb.InvocationRequest)
			if !decodeInvocation(raw, got) {
				t.Fatal("decodeInvocation refused the message")
			}
			if !proto.Equal(got, msg) {
				t.Errorf("decoded\n%v\nwant\n%v", prototext.Format(got), prototext.Format(msg))
			}
		})
	}

	left := map[string]*rpcpb.InvocationRequest{
		"a retry context": {InvocationId: "i", RetryContext: &rpcpb.RetryContext{RetryCount: 1, MaxRetryCount: 3}},
		"an RpcHttp with a body": {InputData: []*rpcpb.ParameterBinding{binding("req",
			&rpcpb.TypedData{Data: &rpcpb.TypedData_Http{Http: &rpcpb.RpcHttp{Method: "GET"}}})}},
		"an int":        {TriggerMetadata: map[string]*rpcpb.TypedData{"n": {Data: &rpcpb.TypedData_Int{Int: 3}}}},
		"a collection":  {InputData: []*rpcpb.ParameterBinding{binding("c", &rpcpb.TypedData{Data: &rpcpb.TypedData_CollectionString{CollectionString: &rpcpb.CollectionString{String_: []string{"a"}}}})}},
		"shared memory": {InputData: []*rpcpb.ParameterBinding{{Name: "m", RpcData: &rpcpb.ParameterBinding_RpcSharedMemory{RpcSharedMemory: &rpcpb.RpcSharedMemory{Name: "x"}}}}},
	}
	for name, msg := range left {
		t.Run(name, func(t *testing.T) {
			raw, err := proto.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			if decodeInvocation(raw, new(rpcpb.InvocationRequest)) {
				t.Error("decodeInvocation took a message outside its shape")
			}
			got, err := unmarshalInvocation(raw)
			if err != nil {
				t.Fatal(err)
			}
			want := new(rpcpb.InvocationRequest)
			if err := proto.Unmarshal(raw, want); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, want) {
				t.Errorf("decoded\n%v\nwant\n%v", prototext.Format(got), prototext.Format(want))
			}
		})
	}

	// Not UTF-8 in a string field: protobuf-go's error.
	raw, _ := proto.Marshal(&rpcpb.InvocationRequest{InvocationId: "i"})
	raw[len(raw)-1] = 0xff
	if _, err := unmarshalInvocation(raw); err == nil {
		t.Error("an invocation id that is not UTF-8 was taken")
	}
	// Cut short.
	raw, _ = proto.Marshal(inlineShaped())
	for _, n := range []int{1, 10, len(raw) / 2, len(raw) - 1} {
		if _, err := unmarshalInvocation(raw[:n]); err == nil {
			t.Errorf("a message cut to %d of %d bytes was taken", n, len(raw))
		}
	}
}

// FuzzDecodeInvocation: whatever the bytes, a message decodeInvocation
// takes is one protobuf-go decodes to the same request.
func FuzzDecodeInvocation(f *testing.F) {
	for _, m := range []*rpcpb.InvocationRequest{inlineShaped(), {InvocationId: "i"},
		{RetryContext: &rpcpb.RetryContext{RetryCount: 1}}} {
		raw, _ := proto.Marshal(m)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := new(rpcpb.InvocationRequest)
		if !decodeInvocation(raw, got) {
			return
		}
		want := new(rpcpb.InvocationRequest)
		if err := proto.Unmarshal(raw, want); err != nil {
			t.Fatalf("decodeInvocation took what protobuf-go refuses (%v)", err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("decoded\n%v\nprotobuf-go\n%v", prototext.Format(got), prototext.Format(want))
		}
	})
}

func BenchmarkDecodeInvocation(b *testing.B) {
	msg := inlineShaped()
	msg.InputData = msg.InputData[:1]
	msg.TriggerMetadata = map[string]*rpcpb.TypedData{"Headers": msg.TriggerMetadata["Headers"], "Query": msg.TriggerMetadata["Query"]}
	msg.TraceContext.Baggage, msg.TraceContext.TraceState = nil, ""
	delete(msg.TraceContext.Attributes, "")
	raw, _ := proto.Marshal(msg)
	b.Run("decodeInvocation", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !decodeInvocation(raw, new(rpcpb.InvocationRequest)) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("proto.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := proto.Unmarshal(raw, new(rpcpb.InvocationRequest)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
