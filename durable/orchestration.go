package durable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/funcd/funcd"
)

// FunctionError is a durable function's own failure (it threw, or
// returned an error), as opposed to the host failing to run it: an
// activity's FunctionError becomes its TaskFailed; any other error from
// the Executor leaves the work to be retried.
type FunctionError struct {
	// Message is the failure as the worker reported it (for an
	// orchestrator, with the state after "$OutOfProcData$:").
	Message string
	// Details are the exception's details (a stack trace), if any.
	Details string
}

func (e *FunctionError) Error() string { return e.Message }

// OrchestrationPayload is the orchestrationTrigger's value, the JSON an
// orchestrator function receives.
type OrchestrationPayload struct {
	History          []Event         `json:"history"`
	Input            json.RawMessage `json:"input"`
	InstanceID       string          `json:"instanceId"`
	IsReplaying      bool            `json:"isReplaying"`
	ParentInstanceID *string         `json:"parentInstanceId"`
	// UpperSchemaVersion is always V2 (1), for old SDKs;
	// UpperSchemaVersionNew is the newest schema the engine reads (V4:
	// V3 with entity critical sections).
	UpperSchemaVersion               int    `json:"upperSchemaVersion"`
	UpperSchemaVersionNew            int    `json:"upperSchemaVersionNew"`
	LongRunningTimerIntervalDuration string `json:"longRunningTimerIntervalDuration"`
	MaximumShortTimerDuration        string `json:"maximumShortTimerDuration"`
	// The misspelling is the wire name.
	DefaultHTTPAsyncRequestSleepTimeMilliseconds int `json:"defaultHttpAsyncRequestSleepTimeMillseconds"`
}

