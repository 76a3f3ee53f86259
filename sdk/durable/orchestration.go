package durable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"
)

// Orchestrator is an orchestrator function. It runs again from the start
// on every episode and must be deterministic (see the package doc). Its
// return value becomes the orchestration's output; an error fails the
// orchestration.
type Orchestrator func(ctx *OrchestrationContext) (any, error)

// OrchestrationContext is an orchestrator's view of its instance: input,
// deterministic time and ids, and the methods that schedule durable work.
// It is used only from the orchestrator's goroutine.
type OrchestrationContext struct {
	ctx              context.Context
	instanceID       string
	parentInstanceID string
	name, version    string
	input            json.RawMessage
	schema           int
	maxShortTimer    time.Duration // 0: timers are not split
	longInterval     time.Duration // the length of a long timer's segments

	history   []historyEvent
	next      int // the next history event to process
	lastStart int // index of the last OrchestratorStarted
	now       time.Time
	replaying bool

	seq      int           // the sequence number the next scheduling takes
	actions  []*action     // every action of the execution, in order
	open     map[int]*task // tasks waiting for a completion, by id
	requests map[string]*task
	waiters  map[string][]*task            // WaitForExternalEvent tasks, FIFO per name
	buffered map[string][]*json.RawMessage // events nobody waited for yet, FIFO per name
	early    map[int]historyEvent          // completions of ids not scheduled yet

	customStatus json.RawMessage
	continued    bool
	guids        int
	lock         *CriticalSection // the critical section held, nil outside one

	// The orchestrator runs on its own goroutine; it and the replay loop
	// take turns, handing over through these channels.
	yielded  chan struct{} // the orchestrator blocked in Await, or ended
	resume   chan bool     // false: the episode is over, exit
	waiting  *task         // what the blocked orchestrator awaits
	exiting  bool
	finished bool
	output   any
	err      error
}

// InstanceID is the orchestration's instance id.
func (c *OrchestrationContext) InstanceID() string { return c.instanceID }

// ParentInstanceID is the parent orchestration's instance id, for a
// sub-orchestration; else "".
func (c *OrchestrationContext) ParentInstanceID() string { return c.parentInstanceID }

// Name is the orchestrator's name, from ExecutionStarted.
func (c *OrchestrationContext) Name() string { return c.name }

// Version is the orchestration's version, from ExecutionStarted.
func (c *OrchestrationContext) Version() string { return c.version }

// IsReplaying says whether the code runs again over history already
// recorded: true until the orchestrator reaches events new in this episode.
// Use it to keep logs from repeating.
func (c *OrchestrationContext) IsReplaying() bool { return c.replaying }

// CurrentUTCDateTime is the orchestration's deterministic clock: the time
// the current episode (of those replayed so far) started. Use it instead
// of time.Now.
func (c *OrchestrationContext) CurrentUTCDateTime() time.Time { return c.now }

// Context is the invocation's context, for logging with slog's
// *Context functions only: its deadline and cancellation are not
// deterministic and must not steer the orchestration.
func (c *OrchestrationContext) Context() context.Context { return c.ctx }

// GetInput decodes the orchestration's input into v. An absent input
// leaves v as it is.
func (c *OrchestrationContext) GetInput(v any) error {
	if len(c.input) == 0 || string(c.input) == "null" {
		return nil
	}
	if err := json.Unmarshal(c.input, v); err != nil {
		return fmt.Errorf("durable: the input of orchestration %s: %w", c.instanceID, err)
	}
	return nil
}

// SetCustomStatus sets the orchestration's custom status, which status
// queries show. nil leaves the previous status in place (the protocol
// cannot clear it).
func (c *OrchestrationContext) SetCustomStatus(v any) error {
	if v == nil {
		c.customStatus = nil
		return nil
	}
	b, err := encodeValue(v)
	if err != nil {
		return fmt.Errorf("durable: custom status of orchestration %s: %w", c.instanceID, err)
	}
	c.customStatus = b
	return nil
}

