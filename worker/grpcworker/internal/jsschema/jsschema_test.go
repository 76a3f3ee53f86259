package jsschema

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// jsDir is the Node worker's source folder.
var jsDir = filepath.Join("..", "..", "..", "nodeworker", "js")

// TestSchemaUpToDate fails while the committed schema.js differs from what
// the definitions generate.
func TestSchemaUpToDate(t *testing.T) {
	want, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(jsDir, "schema.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("worker/nodeworker/js/schema.js is stale: run go generate ./worker/grpcworker/internal/jsschema")
	}
}

// TestSchemaCoversEveryMessage: every message of the protocol's files is in
// the schema, with every field.
func TestSchemaCoversEveryMessage(t *testing.T) {
	b, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	var walk func(protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			m := ms.Get(i)
			if m.IsMapEntry() {
				continue
			}
			if !strings.Contains(s, `"`+string(m.FullName())+`": {`) {
				t.Errorf("%s is missing", m.FullName())
			}
			for j := 0; j < m.Fields().Len(); j++ {
				f := m.Fields().Get(j)
				if !strings.Contains(s, `name: "`+f.JSONName()+`", number: `) {
					t.Errorf("%s.%s (%s) is missing", m.FullName(), f.Name(), f.JSONName())
				}
			}
			walk(m.Messages())
		}
	}
	for _, f := range Files() {
		walk(f.Messages())
	}
	for _, want := range []string{`"google.protobuf.Duration": {`, `"google.protobuf.Timestamp": {`,
		`name: "requestId", number: 1, kind: "string"`, `name: "invocationId"`, `name: "triggerMetadata", number: 4, kind: "map"`,
		`name: "sint64", number: 1, kind: "sint64", repeated: true, packed: true`, `name: "propertiesMap"`} {
		if !strings.Contains(s, want) {
			t.Errorf("schema lacks %s", want)
		}
	}
}

