package durable

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Option sets an optional argument of a call: CallActivity,
// CallSubOrchestrator, CallEntity, SignalEntity and Client.StartNew take
// the ones that fit them and panic on others.
type Option func(*callOptions)

type callOptions struct {
	input      any
	hasInput   bool
	retry      *RetryPolicy
	instanceID string
	version    string
	used       []string // names, to refuse options that do not fit
}

// WithInput sets the call's input, any value encoding/json can encode (a
// json.RawMessage goes as it is).
func WithInput(v any) Option {
	return func(o *callOptions) { o.input, o.hasInput = v, true }
}

// WithRetryPolicy makes an activity or sub-orchestration call retry on
// failure.
func WithRetryPolicy(p *RetryPolicy) Option {
	return func(o *callOptions) { o.retry = p; o.used = append(o.used, "WithRetryPolicy") }
}

// WithInstanceID sets the instance id of a sub-orchestration or of a new
// orchestration (Client.StartNew).
func WithInstanceID(id string) Option {
	return func(o *callOptions) { o.instanceID = id; o.used = append(o.used, "WithInstanceID") }
}

// WithVersion sets the version of a sub-orchestration or new
// orchestration.
func WithVersion(v string) Option {
	return func(o *callOptions) { o.version = v; o.used = append(o.used, "WithVersion") }
}

func applyOptions(what string, opts []Option, allowed ...string) *callOptions {
	o := &callOptions{}
	for _, opt := range opts {
		opt(o)
	}
	for _, u := range o.used {
		ok := false
		for _, a := range allowed {
			ok = ok || a == u
		}
		if !ok {
			panic(fmt.Sprintf("durable: %s does not take %s", what, u))
		}
	}
	return o
}

// RetryPolicy retries a failed activity or sub-orchestration. The
// orchestration runs the retries itself with durable timers: after failure
// n (from 1) it waits InitialRetryInterval × BackoffCoefficient^(n-1), at
// most MaxRetryInterval, and gives up after MaxAttempts attempts or once
// RetryTimeout has passed since the first. Each attempt and each wait is a
// task of its own in the history.
type RetryPolicy struct {
	MaxAttempts          int           // at least 1
	InitialRetryInterval time.Duration // more than 0
	BackoffCoefficient   float64       // 0 means 1
	MaxRetryInterval     time.Duration // 0: unbounded
	RetryTimeout         time.Duration // 0: unbounded
}

// retryOptions is RetryPolicy on the wire, in milliseconds.
type retryOptions struct {
	FirstRetryIntervalInMilliseconds int64    `json:"firstRetryIntervalInMilliseconds"`
	MaxNumberOfAttempts              int      `json:"maxNumberOfAttempts"`
	BackoffCoefficient               *float64 `json:"backoffCoefficient,omitempty"`
	MaxRetryIntervalInMilliseconds   *int64   `json:"maxRetryIntervalInMilliseconds,omitempty"`
	RetryTimeoutInMilliseconds       *int64   `json:"retryTimeoutInMilliseconds,omitempty"`
}

func (p *RetryPolicy) wire() retryOptions {
	w := retryOptions{FirstRetryIntervalInMilliseconds: p.InitialRetryInterval.Milliseconds(), MaxNumberOfAttempts: p.MaxAttempts}
	if p.BackoffCoefficient != 0 {
		w.BackoffCoefficient = &p.BackoffCoefficient
	}
	if p.MaxRetryInterval > 0 {
		ms := p.MaxRetryInterval.Milliseconds()
		w.MaxRetryIntervalInMilliseconds = &ms
	}
	if p.RetryTimeout > 0 {
		ms := p.RetryTimeout.Milliseconds()
		w.RetryTimeoutInMilliseconds = &ms
	}
	return w
}