// ContinueAsNew ends this execution when the orchestrator returns (its
// return value is then ignored) and starts the orchestration again with
// input and a fresh history. Actions scheduled after it are dropped.
// Events not yet consumed are not carried over.
func (c *OrchestrationContext) ContinueAsNew(input any) error {
	b, err := encodeActivityInput(input)
	if err != nil {
		return fmt.Errorf("durable: continue-as-new input of orchestration %s: %w", c.instanceID, err)
	}
	c.addAction(&action{typ: actContinueAsNew, input: b})
	c.continued = true
	return nil
}

// NewGUID returns a deterministic UUID: the same on every replay, and the
// one the JavaScript SDK makes at the same point (a name-based UUID over
// the instance id, the current orchestration time and a counter).
func (c *OrchestrationContext) NewGUID() string {
	name := fmt.Sprintf("%s_%d_%d", c.instanceID, c.now.UnixMilli(), c.guids)
	c.guids++
	return deterministicGUID(name)
}

func (c *OrchestrationContext) addAction(a *action) {
	if !c.continued {
		c.actions = append(c.actions, a)
	}
}

// nextID takes the next sequence number.
func (c *OrchestrationContext) nextID() int {
	id := c.seq
	c.seq++
	return id
}

// track registers t as waiting for the completion of id, and applies a
// completion that was replayed before t existed.
func (c *OrchestrationContext) track(t *task, id int) {
	c.open[id] = t
	if e, ok := c.early[id]; ok {
		delete(c.early, id)
		c.complete(e)
	}
}

// OrchestrationFailure is the error of an orchestrator that returned an
// error or panicked. Its message carries the orchestrator state after the
// $OutOfProcData$ label, as the host expects of a failed invocation.
type OrchestrationFailure struct {
	Err   error  // what the orchestrator returned, or a *PanicError
	State []byte // the OrchestratorState JSON, error set
}

func (f *OrchestrationFailure) Error() string {
	return f.Err.Error() + "\n\n$OutOfProcData$:" + string(f.State)
}

func (f *OrchestrationFailure) Unwrap() error { return f.Err }

// PanicError is the error of an orchestrator or entity that panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// RunOrchestrator replays one episode of fn over payload, the
// orchestration trigger's value (the host's JSON context with the
// history), and returns the OrchestratorState JSON. If fn fails, the error
// is an *OrchestrationFailure. The worker calls it for functions registered
// with App.Orchestration; tests can call it with recorded histories.
func RunOrchestrator(ctx context.Context, payload []byte, fn Orchestrator) ([]byte, error) {
	var p orchestrationPayload
	if err := decodePayload(payload, &p); err != nil {
		return nil, fmt.Errorf("durable: the orchestration trigger's payload: %w", err)
	}
	if p.InstanceID == "" || p.History == nil || p.UpperSchemaVersion == nil {
		return nil, errors.New("durable: the orchestration trigger's payload lacks history, instanceId or upperSchemaVersion")
	}
	c := &OrchestrationContext{
		ctx:              ctx,
		instanceID:       p.InstanceID,
		parentInstanceID: p.ParentInstanceID,
		input:            p.Input,
		schema:           p.UpperSchemaVersionNew,
		history:          p.History,
		lastStart:        -1,
		open:             map[int]*task{},
		requests:         map[string]*task{},
		waiters:          map[string][]*task{},
		buffered:         map[string][]*json.RawMessage{},
		early:            map[int]historyEvent{},
		yielded:          make(chan struct{}),
		resume:           make(chan bool),
	}
	if c.schema == 0 {
		c.schema = *p.UpperSchemaVersion
	}
	// A timer longer than the host's maximum is a series of timers of at
	// most longRunningTimerIntervalDuration, which the SDK schedules one
	// after the other.
	if p.MaximumShortTimerDuration != "" && p.LongRunningTimerIntervalDuration != "" {
		d, err := parseTimeSpan(p.MaximumShortTimerDuration)
		if err != nil {
			return nil, err
		}
		iv, err := parseTimeSpan(p.LongRunningTimerIntervalDuration)
		if err != nil {
			return nil, err
		}
		if d > 0 && iv > 0 && iv <= d {
			c.maxShortTimer, c.longInterval = d, iv
		}
	}
	for i, e := range c.history {
		if e.EventType == evOrchestratorStarted {
			c.lastStart = i
		}
	}
	if c.lastStart < 0 {
		return nil, fmt.Errorf("durable: the history of orchestration %s has no OrchestratorStarted event", c.instanceID)
	}
	// Up to ExecutionStarted: the clock, the name.
	started := false
	for !started && c.next < len(c.history) {
		e := &c.history[c.next]
		c.next++
		switch e.EventType {
		case evOrchestratorStarted:
			c.tick(e)
		case evExecutionStarted:
			started = true
			c.name, c.version = e.Name, e.Version
			if len(c.input) == 0 && e.Input != nil {
				c.input = json.RawMessage(*e.Input)
			}
		}
	}
	if !started {
		return nil, fmt.Errorf("durable: the history of orchestration %s has no ExecutionStarted event", c.instanceID)
	}
	c.replaying = c.next <= c.lastStart

	go c.run(fn)
	<-c.yielded
	for !c.finished {
		if !c.replayUntil(c.waiting) {
			// History is spent and the orchestrator waits: end the episode.
			c.resume <- false
			<-c.yielded
			break
		}
		c.resume <- true
		<-c.yielded
	}
	return c.state()
}

