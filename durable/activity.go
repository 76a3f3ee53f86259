package durable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ActivityInput returns an activity's input as the activityTrigger binds
// it: the input's JSON text, except that a JSON string is given as the
// text it holds (the SDKs encode strings twice, so that this yields the
// JSON of the value they were given).
func ActivityInput(input string) string {
	if len(input) > 0 && input[0] == '"' {
		var s string
		if json.Unmarshal([]byte(input), &s) == nil {
			return s
		}
	}
	return input
}

// processActivity runs one activity task and sends its outcome to its
// orchestration.
func (e *Engine) processActivity(ctx context.Context, t *ActivityTask) {
	result := Message{InstanceID: t.InstanceID, ExecutionID: t.ExecutionID}
	ev := Event{EventID: NoEventID, TaskScheduledID: t.TaskID}
	exec := e.executor()
	var out string
	var err error
	if exec == nil || !e.isActivity(t.Name) {
		err = &FunctionError{Message: fmt.Sprintf("The function '%s' doesn't exist, is disabled, or is not an activity function.", t.Name)}
	} else {
		err = e.keepActivityLocked(ctx, t, func(ctx context.Context) error {
			var err error
			out, err = exec.Activity(ctx, t.Name, t.InstanceID, ActivityInput(t.Input))
			return err
		})
	}
	var fe *FunctionError
	switch {
	case err == nil:
		if out == "" {
			out = "null"
		}
		ev.EventType, ev.Result = TaskCompleted, &out
	case errors.As(err, &fe):
		ev.EventType = TaskFailed
		ev.Reason = fmt.Sprintf("Activity function '%s' failed: %s", t.Name, fe.Message)
		ev.Details = fe.Details
		ev.FailureDetails = &FailureDetails{ErrorType: "Error", ErrorMessage: fe.Message}
		if fe.Details != "" {
			d := fe.Details
			ev.FailureDetails.StackTrace = &d
		}
	default:
		if ctx.Err() == nil {
			e.log.Error("activity task failed to run; it will be retried", "instance", t.InstanceID, "activity", t.Name, "error", err)
		}
		e.abandonActivity(t, activityBackoff(t.Attempts))
		return
	}
	ev.Timestamp = e.clock.Now().UTC()
	result.Event = ev
	releaseSlot(ctx)
	var wi *OrchestrationWorkItem
	if e.handoff != nil && !e.stopped() {
		// The orchestration runs next here, if it can without a claim.
		wi, err = e.handoff.CompleteActivityLocking(context.WithoutCancel(ctx), e.opts.Hub, t, result, e.opts.Owner, e.opts.Lease)
	} else {
		err = e.backend.CompleteActivity(context.WithoutCancel(ctx), e.opts.Hub, t, result)
	}
	switch {
	case errors.Is(err, ErrLockLost):
		e.log.Warn("an activity task's lock expired before its result was committed; it runs again", "instance", t.InstanceID, "activity", t.Name)
	case err != nil:
		e.log.Error("committing an activity's result", "instance", t.InstanceID, "activity", t.Name, "error", err)
		e.abandonActivity(t, time.Second)
	}
	switch {
	case wi != nil:
		e.runHandedOff(ctx, wi)
	case e.handoff == nil:
		e.kick(e.opts.Hub) // a Handoff backend announces what it leaves
	}
}

// activityBackoff is the wait before a task the host failed to run is
// tried again: it doubles from 1 second up to 1 minute.
func activityBackoff(attempts int) time.Duration {
	d := time.Second
	for i := 1; i < attempts && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}

func (e *Engine) abandonActivity(t *ActivityTask, delay time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.backend.AbandonActivity(ctx, e.opts.Hub, t, delay); err != nil && !errors.Is(err, ErrLockLost) {
		e.log.Error("releasing an activity task", "instance", t.InstanceID, "error", err)
	}
}
