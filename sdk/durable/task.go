package durable

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Task is durable work an orchestrator scheduled: an activity, a timer, a
// sub-orchestration, an entity call, an external event, or a WhenAll or
// WhenAny of tasks. Creating the task schedules the work; Await waits for
// its result.
type Task interface {
	// Await waits for the task and decodes its result into v (nil: discard
	// it). It returns the task's error: a *TaskFailedError for failed
	// work, ErrTaskCanceled for an event wait that timed out. If the
	// result is not in the history yet, the episode ends inside Await
	// (the orchestrator's goroutine exits) and the orchestrator runs again
	// from the start when the result arrives.
	Await(v any) error
	// IsComplete says whether the task's result is known, without
	// waiting.
	IsComplete() bool
	base() *task
}

// ErrTaskCanceled is the error of an external event wait whose timeout
// fired first.
var ErrTaskCanceled = errors.New("durable: the task was canceled")

// TaskFailedError is the error of an activity, sub-orchestration or entity
// operation that failed.
type TaskFailedError struct {
	Kind string // "activity", "sub-orchestration" or "entity operation"
	Name string // the activity or orchestrator name, or the operation
	// Reason and Details are the failure as the host recorded it (Reason:
	// "Activity function 'x' failed: …").
	Reason, Details string
	// ErrorType, ErrorMessage and StackTrace are set when the host
	// recorded structured failure details.
	ErrorType, ErrorMessage, StackTrace string
}

func (e *TaskFailedError) Error() string {
	switch {
	case e.ErrorType != "" || e.ErrorMessage != "":
		return e.ErrorType + ": " + e.ErrorMessage
	case e.Reason != "":
		return e.Reason
	}
	return fmt.Sprintf("%s %q failed", e.Kind, e.Name)
}

type taskKind int

const (
	kindActivity taskKind = iota
	kindSubOrchestration
	kindTimer
	kindEvent
	kindEntityCall
	kindWhenAll
	kindWhenAny
	kindLock
	kindDone // created complete
)

type taskState int

const (
	pending taskState = iota
	succeeded
	failed
)

// task is every kind of Task.
type task struct {
	c     *OrchestrationContext
	kind  taskKind
	name  string // activity, orchestrator, event or operation name
	state taskState
	value json.RawMessage
	err   error

	act *action // the task's action, if it has one

	// Retries (activities and sub-orchestrations with a RetryPolicy).
	retry        *RetryPolicy
	attempt      int       // the attempt running or last run, from 1
	firstAttempt time.Time // when the first attempt was scheduled
	retryWaiting bool      // waiting on the timer after a failure
	lastErr      error

	// Timers: the final fire time (long timers fire in segments), and the
	// event wait a timeout timer ends.
	fireAt  time.Time
	long    bool // longer than the host's maximum: fires in segments
	timeout *task
	timer   *task // an event wait's timeout timer

	children []*task // WhenAll, WhenAny
}

func (t *task) base() *task { return t }

func (t *task) IsComplete() bool { return t.isDone() }

func (t *task) isDone() bool {
	switch t.kind {
	case kindWhenAll:
		for _, ch := range t.children {
			if ch.isDone() && ch.failure() != nil {
				return true
			}
		}
		for _, ch := range t.children {
			if !ch.isDone() {
				return false
			}
		}
		return true
	case kindWhenAny:
		for _, ch := range t.children {
			if ch.isDone() {
				return true
			}
		}
		return false
	}
	return t.state != pending
}

// failure is the error of a completed task.
func (t *task) failure() error {
	switch t.kind {
	case kindWhenAll:
		for _, ch := range t.children {
			if ch.isDone() {
				if err := ch.failure(); err != nil {
					return err
				}
			}
		}
		return nil
	case kindWhenAny:
		return nil
	}
	return t.err
}