// encodePayload is json.Marshal(p), byte for byte, with the history's
// events appended directly rather than through their MarshalJSON and
// encoding/json's compaction of its output.
func encodePayload(p *OrchestrationPayload) ([]byte, error) {
	input, err := json.Marshal(p.Input)
	if err != nil {
		return nil, err
	}
	tail, err := json.Marshal(struct {
		InstanceID                                   string  `json:"instanceId"`
		IsReplaying                                  bool    `json:"isReplaying"`
		ParentInstanceID                             *string `json:"parentInstanceId"`
		UpperSchemaVersion                           int     `json:"upperSchemaVersion"`
		UpperSchemaVersionNew                        int     `json:"upperSchemaVersionNew"`
		LongRunningTimerIntervalDuration             string  `json:"longRunningTimerIntervalDuration"`
		MaximumShortTimerDuration                    string  `json:"maximumShortTimerDuration"`
		DefaultHTTPAsyncRequestSleepTimeMilliseconds int     `json:"defaultHttpAsyncRequestSleepTimeMillseconds"`
	}{p.InstanceID, p.IsReplaying, p.ParentInstanceID, p.UpperSchemaVersion, p.UpperSchemaVersionNew,
		p.LongRunningTimerIntervalDuration, p.MaximumShortTimerDuration, p.DefaultHTTPAsyncRequestSleepTimeMilliseconds})
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 256*len(p.History)+len(input)+len(tail)+32)
	b = append(b, `{"history":`...)
	if p.History == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.History {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.History[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"input":`...)
	b = append(b, input...)
	b = append(b, ',')
	return append(b, tail[1:]...), nil
}

// episode is one run of an orchestration work item.
type episode struct {
	e     *Engine
	wi    *OrchestrationWorkItem
	inst  Instance
	state instanceState
	now   time.Time
	u     OrchestrationUpdate
	log   func(msg string, args ...any)
}

// processOrchestration runs one work item of an orchestration instance
// and commits what it changed.
func (e *Engine) processOrchestration(ctx context.Context, wi *OrchestrationWorkItem) {
	if _, ok := ParseEntityInstanceID(wi.InstanceID); ok {
		e.processEntity(ctx, wi)
		return
	}
	ep := &episode{e: e, wi: wi, now: e.clock.Now().UTC()}
	ep.log = func(msg string, args ...any) {
		e.log.Warn(msg, append([]any{"instance", wi.InstanceID}, args...)...)
	}
	for _, m := range wi.Messages {
		ep.u.Consumed = append(ep.u.Consumed, m.ID)
	}
	if wi.Instance == nil {
		ep.log("dropping messages for an instance that does not exist", "messages", len(wi.Messages))
		e.commit(ctx, wi, ep.u)
		return
	}
	ep.inst = *wi.Instance
	st, err := decodeState(ep.inst.State)
	if err != nil {
		ep.log(err.Error())
	}
	ep.state = st
	if err := ep.run(ctx); err != nil {
		if ctx.Err() == nil {
			e.log.Error("orchestration work item failed; it will be retried", "instance", wi.InstanceID, "error", err)
		}
		e.abandon(wi, retryDelay(len(wi.Messages)))
		return
	}
	e.commit(ctx, wi, ep.u)
}

// retryDelay is how long failed work waits before it is tried again.
func retryDelay(int) time.Duration { return 5 * time.Second }

func (e *Engine) commit(ctx context.Context, wi *OrchestrationWorkItem, u OrchestrationUpdate) {
	releaseSlot(ctx)
	var err error
	// The activities the episode schedules run next here, without a
	// claim, in the activity slots free now.
	if n := e.takeSlots(e.actSlots, min(len(u.Tasks), maxClaim)); n > 0 {
		var tasks []*ActivityTask
		tasks, err = e.handoff.CompleteOrchestrationLocking(context.WithoutCancel(ctx), e.opts.Hub, wi, u, e.opts.Owner, e.opts.Lease, n)
		for _, t := range tasks {
			e.runInSlot(ctx, e.actSlots, func(ctx context.Context) { e.processActivity(ctx, t) })
		}
		for range n - len(tasks) {
			<-e.actSlots
		}
	} else {
		err = e.backend.CompleteOrchestration(context.WithoutCancel(ctx), e.opts.Hub, wi, u)
	}
	switch {
	case errors.Is(err, ErrLockLost):
		e.log.Warn("an orchestration work item's lock expired before it was committed; another owner runs it again", "instance", wi.InstanceID)
	case err != nil:
		e.log.Error("committing an orchestration work item", "instance", wi.InstanceID, "error", err)
		e.abandon(wi, time.Second)
	}
	if e.handoff == nil {
		e.kick(e.opts.Hub) // a Handoff backend announces what it leaves
	}
}

func (e *Engine) abandon(wi *OrchestrationWorkItem, delay time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.backend.AbandonOrchestration(ctx, e.opts.Hub, wi, delay); err != nil && !errors.Is(err, ErrLockLost) {
		e.log.Error("releasing an orchestration work item", "instance", wi.InstanceID, "error", err)
	}
}

// run sorts the work item's messages and runs the orchestrator when
// there is something for it to see.
func (ep *episode) run(ctx context.Context) error {
	inst := &ep.inst
	var events []Event
	var terminate *Event
	rewind := ""
	rewound := false
	for i := range ep.wi.Messages {
		m := &ep.wi.Messages[i]
		ev := m.Event
		if m.ExecutionID != "" && m.ExecutionID != inst.ExecutionID && ev.EventType != ExecutionStarted {
			continue // for an execution that has ended
		}
		switch ev.EventType {
		case ExecutionStarted:
			if ev.OrchestrationInstance == nil || ev.OrchestrationInstance.ExecutionID != inst.ExecutionID || hasStarted(ep.wi.History) || slices.ContainsFunc(events, isStart) {
				ep.log("dropping a start message for an instance that runs already")
				continue
			}
			events = append(events, ev)
		case ExecutionTerminated:
			if !inst.Status.Terminal() && terminate == nil {
				terminate = &ev
			}
		case ExecutionSuspended:
			if inst.Status == Running || inst.Status == Pending {
				inst.Status = Suspended
				ep.u.NewEvents = append(ep.u.NewEvents, ep.stamp(ev))
			}
		case ExecutionResumed:
			if inst.Status == Suspended {
				inst.Status = Running
				ep.u.NewEvents = append(ep.u.NewEvents, ep.stamp(ev))
				events = append(events, ep.state.Held...)
				ep.state.Held = nil
			}
		case ExecutionRewound:
			if inst.Status == Failed && !rewound {
				rewound, rewind = true, ev.Reason
			}
		default:
			switch {
			case inst.Status.Terminal():
				// A late result or event for a finished instance.
			case inst.Status == Suspended:
				ep.state.Held = append(ep.state.Held, ev)
			default:
				events = append(events, ev)
			}
		}
	}
	if terminate != nil {
		ep.terminate(*terminate)
		return nil
	}
	if rewound {
		ep.rewind(rewind)
		return ep.orchestrate(ctx, nil, true)
	}
	if len(events) == 0 {
		ep.finishRow()
		return nil
	}
	if !hasStarted(ep.wi.History) && !slices.ContainsFunc(events, isStart) {
		// Events for an instance whose (delayed) start has not run yet
		// wait for it.
		if inst.Status == Pending {
			ep.state.Held = append(ep.state.Held, events...)
		}
		ep.finishRow()
		return nil
	}
	return ep.orchestrate(ctx, events, false)
}

func isStart(ev Event) bool { return ev.EventType == ExecutionStarted }

func hasStarted(h []Event) bool { return slices.ContainsFunc(h, isStart) }

// stamp gives an event the episode's time.
func (ep *episode) stamp(ev Event) Event {
	ev.EventID = NoEventID
	ev.Timestamp = ep.now
	return ev
}

// finishRow sets the row's bookkeeping for the update.
func (ep *episode) finishRow() {
	ep.inst.LastUpdatedAt = ep.now
	ep.inst.State = ep.state.encode()
	row := ep.inst
	ep.u.Instance = &row
}

// terminate ends the execution with status Terminated.
func (ep *episode) terminate(ev Event) {
	reason := ""
	if ev.Input != nil {
		reason = *ev.Input
	}
	ep.u.NewEvents = append(ep.u.NewEvents,
		ep.stamp(Event{EventType: ExecutionTerminated, Input: ev.Input}),
		ep.stamp(Event{EventType: ExecutionCompleted, OrchestrationStatus: Terminated, Result: ev.Input}))
	ep.inst.Status = Terminated
	ep.inst.Output = reason
	ep.state.Held = nil
	ep.notifyParent(nil, false, "Orchestration terminated: "+unquote(reason))
	ep.finishRow()
}

// rewind forgets the failures of a failed execution: its failed tasks, and
// those whose results were dropped once it had failed, are scheduled again
// with their sequence numbers when the orchestrator replays; what it
// scheduled after its first failure is forgotten with that failure; failed
// sub-orchestrations are rewound too.
func (ep *episode) rewind(reason string) {
	h := slices.Clone(ep.wi.History)
	// What the orchestrator scheduled after the first failure it saw is
	// undone too: with the failure gone, the replay takes another path
	// (a retry's timers and later attempts, a catch block's tasks).
	first := slices.IndexFunc(h, func(ev Event) bool {
		return ev.EventType == TaskFailed || ev.EventType == SubOrchestrationInstanceFailed
	})
	undone := map[int]bool{}
	if first >= 0 {
		for _, ev := range h[first+1:] {
			if isScheduling(ev.EventType) && ev.EventID >= 0 {
				undone[ev.EventID] = true
			}
		}
	}
	// Tasks that failed, or never answered (their result came after the
	// instance had failed, and was dropped), are scheduled again.
	answered := map[int]bool{}
	for _, ev := range h {
		switch ev.EventType {
		case TaskCompleted, SubOrchestrationInstanceCompleted:
			answered[ev.TaskScheduledID] = true
		case TimerFired:
			answered[ev.TimerID] = true
		case SubOrchestrationInstanceFailed:
			// Rewound in place (below): it answers once it completes.
			answered[ev.TaskScheduledID] = !undone[ev.TaskScheduledID]
		}
	}
	generic := func(ev *Event) {
		*ev = Event{EventType: GenericEvent, EventID: NoEventID, Timestamp: ev.Timestamp, Data: "Rewound: " + reason}
	}
	for i := range h {
		ev := &h[i]
		switch ev.EventType {
		case TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated:
			if undone[ev.EventID] || !answered[ev.EventID] {
				generic(ev)
			}
		case EventSent:
			if undone[ev.EventID] {
				generic(ev)
			}
		case TaskCompleted, SubOrchestrationInstanceCompleted:
			if undone[ev.TaskScheduledID] {
				generic(ev)
			}
		case TimerFired:
			if undone[ev.TimerID] {
				generic(ev)
			}
		case TaskFailed, ExecutionCompleted:
			generic(ev)
		case SubOrchestrationInstanceFailed:
			// A failed sub-orchestration the replay reaches again is
			// rewound too; one scheduled after the first failure is
			// started anew.
			if !undone[ev.TaskScheduledID] {
				for _, c := range ep.wi.History {
					if c.EventType == SubOrchestrationInstanceCreated && c.EventID == ev.TaskScheduledID {
						ep.u.Messages = append(ep.u.Messages, Message{InstanceID: c.InstanceID,
							Event: ep.stamp(Event{EventType: ExecutionRewound, Reason: reason})})
					}
				}
			}
			generic(ev)
		}
	}
	ep.wi.History = h
	ep.u.ResetHistory = true
	ep.inst.Status = Running
	ep.inst.Output = ""
}

func isScheduling(t EventType) bool {
	return t == TaskScheduled || t == TimerCreated || t == SubOrchestrationInstanceCreated || t == EventSent
}

// orchestrate runs the orchestrator over the history and this episode's
// events, and turns its actions into the update.
func (ep *episode) orchestrate(ctx context.Context, events []Event, reset bool) error {
	e, inst := ep.e, &ep.inst
	old := ep.wi.History
	episode := make([]Event, 0, len(events)+1)
	episode = append(episode, ep.stamp(Event{EventType: OrchestratorStarted}))
	for _, ev := range events {
		if ev.Timestamp.IsZero() {
			ev.Timestamp = ep.now
		}
		episode = append(episode, ev)
	}
	history := make([]Event, 0, len(old)+len(episode))
	for _, ev := range old {
		ev.IsPlayed = true
		history = append(history, ev)
	}
	history = append(history, episode...)

	started := startedEvent(history)
	if started == nil {
		return fmt.Errorf("instance '%s' has no ExecutionStarted event", inst.ID)
	}
	if inst.Status == Pending {
		inst.Status = Running
	}
	var parentID *string
	if started.ParentInstance != nil && started.ParentInstance.OrchestrationInstance != nil {
		parentID = &started.ParentInstance.OrchestrationInstance.InstanceID
	}
	input := json.RawMessage("null")
	if started.Input != nil && *started.Input != "" {
		input = json.RawMessage(*started.Input)
	}
	payload, err := encodePayload(&OrchestrationPayload{
		History: history, Input: input, InstanceID: inst.ID, IsReplaying: len(old) > 0, ParentInstanceID: parentID,
		UpperSchemaVersion: schemaV2, UpperSchemaVersionNew: schemaV4,
		LongRunningTimerIntervalDuration:             funcd.TimeSpan(e.opts.LongTimerInterval),
		MaximumShortTimerDuration:                    funcd.TimeSpan(e.opts.MaxShortTimer),
		DefaultHTTPAsyncRequestSleepTimeMilliseconds: 30000,
	})
	if err != nil {
		return fmt.Errorf("encoding the orchestration payload: %w", err)
	}
	exec := e.executor()
	if exec == nil {
		return fmt.Errorf("the orchestrator function '%s' is not loaded", inst.Name)
	}
	if !e.isOrchestrator(inst.Name) {
		// The app is loaded and has no such orchestrator (a sub-orchestration
		// or a start that named an unknown function): waiting will not make
		// it appear, so the instance fails, as an activity of an unknown
		// name does, and its parent hears of it.
		if reset {
			ep.u.NewEvents = append(slices.Clone(old), ep.u.NewEvents...)
		}
		ep.u.NewEvents = append(ep.u.NewEvents, episode...)
		ep.fail(fmt.Sprintf("The function '%s' doesn't exist, is disabled, or is not an orchestrator function.", inst.Name), nil)
		return nil
	}
	var out []byte
	err = ep.e.keepLocked(ctx, ep.wi, func(ctx context.Context) error {
		var err error
		out, err = exec.Orchestrate(ctx, inst.Name, payload)
		return err
	})
	if e.opts.TraceDir != "" && ctx.Err() == nil {
		e.trace(inst, len(history), payload, out, err)
	}
	failure := ""
	if fe, ok := errors.AsType[*FunctionError](err); ok {
		failure = fe.Message
		if failure == "" {
			failure = "the orchestrator function failed"
		}
	} else if err != nil {
		return err
	}
	st, perr := ParseOrchestratorResult(out, failure)
	var msg string
	var p *plan
	if perr != nil {
		// A reply that is no OrchestratorState is the function's failure.
		msg = fmt.Sprintf("Orchestrator function '%s' failed: %s", inst.Name, perr)
	} else if p, perr = replay(&e.opts, inst, history, st); perr != nil {
		msg = perr.Error()
	}
	if reset {
		ep.u.NewEvents = append(slices.Clone(old), ep.u.NewEvents...)
	}
	ep.u.NewEvents = append(ep.u.NewEvents, episode...)
	if perr != nil {
		ep.fail(msg, nil)
		return nil
	}
	if p.lock != nil && (st.IsDone || st.Error != "" || p.continueAsNew != nil) {
		// An execution that ends inside a critical section releases it.
		for _, party := range p.lock.parties {
			ep.u.Messages = append(ep.u.Messages, Message{InstanceID: party.InstanceID(), Event: releaseEvent(ep.now, inst.ID, p.lock.id)})
		}
	}
	if len(st.CustomStatus) > 0 && string(st.CustomStatus) != "null" {
		inst.CustomStatus = string(st.CustomStatus)
	}
	if st.Error != "" {
		ep.fail(fmt.Sprintf("Orchestrator function '%s' failed: %s", inst.Name, st.Error), st.FailureDetails)
		return nil
	}
	ep.apply(ctx, p)
	switch {
	case p.continueAsNew != nil:
		ep.continueAsNew(*p.continueAsNew)
	case st.IsDone:
		ep.complete(st.Output)
	default:
		ep.u.NewEvents = append(ep.u.NewEvents, ep.stamp(Event{EventType: OrchestratorCompleted}))
		ep.finishRow()
	}
	return nil
}

func startedEvent(h []Event) *Event {
	for i := range h {
		if h[i].EventType == ExecutionStarted {
			return &h[i]
		}
	}
	return nil
}

// apply adds a plan's scheduling events and work to the update. A
// sub-orchestration whose id belongs to an instance that has not finished
// fails instead of replacing that instance.
func (ep *episode) apply(ctx context.Context, p *plan) {
	for _, ev := range p.events {
		ev.Timestamp = ep.now
		ep.u.NewEvents = append(ep.u.NewEvents, ev)
	}
	ep.u.Tasks = append(ep.u.Tasks, p.tasks...)
	ep.u.Messages = append(ep.u.Messages, p.messages...)
	for _, s := range p.subs {
		if other, err := ep.e.backend.GetInstance(ctx, ep.e.opts.Hub, s.id); err == nil && !other.Status.Terminal() {
			reason := fmt.Sprintf("An orchestration instance with the id '%s' already exists and is %s: the sub-orchestration '%s' was not started", s.id, other.Status, s.name)
			ep.u.Messages = append(ep.u.Messages, Message{InstanceID: ep.inst.ID, ExecutionID: ep.inst.ExecutionID, Event: Event{
				EventType: SubOrchestrationInstanceFailed, EventID: NoEventID, Timestamp: ep.now,
				TaskScheduledID: s.parent.TaskScheduleID, Reason: reason,
			}})
			continue
		}
		inst, start := ep.e.newExecution(s.id, s.name, s.version, s.input, s.parent, time.Time{})
		inst.ParentID = ep.inst.ID
		ep.u.Starts = append(ep.u.Starts, Start{Instance: inst, Message: start})
	}
}

// complete ends the execution with its output.
func (ep *episode) complete(output json.RawMessage) {
	out := "null"
	if len(output) > 0 {
		out = string(output)
	}
	ep.u.NewEvents = append(ep.u.NewEvents,
		ep.stamp(Event{EventType: ExecutionCompleted, OrchestrationStatus: Completed, Result: &out}),
		ep.stamp(Event{EventType: OrchestratorCompleted}))
	ep.inst.Status = Completed
	ep.inst.Output = out
	ep.state.Held = nil
	ep.notifyParent(&out, true, "")
	ep.finishRow()
}

// fail ends the execution with status Failed.
func (ep *episode) fail(msg string, fd *FailureDetails) {
	out := *jsonString(msg)
	ep.u.NewEvents = append(ep.u.NewEvents,
		ep.stamp(Event{EventType: ExecutionCompleted, OrchestrationStatus: Failed, Result: &out, FailureDetails: fd}),
		ep.stamp(Event{EventType: OrchestratorCompleted}))
	ep.u.Tasks, ep.u.Messages, ep.u.Starts = nil, nil, nil
	ep.inst.Status = Failed
	ep.inst.Output = out
	ep.state.Held = nil
	ep.e.log.Warn(fmt.Sprintf("Orchestration '%s' (instance %s) failed: %s", ep.inst.Name, ep.inst.ID, msg))
	ep.notifyParent(nil, false, msg)
	ep.finishRow()
}

// continueAsNew ends the execution and starts the next one with input.
func (ep *episode) continueAsNew(input json.RawMessage) {
	in := ""
	if len(input) > 0 {
		in = string(input)
	}
	started := startedEvent(ep.wi.History)
	if started == nil {
		started = startedEvent(ep.u.NewEvents)
	}
	var parent *ParentInstance
	if started != nil {
		parent = started.ParentInstance
	}
	next, start := ep.e.newExecution(ep.inst.ID, ep.inst.Name, ep.inst.Version, in, parent, time.Time{})
	ep.u.ResetHistory = true
	ep.u.NewEvents = nil
	ep.u.Tasks = nil // tasks of this execution's episode are not run
	ep.u.Messages = append(ep.u.Messages, start)
	ep.inst.ExecutionID = next.ExecutionID
	ep.inst.Input = in
	ep.inst.Output = ""
	ep.inst.Status = Running
	ep.state.Held = nil
	ep.finishRow()
}

// notifyParent sends a sub-orchestration's outcome to its parent.
func (ep *episode) notifyParent(result *string, ok bool, reason string) {
	started := startedEvent(ep.wi.History)
	if started == nil {
		started = startedEvent(ep.u.NewEvents)
	}
	if started == nil || started.ParentInstance == nil || started.ParentInstance.OrchestrationInstance == nil {
		return
	}
	p := started.ParentInstance
	ev := Event{EventID: NoEventID, Timestamp: ep.now, TaskScheduledID: p.TaskScheduleID}
	if ok {
		ev.EventType, ev.Result = SubOrchestrationInstanceCompleted, result
	} else {
		ev.EventType, ev.Reason, ev.Details = SubOrchestrationInstanceFailed, reason, ""
	}
	ep.u.Messages = append(ep.u.Messages, Message{
		InstanceID: p.OrchestrationInstance.InstanceID, ExecutionID: p.OrchestrationInstance.ExecutionID, Event: ev,
	})
}

// unquote returns the string a JSON string holds, or s itself.
func unquote(s string) string {
	var v string
	if json.Unmarshal([]byte(s), &v) == nil {
		return v
	}
	return strings.TrimSpace(s)
}
