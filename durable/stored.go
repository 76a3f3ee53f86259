package durable

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// storedEvent is a history event as the backends store it in a row: every
// field of Event under a short name, empty ones left out, times as Unix
// nanoseconds. Unlike the event's own JSON it keeps the fields that its
// type does not use.
type storedEvent struct {
	Type                  EventType         `json:"t"`
	ID                    int               `json:"i,omitzero"`
	Played                bool              `json:"p,omitzero"`
	Time                  int64             `json:"ts,omitzero"`
	Name                  string            `json:"n,omitzero"`
	Version               string            `json:"v,omitzero"`
	Input                 *string           `json:"in,omitzero"`
	Result                *string           `json:"r,omitzero"`
	TaskScheduledID       int               `json:"ts_id,omitzero"`
	Reason                string            `json:"rs,omitzero"`
	Details               string            `json:"d,omitzero"`
	FailureDetails        *FailureDetails   `json:"fd,omitzero"`
	InstanceID            string            `json:"ii,omitzero"`
	FireAt                int64             `json:"fa,omitzero"`
	TimerID               int               `json:"ti,omitzero"`
	Status                Status            `json:"os,omitzero"`
	OrchestrationInstance *InstanceRef      `json:"oi,omitzero"`
	ParentInstance        *ParentInstance   `json:"pi,omitzero"`
	ScheduledStartTime    *int64            `json:"sst,omitzero"`
	Tags                  map[string]string `json:"tg,omitzero"`
	Data                  string            `json:"da,omitzero"`
}

// EncodeStoredEvent is ev as a backend stores it (see storedEvent).
func EncodeStoredEvent(ev *Event) ([]byte, error) {
	se := storedEvent{
		Type: ev.EventType, ID: ev.EventID, Played: ev.IsPlayed, Time: storedNanos(ev.Timestamp),
		Name: ev.Name, Version: ev.Version, Input: ev.Input, Result: ev.Result,
		TaskScheduledID: ev.TaskScheduledID, Reason: ev.Reason, Details: ev.Details, FailureDetails: ev.FailureDetails,
		InstanceID: ev.InstanceID, FireAt: storedNanos(ev.FireAt), TimerID: ev.TimerID, Status: ev.OrchestrationStatus,
		OrchestrationInstance: ev.OrchestrationInstance, ParentInstance: ev.ParentInstance, Tags: ev.Tags, Data: ev.Data,
	}
	if ev.ScheduledStartTime != nil {
		n := storedNanos(*ev.ScheduledStartTime)
		se.ScheduledStartTime = &n
	}
	b, err := json.Marshal(&se)
	if err != nil {
		return nil, fmt.Errorf("durable: encode a %v event: %w", ev.EventType, err)
	}
	return b, nil
}

// DecodeStoredEvent undoes EncodeStoredEvent.
func DecodeStoredEvent(b []byte) (Event, error) {
	var se storedEvent
	if err := json.Unmarshal(b, &se); err != nil {
		return Event{}, fmt.Errorf("durable: decode a stored event: %w", err)
	}
	ev := Event{
		EventType: se.Type, EventID: se.ID, IsPlayed: se.Played, Timestamp: storedTime(se.Time),
		Name: se.Name, Version: se.Version, Input: se.Input, Result: se.Result,
		TaskScheduledID: se.TaskScheduledID, Reason: se.Reason, Details: se.Details, FailureDetails: se.FailureDetails,
		InstanceID: se.InstanceID, FireAt: storedTime(se.FireAt), TimerID: se.TimerID, OrchestrationStatus: se.Status,
		OrchestrationInstance: se.OrchestrationInstance, ParentInstance: se.ParentInstance, Tags: se.Tags, Data: se.Data,
	}
	if se.ScheduledStartTime != nil {
		t := storedTime(*se.ScheduledStartTime)
		ev.ScheduledStartTime = &t
	}
	return ev, nil
}

// AsStored returns ev as DecodeStoredEvent(EncodeStoredEvent(ev)) would:
// its times in UTC without a monotonic reading, the rest as it is (sharing
// ev's pointers and map), without encoding it, unless a string of it is
// not valid UTF-8 (which the JSON of the stored form changes).
func AsStored(ev Event) Event {
	if !validUTF8(&ev) {
		if b, err := EncodeStoredEvent(&ev); err == nil {
			if back, err := DecodeStoredEvent(b); err == nil {
				return back
			}
		}
	}
	ev.Timestamp = storedTime(storedNanos(ev.Timestamp))
	ev.FireAt = storedTime(storedNanos(ev.FireAt))
	if ev.ScheduledStartTime != nil {
		t := storedTime(storedNanos(*ev.ScheduledStartTime))
		ev.ScheduledStartTime = &t
	}
	return ev
}

// validUTF8 reports whether every string of ev is valid UTF-8.
func validUTF8(ev *Event) bool {
	ok := func(ss ...string) bool {
		for _, s := range ss {
			if !utf8.ValidString(s) {
				return false
			}
		}
		return true
	}
	ptr := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	ref := func(r *InstanceRef) bool { return r == nil || ok(r.InstanceID, r.ExecutionID) }
	if !ok(ev.Name, ev.Version, ptr(ev.Input), ptr(ev.Result), ev.Reason, ev.Details, ev.InstanceID, ev.Data) ||
		!ref(ev.OrchestrationInstance) {
		return false
	}
	if p := ev.ParentInstance; p != nil && (!ok(p.Name, p.Version) || !ref(p.OrchestrationInstance)) {
		return false
	}
	for fd := ev.FailureDetails; fd != nil; fd = fd.InnerFailure {
		if !ok(fd.ErrorType, fd.ErrorMessage, ptr(fd.StackTrace)) {
			return false
		}
	}
	for k, v := range ev.Tags {
		if !ok(k, v) {
			return false
		}
	}
	return true
}

// storedNanos is t as stored: Unix nanoseconds, 0 for the zero time.
func storedNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// storedTime undoes storedNanos, in UTC.
func storedTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