// result is the JSON value of a completed task.
func (t *task) result() (json.RawMessage, error) {
	switch t.kind {
	case kindWhenAll:
		vals := make([]json.RawMessage, len(t.children))
		for i, ch := range t.children {
			v, err := ch.result()
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		return json.Marshal(vals)
	case kindWhenAny:
		for i, ch := range t.children {
			if ch.isDone() {
				return json.RawMessage(strconv.Itoa(i)), nil
			}
		}
	}
	if t.value == nil {
		return json.RawMessage("null"), nil
	}
	return t.value, nil
}

func (t *task) Await(v any) error {
	if !t.isDone() {
		t.c.block(t)
	}
	if err := t.failure(); err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	r, err := t.result()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(r, v); err != nil {
		return fmt.Errorf("durable: the result of %s %q: %w", t.kindName(), t.name, err)
	}
	return nil
}

func (t *task) kindName() string {
	switch t.kind {
	case kindActivity:
		return "activity"
	case kindSubOrchestration:
		return "sub-orchestration"
	case kindTimer:
		return "timer"
	case kindEvent:
		return "external event"
	case kindEntityCall:
		return "entity operation"
	case kindWhenAll:
		return "WhenAll"
	case kindWhenAny:
		return "WhenAny"
	}
	return "task"
}

func (t *task) succeeded(v json.RawMessage) {
	t.state, t.value = succeeded, v
}

func (t *task) failed(err *TaskFailedError) {
	if t.retry == nil {
		t.state, t.err = failed, err
		return
	}
	c, p := t.c, t.retry
	if t.attempt >= p.MaxAttempts || p.RetryTimeout > 0 && c.now.Sub(t.firstAttempt) >= p.RetryTimeout {
		t.state, t.err = failed, err
		return
	}
	// Wait on a durable timer, then schedule the next attempt: both are
	// new actions, numbered now.
	t.lastErr = err
	t.retryWaiting = true
	c.addAction(&action{typ: actCreateTimer, fireAt: c.now.Add(p.delay(t.attempt))})
	c.track(t, c.nextID())
}

func (t *task) timerFired() {
	c := t.c
	switch {
	case t.retry != nil && t.retryWaiting:
		t.retryWaiting = false
		t.attempt++
		again := *t.act
		c.addAction(&again)
		c.track(t, c.nextID())
	case t.long && c.now.Before(t.fireAt):
		// A long timer fires in segments: schedule the next one.
		c.addAction(&action{typ: actCreateTimer, fireAt: c.segmentEnd(t.fireAt)})
		c.track(t, c.nextID())
	default:
		t.state = succeeded
		if w := t.timeout; w != nil && w.state == pending {
			c.dropWaiter(w)
			w.state = failed
			w.err = fmt.Errorf("%w: external event %q did not arrive before %s", ErrTaskCanceled, w.name, formatTime(t.fireAt))
		}
	}
}

func (t *task) eventRaised(v json.RawMessage) {
	t.state, t.value = succeeded, v
	if t.timer != nil && t.timer.state == pending {
		t.timer.act.isCanceled = true
	}
}

// entityResponse applies an entity's ResponseMessage.
func (t *task) entityResponse(v json.RawMessage) {
	var msg struct {
		Result        *string `json:"result"`
		ExceptionType *string `json:"exceptionType"`
	}
	// The event's input is the message's JSON text; older hosts sent it
	// as a JSON string holding that text.
	var s string
	if json.Unmarshal(v, &s) == nil {
		v = json.RawMessage(s)
	}
	if err := json.Unmarshal(v, &msg); err != nil {
		t.state, t.err = failed, fmt.Errorf("durable: the response of entity operation %q: %w", t.name, err)
		return
	}
	if msg.ExceptionType != nil {
		var text string
		if msg.Result != nil && json.Unmarshal([]byte(*msg.Result), &text) != nil {
			text = *msg.Result
		}
		t.state, t.err = failed, &TaskFailedError{Kind: "entity operation", Name: t.name,
			ErrorType: *msg.ExceptionType, ErrorMessage: text, Reason: text}
		return
	}
	t.state, t.value = succeeded, result(msg.Result)
}

// WhenAll is a task that completes when all tasks complete, or fails as
// soon as one of them fails (with that task's error). Its result is the
// JSON array of the tasks' results: Await(&[]T) decodes them when they
// share a type; otherwise Await(nil) and then each task's Await.
func WhenAll(tasks ...Task) Task {
	return compound(kindWhenAll, tasks)
}

// WhenAny is a task that completes when the first of tasks completes,
// successfully or not. Its result is that task's index: Await(&i), then
// tasks[i].Await for the value.
func WhenAny(tasks ...Task) Task {
	if len(tasks) == 0 {
		panic("durable: WhenAny of no tasks")
	}
	return compound(kindWhenAny, tasks)
}

func compound(kind taskKind, tasks []Task) Task {
	t := &task{kind: kind, children: make([]*task, len(tasks))}
	for i, ch := range tasks {
		b := ch.base()
		if t.c == nil {
			t.c = b.c
		}
		t.children[i] = b
	}
	if t.c == nil { // WhenAll of nothing
		t.kind, t.state, t.value = kindDone, succeeded, json.RawMessage("[]")
	}
	return t
}
