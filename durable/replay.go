package durable

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The replayer walks an execution's history the way the out-of-process
// SDKs do, to learn which sequence number each of the orchestrator's
// actions has: the SDK runs the orchestrator until it awaits a task, gives
// each task it awaits the next number, and resumes it when the event that
// completes the awaited task comes up in the history. Retries and long
// timers add tasks of their own (timers, new attempts) at the moment the
// event that causes them is processed, so numbers depend on the order of
// events, not only on the order of actions; the replayer reproduces both.
//
// The walk matches every numbered action against the scheduling event
// recorded with its number (TaskScheduled, TimerCreated,
// SubOrchestrationInstanceCreated, EventSent): a different kind or name is
// nondeterminism. Actions without a recorded event are new: they become
// the episode's scheduling events and work.
//
// Top-level actions after the first one still waiting are numbered too, in
// order, once the history is exhausted: an SDK may issue several tasks
// before it awaits any (funcd's Go SDK lists them so); one that awaits each
// task before issuing the next (the JavaScript SDK) never lists them.

type taskKind int

const (
	kindActivity taskKind = iota
	kindSubOrchestration
	kindTimer
	kindEvent
	kindEntityCall
	kindSignal
	kindContinueAsNew
	kindWhenAll
	kindWhenAny
	kindRetry
	kindLongTimer
	// kindLock is a LockEntities action: a request sent to the first entity
	// of the lock set, answered once every entity is locked. kindRelease is
	// one entity's release message of a ReleaseEntities action.
	kindLock
	kindRelease
)

type taskState int

const (
	running taskState = iota
	succeeded
	failed
)

// task is one node of the tree the orchestrator's actions make.
type task struct {
	kind     taskKind
	action   *Action
	parent   *task
	children []*task
	state    taskState
	id       int    // the sequence number of a numbered task; -1 otherwise
	key      string // the key its completion event names: the number, an event name, a request id
	fireAt   time.Time
	target   string // the entity a lock request or a release is sent to
	// Retry state (kindRetry), as the SDK's RetryableTask keeps it.
	attempt        int
	waitingOnTimer bool
}

// plan is what replaying an episode decided besides the history it walked.
type plan struct {
	// events are the scheduling events of new tasks, in the order they
	// were numbered.
	events   []Event
	tasks    []ActivityTask
	messages []Message
	subs     []subStart
	// continueAsNew is the input of a ContinueAsNew action, when there is
	// one.
	continueAsNew *json.RawMessage
	// lock is the critical section still held after the last action; an
	// execution that ends releases it.
	lock *heldLock
}

// subStart is a sub-orchestration to create.
type subStart struct {
	id, name, version, input string
	parent                   *ParentInstance
}

// replayer replays one episode of one execution.
type replayer struct {
	opts      *Options
	inst      *Instance
	execution string
	schema    int
	entries   []Action
	next      int
	current   *task
	seq       int
	now       time.Time
	actions   int
	reaching  bool // a top-level action is being reached: completions must not resume

	recorded   map[int]*Event
	issued     map[int]bool
	open       map[string]*task
	openEvents map[string][]*task
	deferred   map[string][]*Event

	// lock is the critical section the orchestrator holds at this point
	// of its actions, nil outside one.
	lock *heldLock

	plan plan
	err  error // the first nondeterminism or unsupported action
}

// heldLock is a critical section: the entities an orchestration locked
// and the id of its lock request, which its release messages carry.
type heldLock struct {
	id      string
	parties []EntityID
}

// NondeterminismError reports an orchestrator whose actions do not match
// its recorded history.
type NondeterminismError struct{ Msg string }

func (e *NondeterminismError) Error() string { return e.Msg }