func (p *RetryPolicy) check() error {
	switch {
	case p.MaxAttempts < 1:
		return fmt.Errorf("MaxAttempts is %d; want at least 1", p.MaxAttempts)
	case p.InitialRetryInterval <= 0:
		return fmt.Errorf("InitialRetryInterval is %v; want more than 0", p.InitialRetryInterval)
	case p.BackoffCoefficient < 0 || math.IsNaN(p.BackoffCoefficient):
		return fmt.Errorf("BackoffCoefficient is %v; want 0 (1) or more", p.BackoffCoefficient)
	}
	return nil
}

// failedTask is a task that failed before it was scheduled (a bad input,
// a bad policy): deterministic, so the orchestrator sees it on every
// replay.
func (c *OrchestrationContext) failedTask(kind taskKind, name string, err error) Task {
	return &task{c: c, kind: kind, name: name, state: failed, err: err}
}

// CallActivity schedules the activity name (options WithInput,
// WithRetryPolicy). The activity receives the JSON text of the input.
func (c *OrchestrationContext) CallActivity(name string, opts ...Option) Task {
	o := applyOptions("CallActivity", opts, "WithRetryPolicy")
	input, err := encodeActivityInput(o.input)
	if err != nil {
		return c.failedTask(kindActivity, name, fmt.Errorf("durable: the input of activity %q: %w", name, err))
	}
	if !o.hasInput {
		input = nil
	}
	a := &action{typ: actCallActivity, functionName: name, input: input}
	return c.schedule(kindActivity, name, a, o.retry)
}

// CallSubOrchestrator schedules the orchestrator name as a
// sub-orchestration (options WithInput, WithInstanceID, WithVersion,
// WithRetryPolicy). Without an instance id the host makes one,
// "<parent execution id>:<sequence number>".
func (c *OrchestrationContext) CallSubOrchestrator(name string, opts ...Option) Task {
	o := applyOptions("CallSubOrchestrator", opts, "WithRetryPolicy", "WithInstanceID", "WithVersion")
	var input []byte
	if o.hasInput {
		var err error
		if input, err = encodeValue(o.input); err != nil {
			return c.failedTask(kindSubOrchestration, name, fmt.Errorf("durable: the input of sub-orchestration %q: %w", name, err))
		}
	}
	a := &action{typ: actCallSubOrchestrator, functionName: name, input: input, instanceID: o.instanceID, version: o.version}
	return c.schedule(kindSubOrchestration, name, a, o.retry)
}

func (c *OrchestrationContext) schedule(kind taskKind, name string, a *action, retry *RetryPolicy) Task {
	t := &task{c: c, kind: kind, name: name, act: a}
	if retry != nil {
		if err := retry.check(); err != nil {
			return c.failedTask(kind, name, fmt.Errorf("durable: the retry policy of %s %q: %w", t.kindName(), name, err))
		}
		p := *retry
		t.retry, t.attempt, t.firstAttempt = &p, 1, c.now
	}
	c.addAction(a)
	c.track(t, c.nextID())
	return t
}

// CreateTimer schedules a durable timer that fires after d, measured from
// CurrentUTCDateTime.
func (c *OrchestrationContext) CreateTimer(d time.Duration) Task {
	return c.CreateTimerAt(c.now.Add(d))
}

// CreateTimerAt schedules a durable timer that fires at t. A timer longer
// than the host's maximum fires in segments, transparently.
func (c *OrchestrationContext) CreateTimerAt(at time.Time) Task {
	return c.timer(at.UTC())
}

func (c *OrchestrationContext) timer(at time.Time) *task {
	t := &task{c: c, kind: kindTimer, fireAt: at,
		long: c.maxShortTimer > 0 && at.Sub(c.now) > c.maxShortTimer}
	a := &action{typ: actCreateTimer, fireAt: c.segmentEnd(at)}
	t.act = a
	c.addAction(a)
	c.track(t, c.nextID())
	return t
}

