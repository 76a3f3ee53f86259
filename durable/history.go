package durable

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// EventType is a history event's type, numbered as the Durable Task
// Framework numbers them (its HistoryEventType enum, which the JavaScript
// SDK copies).
type EventType int

// The history event types.
const (
	ExecutionStarted                  EventType = 0
	ExecutionCompleted                EventType = 1
	ExecutionFailed                   EventType = 2 // legacy; never written
	ExecutionTerminated               EventType = 3
	TaskScheduled                     EventType = 4
	TaskCompleted                     EventType = 5
	TaskFailed                        EventType = 6
	SubOrchestrationInstanceCreated   EventType = 7
	SubOrchestrationInstanceCompleted EventType = 8
	SubOrchestrationInstanceFailed    EventType = 9
	TimerCreated                      EventType = 10
	TimerFired                        EventType = 11
	OrchestratorStarted               EventType = 12
	OrchestratorCompleted             EventType = 13
	EventSent                         EventType = 14
	EventRaised                       EventType = 15
	ContinueAsNew                     EventType = 16
	GenericEvent                      EventType = 17
	HistoryState                      EventType = 18
	ExecutionSuspended                EventType = 19
	ExecutionResumed                  EventType = 20
	ExecutionRewound                  EventType = 21
)

var eventTypeNames = [...]string{
	"ExecutionStarted", "ExecutionCompleted", "ExecutionFailed", "ExecutionTerminated", "TaskScheduled",
	"TaskCompleted", "TaskFailed", "SubOrchestrationInstanceCreated", "SubOrchestrationInstanceCompleted",
	"SubOrchestrationInstanceFailed", "TimerCreated", "TimerFired", "OrchestratorStarted",
	"OrchestratorCompleted", "EventSent", "EventRaised", "ContinueAsNew", "GenericEvent", "HistoryState",
	"ExecutionSuspended", "ExecutionResumed", "ExecutionRewound",
}