// replay walks history (the execution's events, this episode's included)
// with the state the orchestrator returned.
func replay(opts *Options, inst *Instance, history []Event, st *OrchestratorState) (*plan, error) {
	r := &replayer{
		opts: opts, inst: inst, execution: inst.ExecutionID, schema: st.schema(), entries: st.entries(),
		recorded: map[int]*Event{}, issued: map[int]bool{}, open: map[string]*task{},
		openEvents: map[string][]*task{}, deferred: map[string][]*Event{},
	}
	for i := range history {
		ev := &history[i]
		switch ev.EventType {
		case TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated, EventSent:
			if ev.EventID >= 0 {
				r.recorded[ev.EventID] = ev
			}
		}
	}
	for i := range history {
		if r.err != nil {
			break
		}
		ev := &history[i]
		switch ev.EventType {
		case OrchestratorStarted:
			if ev.Timestamp.After(r.now) {
				r.now = ev.Timestamp
			}
		case ExecutionStarted:
			r.resume()
		case TaskCompleted, SubOrchestrationInstanceCompleted:
			r.complete(strconv.Itoa(ev.TaskScheduledID), ev, true)
		case TaskFailed, SubOrchestrationInstanceFailed:
			r.complete(strconv.Itoa(ev.TaskScheduledID), ev, false)
		case TimerFired:
			r.complete(strconv.Itoa(ev.TimerID), ev, true)
		case EventRaised:
			r.complete(ev.Name, ev, true)
		}
	}
	// Tasks issued before the first awaited one completed.
	for r.err == nil && r.next < len(r.entries) {
		r.reachNext()
	}
	if r.err != nil {
		return nil, r.err
	}
	r.plan.lock = r.lock
	for id, ev := range r.recorded {
		if !r.issued[id] {
			return nil, &NondeterminismError{Msg: fmt.Sprintf(
				"Non-Deterministic workflow detected: A previous execution of this orchestration scheduled %s with sequence ID %d, but the current replay execution hasn't (yet?) scheduled this task. Was a change made to the orchestrator code after this instance had already started running?",
				describeScheduled(ev), id)}
		}
	}
	return &r.plan, nil
}

// resume moves to the next top-level actions while the awaited one is
// done, as the SDK resumes the orchestrator.
func (r *replayer) resume() {
	for !r.reaching && r.err == nil && (r.current == nil || r.current.state != running) && r.next < len(r.entries) {
		r.reachNext()
	}
}

// checkAction reports a required field an action lacks, naming both.
func checkAction(a *Action) error {
	missing := ""
	switch a.ActionType {
	case CallActivity, CallActivityWithRetry, CallSubOrchestrator, CallSubOrchestratorWithRetry:
		if a.FunctionName == "" {
			missing = "functionName (the function to call)"
		}
	case CreateTimer:
		if a.FireAt.IsZero() {
			missing = "fireAt (when the timer fires, in ISO 8601)"
		}
	case WaitForExternalEvent:
		if a.ExternalEventName == "" {
			missing = "externalEventName (the event to wait for)"
		}
	case CallEntity, SignalEntity, ScheduledSignalEntity:
		if id, ok := ParseEntityInstanceID(a.InstanceID); ok && id.Name == "" {
			return fmt.Errorf("%s targets %q, an entity instance id without an entity name (@name@key)", a.ActionType, a.InstanceID)
		}
	}
	if missing != "" {
		return fmt.Errorf("a %s action has no %s", a.ActionType, missing)
	}
	return nil
}

func (r *replayer) reachNext() {
	r.reaching = true
	r.current = r.reach(&r.entries[r.next])
	r.next++
	r.reaching = false
}