// vectors are messages encoded by Go's proto.Marshal; the JavaScript test
// (js/test/protobuf.test.js) holds the object each one must decode to, and
// checks that encoding that object gives the same bytes.
func vectors() map[string]proto.Message {
	str := func(s string) *rpcpb.TypedData { return &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: s}} }
	return map[string]proto.Message{
		"startStream": &rpcpb.StreamingMessage{RequestId: "req-1",
			Content: &rpcpb.StreamingMessage_StartStream{StartStream: &rpcpb.StartStream{WorkerId: "w-1"}}},
		"emptyOneofMember": &rpcpb.StreamingMessage{
			Content: &rpcpb.StreamingMessage_WorkerStatusRequest{WorkerStatusRequest: &rpcpb.WorkerStatusRequest{}}},
		"workerInitRequest": &rpcpb.StreamingMessage{RequestId: "r",
			Content: &rpcpb.StreamingMessage_WorkerInitRequest{WorkerInitRequest: &rpcpb.WorkerInitRequest{
				HostVersion:          "4.1040.0.0",
				Capabilities:         map[string]string{"MultiStream": "true", "Zeta": ""},
				LogCategories:        map[string]rpcpb.RpcLog_Level{"a": rpcpb.RpcLog_Trace, "b": rpcpb.RpcLog_Warning},
				WorkerDirectory:      "/w",
				FunctionAppDirectory: "/app/é",
			}}},
		"workerTerminate": &rpcpb.StreamingMessage{
			Content: &rpcpb.StreamingMessage_WorkerTerminate{WorkerTerminate: &rpcpb.WorkerTerminate{
				GracePeriod: durationpb.New(5*time.Second + 250*time.Millisecond)}}},
		"invocationRequest": &rpcpb.InvocationRequest{
			InvocationId: "inv",
			FunctionId:   "fn",
			InputData: []*rpcpb.ParameterBinding{
				{Name: "req", RpcData: &rpcpb.ParameterBinding_Data{Data: &rpcpb.TypedData{Data: &rpcpb.TypedData_Http{Http: &rpcpb.RpcHttp{
					Method:          "POST",
					Url:             "http://h/api/x?y=1",
					NullableHeaders: map[string]*rpcpb.NullableString{"a": {String_: &rpcpb.NullableString_Value{Value: "1"}}, "b": {String_: &rpcpb.NullableString_Value{Value: ""}}},
					Body:            &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: []byte{0, 1, 0xff}}},
				}}}}},
				{Name: "blob", RpcData: &rpcpb.ParameterBinding_RpcSharedMemory{RpcSharedMemory: &rpcpb.RpcSharedMemory{
					Name: "m", Offset: 1 << 40, Count: -1, Type: rpcpb.RpcDataType_bytes}}},
			},
			TriggerMetadata: map[string]*rpcpb.TypedData{"Empty": str(""), "Id": str("1")},
			RetryContext:    &rpcpb.RetryContext{RetryCount: -2, MaxRetryCount: 5},
		},
		"typedInt":     &rpcpb.TypedData{Data: &rpcpb.TypedData_Int{Int: -1}},
		"typedIntZero": &rpcpb.TypedData{Data: &rpcpb.TypedData_Int{Int: 0}},
		"typedIntMin":  &rpcpb.TypedData{Data: &rpcpb.TypedData_Int{Int: math.MinInt64}},
		"typedIntBig":  &rpcpb.TypedData{Data: &rpcpb.TypedData_Int{Int: 1 << 53}},
		"typedDouble":  &rpcpb.TypedData{Data: &rpcpb.TypedData_Double{Double: -1.5}},
		"collectionDouble": &rpcpb.TypedData{Data: &rpcpb.TypedData_CollectionDouble{CollectionDouble: &rpcpb.CollectionDouble{
			Double: []float64{0, 1.25, math.Inf(-1)}}}},
		"collectionSint64": &rpcpb.TypedData{Data: &rpcpb.TypedData_CollectionSint64{CollectionSint64: &rpcpb.CollectionSInt64{
			Sint64: []int64{0, -1, 1, math.MaxInt64, 9007199254740991}}}},
		"collectionBytes": &rpcpb.TypedData{Data: &rpcpb.TypedData_CollectionBytes{CollectionBytes: &rpcpb.CollectionBytes{
			Bytes: [][]byte{{}, {7}}}}},
		"collectionString": &rpcpb.TypedData{Data: &rpcpb.TypedData_CollectionString{CollectionString: &rpcpb.CollectionString{
			String_: []string{"", "ü"}}}},
		"functionMetadata": &rpcpb.RpcFunctionMetadata{
			Name:        "hello",
			RawBindings: []string{`{"type":"httpTrigger"}`, `{"name":"$return"}`},
			Bindings: map[string]*rpcpb.BindingInfo{"$return": {Type: "http", Direction: rpcpb.BindingInfo_out},
				"req": {Type: "httpTrigger", DataType: rpcpb.BindingInfo_binary, Properties: map[string]string{"k": "v"}}},
			IsProxy:      true,
			RetryOptions: &rpcpb.RpcRetryOptions{MaxRetryCount: 3, DelayInterval: durationpb.New(-1500 * time.Millisecond)},
		},
		"rpcLog": &rpcpb.RpcLog{Level: rpcpb.RpcLog_Information, Message: "hi", LogCategory: rpcpb.RpcLog_System,
			Exception: &rpcpb.RpcException{Message: "m", StackTrace: "s"}},
		"statusFailure":   &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure, Result: "r"},
		"closeMapResults": &rpcpb.CloseSharedMemoryResourcesResponse{CloseMapResults: map[string]bool{"a": true, "b": false}},
		"nullableTimestamp": &rpcpb.NullableTimestamp{Timestamp: &rpcpb.NullableTimestamp_Value{
			Value: timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))}},
	}
}

// TestProtobufJS runs the codec's node:test suite with the vectors above.
func TestProtobufJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to test protobuf.js: %v", err)
	}
	type vector struct {
		Type string `json:"type"`
		Hex  string `json:"hex"`
	}
	out := map[string]vector{}
	for name, m := range vectors() {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(name, err)
		}
		out[name] = vector{Type: string(m.ProtoReflect().Descriptor().FullName()), Hex: hex.EncodeToString(b)}
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vectors.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, "--test", "--test-reporter=tap", filepath.Join(jsDir, "test", "protobuf.test.js"))
	cmd.Env = append(os.Environ(), "FUNCD_PB_VECTORS="+path)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, res)
	}
	if !strings.Contains(string(res), "# fail 0") || !strings.Contains(string(res), "# skipped 0") {
		t.Fatalf("node --test:\n%s", res)
	}
	t.Logf("%s", res)
}