// run runs fn on the orchestrator's goroutine and reports how it ended.
func (c *OrchestrationContext) run(fn Orchestrator) {
	returned := false
	defer func() {
		// Also a panic of a deferred call while block ends the episode.
		v := recover()
		switch {
		case v != nil:
			c.err, c.finished = &PanicError{Value: v, Stack: debug.Stack()}, true
		case c.exiting: // block ended the episode
		case !returned:
			c.err, c.finished = errors.New("the orchestrator's goroutine exited (runtime.Goexit)"), true
		default:
			c.finished = true
		}
		c.yielded <- struct{}{}
	}()
	c.output, c.err = fn(c)
	returned = true
}

// block hands control to the replay loop until t completes. If history
// ends first, the orchestrator's goroutine exits here: a user's recover
// does not stop runtime.Goexit.
func (c *OrchestrationContext) block(t *task) {
	if c.exiting {
		runtime.Goexit()
	}
	c.waiting = t
	c.yielded <- struct{}{}
	if !<-c.resume {
		c.exiting = true
		runtime.Goexit()
	}
	c.waiting = nil
}

// replayUntil processes history until t completes; false if history ends
// first.
func (c *OrchestrationContext) replayUntil(t *task) bool {
	for !t.isDone() {
		if c.next >= len(c.history) {
			return false
		}
		e := c.history[c.next]
		c.next++
		c.process(e)
	}
	c.replaying = c.next <= c.lastStart
	return true
}

func (c *OrchestrationContext) tick(e *historyEvent) {
	if e.Timestamp.After(c.now) {
		c.now = e.Timestamp.Time
	}
}

// process applies one history event.
func (c *OrchestrationContext) process(e historyEvent) {
	switch e.EventType {
	case evOrchestratorStarted:
		c.tick(&e)
	case evEventSent:
		// A CallEntity's response comes as an event named after its
		// request id, which is in the request message.
		if t, ok := c.open[e.EventID]; ok && (t.kind == kindEntityCall || t.kind == kindLock) && e.Input != nil {
			var req struct {
				ID string `json:"id"`
			}
			if json.Unmarshal([]byte(*e.Input), &req) == nil && req.ID != "" {
				delete(c.open, e.EventID)
				c.requests[req.ID] = t
			}
		}
	case evEventRaised:
		c.raise(e)
	case evTaskCompleted, evTaskFailed, evSubOrchestrationInstanceCompleted, evSubOrchestrationInstanceFailed, evTimerFired:
		c.complete(e)
	}
}