// reach builds the task of an action and tracks its leaves.
func (r *replayer) reach(a *Action) *task {
	r.actions++
	if r.actions > r.opts.MaxActions {
		r.fail(fmt.Errorf("the orchestration issued more than %d actions (maxOrchestrationActions)", r.opts.MaxActions))
		return &task{state: failed}
	}
	t := &task{action: a, id: -1}
	if err := checkAction(a); err != nil {
		r.fail(err)
		return &task{state: failed}
	}
	switch a.ActionType {
	case CallActivity:
		t.kind = kindActivity
	case CallSubOrchestrator:
		t.kind = kindSubOrchestration
	case CallActivityWithRetry, CallSubOrchestratorWithRetry:
		if a.RetryOptions == nil {
			r.fail(fmt.Errorf("action %s for '%s' has no retryOptions", a.ActionType, a.FunctionName))
			return &task{state: failed}
		}
		t.kind, t.attempt = kindRetry, 1
		r.track(r.attemptOf(t))
		return t
	case CreateTimer:
		t.kind, t.fireAt = kindTimer, a.FireAt
		if r.schema >= schemaV3 && a.FireAt.Sub(r.now) > r.opts.MaxShortTimer {
			t.kind = kindLongTimer
			r.track(r.child(t, &task{kind: kindTimer, fireAt: r.now.Add(r.opts.LongTimerInterval)}))
			return t
		}
	case WaitForExternalEvent:
		t.kind, t.key = kindEvent, a.ExternalEventName
	case CallEntity:
		t.kind = kindEntityCall
	case SignalEntity, ScheduledSignalEntity:
		t.kind = kindSignal
	case ContinueAsNewAction:
		t.kind, t.state = kindContinueAsNew, succeeded
		in := a.Input
		r.plan.continueAsNew = &in
		return t
	case WhenAll, WhenAny:
		t.kind = kindWhenAll
		if a.ActionType == WhenAny {
			t.kind = kindWhenAny
		}
		if len(a.CompoundActions) == 0 {
			r.fail(fmt.Errorf("a %s action has no compoundActions", a.ActionType))
			return &task{state: failed}
		}
		for i := range a.CompoundActions {
			c := r.reach(&a.CompoundActions[i])
			c.parent = t
			t.children = append(t.children, c)
		}
		r.settleCompound(t)
		return t
	case CallHTTP:
		r.fail(fmt.Errorf("callHttp (durable HTTP) is not supported by funcd yet; call an activity that makes the request instead"))
		return &task{state: failed}
	case LockEntities:
		if r.lock != nil {
			r.fail(fmt.Errorf("a LockEntities action inside a critical section: critical sections do not nest"))
			return &task{state: failed}
		}
		parties := lockParties(a.LockSet)
		if len(parties) == 0 || a.LockRequestID == "" {
			r.fail(fmt.Errorf("a LockEntities action needs a lockRequestId and a lockSet of entities ({\"name\",\"key\"})"))
			return &task{state: failed}
		}
		t.kind, t.target = kindLock, parties[0].InstanceID()
		r.lock = &heldLock{id: a.LockRequestID, parties: parties}
	case ReleaseEntities:
		// Fire and forget: one release message, and one sequence number,
		// for each locked entity.
		if r.lock == nil {
			r.fail(fmt.Errorf("a ReleaseEntities action outside a critical section"))
			return &task{state: failed}
		}
		for _, e := range r.lock.parties {
			r.track(&task{kind: kindRelease, action: a, id: -1, target: e.InstanceID()})
		}
		r.lock = nil
		t.state = succeeded
		return t
	default:
		r.fail(fmt.Errorf("unknown actionType %d", int(a.ActionType)))
		return &task{state: failed}
	}
	r.track(t)
	return t
}

// attemptOf returns a new attempt of a retried action as the retry task's
// child.
func (r *replayer) attemptOf(t *task) *task {
	kind := kindActivity
	if t.action.ActionType == CallSubOrchestratorWithRetry {
		kind = kindSubOrchestration
	}
	return r.child(t, &task{kind: kind, action: t.action})
}

func (r *replayer) child(parent, c *task) *task {
	c.parent, c.id = parent, -1
	parent.children = append(parent.children, c)
	return c
}

// settleCompound completes a compound task whose children were already
// complete when it was reached.
func (r *replayer) settleCompound(t *task) {
	for _, c := range t.children {
		if c.state != running {
			r.childDone(t, c)
			if t.state != running {
				return
			}
		}
	}
}

