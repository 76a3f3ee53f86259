package durable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// entityBatch is the entityTrigger's value: the entity, its state, and the
// operations to run.
type entityBatch struct {
	Self   EntityID        `json:"self"`
	Exists bool            `json:"exists"`
	State  *string         `json:"state"`
	Batch  []entityBatchOp `json:"batch"`
}

type entityBatchOp struct {
	ID       string  `json:"id,omitempty"`
	Name     string  `json:"name"`
	Input    *string `json:"input"`
	IsSignal bool    `json:"isSignal"`
}

// entityResult is what an entity function returns for a batch.
type entityResult struct {
	EntityExists bool    `json:"entityExists"`
	EntityState  *string `json:"entityState"`
	Results      []struct {
		IsError bool    `json:"isError"`
		Result  *string `json:"result"`
	} `json:"results"`
	Signals []struct {
		Target EntityID `json:"target"`
		Name   string   `json:"name"`
		Input  *string  `json:"input"`
	} `json:"signals"`
}

// responseMessage answers an entity call, as the EventRaised named after
// the request's id.
type responseMessage struct {
	Result        string `json:"result"`
	ExceptionType string `json:"exceptionType,omitempty"`
}

// processEntity runs the operations waiting for an entity, one batch, and
// answers the calls among them.
func (e *Engine) processEntity(ctx context.Context, wi *OrchestrationWorkItem) {
	id, _ := ParseEntityInstanceID(wi.InstanceID)
	now := e.clock.Now().UTC()
	var u OrchestrationUpdate
	inst := Instance{ID: wi.InstanceID, Name: id.Name, Status: Running, CreatedAt: now}
	if wi.Instance != nil {
		inst = *wi.Instance
	}
	st, err := decodeState(inst.State)
	if err != nil {
		e.log.Error(err.Error(), "instance", wi.InstanceID)
	}
	if st.Entity == nil {
		st.Entity = &entityState{}
	}
	input := make([]entityMessage, 0, len(st.Entity.Queue)+len(wi.Messages))
	for i := range st.Entity.Queue {
		input = append(input, entityMessage{req: &st.Entity.Queue[i]})
	}
	for _, m := range wi.Messages {
		u.Consumed = append(u.Consumed, m.ID)
		if m.Event.EventType != EventRaised || m.Event.Input == nil {
			continue
		}
		if m.Event.Name == "release" {
			var rel releaseMessage
			if err := json.Unmarshal([]byte(*m.Event.Input), &rel); err != nil || rel.Parent == "" {
				e.log.Warn("dropping a malformed lock release", "instance", wi.InstanceID, "input", *m.Event.Input)
				continue
			}
			input = append(input, entityMessage{release: &rel})
			continue
		}
		var req RequestMessage
		if err := json.Unmarshal([]byte(*m.Event.Input), &req); err != nil || req.Op == "" && !req.isLock() {
			e.log.Warn("dropping a malformed entity message", "instance", wi.InstanceID, "name", m.Event.Name)
			continue
		}
		input = append(input, entityMessage{req: &req})
	}
	reqs := e.schedule(st.Entity, input, now, &u)
	name, known := e.entityName(id.Name)
	if len(reqs) > 0 {
		res, err := e.runEntityBatch(ctx, wi, name, known, id, st.Entity, reqs)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("entity batch failed to run; it will be retried", "instance", wi.InstanceID, "error", err)
			}
			e.abandon(wi, retryDelay(len(reqs)))
			return
		}
		st.Entity.Exists, st.Entity.State = res.EntityExists, res.EntityState
		if !res.EntityExists {
			st.Entity.State = nil
		}
		for i, req := range reqs {
			if req.Signal || req.Parent == "" {
				continue
			}
			resp := responseMessage{Result: "null"}
			if i < len(res.Results) {
				r := res.Results[i]
				if r.Result != nil {
					resp.Result = *r.Result
				}
				if r.IsError {
					resp.ExceptionType = "Error"
				}
			}
			b, _ := json.Marshal(resp)
			s := string(b)
			u.Messages = append(u.Messages, Message{InstanceID: req.Parent, ExecutionID: req.ParentExecution,
				Event: Event{EventType: EventRaised, EventID: NoEventID, Timestamp: now, Name: req.ID, Input: &s}})
		}
		for _, sig := range res.Signals {
			in := ""
			if sig.Input != nil {
				in = *sig.Input
			}
			msg := RequestMessage{Op: sig.Name, Signal: true, Input: in, ID: NewInstanceID()}
			u.Messages = append(u.Messages, Message{InstanceID: sig.Target.InstanceID(), Event: msg.event(now, time.Time{})})
		}
	}
	inst.LastUpdatedAt = now
	inst.State = st.encode()
	u.Instance = &inst
	e.commit(ctx, wi, u)
}

