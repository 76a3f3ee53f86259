package durable

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The JSON the host and the SDK exchange: the orchestration trigger's
// context and history, the OrchestratorState and its actions, the entity
// batch. Field names and numbers are the Durable Functions extension's.

// eventType is a history event's EventType.
type eventType int

const (
	evExecutionStarted                  eventType = 0
	evTaskScheduled                     eventType = 4
	evTaskCompleted                     eventType = 5
	evTaskFailed                        eventType = 6
	evSubOrchestrationInstanceCreated   eventType = 7
	evSubOrchestrationInstanceCompleted eventType = 8
	evSubOrchestrationInstanceFailed    eventType = 9
	evTimerCreated                      eventType = 10
	evTimerFired                        eventType = 11
	evOrchestratorStarted               eventType = 12
	evOrchestratorCompleted             eventType = 13
	evEventSent                         eventType = 14
	evEventRaised                       eventType = 15
)

// historyEvent is the part of a DTFx history event the replay reads.
type historyEvent struct {
	EventType       eventType       `json:"EventType"`
	EventID         int             `json:"EventId"`
	IsPlayed        bool            `json:"IsPlayed"`
	Timestamp       wireTime        `json:"Timestamp"`
	Name            string          `json:"Name,omitempty"`
	Version         string          `json:"Version,omitempty"`
	Input           *string         `json:"Input,omitempty"`
	Result          *string         `json:"Result,omitempty"`
	TaskScheduledID *int            `json:"TaskScheduledId,omitempty"`
	TimerID         *int            `json:"TimerId,omitempty"`
	FireAt          *wireTime       `json:"FireAt,omitempty"`
	Reason          *string         `json:"Reason,omitempty"`
	Details         *string         `json:"Details,omitempty"`
	FailureDetails  *failureDetails `json:"FailureDetails,omitempty"`
	InstanceID      string          `json:"InstanceId,omitempty"`
}

// failureDetails is DTFx's FailureDetails.
type failureDetails struct {
	ErrorType    string `json:"ErrorType"`
	ErrorMessage string `json:"ErrorMessage"`
	StackTrace   string `json:"StackTrace,omitempty"`
}

// orchestrationPayload is the orchestration trigger's value.
type orchestrationPayload struct {
	History                   []historyEvent  `json:"history"`
	Input                     json.RawMessage `json:"input"`
	InstanceID                string          `json:"instanceId"`
	IsReplaying               bool            `json:"isReplaying"`
	ParentInstanceID          string          `json:"parentInstanceId"`
	UpperSchemaVersion        *int            `json:"upperSchemaVersion"`
	UpperSchemaVersionNew     int             `json:"upperSchemaVersionNew"`
	MaximumShortTimerDuration string          `json:"maximumShortTimerDuration"`
	// LongRunningTimerIntervalDuration is the length of a long timer's
	// segments.
	LongRunningTimerIntervalDuration string `json:"longRunningTimerIntervalDuration"`
}

// actionType is an action's actionType.
type actionType int

const (
	actCallActivity                 actionType = 0
	actCallActivityWithRetry        actionType = 1
	actCallSubOrchestrator          actionType = 2
	actCallSubOrchestratorWithRetry actionType = 3
	actContinueAsNew                actionType = 4
	actCreateTimer                  actionType = 5
	actWaitForExternalEvent         actionType = 6
	actCallEntity                   actionType = 7
	actSignalEntity                 actionType = 9
	actLockEntities                 actionType = 13
	actReleaseEntities              actionType = 14
)

// action is one entry of OrchestratorState.actions.
type action struct {
	typ          actionType
	functionName string
	input        json.RawMessage // nil: no input
	instanceID   string
	version      string
	retry        *RetryPolicy
	fireAt       time.Time
	isCanceled   bool
	eventName    string
	operation    string
	lockID       string     // LockEntities: the lock request's id
	lockSet      []EntityID // LockEntities: the entities, sorted
}

