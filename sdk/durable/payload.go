package durable

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// decodePayload decodes the orchestration trigger's payload into p, as
// json.Unmarshal does. Every episode decodes the whole history again, and
// encoding/json's reflection was most of a replay's cost: a direct reader
// takes the shape the host sends (the fields it writes, in any order,
// unknown ones skipped) and leaves anything else to json.Unmarshal, which
// then decodes the payload whole: field names in another case, an event
// with FailureDetails, a number where an integer is expected, a string
// with invalid UTF-8, a null event.
func decodePayload(b []byte, p *orchestrationPayload) error {
	if json.Valid(b) {
		r := reader{b: b}
		var fast orchestrationPayload
		if r.payload(&fast) {
			*p = fast
			return nil
		}
	}
	return json.Unmarshal(b, p)
}

// reader reads valid JSON text (json.Valid said so); each method reports
// false when it meets something it leaves to encoding/json.
type reader struct {
	b []byte
	i int
}

func (r *reader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek is the next byte after spaces (0 at the end).
func (r *reader) peek() byte {
	r.space()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// object calls field for each of an object's keys with the reader at its
// value; field reads the value and reports whether it could.
func (r *reader) object(field func(key []byte) bool) bool {
	if r.peek() != '{' {
		return false
	}
	r.i++
	if r.peek() == '}' {
		r.i++
		return true
	}
	for {
		key, ok := r.rawString()
		if !ok || bytes.IndexByte(key, '\\') >= 0 || r.peek() != ':' {
			return false
		}
		r.i++
		if !field(key) {
			return false
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return true
		default:
			return false
		}
	}
}

// rawString reads a string token and returns what is between its quotes.
func (r *reader) rawString() ([]byte, bool) {
	if r.peek() != '"' {
		return nil, false
	}
	start := r.i + 1
	for i := start; i < len(r.b); i++ {
		switch r.b[i] {
		case '\\':
			i++ // the escaped byte cannot end the string
		case '"':
			r.i = i + 1
			return r.b[start:i], true
		}
	}
	return nil, false
}

// null reads a null if there is one.
func (r *reader) null() bool {
	if r.peek() == 'n' {
		r.i += len("null")
		return true
	}
	return false
}

func (r *reader) str() (string, bool) {
	start := r.i
	raw, ok := r.rawString()
	switch {
	case !ok:
		return "", false
	case bytes.IndexByte(raw, '\\') >= 0:
		var s string
		return s, json.Unmarshal(r.b[start:r.i], &s) == nil
	case !utf8.Valid(raw):
		return "", false
	}
	return string(raw), true
}

// setString reads a string, or a null that leaves dst as it is.
func (r *reader) setString(dst *string) bool {
	if r.null() {
		return true
	}
	s, ok := r.str()
	*dst = s
	return ok
}

// setStringPtr reads a string, or a null that makes dst nil.
func (r *reader) setStringPtr(dst **string) bool {
	if r.null() {
		*dst = nil
		return true
	}
	s, ok := r.str()
	*dst = &s
	return ok
}

func (r *reader) integer() (int, bool) {
	r.space()
	start := r.i
	for r.i < len(r.b) && (r.b[r.i] == '-' || r.b[r.i] >= '0' && r.b[r.i] <= '9') {
		r.i++
	}
	n, err := strconv.Atoi(string(r.b[start:r.i]))
	if err != nil || r.i < len(r.b) && (r.b[r.i] == '.' || r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		return 0, false
	}
	return n, true
}

func (r *reader) setInt(dst *int) bool {
	if r.null() {
		return true
	}
	n, ok := r.integer()
	*dst = n
	return ok
}

func (r *reader) setIntPtr(dst **int) bool {
	if r.null() {
		*dst = nil
		return true
	}
	n, ok := r.integer()
	*dst = &n
	return ok
}

func (r *reader) setBool(dst *bool) bool {
	switch r.peek() {
	case 't':
		*dst = true
		r.i += len("true")
	case 'f':
		*dst = false
		r.i += len("false")
	case 'n':
		r.i += len("null")
	default:
		return false
	}
	return true
}

// setTime reads a time; encoding/json hands a null to UnmarshalJSON too.
func (r *reader) setTime(dst *wireTime) bool {
	r.space()
	start := r.i
	if r.null() {
		return dst.UnmarshalJSON(r.b[start:r.i]) == nil
	}
	if _, ok := r.rawString(); !ok {
		return false
	}
	return dst.UnmarshalJSON(r.b[start:r.i]) == nil
}

// skip reads any value.
func (r *reader) skip() bool {
	switch r.peek() {
	case '"':
		_, ok := r.rawString()
		return ok
	case '{':
		return r.object(func([]byte) bool { return r.skip() })
	case '[':
		return r.array(r.skip)
	}
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return true
		}
		r.i++
	}
	return true
}

