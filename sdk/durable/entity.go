package durable

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"
)

// Entity is an entity function: it runs one operation on the entity's
// state. A returned error (or a panic) fails the operation: its state
// changes and signals are dropped and the caller gets the error.
type Entity func(ctx *EntityContext) error

// EntityContext is an entity function's view of one operation: its name
// and input, the entity's state, the result and the signals it sends.
type EntityContext struct {
	ctx      context.Context
	id       EntityID
	op       string
	input    json.RawMessage
	isSignal bool

	exists  bool
	state   json.RawMessage
	result  json.RawMessage
	signals []entitySignal
}

// EntityID is the entity's id.
func (e *EntityContext) EntityID() EntityID { return e.id }

// Operation is the operation's name.
func (e *EntityContext) Operation() string { return e.op }

// IsSignal says whether the operation was signaled (no caller waits for
// its result).
func (e *EntityContext) IsSignal() bool { return e.isSignal }

// Context is the invocation's context.
func (e *EntityContext) Context() context.Context { return e.ctx }

// GetInput decodes the operation's input into v; an absent input leaves v
// as it is.
func (e *EntityContext) GetInput(v any) error {
	if len(e.input) == 0 || string(e.input) == "null" {
		return nil
	}
	if err := json.Unmarshal(e.input, v); err != nil {
		return fmt.Errorf("durable: the input of operation %q of entity %s: %w", e.op, e.id, err)
	}
	return nil
}

// HasState says whether the entity exists (has a state).
func (e *EntityContext) HasState() bool { return e.exists }

// GetState decodes the entity's state into v; without a state v is left
// as it is.
func (e *EntityContext) GetState(v any) error {
	if !e.exists || len(e.state) == 0 {
		return nil
	}
	if err := json.Unmarshal(e.state, v); err != nil {
		return fmt.Errorf("durable: the state of entity %s: %w", e.id, err)
	}
	return nil
}

// SetState replaces the entity's state with v.
func (e *EntityContext) SetState(v any) error {
	b, err := encodeValue(v)
	if err != nil {
		return fmt.Errorf("durable: the state of entity %s: %w", e.id, err)
	}
	e.exists, e.state = true, b
	return nil
}

// DeleteState deletes the entity: it no longer exists after the batch.
func (e *EntityContext) DeleteState() {
	e.exists, e.state = false, nil
}

// Return sets the operation's result, what the caller's CallEntity
// completes with.
func (e *EntityContext) Return(v any) error {
	b, err := encodeValue(v)
	if err != nil {
		return fmt.Errorf("durable: the result of operation %q of entity %s: %w", e.op, e.id, err)
	}
	e.result = b
	return nil
}

// SignalEntity sends operation op to entity id (option WithInput) when the
// operation succeeds.
func (e *EntityContext) SignalEntity(id EntityID, op string, opts ...Option) error {
	o := applyOptions("SignalEntity", opts)
	s := entitySignal{Target: entityRef(id), Name: op, RequestTime: time.Now().UnixMilli()}
	if o.hasInput {
		b, err := encodeValue(o.input)
		if err != nil {
			return fmt.Errorf("durable: the input of signal %q to entity %s: %w", op, id, err)
		}
		text := string(b)
		s.Input = &text
	}
	e.signals = append(e.signals, s)
	return nil
}

type entityRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// entityBatch is the entity trigger's value.
type entityBatch struct {
	Self   entityRef `json:"self"`
	Exists bool      `json:"exists"`
	State  *string   `json:"state"`
	Batch  []struct {
		Name     string  `json:"name"`
		Input    *string `json:"input"`
		IsSignal bool    `json:"isSignal"`
		Signal   bool    `json:"signal"`
	} `json:"batch"`
}

type entitySignal struct {
	Target      entityRef `json:"target"`
	Name        string    `json:"name"`
	Input       *string   `json:"input"`
	RequestID   *string   `json:"requestId"`
	RequestTime int64     `json:"requestTime"`
}

type operationResult struct {
	IsError   bool    `json:"isError"`
	Duration  int64   `json:"duration"`
	StartTime int64   `json:"startTime"`
	Result    *string `json:"result,omitempty"`
}

type entityOutput struct {
	EntityExists bool              `json:"entityExists"`
	EntityState  *string           `json:"entityState,omitempty"`
	Results      []operationResult `json:"results"`
	Signals      []entitySignal    `json:"signals"`
}

// RunEntity runs a batch of operations of fn over payload, the entity
// trigger's value, and returns the batch's result JSON. The worker calls
// it for functions registered with App.Entity.
func RunEntity(ctx context.Context, payload []byte, fn Entity) ([]byte, error) {
	var in entityBatch
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, fmt.Errorf("durable: the entity trigger's payload: %w", err)
	}
	if in.Self.Name == "" || in.Batch == nil {
		return nil, fmt.Errorf("durable: the entity trigger's payload lacks self or batch")
	}
	e := &EntityContext{ctx: ctx, id: EntityID{Name: in.Self.Name, Key: in.Self.Key}, exists: in.Exists}
	if in.Exists && in.State != nil {
		e.state = json.RawMessage(*in.State)
	}
	out := entityOutput{Results: make([]operationResult, 0, len(in.Batch)), Signals: []entitySignal{}}
	for _, op := range in.Batch {
		e.op, e.isSignal, e.input, e.result = op.Name, op.IsSignal || op.Signal, nil, nil
		if op.Input != nil {
			e.input = json.RawMessage(*op.Input)
		}
		exists, state, nsig := e.exists, e.state, len(e.signals)
		start := time.Now()
		err := runOperation(fn, e)
		r := operationResult{StartTime: start.UnixMilli(), Duration: time.Since(start).Milliseconds()}
		if err != nil {
			e.exists, e.state, e.signals = exists, state, e.signals[:nsig]
			msg, _ := json.Marshal(err.Error())
			text := string(msg)
			r.IsError, r.Result = true, &text
		} else if e.result != nil {
			text := string(e.result)
			r.Result = &text
		}
		out.Results = append(out.Results, r)
	}
	out.EntityExists = e.exists
	if e.exists {
		text := "null"
		if e.state != nil {
			text = string(e.state)
		}
		out.EntityState = &text
	}
	out.Signals = append(out.Signals, e.signals...)
	return json.Marshal(&out)
}

func runOperation(fn Entity, e *EntityContext) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn(e)
}