// complete applies a completion event to the task it completes.
func (c *OrchestrationContext) complete(e historyEvent) {
	var id int
	switch {
	case e.EventType == evTimerFired && e.TimerID != nil:
		id = *e.TimerID
	case e.TaskScheduledID != nil:
		id = *e.TaskScheduledID
	default:
		return
	}
	t, ok := c.open[id]
	if !ok {
		if id >= c.seq {
			c.early[id] = e
		}
		return
	}
	delete(c.open, id)
	switch e.EventType {
	case evTimerFired:
		t.timerFired()
	case evTaskCompleted, evSubOrchestrationInstanceCompleted:
		t.succeeded(result(e.Result))
	default:
		t.failed(failure(t, e))
	}
}

// raise delivers an EventRaised: the response to a CallEntity, else to
// the oldest waiter of its name, else to the buffer.
func (c *OrchestrationContext) raise(e historyEvent) {
	data := result(e.Input)
	if t, ok := c.requests[e.Name]; ok {
		delete(c.requests, e.Name)
		if t.kind == kindLock {
			t.succeeded(nil)
		} else {
			t.entityResponse(data)
		}
		return
	}
	if ws := c.waiters[e.Name]; len(ws) > 0 {
		t := ws[0]
		c.dropWaiter(t)
		t.eventRaised(data)
		return
	}
	c.buffered[e.Name] = append(c.buffered[e.Name], &data)
}

func (c *OrchestrationContext) dropWaiter(t *task) {
	ws := c.waiters[t.name]
	for i, w := range ws {
		if w == t {
			ws = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(c.waiters, t.name)
	} else {
		c.waiters[t.name] = ws
	}
}

// result is a completion's JSON text; absent is null.
func result(s *string) json.RawMessage {
	if s == nil || *s == "" {
		return json.RawMessage("null")
	}
	return json.RawMessage(*s)
}

func failure(t *task, e historyEvent) *TaskFailedError {
	f := &TaskFailedError{Kind: t.kindName(), Name: t.name}
	if e.Reason != nil {
		f.Reason = *e.Reason
	}
	if e.Details != nil {
		f.Details = *e.Details
	}
	if d := e.FailureDetails; d != nil {
		f.ErrorType, f.ErrorMessage, f.StackTrace = d.ErrorType, d.ErrorMessage, d.StackTrace
	}
	return f
}

// state is the OrchestratorState JSON of the episode; for a failed
// orchestrator, an *OrchestrationFailure carrying it.
func (c *OrchestrationContext) state() ([]byte, error) {
	s := orchestratorState{
		IsDone:        c.continued || (c.finished && c.err == nil),
		Actions:       [][]*action{c.actions},
		Output:        json.RawMessage("null"),
		CustomStatus:  c.customStatus,
		SchemaVersion: c.schema,
	}
	if s.Actions[0] == nil {
		s.Actions[0] = []*action{}
	}
	if c.finished && c.err == nil && !c.continued && c.output != nil {
		out, err := encodeValue(c.output)
		if err != nil {
			c.err = fmt.Errorf("the output of orchestration %s: %w", c.instanceID, err)
		} else {
			s.Output = out
		}
	}
	if c.err != nil && !c.continued {
		s.IsDone = false
		s.Error = c.err.Error()
		b, err := json.Marshal(&s)
		if err != nil {
			return nil, fmt.Errorf("durable: the state of orchestration %s: %w", c.instanceID, err)
		}
		return nil, &OrchestrationFailure{Err: c.err, State: b}
	}
	b, err := json.Marshal(&s)
	if err != nil {
		return nil, fmt.Errorf("durable: the state of orchestration %s: %w", c.instanceID, err)
	}
	return b, nil
}
