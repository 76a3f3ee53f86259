package durable_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/sdk/durable"
)

func TestCriticalSection(t *testing.T) {
	a, b := durable.NewEntityID("Counter", "b"), durable.NewEntityID("counter", "a")
	var lockID string
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		cs, err := ctx.Lock(a, b, a)
		if err != nil {
			return nil, err
		}
		var n int
		if err := ctx.CallEntity(a, "get").Await(&n); err != nil {
			return nil, err
		}
		// The rules: no call to an entity outside the section, no signal
		// to one inside it, no nesting.
		outside := ctx.CallEntity(durable.NewEntityID("Counter", "z"), "get").Await(nil)
		signal := ctx.SignalEntity(b, "add")
		_, nested := ctx.Lock(a)
		for _, err := range []error{outside, signal, nested} {
			if !errors.Is(err, durable.ErrLockingRules) {
				return nil, fmt.Errorf("want a locking rules error, got %v", err)
			}
		}
		cs.Release()
		cs.Release()
		return fmt.Sprint(n, ctx.Locked() == nil), ctx.CallActivity("After").Await(nil)
	}
	h := newHistory(t, "o", nil)
	h.schema = 3
	var st struct {
		Actions [][]map[string]any `json:"actions"`
	}
	if err := json.Unmarshal(run(t, h, fn), &st); err != nil || len(st.Actions[0]) != 1 {
		t.Fatalf("first episode: %+v, %v", st, err)
	}
	lock := st.Actions[0][0]
	lockID, _ = lock["lockRequestId"].(string)
	set, _ := json.Marshal(lock["lockSet"])
	if lock["actionType"] != 13.0 || lockID == "" || string(set) != `[{"key":"a","name":"counter"},{"key":"b","name":"counter"}]` {
		t.Fatalf("lock action %v", lock)
	}
	h.eventSent("@counter@a", `{"op":"","id":"`+lockID+`","parent":"inst","lockset":[{"name":"counter","key":"a"},{"name":"counter","key":"b"}]}`)
	h.episode(time.Second).raised(lockID, `{"result":"Lock Acquisition Completed"}`)
	lockJSON, _ := json.Marshal(lock)
	get := `{"actionType":7,"instanceId":"@counter@b","operation":"get"}`
	sameJSON(t, run(t, h, fn), `{"isDone":false,"actions":[[`+string(lockJSON)+`,`+get+`]],"output":null,"schemaVersion":3}`)
	h.eventSent("@counter@b", `{"op":"get","id":"r1","parent":"inst"}`)
	h.episode(time.Second).raised("r1", `{"result":"7"}`)
	// The release takes one number per entity: the activity after it is
	// number 4.
	out := run(t, h, fn)
	sameJSON(t, out, `{"isDone":false,"actions":[[`+string(lockJSON)+`,`+get+`,{"actionType":14},{"actionType":0,"functionName":"After"}]],"output":null,"schemaVersion":3}`)
	h.next()
	h.next()
	h.scheduled("After")
	if id := h.seq - 1; id != 4 {
		t.Fatalf("After is number %d", id)
	}
	h.episode(time.Second).completed(4, "null")
	out = run(t, h, fn)
	if !strings.Contains(string(out), `"isDone":true`) || !strings.Contains(string(out), `"output":"7 true"`) {
		t.Errorf("last episode: %s", out)
	}
}

func TestLockNeedsSchemaV4(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		_, err := ctx.Lock(durable.NewEntityID("c", "k"))
		return nil, err
	}
	_, err := durable.RunOrchestrator(t.Context(), newHistory(t, "o", nil).payload(), fn)
	if err == nil || !strings.Contains(err.Error(), "schema V4") {
		t.Errorf("err = %v, want one saying the host lacks schema V4", err)
	}
}