// entityMessage is a request for an entity or a lock release.
type entityMessage struct {
	req     *RequestMessage
	release *releaseMessage
}

// schedule applies an entity's messages in order to its lock and returns
// the operations to run now. While a critical section holds the entity,
// only its orchestration's requests run; the others wait in the queue
// until the release. A lock request locks the entity for its orchestration
// and goes on to the next entity of the lock set; the last one answers the
// orchestration.
func (e *Engine) schedule(st *entityState, input []entityMessage, now time.Time, u *OrchestrationUpdate) []RequestMessage {
	var run, waiting []RequestMessage
	for len(input) > 0 {
		m := input[0]
		input = input[1:]
		if m.release != nil {
			if st.LockedBy != "" && m.release.Parent == st.LockedBy {
				st.LockedBy = ""
				again := make([]entityMessage, 0, len(waiting)+len(input))
				for i := range waiting {
					again = append(again, entityMessage{req: &waiting[i]})
				}
				input, waiting = append(again, input...), nil
			}
			continue
		}
		req := *m.req
		if st.LockedBy != "" && req.Parent != st.LockedBy {
			waiting = append(waiting, req)
			continue
		}
		if !req.isLock() {
			run = append(run, req)
			continue
		}
		st.LockedBy = req.Parent
		if next := req.Pos + 1; next < len(req.LockSet) {
			fwd := req
			fwd.Pos = next
			u.Messages = append(u.Messages, Message{InstanceID: fwd.LockSet[next].InstanceID(), Event: fwd.event(now, time.Time{})})
			continue
		}
		b, _ := json.Marshal(responseMessage{Result: lockAcquired})
		s := string(b)
		u.Messages = append(u.Messages, Message{InstanceID: req.Parent, ExecutionID: req.ParentExecution,
			Event: Event{EventType: EventRaised, EventID: NoEventID, Timestamp: now, Name: req.ID, Input: &s}})
	}
	st.Queue = waiting
	return run
}

// lockAcquired is the result of a lock request's response, as the real
// host writes it.
const lockAcquired = "Lock Acquisition Completed"

// runEntityBatch invokes the entity function with the batch. A failure of
// the whole invocation fails every operation of the batch.
func (e *Engine) runEntityBatch(ctx context.Context, wi *OrchestrationWorkItem, name string, known bool, id EntityID, st *entityState, reqs []RequestMessage) (*entityResult, error) {
	failAll := func(msg string) *entityResult {
		res := &entityResult{EntityExists: st.Exists, EntityState: st.State}
		res.Results = make([]struct {
			IsError bool    `json:"isError"`
			Result  *string `json:"result"`
		}, len(reqs))
		for i := range res.Results {
			res.Results[i].IsError, res.Results[i].Result = true, jsonString(msg)
		}
		return res
	}
	exec := e.executor()
	if exec == nil || !known {
		return failAll(fmt.Sprintf("The function '%s' doesn't exist, is disabled, or is not an entity function.", id.Name)), nil
	}
	batch := entityBatch{Self: EntityID{Name: id.Name, Key: id.Key}, Exists: st.Exists, State: st.State}
	for _, r := range reqs {
		op := entityBatchOp{ID: r.ID, Name: r.Op, IsSignal: r.Signal}
		if r.Input != "" {
			in := r.Input
			op.Input = &in
		}
		batch.Batch = append(batch.Batch, op)
	}
	payload, err := json.Marshal(batch)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = e.keepLocked(ctx, wi, func(ctx context.Context) error {
		select {
		case e.entitySlots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-e.entitySlots }()
		var err error
		out, err = exec.Entity(ctx, name, payload)
		return err
	})
	if fe, ok := errors.AsType[*FunctionError](err); ok {
		return failAll(fe.Message), nil
	}
	if err != nil {
		return nil, err
	}
	var res entityResult
	raw := out
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = []byte(s)
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return failAll(fmt.Sprintf("the entity function '%s' returned %q, which is not an entity batch result: %v", name, truncate(string(out), 200), err)), nil
	}
	if len(res.Results) != len(reqs) {
		// Which operation a result belongs to is unknown: the batch fails
		// as a whole and the entity keeps its state.
		return failAll(fmt.Sprintf("the entity function '%s' returned %d results for a batch of %d operations; expected one result per operation, in order", name, len(res.Results), len(reqs))), nil
	}
	return &res, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