// track numbers a leaf (or registers an event wait), matches it with its
// recorded scheduling event or schedules it, and applies a completion that
// came before it.
func (r *replayer) track(t *task) {
	switch t.kind {
	case kindEvent:
		r.openEvents[t.key] = append(r.openEvents[t.key], t)
	default:
		t.id = r.seq
		r.seq++
		t.key = strconv.Itoa(t.id)
		r.issue(t)
		if r.err != nil {
			return
		}
		if t.kind == kindSignal || t.kind == kindRelease {
			t.state = succeeded
			return
		}
		r.open[t.key] = t
	}
	if q := r.deferred[t.key]; len(q) > 0 {
		ev := q[0]
		if len(q) == 1 {
			delete(r.deferred, t.key)
		} else {
			r.deferred[t.key] = q[1:]
		}
		r.complete(t.key, ev, ev.EventType != TaskFailed && ev.EventType != SubOrchestrationInstanceFailed)
	}
}

// complete applies a completion event to the task waiting for key, or
// keeps it for a task not tracked yet.
func (r *replayer) complete(key string, ev *Event, ok bool) {
	t := r.open[key]
	if t != nil {
		delete(r.open, key)
	} else if list := r.openEvents[key]; len(list) > 0 {
		t = list[len(list)-1]
		if len(list) == 1 {
			delete(r.openEvents, key)
		} else {
			r.openEvents[key] = list[:len(list)-1]
		}
	} else {
		r.deferred[key] = append(r.deferred[key], ev)
		return
	}
	if t.kind == kindEntityCall && ok && ev.Input != nil {
		var resp struct {
			ExceptionType *string `json:"exceptionType"`
		}
		if json.Unmarshal([]byte(*ev.Input), &resp) == nil && resp.ExceptionType != nil {
			ok = false
		}
	}
	t.state = succeeded
	if !ok {
		t.state = failed
	}
	r.settle(t)
	r.resume()
}

// settle tells a finished task's parents.
func (r *replayer) settle(t *task) {
	for t.parent != nil && r.err == nil {
		p := t.parent
		if p.state != running {
			return
		}
		r.childDone(p, t)
		if p.state == running {
			return
		}
		t = p
	}
}

// childDone updates a compound task after child c finished, as the SDK's
// WhenAll, WhenAny, RetryableTask and LongTimerTask do.
func (r *replayer) childDone(p, c *task) {
	switch p.kind {
	case kindWhenAll:
		if c.state == failed {
			p.state = failed
			return
		}
		for _, x := range p.children {
			if x.state != succeeded {
				return
			}
		}
		p.state = succeeded
	case kindWhenAny:
		p.state = succeeded
	case kindRetry:
		ro := p.action.RetryOptions
		switch {
		case p.waitingOnTimer:
			p.waitingOnTimer = false
			if p.attempt > ro.MaxNumberOfAttempts {
				p.state = failed
				return
			}
			r.track(r.attemptOf(p))
		case c.state == succeeded:
			p.state = succeeded
		default:
			fire := r.now
			if p.attempt < ro.MaxNumberOfAttempts {
				fire = r.now.Add(ro.delay(p.attempt))
			}
			r.track(r.child(p, &task{kind: kindTimer, fireAt: fire}))
			p.waitingOnTimer = true
			p.attempt++
		}
	case kindLongTimer:
		if p.action.FireAt.After(r.now) {
			next := p.action.FireAt
			if next.Sub(r.now) > r.opts.MaxShortTimer {
				next = r.now.Add(r.opts.LongTimerInterval)
			}
			r.track(r.child(p, &task{kind: kindTimer, fireAt: next}))
			return
		}
		p.state = succeeded
	}
}

