package durableapi

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/funcd/funcd/durable"
)

// statusPayload is an instance's status as the real extension writes it
// (its StatusResponsePayload): the runtime status as a name, times in whole
// seconds with a Z, and historyEvents only when asked for.
type statusPayload struct {
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

func statusOf(inst *durable.Instance, showInput bool) *statusPayload {
	p := &statusPayload{
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
	name  string
	at    time.Time
	input *string
}

// historyEvents turns an execution's history into the management API's
// historyEvents, as the real extension does: EventType as its name, no
// OrchestratorStarted/OrchestratorCompleted, scheduling events folded into
// their completions as FunctionName and ScheduledTime (and Input with
// showInput), no EventId, IsPlayed or TimerId, ExecutionStarted's Name as
// FunctionName, OrchestrationStatus as a name, and Result parsed as JSON
// and kept only with showOutput.
func historyEvents(evs []durable.Event, showInput, showOutput bool) []map[string]any {
	sched := map[int]scheduled{}
	out := make([]map[string]any, 0, len(evs))
	for i := range evs {
		ev := &evs[i]
		switch ev.EventType {
		case durable.OrchestratorStarted, durable.OrchestratorCompleted:
			continue
		case durable.TaskScheduled, durable.SubOrchestrationInstanceCreated:
			sched[ev.EventID] = scheduled{name: ev.Name, at: ev.Timestamp, input: ev.Input}
			continue
		}
		m := eventMap(ev)
		m["EventType"] = ev.EventType.String()
		delete(m, "EventId")
		delete(m, "IsPlayed")
		switch ev.EventType {
		case durable.ExecutionStarted:
			m["FunctionName"] = ev.Name
			delete(m, "Name")
			valueField(m, "Input", ev.Input, showInput)
		case durable.ExecutionCompleted, durable.ContinueAsNew:
			m["OrchestrationStatus"] = ev.OrchestrationStatus.String()
			valueField(m, "Result", ev.Result, showOutput)
		case durable.TaskCompleted, durable.TaskFailed, durable.SubOrchestrationInstanceCompleted, durable.SubOrchestrationInstanceFailed:
			if s, ok := sched[ev.TaskScheduledID]; ok {
				m["FunctionName"] = s.name
				m["ScheduledTime"] = s.at.UTC().Format(time.RFC3339Nano)
				if showInput {
					valueField(m, "Input", s.input, true)
				}
			}
			delete(m, "TaskScheduledId")
			if _, has := m["Result"]; has {
				valueField(m, "Result", ev.Result, showOutput)
			}
		case durable.TimerFired:
			delete(m, "TimerId")
		case durable.EventRaised, durable.EventSent:
			valueField(m, "Input", ev.Input, showInput)
		case durable.ExecutionTerminated:
			valueField(m, "Input", ev.Input, true)
		}
		out = append(out, m)
	}
	return out
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

// valueField sets m[name] to JSON text v parsed (a JSON string of it when
// it is not JSON), or removes it when !show.
func valueField(m map[string]any, name string, v *string, show bool) {
	if !show {
		delete(m, name)
		return
	}
	if v == nil {
		m[name] = nil
		return
	}
	m[name] = rawJSON(*v)
}
