package durable

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ActionType is an orchestrator action's type, as the out-of-process SDKs
// number them.
type ActionType int

// The action types.
const (
	CallActivity                 ActionType = 0
	CallActivityWithRetry        ActionType = 1
	CallSubOrchestrator          ActionType = 2
	CallSubOrchestratorWithRetry ActionType = 3
	ContinueAsNewAction          ActionType = 4
	CreateTimer                  ActionType = 5
	WaitForExternalEvent         ActionType = 6
	CallEntity                   ActionType = 7
	CallHTTP                     ActionType = 8
	SignalEntity                 ActionType = 9
	ScheduledSignalEntity        ActionType = 10
	WhenAny                      ActionType = 11
	WhenAll                      ActionType = 12
	LockEntities                 ActionType = 13
	ReleaseEntities              ActionType = 14
)

var actionTypeNames = [...]string{
	"CallActivity", "CallActivityWithRetry", "CallSubOrchestrator", "CallSubOrchestratorWithRetry",
	"ContinueAsNew", "CreateTimer", "WaitForExternalEvent", "CallEntity", "CallHttp", "SignalEntity",
	"ScheduledSignalEntity", "WhenAny", "WhenAll", "LockEntities", "ReleaseEntities",
}

func (t ActionType) String() string {
	if t >= 0 && int(t) < len(actionTypeNames) {
		return actionTypeNames[t]
	}
	return fmt.Sprintf("ActionType(%d)", int(t))
}