func (r *replayer) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// issue matches a numbered task with its recorded scheduling event, or
// plans it as new.
func (r *replayer) issue(t *task) {
	a := t.action
	if ev, ok := r.recorded[t.id]; ok {
		r.issued[t.id] = true
		if want, name := expectedScheduled(t); ev.EventType != want || !strings.EqualFold(scheduledName(ev), name) {
			r.fail(&NondeterminismError{Msg: fmt.Sprintf(
				"Non-Deterministic workflow detected: A previous execution of this orchestration scheduled %s with sequence ID %d, but the current replay execution scheduled %s there instead. Was a change made to the orchestrator code after this instance had already started running?",
				describeScheduled(ev), t.id, describeTask(t))})
			return
		}
		if (t.kind == kindEntityCall || t.kind == kindLock) && ev.Input != nil {
			var req RequestMessage
			if json.Unmarshal([]byte(*ev.Input), &req) == nil && req.ID != "" {
				t.id, t.key = -1, req.ID
				r.issuedKey(t)
			}
		}
		return
	}
	now := r.now
	base := Event{EventID: t.id, Timestamp: now}
	self := r.inst.ID
	switch t.kind {
	case kindActivity:
		ev := base
		ev.EventType, ev.Name, ev.Input = TaskScheduled, a.FunctionName, inputText(a.Input)
		r.plan.events = append(r.plan.events, ev)
		r.plan.tasks = append(r.plan.tasks, ActivityTask{
			InstanceID: self, ExecutionID: r.execution, Name: a.FunctionName, TaskID: t.id, Input: *inputText(a.Input),
		})
	case kindSubOrchestration:
		child := a.InstanceID
		if child == "" {
			child = r.execution + ":" + strconv.Itoa(t.id)
		} else if err := CheckInstanceID(child); err != nil {
			r.fail(fmt.Errorf("a %s action for '%s' has a bad instanceId: %w", a.ActionType, a.FunctionName, err))
			return
		} else if child == self {
			r.fail(fmt.Errorf("a %s action for '%s' gives the sub-orchestration its parent's instance id %q; it needs an id of its own", a.ActionType, a.FunctionName, child))
			return
		}
		ev := base
		ev.EventType, ev.Name, ev.Version, ev.InstanceID, ev.Input = SubOrchestrationInstanceCreated, a.FunctionName, a.Version, child, inputText(a.Input)
		r.plan.events = append(r.plan.events, ev)
		r.plan.subs = append(r.plan.subs, subStart{id: child, name: a.FunctionName, version: a.Version, input: *inputText(a.Input),
			parent: &ParentInstance{
				Name: r.inst.Name, Version: r.inst.Version, TaskScheduleID: t.id,
				OrchestrationInstance: &InstanceRef{InstanceID: self, ExecutionID: r.execution},
			}})
	case kindTimer:
		ev := base
		ev.EventType, ev.FireAt = TimerCreated, t.fireAt.UTC()
		r.plan.events = append(r.plan.events, ev)
		if a == nil || !a.IsCanceled {
			r.plan.messages = append(r.plan.messages, Message{
				InstanceID: self, ExecutionID: r.execution, VisibleAt: t.fireAt,
				Event: Event{EventType: TimerFired, EventID: NoEventID, TimerID: t.id, FireAt: t.fireAt.UTC()},
			})
		}
	case kindEntityCall, kindSignal:
		target := a.InstanceID
		if _, ok := ParseEntityInstanceID(target); !ok {
			r.fail(fmt.Errorf("%s targets %q, which is not an entity instance id (@name@key)", a.ActionType, target))
			return
		}
		req := RequestMessage{Op: a.Operation, Signal: t.kind == kindSignal, ID: requestID(self, r.execution, base.EventID)}
		if len(a.Input) > 0 && string(a.Input) != "null" {
			req.Input = *inputText(a.Input)
		}
		if t.kind == kindEntityCall {
			req.Parent, req.ParentExecution = self, r.execution
		}
		var at time.Time
		if a.ActionType == ScheduledSignalEntity {
			at = a.FireAt
		}
		msg := req.event(now, at)
		ev := base
		ev.EventType, ev.Name, ev.InstanceID, ev.Input = EventSent, msg.Name, target, msg.Input
		r.plan.events = append(r.plan.events, ev)
		r.plan.messages = append(r.plan.messages, Message{InstanceID: target, Event: msg, VisibleAt: at})
		if t.kind == kindEntityCall {
			t.id, t.key = -1, req.ID
			r.issuedKey(t)
		}
	case kindLock:
		// The request travels through the lock set in order; the last
		// entity answers with the EventRaised named after the request.
		req := RequestMessage{ID: a.LockRequestID, Parent: self, ParentExecution: r.execution, LockSet: r.lock.parties}
		msg := req.event(now, time.Time{})
		ev := base
		ev.EventType, ev.Name, ev.InstanceID, ev.Input = EventSent, msg.Name, t.target, msg.Input
		r.plan.events = append(r.plan.events, ev)
		r.plan.messages = append(r.plan.messages, Message{InstanceID: t.target, Event: msg})
		t.id, t.key = -1, req.ID
		r.issuedKey(t)
	case kindRelease:
		msg := releaseEvent(now, self, r.lock.id)
		ev := base
		ev.EventType, ev.Name, ev.InstanceID, ev.Input = EventSent, msg.Name, t.target, msg.Input
		r.plan.events = append(r.plan.events, ev)
		r.plan.messages = append(r.plan.messages, Message{InstanceID: t.target, Event: msg})
	}
}

