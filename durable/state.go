package durable

import (
	"encoding/json"
	"fmt"
	"time"
)

// instanceState is the engine's bookkeeping kept in Instance.State.
type instanceState struct {
	// Held are events that arrived while the orchestration was suspended,
	// delivered when it resumes.
	Held []Event `json:"held,omitempty"`
	// Entity is an entity's scheduler state.
	Entity *entityState `json:"entity,omitempty"`
}

// entityState is an entity's state and the operations waiting for it.
type entityState struct {
	Exists bool `json:"exists"`
	// State is the entity's state as JSON text.
	State *string `json:"state,omitempty"`
	// Queue holds operations that wait while a critical section holds the
	// entity.
	Queue []RequestMessage `json:"queue,omitempty"`
	// LockedBy is the orchestration instance whose critical section holds
	// the entity.
	LockedBy string `json:"lockedBy,omitempty"`
}

func decodeState(b []byte) (instanceState, error) {
	var st instanceState
	if len(b) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("reading the engine's state of the instance: %w", err)
	}
	return st, nil
}

func (st *instanceState) encode() []byte {
	if len(st.Held) == 0 && st.Entity == nil {
		return nil
	}
	b, _ := json.Marshal(st)
	return b
}

// RequestMessage is an operation sent to an entity, as the real host
// writes it in the EventSent/EventRaised "op" event's input.
type RequestMessage struct {
	Op     string `json:"op"`
	Signal bool   `json:"signal,omitempty"`
	// Input is the operation's input as JSON text.
	Input string `json:"input,omitempty"`
	// ID is the request's GUID; a call's response is an EventRaised with
	// this name.
	ID              string     `json:"id"`
	Parent          string     `json:"parent,omitempty"`
	ParentExecution string     `json:"parentExecution,omitempty"`
	Due             *time.Time `json:"due,omitempty"`
	LockSet         []EntityID `json:"lockset,omitempty"`
	Pos             int        `json:"pos,omitempty"`
}

// event returns the EventRaised an entity receives for the request: named
// "op", or "op@<time>" for a signal scheduled for later.
func (r RequestMessage) event(now, at time.Time) Event {
	name := "op"
	if !at.IsZero() {
		t := at.UTC()
		r.Due = &t
		name = "op@" + t.Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(r)
	s := string(b)
	return Event{EventType: EventRaised, EventID: NoEventID, Timestamp: now.UTC(), Name: name, Input: &s}
}

// releaseMessage ends a critical section at one of its entities: the
// EventRaised named "release" with the orchestration and its lock
// request's id.
type releaseMessage struct {
	Parent string `json:"parent"`
	ID     string `json:"id"`
}

func releaseEvent(now time.Time, parent, lockID string) Event {
	b, _ := json.Marshal(releaseMessage{Parent: parent, ID: lockID})
	s := string(b)
	return Event{EventType: EventRaised, EventID: NoEventID, Timestamp: now.UTC(), Name: "release", Input: &s}
}

// isLock says whether the request asks for a lock (a step of a critical
// section's lock request) rather than an operation.
func (r *RequestMessage) isLock() bool { return len(r.LockSet) > 0 }