// MarshalJSON writes the fields the action's type has, with the wire
// names.
func (a *action) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"actionType":`)
	b.WriteString(strconv.Itoa(int(a.typ)))
	str := func(k, v string) {
		b.WriteString(`,"` + k + `":`)
		s, _ := json.Marshal(v)
		b.Write(s)
	}
	input := func() {
		if a.input != nil {
			b.WriteString(`,"input":`)
			b.Write(a.input)
		}
	}
	switch a.typ {
	case actCallActivity, actCallActivityWithRetry:
		str("functionName", a.functionName)
		input()
	case actCallSubOrchestrator, actCallSubOrchestratorWithRetry:
		str("functionName", a.functionName)
		if a.instanceID != "" {
			str("instanceId", a.instanceID)
		}
		input()
		if a.version != "" {
			str("version", a.version)
		}
	case actContinueAsNew:
		input()
	case actCreateTimer:
		str("fireAt", formatTime(a.fireAt))
		b.WriteString(`,"isCanceled":` + strconv.FormatBool(a.isCanceled))
	case actWaitForExternalEvent:
		str("externalEventName", a.eventName)
		str("reason", "ExternalEvent")
	case actCallEntity, actSignalEntity:
		str("instanceId", a.instanceID)
		str("operation", a.operation)
		input()
	case actLockEntities:
		str("lockRequestId", a.lockID)
		b.WriteString(`,"lockSet":[`)
		for i, e := range a.lockSet {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"name":`)
			n, _ := json.Marshal(e.Name)
			b.Write(n)
			b.WriteString(`,"key":`)
			k, _ := json.Marshal(e.Key)
			b.Write(k)
			b.WriteByte('}')
		}
		b.WriteByte(']')
	case actReleaseEntities:
	default:
		return nil, fmt.Errorf("durable: action type %d has no wire form", a.typ)
	}
	if a.retry != nil {
		b.WriteString(`,"retryOptions":`)
		r, err := json.Marshal(a.retry.wire())
		if err != nil {
			return nil, err
		}
		b.Write(r)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// orchestratorState is what an orchestrator function returns (schema V2
// and later: one outer element in actions).
type orchestratorState struct {
	IsDone        bool            `json:"isDone"`
	Actions       [][]*action     `json:"actions"`
	Output        json.RawMessage `json:"output"`
	Error         string          `json:"error,omitempty"`
	CustomStatus  json.RawMessage `json:"customStatus,omitempty"`
	SchemaVersion int             `json:"schemaVersion"`
}

// wireTime is a history event's DateTime as Newtonsoft writes it: ISO
// 8601, with a zone, or without one for UTC.
type wireTime struct{ time.Time }

func (t *wireTime) UnmarshalJSON(b []byte) error {
	var s string
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' && bytes.IndexByte(b[1:n-1], '\\') < 0 {
		s = string(b[1 : n-1]) // no escapes: the common case, without a decoder
	} else if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("durable: a history time %s is not a string", b)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("durable: history time %q is not ISO 8601", s)
}

// formatTime is JavaScript's Date.toISOString: UTC, milliseconds.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// parseTimeSpan parses a .NET TimeSpan string, [-][d.]hh:mm:ss[.fffffff].
func parseTimeSpan(s string) (time.Duration, error) {
	orig := s
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var days int64
	if i := strings.IndexByte(s, '.'); i >= 0 && i < strings.IndexByte(s, ':') {
		d, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("durable: TimeSpan %q: bad days", orig)
		}
		days, s = d, s[i+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("durable: TimeSpan %q: want [d.]hh:mm:ss", orig)
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, fmt.Errorf("durable: TimeSpan %q: bad hh:mm:ss", orig)
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec*float64(time.Second))
	if neg {
		d = -d
	}
	return d, nil
}

// encodeValue is v as JSON; a json.RawMessage is taken as it is.
func encodeValue(v any) (json.RawMessage, error) {
	if r, ok := v.(json.RawMessage); ok {
		if !json.Valid(r) {
			return nil, fmt.Errorf("invalid JSON %q", r)
		}
		return r, nil
	}
	return json.Marshal(v)
}

// encodeActivityInput is an activity's (or continue-as-new's) input as the
// JavaScript SDK puts it on the wire: a value that encodes to a JSON
// string is encoded a second time, so that the host, which hands an
// activity the contents of a JSON string and the text of anything else,
// gives the activity the JSON text of the value.
func encodeActivityInput(v any) (json.RawMessage, error) {
	b, err := encodeValue(v)
	if err != nil {
		return nil, err
	}
	if len(b) > 0 && b[0] == '"' {
		return json.Marshal(string(b))
	}
	return b, nil
}
