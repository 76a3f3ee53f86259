package durable

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// mapEventJSON is the event's JSON as encoding/json writes a map of its
// type's fields: what MarshalJSON must write, byte for byte.
func mapEventJSON(t *testing.T, e Event) []byte {
	t.Helper()
	m := map[string]any{
		"EventType": int(e.EventType),
		"EventId":   e.EventID,
		"IsPlayed":  e.IsPlayed,
		"Timestamp": e.Timestamp.UTC().Format(time.RFC3339Nano),
	}
	switch e.EventType {
	case ExecutionStarted:
		m["OrchestrationInstance"] = e.OrchestrationInstance
		m["ParentInstance"] = e.ParentInstance
		m["Name"] = e.Name
		m["Version"] = e.Version
		m["Input"] = e.Input
		m["Tags"] = e.Tags
		if e.ScheduledStartTime != nil {
			m["ScheduledStartTime"] = e.ScheduledStartTime.UTC().Format(time.RFC3339Nano)
		}
	case ExecutionCompleted, ContinueAsNew:
		m["OrchestrationStatus"] = int(e.OrchestrationStatus)
		m["Result"] = e.Result
		m["FailureDetails"] = e.FailureDetails
	case ExecutionTerminated:
		m["Input"] = e.Input
	case TaskScheduled:
		m["Name"] = e.Name
		m["Version"] = e.Version
		m["Input"] = e.Input
		m["Tags"] = e.Tags
	case TaskCompleted, SubOrchestrationInstanceCompleted:
		m["TaskScheduledId"] = e.TaskScheduledID
		m["Result"] = e.Result
	case TaskFailed, SubOrchestrationInstanceFailed:
		m["TaskScheduledId"] = e.TaskScheduledID
		m["Reason"] = e.Reason
		m["Details"] = e.Details
		m["FailureDetails"] = e.FailureDetails
	case SubOrchestrationInstanceCreated:
		m["Name"] = e.Name
		m["Version"] = e.Version
		m["InstanceId"] = e.InstanceID
		m["Input"] = e.Input
	case TimerCreated:
		m["FireAt"] = e.FireAt.UTC().Format(time.RFC3339Nano)
	case TimerFired:
		m["FireAt"] = e.FireAt.UTC().Format(time.RFC3339Nano)
		m["TimerId"] = e.TimerID
	case EventSent:
		m["InstanceId"] = e.InstanceID
		m["Name"] = e.Name
		m["Input"] = e.Input
	case EventRaised:
		m["Name"] = e.Name
		m["Input"] = e.Input
	case GenericEvent:
		m["Data"] = e.Data
	case ExecutionSuspended, ExecutionResumed, ExecutionRewound:
		m["Reason"] = e.Reason
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonEvents are events of every type, with values that need escaping.
func jsonEvents() []Event {
	str := func(s string) *string { return &s }
	ts := time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.FixedZone("x", 3600))
	tricky := "<a href=\"x\">&amp;</a>\\\n\t\b\f\x01 é \u2028\u2029 \xff end"
	stack := "at f (x.js:1)"
	var out []Event
	for t := EventType(0); t <= ExecutionRewound+1; t++ {
		out = append(out, Event{EventType: t, EventID: NoEventID, Timestamp: ts})
		out = append(out, Event{
			EventType: t, EventID: 7, IsPlayed: true, Timestamp: ts,
			Name: "Name<" + tricky, Version: "v&1", Input: str(`{"a":"<b>"}`), Result: str(tricky),
			TaskScheduledID: 3, Reason: tricky, Details: "d\"etails", InstanceID: "inst\u00e9",
			FailureDetails:        &FailureDetails{ErrorType: "Error", ErrorMessage: tricky, StackTrace: &stack, InnerFailure: &FailureDetails{ErrorType: "Inner"}},
			FireAt:                ts.Add(time.Hour),
			TimerID:               4,
			OrchestrationStatus:   Failed,
			OrchestrationInstance: &InstanceRef{InstanceID: "i<1>", ExecutionID: "e&1"},
			ParentInstance:        &ParentInstance{Name: "P", Version: "1", TaskScheduleID: 2, OrchestrationInstance: &InstanceRef{InstanceID: "p", ExecutionID: "pe"}},
			ScheduledStartTime:    &ts,
			Tags:                  map[string]string{"z": "1", "a": "<2>"},
			Data:                  tricky,
		})
	}
	return out
}

func TestEventMarshalJSONMatchesMapEncoding(t *testing.T) {
	for _, ev := range jsonEvents() {
		got, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if want := mapEventJSON(t, ev); !bytes.Equal(got, want) {
			t.Errorf("%v event:\n got %s\nwant %s", ev.EventType, got, want)
		}
	}
}

func TestEncodePayloadMatchesEncodingJSON(t *testing.T) {
	parent := "parent<1>"
	for _, p := range []OrchestrationPayload{
		{},
		{History: jsonEvents(), Input: json.RawMessage(" { \"a\" : [1, 2, \"<&>\u2028\"] } "), InstanceID: "i&1", IsReplaying: true,
			ParentInstanceID: &parent, UpperSchemaVersion: 1, UpperSchemaVersionNew: 4,
			LongRunningTimerIntervalDuration: "3.00:00:00", MaximumShortTimerDuration: "6.00:00:00", DefaultHTTPAsyncRequestSleepTimeMilliseconds: 30000},
		{History: []Event{}, Input: json.RawMessage("null"), InstanceID: "x"},
	} {
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodePayload(&p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("encodePayload:\n got %s\nwant %s", got, want)
		}
	}
	if _, err := encodePayload(&OrchestrationPayload{Input: json.RawMessage("{not json")}); err == nil {
		t.Error("encodePayload took an input that is not JSON")
	}
}

func TestAsStoredIsTheStoredRoundTrip(t *testing.T) {
	local := time.Now() // with a monotonic reading and a location
	valid := "<b>é\u2028 \"q\""
	stack := "at f"
	rich := Event{EventType: ExecutionStarted, EventID: 2, IsPlayed: true, Timestamp: local, Name: valid, Version: "1", Input: &valid, Result: &valid,
		TaskScheduledID: 3, Reason: valid, Details: valid, InstanceID: valid, FireAt: local, TimerID: 4, OrchestrationStatus: Completed,
		FailureDetails:        &FailureDetails{ErrorType: "E", ErrorMessage: valid, StackTrace: &stack},
		OrchestrationInstance: &InstanceRef{InstanceID: "i", ExecutionID: "e"},
		ParentInstance:        &ParentInstance{Name: "P", OrchestrationInstance: &InstanceRef{InstanceID: "p"}},
		ScheduledStartTime:    &local, Tags: map[string]string{"k": valid}, Data: valid}
	for _, ev := range append(jsonEvents(), rich, Event{EventType: TimerCreated, EventID: 1, Timestamp: local, FireAt: local.Add(time.Hour)}) {
		b, err := EncodeStoredEvent(&ev)
		if err != nil {
			t.Fatal(err)
		}
		want, err := DecodeStoredEvent(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := AsStored(ev); !reflect.DeepEqual(got, want) {
			t.Errorf("%v event:\n AsStored %+v\nround trip %+v", ev.EventType, got, want)
		}
	}
}
