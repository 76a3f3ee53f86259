package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/durable"
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
