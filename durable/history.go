package durable

import (
	"encoding/json"
	"fmt"
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
	return json.Marshal(m)
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