// Action is one entry of an OrchestratorState's actions, with the wire
// names of the out-of-process SDKs.
type Action struct {
	ActionType   ActionType      `json:"actionType"`
	FunctionName string          `json:"functionName,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	RetryOptions *RetryOptions   `json:"retryOptions,omitempty"`
	// InstanceID: a sub-orchestration's id (optional), an entity's
	// scheduler id ("@name@key") for CallEntity and SignalEntity.
	InstanceID        string          `json:"instanceId,omitempty"`
	Version           string          `json:"version,omitempty"`
	FireAt            time.Time       `json:"fireAt,omitzero"`
	IsCanceled        bool            `json:"isCanceled,omitempty"`
	ExternalEventName string          `json:"externalEventName,omitempty"`
	Reason            string          `json:"reason,omitempty"`
	Operation         string          `json:"operation,omitempty"`
	HTTPRequest       json.RawMessage `json:"httpRequest,omitempty"`
	CompoundActions   []Action        `json:"compoundActions,omitempty"`
	// LockRequestID and LockSet: a LockEntities action's request id (a
	// deterministic GUID of the SDK's) and the entities it locks, sorted by
	// instance id without duplicates.
	LockRequestID string     `json:"lockRequestId,omitempty"`
	LockSet       []EntityID `json:"lockSet,omitempty"`
}

// RetryOptions are an activity's or sub-orchestration's retry policy;
// durations are milliseconds on the wire.
type RetryOptions struct {
	FirstRetryIntervalInMilliseconds float64  `json:"firstRetryIntervalInMilliseconds"`
	MaxNumberOfAttempts              int      `json:"maxNumberOfAttempts"`
	BackoffCoefficient               *float64 `json:"backoffCoefficient,omitempty"`
	MaxRetryIntervalInMilliseconds   *float64 `json:"maxRetryIntervalInMilliseconds,omitempty"`
	RetryTimeoutInMilliseconds       *float64 `json:"retryTimeoutInMilliseconds,omitempty"`
}

// delay returns the wait after the failure of attempt (1 for the first):
// the first interval times the backoff coefficient to the power attempt-1,
// capped at the maximum interval.
func (r *RetryOptions) delay(attempt int) time.Duration {
	ms := r.FirstRetryIntervalInMilliseconds
	coef := 1.0
	if r.BackoffCoefficient != nil && *r.BackoffCoefficient > 0 {
		coef = *r.BackoffCoefficient
	}
	for range attempt - 1 {
		ms *= coef
		if ms > 365*24*3600*1000 {
			break
		}
	}
	if r.MaxRetryIntervalInMilliseconds != nil && *r.MaxRetryIntervalInMilliseconds > 0 && ms > *r.MaxRetryIntervalInMilliseconds {
		ms = *r.MaxRetryIntervalInMilliseconds
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// OrchestratorState is what an orchestrator function returns: every
// action issued since its execution began, and whether it is done.
type OrchestratorState struct {
	IsDone bool `json:"isDone"`
	// Actions holds, from schema V2 on, one element with an entry per
	// yield; in V1 one element per yield step.
	Actions       [][]Action      `json:"actions"`
	Output        json.RawMessage `json:"output,omitempty"`
	Error         string          `json:"error,omitempty"`
	CustomStatus  json.RawMessage `json:"customStatus,omitempty"`
	SchemaVersion json.RawMessage `json:"schemaVersion,omitempty"`
	// FailureDetails are sent with Error when the failure is a task's.
	FailureDetails *FailureDetails `json:"failureDetails,omitempty"`
}

// Replay schema versions the engine offers (upperSchemaVersionNew).
const (
	schemaV1 = 0
	schemaV2 = 1
	schemaV3 = 2
	// schemaV4 adds entity critical sections (LockEntities and
	// ReleaseEntities) to V3.
	schemaV4 = 3
)

// schema returns the state's schema version: a number, or a name
// ("V3").
func (s *OrchestratorState) schema() int {
	raw := bytes.TrimSpace(s.SchemaVersion)
	if len(raw) == 0 || string(raw) == "null" {
		return schemaV1
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n
	}
	var name string
	if json.Unmarshal(raw, &name) == nil {
		switch strings.ToUpper(name) {
		case "V2":
			return schemaV2
		case "V3":
			return schemaV3
		case "V4":
			return schemaV4
		}
	}
	return schemaV1
}

// entries returns the top-level actions in the order the orchestrator
// awaited them: V2 and later list them in one element; a V1 step with
// several actions waits for any of them, as the real host's shim does.
func (s *OrchestratorState) entries() []Action {
	if s.schema() >= schemaV2 || len(s.Actions) == 0 {
		var out []Action
		for _, set := range s.Actions {
			out = append(out, set...)
		}
		return out
	}
	out := make([]Action, 0, len(s.Actions))
	for _, step := range s.Actions {
		switch len(step) {
		case 0:
		case 1:
			out = append(out, step[0])
		default:
			out = append(out, Action{ActionType: WhenAny, CompoundActions: step})
		}
	}
	return out
}

// outOfProcLabel marks the orchestrator state in a failed invocation's
// error message.
const outOfProcLabel = "$OutOfProcData$:"

// ParseOrchestratorResult reads a worker's reply to an orchestrator
// invocation: the returned JSON, or, for a failed invocation, the state
// after "$OutOfProcData$:" in its error message. A failure without the
// label becomes a state whose Error is the message.
func ParseOrchestratorResult(out []byte, failure string) (*OrchestratorState, error) {
	if failure != "" {
		msg, data, found := strings.Cut(failure, outOfProcLabel)
		if !found {
			return &OrchestratorState{IsDone: true, Error: strings.TrimSpace(failure)}, nil
		}
		var st OrchestratorState
		if err := json.Unmarshal([]byte(strings.TrimSpace(data)), &st); err != nil {
			return &OrchestratorState{IsDone: true, Error: strings.TrimSpace(msg)}, nil
		}
		if st.Error == "" {
			st.Error = strings.TrimSpace(msg)
		}
		return &st, nil
	}
	raw := bytes.TrimSpace(out)
	// A worker may return the state as a JSON string holding the JSON.
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			raw = []byte(s)
		}
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("the orchestrator function returned nothing; expected its OrchestratorState (isDone, actions)")
	}
	var st OrchestratorState
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("the orchestrator function's return value is not an OrchestratorState: %w", err)
	}
	return &st, nil
}
