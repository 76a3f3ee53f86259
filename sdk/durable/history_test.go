package durable_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// history builds an orchestration's history as the host records it: DTFx
// events with PascalCase fields and integer EventTypes, scheduling events
// numbered from 0, every other event -1, an OrchestratorStarted opening
// each episode.
type history struct {
	t      testing.TB
	events []map[string]any
	now    time.Time
	seq    int
	input  any
	schema int // upperSchemaVersionNew; 2 (V3) when 0
}

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// newHistory starts an execution of name with input (a JSON value).
func newHistory(t testing.TB, name string, input any) *history {
	h := &history{t: t, now: t0, input: input}
	h.add(12, -1, nil)
	in, _ := json.Marshal(input)
	h.add(0, -1, map[string]any{"Name": name, "Version": "", "Input": string(in),
		"OrchestrationInstance": map[string]any{"InstanceId": "inst", "ExecutionId": "exec1"}, "ParentInstance": nil, "Tags": nil})
	return h
}

func (h *history) add(typ, id int, fields map[string]any) {
	e := map[string]any{"EventType": typ, "EventId": id, "IsPlayed": false, "Timestamp": h.now.Format(time.RFC3339Nano)}
	for k, v := range fields {
		e[k] = v
	}
	h.events = append(h.events, e)
}

// episode ends the episode and starts the next, d later.
func (h *history) episode(d time.Duration) *history {
	h.add(13, -1, nil)
	h.now = h.now.Add(d)
	h.add(12, -1, nil)
	return h
}

func (h *history) next() int { id := h.seq; h.seq++; return id }

func (h *history) scheduled(name string) int {
	id := h.next()
	h.add(4, id, map[string]any{"Name": name, "Version": "", "Input": "[]"})
	return id
}

func (h *history) timerCreated(fireAt time.Time) int {
	id := h.next()
	h.add(10, id, map[string]any{"FireAt": fireAt.Format(time.RFC3339Nano)})
	return id
}

func (h *history) subCreated(name, instance string) int {
	id := h.next()
	h.add(7, id, map[string]any{"Name": name, "InstanceId": instance, "Input": "null"})
	return id
}

func (h *history) eventSent(target, input string) int {
	id := h.next()
	h.add(14, id, map[string]any{"InstanceId": target, "Name": "op", "Input": input})
	return id
}

func (h *history) completed(id int, result string) *history {
	h.add(5, -1, map[string]any{"TaskScheduledId": id, "Result": result})
	return h
}

func (h *history) failed(id int, reason, details string) *history {
	h.add(6, -1, map[string]any{"TaskScheduledId": id, "Reason": reason, "Details": details, "FailureDetails": nil})
	return h
}

func (h *history) subCompleted(id int, result string) *history {
	h.add(8, -1, map[string]any{"TaskScheduledId": id, "Result": result})
	return h
}

func (h *history) timerFired(id int, fireAt time.Time) *history {
	h.add(11, -1, map[string]any{"TimerId": id, "FireAt": fireAt.Format(time.RFC3339Nano)})
	return h
}

func (h *history) raised(name, input string) *history {
	h.add(15, -1, map[string]any{"Name": name, "Input": input})
	return h
}

// payload is the orchestration trigger's value.
func (h *history) payload() []byte {
	schema := h.schema
	if schema == 0 {
		schema = 2
	}
	p := map[string]any{
		"history": h.events, "input": h.input, "instanceId": "inst", "isReplaying": len(h.events) > 2,
		"parentInstanceId": nil, "upperSchemaVersion": 1, "upperSchemaVersionNew": schema,
		"longRunningTimerIntervalDuration": "3.00:00:00", "maximumShortTimerDuration": "6.00:00:00",
		"defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
	}
	b, err := json.Marshal(p)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// sameJSON fails unless got and want are the same JSON value.
func sameJSON(t testing.TB, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		var c bytes.Buffer
		_ = json.Compact(&c, []byte(want))
		t.Errorf("state\n got %s\nwant %s", got, c.String())
	}
}