// lockParties sorts a lock set by instance id and drops duplicates, as the
// SDKs do.
func lockParties(set []EntityID) []EntityID {
	out := make([]EntityID, 0, len(set))
	for _, e := range set {
		if e.Name == "" {
			return nil
		}
		out = append(out, EntityID{Name: strings.ToLower(e.Name), Key: e.Key})
	}
	slices.SortFunc(out, func(a, b EntityID) int { return strings.Compare(a.InstanceID(), b.InstanceID()) })
	return slices.CompactFunc(out, func(a, b EntityID) bool { return a.InstanceID() == b.InstanceID() })
}

// issuedKey re-registers an entity call under its request id, which its
// response event is named after.
func (r *replayer) issuedKey(t *task) {
	delete(r.open, t.key)
	r.open[t.key] = t
}

// inputText returns an action's input as JSON text, "null" when absent.
func inputText(in json.RawMessage) *string {
	s := "null"
	if len(in) > 0 {
		s = string(in)
	}
	return &s
}

func expectedScheduled(t *task) (EventType, string) {
	switch t.kind {
	case kindActivity:
		return TaskScheduled, t.action.FunctionName
	case kindSubOrchestration:
		return SubOrchestrationInstanceCreated, t.action.FunctionName
	case kindEntityCall, kindSignal:
		return EventSent, t.action.InstanceID
	case kindLock, kindRelease:
		return EventSent, t.target
	default:
		return TimerCreated, ""
	}
}

func scheduledName(ev *Event) string {
	switch ev.EventType {
	case EventSent:
		return ev.InstanceID
	case TimerCreated:
		return ""
	}
	return ev.Name
}

func describeScheduled(ev *Event) string {
	switch ev.EventType {
	case TaskScheduled:
		return fmt.Sprintf("an activity task named '%s'", ev.Name)
	case SubOrchestrationInstanceCreated:
		return fmt.Sprintf("a sub-orchestration named '%s'", ev.Name)
	case TimerCreated:
		return "a durable timer"
	case EventSent:
		return fmt.Sprintf("an entity operation for '%s'", ev.InstanceID)
	}
	return ev.EventType.String()
}

func describeTask(t *task) string {
	switch t.kind {
	case kindActivity:
		return fmt.Sprintf("an activity task named '%s'", t.action.FunctionName)
	case kindSubOrchestration:
		return fmt.Sprintf("a sub-orchestration named '%s'", t.action.FunctionName)
	case kindTimer:
		return "a durable timer"
	case kindEntityCall, kindSignal:
		return fmt.Sprintf("an entity operation for '%s'", t.action.InstanceID)
	case kindLock:
		return fmt.Sprintf("a lock request for '%s'", t.target)
	case kindRelease:
		return fmt.Sprintf("a lock release for '%s'", t.target)
	}
	return "another task"
}

// requestID names an entity request after the event that sends it, so
// that the same history always yields the same ids: a name-based
// (version 5 style) GUID of the instance, execution and event id.
func requestID(instance, execution string, eventID int) string {
	h := sha1.Sum([]byte(instance + "_" + execution + "_" + strconv.Itoa(eventID)))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return hex.EncodeToString(h[:16])
}