// String returns the type's name ("TaskCompleted"), as the management API
// shows it in historyEvents.
func (t EventType) String() string {
	if t >= 0 && int(t) < len(eventTypeNames) {
		return eventTypeNames[t]
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// NoEventID is the EventId of every event but the scheduling ones.
const NoEventID = -1

// Event is one history event. Its JSON is the Durable Task Framework's
// (PascalCase names, EventType as a number), which is what the JavaScript
// and Python SDKs read; MarshalJSON writes the fields of the event's type
// only.
//
// Values (Input, Result) are JSON text held in a string, as the framework
// keeps them: a Result of "\"Hello\"" is the JSON string "Hello". A nil
// pointer is a JSON null.
type Event struct {
	EventType EventType
	// EventID is the scheduling sequence number of TaskScheduled,
	// TimerCreated, SubOrchestrationInstanceCreated and EventSent; -1 for
	// the others.
	EventID   int
	IsPlayed  bool
	Timestamp time.Time

	// Name: ExecutionStarted (the orchestrator), TaskScheduled (the
	// activity), SubOrchestrationInstanceCreated, EventSent, EventRaised.
	Name    string
	Version string
	// Input: ExecutionStarted, TaskScheduled, SubOrchestrationInstanceCreated,
	// EventSent, EventRaised (JSON text), ExecutionTerminated (the reason).
	Input *string
	// Result: ExecutionCompleted, ContinueAsNew, TaskCompleted,
	// SubOrchestrationInstanceCompleted.
	Result *string
	// TaskScheduledID: the EventID of the scheduling event that a
	// TaskCompleted, TaskFailed, SubOrchestrationInstanceCompleted or
	// SubOrchestrationInstanceFailed answers.
	TaskScheduledID int
	// Reason, Details and FailureDetails: TaskFailed,
	// SubOrchestrationInstanceFailed, ExecutionCompleted (failed). Reason
	// also for ExecutionSuspended, ExecutionResumed and ExecutionRewound.
	Reason         string
	Details        string
	FailureDetails *FailureDetails
	// InstanceID: SubOrchestrationInstanceCreated (the child), EventSent
	// (the target).
	InstanceID string
	// FireAt and TimerID: TimerCreated, TimerFired (TimerID is the
	// TimerCreated's EventID).
	FireAt  time.Time
	TimerID int
	// OrchestrationStatus: ExecutionCompleted, ContinueAsNew.
	OrchestrationStatus Status
	// ExecutionStarted only.
	OrchestrationInstance *InstanceRef
	ParentInstance        *ParentInstance
	ScheduledStartTime    *time.Time
	Tags                  map[string]string
	// Data: GenericEvent.
	Data string
}

// InstanceRef names one execution of an instance.
type InstanceRef struct {
	InstanceID  string `json:"InstanceId"`
	ExecutionID string `json:"ExecutionId"`
}

// ParentInstance is the parent of a sub-orchestration, in its
// ExecutionStarted event.
type ParentInstance struct {
	Name                  string       `json:"Name"`
	Version               string       `json:"Version"`
	TaskScheduleID        int          `json:"TaskScheduleId"`
	OrchestrationInstance *InstanceRef `json:"OrchestrationInstance"`
}

// FailureDetails describe an exception, as the framework records them.
type FailureDetails struct {
	ErrorType      string          `json:"ErrorType"`
	ErrorMessage   string          `json:"ErrorMessage"`
	StackTrace     *string         `json:"StackTrace"`
	InnerFailure   *FailureDetails `json:"InnerFailure"`
	IsNonRetriable bool            `json:"IsNonRetriable"`
}

// MarshalJSON writes the event with the fields of its type.
func (e Event) MarshalJSON() ([]byte, error) {
	return e.appendJSON(nil), nil
}

// eventKeys are the JSON names of each event type's fields, in the order
// MarshalJSON writes them: sorted, as encoding/json sorts a map's keys
// (the order the engine has always written).
var eventKeys = func() [][]string {
	common := []string{"EventType", "EventId", "IsPlayed", "Timestamp"}
	own := map[EventType][]string{
		ExecutionStarted:                  {"OrchestrationInstance", "ParentInstance", "Name", "Version", "Input", "Tags", "ScheduledStartTime"},
		ExecutionCompleted:                {"OrchestrationStatus", "Result", "FailureDetails"},
		ContinueAsNew:                     {"OrchestrationStatus", "Result", "FailureDetails"},
		ExecutionTerminated:               {"Input"},
		TaskScheduled:                     {"Name", "Version", "Input", "Tags"},
		TaskCompleted:                     {"TaskScheduledId", "Result"},
		SubOrchestrationInstanceCompleted: {"TaskScheduledId", "Result"},
		TaskFailed:                        {"TaskScheduledId", "Reason", "Details", "FailureDetails"},
		SubOrchestrationInstanceFailed:    {"TaskScheduledId", "Reason", "Details", "FailureDetails"},
		SubOrchestrationInstanceCreated:   {"Name", "Version", "InstanceId", "Input"},
		TimerCreated:                      {"FireAt"},
		TimerFired:                        {"FireAt", "TimerId"},
		EventSent:                         {"InstanceId", "Name", "Input"},
		EventRaised:                       {"Name", "Input"},
		GenericEvent:                      {"Data"},
		ExecutionSuspended:                {"Reason"},
		ExecutionResumed:                  {"Reason"},
		ExecutionRewound:                  {"Reason"},
	}
	out := make([][]string, len(eventTypeNames)+1) // the last: unknown types
	for t := range out {
		keys := append(slices.Clone(common), own[EventType(t)]...)
		slices.Sort(keys)
		out[t] = keys
	}
	return out
}()

// appendJSON appends the event's JSON (see MarshalJSON) to b: the bytes
// encoding/json writes for a map of the type's fields, without its
// reflection and sorting.
func (e *Event) appendJSON(b []byte) []byte {
	t := int(e.EventType)
	if t < 0 || t >= len(eventTypeNames) {
		t = len(eventTypeNames)
	}
	b = append(b, '{')
	first := true
	for _, k := range eventKeys[t] {
		if k == "ScheduledStartTime" && e.ScheduledStartTime == nil {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		switch k {
		case "EventType":
			b = strconv.AppendInt(b, int64(e.EventType), 10)
		case "EventId":
			b = strconv.AppendInt(b, int64(e.EventID), 10)
		case "IsPlayed":
			b = strconv.AppendBool(b, e.IsPlayed)
		case "Timestamp":
			b = appendTime(b, e.Timestamp)
		case "OrchestrationInstance":
			b = appendInstanceRef(b, e.OrchestrationInstance)
		case "ParentInstance":
			b = appendValue(b, e.ParentInstance, e.ParentInstance == nil)
		case "Name":
			b = appendString(b, e.Name)
		case "Version":
			b = appendString(b, e.Version)
		case "Input":
			b = appendStringPtr(b, e.Input)
		case "Result":
			b = appendStringPtr(b, e.Result)
		case "Tags":
			b = appendValue(b, e.Tags, e.Tags == nil)
		case "ScheduledStartTime":
			b = appendTime(b, *e.ScheduledStartTime)
		case "OrchestrationStatus":
			b = strconv.AppendInt(b, int64(e.OrchestrationStatus), 10)
		case "FailureDetails":
			b = appendValue(b, e.FailureDetails, e.FailureDetails == nil)
		case "TaskScheduledId":
			b = strconv.AppendInt(b, int64(e.TaskScheduledID), 10)
		case "Reason":
			b = appendString(b, e.Reason)
		case "Details":
			b = appendString(b, e.Details)
		case "InstanceId":
			b = appendString(b, e.InstanceID)
		case "FireAt":
			b = appendTime(b, e.FireAt)
		case "TimerId":
			b = strconv.AppendInt(b, int64(e.TimerID), 10)
		case "Data":
			b = appendString(b, e.Data)
		}
	}
	return append(b, '}')
}

// appendTime appends t in UTC as a JSON string in RFC 3339 with
// nanoseconds.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString appends s as encoding/json writes it: a string that needs
// no escaping as is, any other through encoding/json (HTML characters,
// control characters, invalid UTF-8, U+2028 and U+2029).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

func appendInstanceRef(b []byte, r *InstanceRef) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"InstanceId":`...)
	b = appendString(b, r.InstanceID)
	b = append(b, `,"ExecutionId":`...)
	b = appendString(b, r.ExecutionID)
	return append(b, '}')
}

// appendValue appends v's JSON from encoding/json (null when isNil).
func appendValue(b []byte, v any, isNil bool) []byte {
	if isNil {
		return append(b, "null"...)
	}
	q, err := json.Marshal(v)
	if err != nil {
		// The values given here (structs of strings and numbers, a
		// map of strings) always encode.
		panic("durable: encoding an event: " + err.Error())
	}
	return append(b, q...)
}

// UnmarshalJSON reads an event written by MarshalJSON (or by the
// framework).
func (e *Event) UnmarshalJSON(b []byte) error {
	var w struct {
		EventType             EventType
		EventID               int `json:"EventId"`
		IsPlayed              bool
		Timestamp             time.Time
		Name                  string
		Version               string
		Input                 *string
		Result                *string
		TaskScheduledID       int `json:"TaskScheduledId"`
		Reason                string
		Details               string
		FailureDetails        *FailureDetails
		InstanceID            string `json:"InstanceId"`
		FireAt                time.Time
		TimerID               int `json:"TimerId"`
		OrchestrationStatus   Status
		OrchestrationInstance *InstanceRef
		ParentInstance        *ParentInstance
		ScheduledStartTime    *time.Time
		Tags                  map[string]string
		Data                  string
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = Event(w)
	return nil
}