// raw reads any value and returns a copy of its text.
func (r *reader) raw() ([]byte, bool) {
	r.space()
	start := r.i
	if !r.skip() {
		return nil, false
	}
	return bytes.Clone(r.b[start:r.i]), true
}

// array calls elem for each element with the reader at it.
func (r *reader) array(elem func() bool) bool {
	if r.peek() != '[' {
		return false
	}
	r.i++
	if r.peek() == ']' {
		r.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return true
		default:
			return false
		}
	}
}

func (r *reader) payload(p *orchestrationPayload) bool {
	history := false
	ok := r.object(func(key []byte) bool {
		switch string(key) {
		case "history":
			if history {
				return false // a second one merges into the first in encoding/json
			}
			history = true
			if r.null() {
				p.History = nil
				return true
			}
			p.History = p.History[:0]
			if p.History == nil {
				p.History = []historyEvent{}
			}
			return r.array(func() bool {
				var e historyEvent
				if !r.event(&e) {
					return false
				}
				p.History = append(p.History, e)
				return true
			})
		case "input":
			v, ok := r.raw()
			p.Input = v
			return ok
		case "instanceId":
			return r.setString(&p.InstanceID)
		case "isReplaying":
			return r.setBool(&p.IsReplaying)
		case "parentInstanceId":
			return r.setString(&p.ParentInstanceID)
		case "upperSchemaVersion":
			return r.setIntPtr(&p.UpperSchemaVersion)
		case "upperSchemaVersionNew":
			return r.setInt(&p.UpperSchemaVersionNew)
		case "maximumShortTimerDuration":
			return r.setString(&p.MaximumShortTimerDuration)
		case "longRunningTimerIntervalDuration":
			return r.setString(&p.LongRunningTimerIntervalDuration)
		}
		return !foldsTo(key, payloadFields) && r.skip()
	})
	r.space()
	return ok && r.i == len(r.b)
}

func (r *reader) event(e *historyEvent) bool {
	return r.object(func(key []byte) bool {
		switch string(key) {
		case "EventType":
			n := int(e.EventType)
			ok := r.setInt(&n)
			e.EventType = eventType(n)
			return ok
		case "EventId":
			return r.setInt(&e.EventID)
		case "IsPlayed":
			return r.setBool(&e.IsPlayed)
		case "Timestamp":
			return r.setTime(&e.Timestamp)
		case "Name":
			return r.setString(&e.Name)
		case "Version":
			return r.setString(&e.Version)
		case "Input":
			return r.setStringPtr(&e.Input)
		case "Result":
			return r.setStringPtr(&e.Result)
		case "TaskScheduledId":
			return r.setIntPtr(&e.TaskScheduledID)
		case "TimerId":
			return r.setIntPtr(&e.TimerID)
		case "FireAt":
			if r.null() {
				e.FireAt = nil
				return true
			}
			var t wireTime
			e.FireAt = &t
			return r.setTime(&t)
		case "Reason":
			return r.setStringPtr(&e.Reason)
		case "Details":
			return r.setStringPtr(&e.Details)
		case "InstanceId":
			return r.setString(&e.InstanceID)
		}
		// FailureDetails and keys in another case are encoding/json's.
		return !foldsTo(key, eventFields) && r.skip()
	})
}

// The JSON names of orchestrationPayload's and historyEvent's fields.
var (
	payloadFields = []string{"history", "input", "instanceId", "isReplaying", "parentInstanceId", "upperSchemaVersion",
		"upperSchemaVersionNew", "maximumShortTimerDuration", "longRunningTimerIntervalDuration"}
	eventFields = []string{"EventType", "EventId", "IsPlayed", "Timestamp", "Name", "Version", "Input", "Result",
		"TaskScheduledId", "TimerId", "FireAt", "Reason", "Details", "FailureDetails", "InstanceId"}
)

// foldsTo reports whether key names one of fields in some case, as
// encoding/json matches them.
func foldsTo(key []byte, fields []string) bool {
	for _, f := range fields {
		if bytes.EqualFold(key, []byte(f)) {
			return true
		}
	}
	return false
}
