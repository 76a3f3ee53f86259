package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/durable"
	"github.com/funcd/funcd/worker/grpcworker"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

func durableApp() *sdk.App {
	app := sdk.FunctionApp()
	app.Orchestration("hello", func(ctx *durable.OrchestrationContext) (any, error) {
		var city string
		if err := ctx.GetInput(&city); err != nil {
			return nil, err
		}
		if city == "" {
			return nil, errors.New("no city")
		}
		var greeting string
		err := ctx.CallActivity("greet", durable.WithInput(city)).Await(&greeting)
		return greeting, err
	})
	app.Activity("greet", func(_ context.Context, city string) (string, error) {
		if city == "Atlantis" {
			return "", errors.New("no such city")
		}
		return "Hello " + city, nil
	})
	app.Entity("counter", func(ctx *durable.EntityContext) error {
		var n int
		if err := ctx.GetState(&n); err != nil {
			return err
		}
		return ctx.SetState(n + 1)
	})
	app.HTTP("start", func(w http.ResponseWriter, r *http.Request) {
		client, err := durable.GetClient(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		id, err := client.StartNew(r.Context(), "hello", durable.WithInput("Tokyo"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		client.CreateCheckStatusResponse(w, r, id)
	}).DurableClient("client")
	return app
}

func invocation(id, function, trigger, binding string, data *rpcpb.TypedData) *rpcpb.InvocationRequest {
	return &rpcpb.InvocationRequest{InvocationId: id, FunctionId: fid(function, trigger),
		InputData: []*rpcpb.ParameterBinding{{Name: binding, RpcData: &rpcpb.ParameterBinding_Data{Data: data}}}}
}

// TestDurableFunctions runs durable functions through the worker as the
// host drives them: the indexed bindings, an orchestration episode, its
// failure, an activity, an entity batch, and an HTTP starter with a
// durableClient input.
func TestDurableFunctions(t *testing.T) {
	h := startHost(t, durableApp())
	_, md := h.handshake()
	want := map[string][]string{
		"hello":   {`{"name":"context","type":"orchestrationTrigger","direction":"in"}`, `{"name":"$return","type":"orchestrationTrigger","direction":"out"}`},
		"greet":   {`{"name":"input","type":"activityTrigger","direction":"in"}`, `{"name":"$return","type":"activityTrigger","direction":"out"}`},
		"counter": {`{"name":"context","type":"entityTrigger","direction":"in"}`, `{"name":"$return","type":"entityTrigger","direction":"out"}`},
		"start": {`{"name":"req","type":"httpTrigger","direction":"in","authLevel":"anonymous","methods":["GET","POST"],"route":"start"}`,
			`{"name":"client","type":"durableClient","direction":"in"}`, `{"name":"$return","type":"http","direction":"out"}`},
	}
	for name, raw := range want {
		if got := md[name].GetRawBindings(); strings.Join(got, "\n") != strings.Join(raw, "\n") {
			t.Errorf("%s raw bindings\n got %q\nwant %q", name, got, raw)
		}
	}
	if md["start"].GetBindings()["client"].GetDirection() != rpcpb.BindingInfo_in {
		t.Errorf("start bindings %v", md["start"].GetBindings())
	}

	// An orchestration's first episode: the trigger is the JSON context as
	// a string; the return value the state as JSON.
	payload := func(input string) *rpcpb.TypedData {
		return str(`{"history":[{"EventType":12,"EventId":-1,"IsPlayed":false,"Timestamp":"2025-01-01T00:00:00Z"},
			{"EventType":0,"EventId":-1,"IsPlayed":false,"Timestamp":"2025-01-01T00:00:00Z","Name":"hello","Input":` + input + `}],
			"input":` + input + `,"instanceId":"abc","isReplaying":false,"upperSchemaVersion":1,"upperSchemaVersionNew":2}`)
	}
	resp := h.invoke(invocation("o1", "hello", "orchestrationTrigger", "context", payload(`"Tokyo"`)))
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success ||
		resp.GetReturnValue().GetJson() != `{"isDone":false,"actions":[[{"actionType":0,"functionName":"greet","input":"\"Tokyo\""}]],"output":null,"schemaVersion":2}` {
		t.Errorf("orchestration response %v", resp)
	}
	resp = h.invoke(invocation("o2", "hello", "orchestrationTrigger", "context", payload(`null`)))
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Failure ||
		resp.GetResult().GetException().GetMessage() != "no city\n\n$OutOfProcData$:"+`{"isDone":false,"actions":[[]],"output":null,"error":"no city","schemaVersion":2}` {
		t.Errorf("failed orchestration response %v", resp.GetResult())
	}

	// The activity gets the JSON text of its input.
	resp = h.invoke(invocation("a1", "greet", "activityTrigger", "input", str(`"Tokyo"`)))
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success || resp.GetReturnValue().GetJson() != `"Hello Tokyo"` {
		t.Errorf("activity response %v", resp)
	}
	resp = h.invoke(invocation("a2", "greet", "activityTrigger", "input", str(`"Atlantis"`)))
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Failure || resp.GetResult().GetException().GetMessage() != "no such city" {
		t.Errorf("failed activity response %v", resp.GetResult())
	}

	resp = h.invoke(invocation("e1", "counter", "entityTrigger", "context",
		str(`{"self":{"name":"counter","key":"k"},"exists":true,"state":"1","batch":[{"name":"inc","input":null,"isSignal":true}]}`)))
	var out struct {
		EntityExists bool   `json:"entityExists"`
		EntityState  string `json:"entityState"`
	}
	if err := json.Unmarshal([]byte(resp.GetReturnValue().GetJson()), &out); err != nil || !out.EntityExists || out.EntityState != "2" {
		t.Errorf("entity response %v (%v)", resp, err)
	}

	// The starter calls the host's HTTP API at rpcBaseUrl.
	var started string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		started = r.Method + " " + r.URL.Path + " " + string(body)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"id":"new-instance"}`)
	}))
	defer api.Close()
	client := `{"taskHubName":"Hub","creationUrls":{},"managementUrls":{"id":"INSTANCEID",
		"statusQueryGetUri":"http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/INSTANCEID?code=K",
		"sendEventPostUri":"","terminatePostUri":"","purgeHistoryDeleteUri":""},
		"baseUrl":"http://127.0.0.1:7071/runtime/webhooks/durabletask","requiredQueryStringParameters":"code=K",
		"rpcBaseUrl":"` + api.URL + `/durabletask/"}`
	req := httpReq("s1", "start", &rpcpb.RpcHttp{Method: "POST", Url: "https://myapp.example.com/api/start"}, nil)
	req.InputData = append(req.InputData, &rpcpb.ParameterBinding{Name: "client", RpcData: &rpcpb.ParameterBinding_Data{Data: str(client)}})
	resp = h.invoke(req)
	rh := resp.GetReturnValue().GetHttp()
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success || rh.GetStatusCode() != "202" ||
		rh.GetHeaders()["Location"] != "https://myapp.example.com/runtime/webhooks/durabletask/instances/new-instance?code=K" {
		t.Errorf("starter response %v", resp)
	}
	if started != `POST /durabletask/orchestrators/hello "Tokyo"` {
		t.Errorf("the starter called %q", started)
	}
}

// TestDurableInteropWithHost builds the Durable Functions sample
// (samples/go-durable) and runs it under the host's FunctionRpc
// implementation, grpcworker.Worker: indexing, two orchestration episodes,
// activities and an entity batch.
func TestDurableInteropWithHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sample app")
	}
	bin := filepath.Join(t.TempDir(), "app")
	build := exec.Command("go", "build", "-o", bin, "../../samples/go-durable")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the sample: %v\n%s", err, out)
	}
	w, err := grpcworker.New(grpcworker.Config{
		Path:         bin,
		Dir:          "../../samples/go-durable",
		HostVersion:  "4.1040.0.0",
		AppDirectory: "../../samples/go-durable",
		StartTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	if err := w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	fns, err := w.Functions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{}
	for _, f := range fns {
		if f.Err != nil {
			t.Errorf("function %s: %v", f.Metadata.GetName(), f.Err)
		}
		var types []string
		for _, b := range f.Metadata.GetBindings() {
			if b.GetDirection() == rpcpb.BindingInfo_in {
				types = append(types, b.GetType())
			}
		}
		slices.Sort(types)
		inputs[f.Metadata.GetName()] = strings.Join(types, " ")
	}
	want := map[string]string{"start": "durableClient httpTrigger", "hello_cities": "orchestrationTrigger",
		"say_hello": "activityTrigger", "count_letters": "activityTrigger", "counter": "entityTrigger"}
	for name, typ := range want {
		if got := inputs[name]; got != typ {
			t.Errorf("function %s has inputs %q, want %q", name, got, typ)
		}
	}

	invoke := func(id, function, trigger, binding, payload string) *rpcpb.InvocationResponse {
		t.Helper()
		resp, err := w.Invoke(t.Context(), invocation(id, function, trigger, binding, str(payload)))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	ev := func(typ, id int, ts, extra string) string {
		return fmt.Sprintf(`{"EventType":%d,"EventId":%d,"IsPlayed":false,"Timestamp":"%s"%s}`, typ, id, ts, extra)
	}
	history := []string{
		ev(12, -1, "2025-01-01T00:00:00Z", ""),
		ev(0, -1, "2025-01-01T00:00:00Z", `,"Name":"hello_cities","Input":"[\"Tokyo\",\"Seattle\",\"Lima\"]"`),
	}
	orchestration := func(id string) *rpcpb.InvocationResponse {
		return invoke(id, "hello_cities", "orchestrationTrigger", "context", `{"history":[`+strings.Join(history, ",")+`],
			"input":["Tokyo","Seattle","Lima"],"instanceId":"abc","isReplaying":false,"upperSchemaVersion":1,"upperSchemaVersionNew":2,
			"longRunningTimerIntervalDuration":"3.00:00:00","maximumShortTimerDuration":"6.00:00:00"}`)
	}
	resp := orchestration("o1")
	if resp.GetResult().GetStatus() != rpcpb.StatusResult_Success || resp.GetReturnValue().GetJson() !=
		`{"isDone":false,"actions":[[{"actionType":0,"functionName":"say_hello","input":"\"Tokyo\""}]],"output":null,"schemaVersion":2}` {
		t.Fatalf("first episode: %v", resp)
	}
	// Each activity runs through the worker; its result goes into the
	// history as the host records it.
	id := 0
	for _, city := range []string{"Tokyo", "Seattle", "Lima"} {
		r := invoke("a-"+city, "say_hello", "activityTrigger", "input", `"`+city+`"`)
		result, _ := json.Marshal(r.GetReturnValue().GetJson())
		history = append(history, ev(4, id, "2025-01-01T00:00:00Z", `,"Name":"say_hello"`), ev(13, -1, "2025-01-01T00:00:00Z", ""),
			ev(12, -1, "2025-01-01T00:00:01Z", ""), ev(5, -1, "2025-01-01T00:00:01Z", fmt.Sprintf(`,"TaskScheduledId":%d,"Result":%s`, id, result)))
		id++
	}
	resp = orchestration("o2")
	var state struct {
		IsDone  bool
		Actions [][]struct {
			ActionType   int
			FunctionName string
			Input        json.RawMessage
		}
		CustomStatus json.RawMessage
	}
	if err := json.Unmarshal([]byte(resp.GetReturnValue().GetJson()), &state); err != nil {
		t.Fatalf("second episode: %v (%v)", resp, err)
	}
	acts := state.Actions[0]
	if state.IsDone || len(acts) != 6 || acts[3].FunctionName != "count_letters" || string(acts[5].Input) != `"\"Hello Lima!\""` ||
		string(state.CustomStatus) != `{"greeted":3}` {
		t.Fatalf("second episode: %s", resp.GetReturnValue().GetJson())
	}
	// The fan-out: three scheduled in one episode, completed in the next.
	var completions []string
	for i, g := range []string{"Hello Tokyo!", "Hello Seattle!", "Hello Lima!"} {
		r := invoke(fmt.Sprint("c", i), "count_letters", "activityTrigger", "input", `"`+g+`"`)
		history = append(history, ev(4, id, "2025-01-01T00:00:01Z", `,"Name":"count_letters"`))
		completions = append(completions, ev(5, -1, "2025-01-01T00:00:02Z",
			fmt.Sprintf(`,"TaskScheduledId":%d,"Result":"%s"`, id, r.GetReturnValue().GetJson())))
		id++
	}
	history = append(history, ev(13, -1, "2025-01-01T00:00:01Z", ""), ev(12, -1, "2025-01-01T00:00:02Z", ""))
	history = append(history, completions...)
	resp = orchestration("o3")
	got := resp.GetReturnValue().GetJson()
	if !strings.Contains(got, `"isDone":true`) || !strings.Contains(got, `"output":["Hello Tokyo!","Hello Seattle!","Hello Lima!"]`) ||
		strings.Count(got, `"actionType":9,"instanceId":"@counter@letters","operation":"add"`) != 3 {
		t.Fatalf("last episode: %s (%v)", got, resp.GetResult())
	}

	resp = invoke("e1", "counter", "entityTrigger", "context",
		`{"self":{"name":"counter","key":"letters"},"exists":false,"state":null,"batch":[{"name":"add","input":"12","isSignal":true},{"name":"get","input":null,"isSignal":false}]}`)
	if got := resp.GetReturnValue().GetJson(); !strings.Contains(got, `"entityState":"12"`) || !strings.Contains(got, `"result":"12"`) {
		t.Errorf("entity batch: %s", got)
	}
}