// WaitForExternalEvent waits for the event name, raised by a client
// (Client.RaiseEvent) or another orchestration. Events that arrive before
// anyone waits are kept, and given out first in, first out. With timeout >
// 0 a durable timer bounds the wait and the task fails with
// ErrTaskCanceled when it fires first; with 0 the task fails at once
// unless an event is already there; with a negative timeout it waits
// forever.
func (c *OrchestrationContext) WaitForExternalEvent(name string, timeout time.Duration) Task {
	t := &task{c: c, kind: kindEvent, name: name}
	c.addAction(&action{typ: actWaitForExternalEvent, eventName: name})
	if q := c.buffered[name]; len(q) > 0 {
		t.state, t.value = succeeded, *q[0]
		if len(q) == 1 {
			delete(c.buffered, name)
		} else {
			c.buffered[name] = q[1:]
		}
		return t // no timer: replays take this branch too
	}
	switch {
	case timeout == 0:
		t.state, t.err = failed, fmt.Errorf("%w: external event %q had not arrived", ErrTaskCanceled, name)
		return t
	case timeout > 0:
		tm := c.timer(c.now.Add(timeout))
		tm.timeout, t.timer = t, tm
	}
	c.waiters[name] = append(c.waiters[name], t)
	return t
}

// EntityID names an entity: its entity function's name and a key.
type EntityID struct {
	Name, Key string
}

// NewEntityID returns the id of the entity name with key.
func NewEntityID(name, key string) EntityID { return EntityID{Name: name, Key: key} }

// String is the entity's instance id, "@<lowercase name>@<key>".
func (id EntityID) String() string { return "@" + strings.ToLower(id.Name) + "@" + id.Key }

// CallEntity calls operation op of entity id (option WithInput) and
// completes with the operation's result.
func (c *OrchestrationContext) CallEntity(id EntityID, op string, opts ...Option) Task {
	o := applyOptions("CallEntity", opts)
	if err := c.lockRule(id, true); err != nil {
		return c.failedTask(kindEntityCall, op, err)
	}
	var input []byte
	if o.hasInput {
		var err error
		if input, err = encodeValue(o.input); err != nil {
			return c.failedTask(kindEntityCall, op, fmt.Errorf("durable: the input of operation %q of entity %s: %w", op, id, err))
		}
	}
	a := &action{typ: actCallEntity, instanceID: id.String(), operation: op, input: input}
	t := &task{c: c, kind: kindEntityCall, name: op, act: a}
	c.addAction(a)
	c.track(t, c.nextID())
	return t
}

// SignalEntity sends operation op to entity id (option WithInput) without
// waiting for it.
func (c *OrchestrationContext) SignalEntity(id EntityID, op string, opts ...Option) error {
	o := applyOptions("SignalEntity", opts)
	if err := c.lockRule(id, false); err != nil {
		return err
	}
	var input []byte
	if o.hasInput {
		var err error
		if input, err = encodeValue(o.input); err != nil {
			return fmt.Errorf("durable: the input of signal %q to entity %s: %w", op, id, err)
		}
	}
	c.addAction(&action{typ: actSignalEntity, instanceID: id.String(), operation: op, input: input})
	c.nextID()
	return nil
}

// segmentEnd is when the next timer toward at fires: at itself, or, for a
// timer longer than the host's maximum, the end of the next segment.
func (c *OrchestrationContext) segmentEnd(at time.Time) time.Time {
	if c.maxShortTimer > 0 && at.Sub(c.now) > c.maxShortTimer {
		return c.now.Add(c.longInterval)
	}
	return at
}

// delay is the wait after failure n (from 1).
func (p *RetryPolicy) delay(n int) time.Duration {
	coef := p.BackoffCoefficient
	if coef == 0 {
		coef = 1
	}
	d := float64(p.InitialRetryInterval) * math.Pow(coef, float64(n-1))
	if p.MaxRetryInterval > 0 && d > float64(p.MaxRetryInterval) {
		return p.MaxRetryInterval
	}
	if d > float64(math.MaxInt64) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}
