package durableapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/funcd/funcd/durable"
)

// Status is an instance's status as the real extension writes it
// (its StatusResponsePayload): the runtime status as a name, times in whole
// seconds with a Z, and historyEvents only when asked for.
type Status struct {
	Name            string            `json:"name"`
	InstanceID      string            `json:"instanceId"`
	RuntimeStatus   string            `json:"runtimeStatus"`
	Input           json.RawMessage   `json:"input"`
	CustomStatus    json.RawMessage   `json:"customStatus"`
	Output          json.RawMessage   `json:"output"`
	CreatedTime     string            `json:"createdTime"`
	LastUpdatedTime string            `json:"lastUpdatedTime"`
	HistoryEvents   *[]map[string]any `json:"historyEvents,omitempty"`
}

// statusTime formats a time as .NET's "s" format plus Z.
func statusTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") + "Z" }

// StatusOf is inst's status, its input only with showInput (the API's
// showInput), without historyEvents.
func StatusOf(inst *durable.Instance, showInput bool) *Status {
	p := &Status{
		Name:            inst.Name,
		InstanceID:      inst.ID,
		RuntimeStatus:   inst.Status.String(),
		Input:           json.RawMessage("null"),
		CustomStatus:    rawJSON(inst.CustomStatus),
		Output:          rawJSON(inst.Output),
		CreatedTime:     statusTime(inst.CreatedAt),
		LastUpdatedTime: statusTime(inst.LastUpdatedAt),
	}
	if showInput {
		p.Input = rawJSON(inst.Input)
	}
	return p
}

// rawJSON returns JSON text as a value: null for "", and a JSON string of
// the text when it is not JSON.
func rawJSON(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage("null")
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

// scheduled is a TaskScheduled or SubOrchestrationInstanceCreated event,
// folded into the event that answers it.
type scheduled struct {
	name string
	at   time.Time
}

// HistoryEvents turns an execution's history into the management API's
// historyEvents, as the real extension does (DurableClient's
// GetDurableOrchestrationStatusAsync): EventType as its name; no
// OrchestratorStarted or OrchestratorCompleted; TaskScheduled and
// SubOrchestrationInstanceCreated folded into their completion or failure
// as FunctionName and ScheduledTime; ExecutionStarted with FunctionName
// for Name and without OrchestrationInstance, ParentInstance, Version,
// Tags or Input; ExecutionCompleted's OrchestrationStatus as a name;
// Result (of ExecutionCompleted and the completions) parsed as JSON with
// showOutput and removed without; no Input in ExecutionTerminated or
// EventRaised; no TimerId, EventId or IsPlayed.
func HistoryEvents(evs []durable.Event, showOutput bool) []map[string]any {
	sched := map[string]scheduled{}
	folded := map[int]bool{}
	out := make([]map[string]any, 0, len(evs))
	index := map[int]int{} // a scheduling event's EventId to its index
	for i := range evs {
		ev := &evs[i]
		m := eventMap(ev)
		m["EventType"] = ev.EventType.String()
		switch ev.EventType {
		case durable.OrchestratorStarted, durable.OrchestratorCompleted:
			folded[i] = true
		case durable.TaskScheduled, durable.SubOrchestrationInstanceCreated:
			sched[fmt.Sprintf("%s_%d", ev.EventType, ev.EventID)] = scheduled{name: ev.Name, at: ev.Timestamp}
			index[ev.EventID] = i
			delete(m, "Version")
			delete(m, "Input")
		case durable.TaskCompleted, durable.TaskFailed, durable.SubOrchestrationInstanceCompleted, durable.SubOrchestrationInstanceFailed:
			prefix := durable.TaskScheduled
			if ev.EventType == durable.SubOrchestrationInstanceCompleted || ev.EventType == durable.SubOrchestrationInstanceFailed {
				prefix = durable.SubOrchestrationInstanceCreated
			}
			if s, ok := sched[fmt.Sprintf("%s_%d", prefix, ev.TaskScheduledID)]; ok {
				m["ScheduledTime"] = s.at.UTC().Format(time.RFC3339Nano)
				m["FunctionName"] = s.name
				folded[index[ev.TaskScheduledID]] = true
			}
			delete(m, "TaskScheduledId")
			if ev.EventType == durable.TaskCompleted || ev.EventType == durable.SubOrchestrationInstanceCompleted {
				result(m, ev.Result, showOutput)
			}
		case durable.ExecutionStarted:
			m["FunctionName"] = ev.Name
			for _, k := range []string{"Name", "OrchestrationInstance", "ParentInstance", "Version", "Tags", "Input"} {
				delete(m, k)
			}
		case durable.ExecutionCompleted:
			m["OrchestrationStatus"] = ev.OrchestrationStatus.String()
			result(m, ev.Result, showOutput)
		case durable.ExecutionTerminated, durable.EventRaised:
			delete(m, "Input")
		case durable.TimerFired:
			delete(m, "TimerId")
		}
		delete(m, "EventId")
		delete(m, "IsPlayed")
		out = append(out, m)
	}
	kept := out[:0]
	for i, m := range out {
		if !folded[i] {
			kept = append(kept, m)
		}
	}
	return kept
}

// result sets a completion's Result to its JSON value with show (the text
// as a string when it is not JSON), and removes it without.
func result(m map[string]any, v *string, show bool) {
	if !show {
		delete(m, "Result")
		return
	}
	if v == nil {
		m["Result"] = nil
		return
	}
	m["Result"] = rawJSON(*v)
}

// eventMap returns an event's framework JSON as a map (numbers kept
// exact).
func eventMap(ev *durable.Event) map[string]any {
	b, err := json.Marshal(ev)
	m := map[string]any{}
	if err != nil {
		return m
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	_ = d.Decode(&m)
	return m
}
