package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
)

// The invocation pipeline around the worker: a trigger's event becomes an
// invocation, input bindings are read with the trigger's data, the worker
// runs it (Generation.Invoke: timeout, logs), output bindings are written,
// and the function's retry policy runs it again on failure.

// listener is one trigger listener of a generation.
type listener struct {
	fn *funcd.Function
	l  binding.Listener
}

// retryWarning is the WebJobs SDK's warning for a retry policy on a
// trigger that does not declare retry support.
const retryWarning = "Soon retries will not be supported for function '%s'. For more information, please visit http://aka.ms/func-retry-policies."

// RetryPolicy returns the policy that applies to fn's trigger events:
// function.json "retry", else host.json "retry"; nil for none.
func (g *Generation) RetryPolicy(fn *funcd.Function) *funcd.RetryPolicy {
	if fn.Retry != nil {
		return fn.Retry
	}
	return g.App.Host.Retry
}

// Env returns the binding environment of the generation.
func (g *Generation) Env() *binding.Env { return g.env }

// invoker returns the Invoker a listener of fn hands its events to.
func (g *Generation) invoker(fn *funcd.Function) binding.Invoker {
	return binding.InvokerFunc(func(ctx context.Context, ev binding.Event) error {
		if ev.Function == nil {
			ev.Function = fn
		}
		return g.runEvent(ctx, ev, g.RetryPolicy(ev.Function))
	})
}

// InvokeEvent runs one trigger event through the pipeline once, without
// retries, as an invocation through the admin API runs. The caller holds
// the generation (Acquire).
func (g *Generation) InvokeEvent(ctx context.Context, ev binding.Event) error {
	return g.attempt(ctx, ev, nil)
}

// runEvent runs an event with the retry policy: on failure it waits the
// policy's delay on the host's clock and runs it again, with RetryContext
// telling the worker which attempt it is, until it succeeds or the retries
// run out. A generation that stops cuts the wait short (the trigger's own
// redelivery takes over).
func (g *Generation) runEvent(ctx context.Context, ev binding.Event, policy *funcd.RetryPolicy) error {
	if policy == nil {
		return g.attempt(ctx, ev, nil)
	}
	var delays backoff
	rc := &funcd.RetryContext{MaxRetryCount: policy.MaxRetryCount}
	for {
		err := g.attempt(ctx, ev, rc)
		if err == nil {
			return nil
		}
		if policy.MaxRetryCount != -1 && rc.RetryCount >= policy.MaxRetryCount {
			if policy.MaxRetryCount > 0 {
				g.functionLog(ev.Function).Error(fmt.Sprintf("All retries have been exhausted for function '%s'. Max retry count: '%d'.", ev.Function.Name, policy.MaxRetryCount), "error", err)
			}
			return err
		}
		next := rc.RetryCount + 1
		delay := delays.next(policy, next)
		g.functionLog(ev.Function).Info(fmt.Sprintf("Waiting for `%s` before retrying function execution. Next attempt: '%d'. Max retry count: '%d'", funcd.TimeSpan(delay), next, policy.MaxRetryCount))
		t := g.host.clock.NewTimer(delay)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return err
		case <-g.stopping:
			t.Stop()
			return err
		}
		rc = &funcd.RetryContext{RetryCount: next, MaxRetryCount: policy.MaxRetryCount, Err: err}
	}
}

// backoff computes retry delays: fixedDelay's interval, or
// exponentialBackoff's RandomizedExponentialBackoffStrategy (the minimum
// doubled each retry with ±20% jitter, capped at the maximum).
type backoff struct {
	current time.Duration
}

func (b *backoff) next(p *funcd.RetryPolicy, _ int) time.Duration {
	if p.Strategy == funcd.FixedDelay {
		return p.DelayInterval
	}
	if b.current == 0 {
		b.current = p.MinimumInterval
		return b.current
	}
	jitter := 0.8 + 0.4*mrand.Float64()
	d := b.current + time.Duration(float64(b.current)*jitter)
	d = max(d, p.MinimumInterval)
	d = min(d, p.MaximumInterval)
	b.current = d
	return d
}

// attempt runs an event once on the generation: it registers the work,
// builds the invocation and goes through Invoke (inputs, worker,
// outputs).
func (g *Generation) attempt(ctx context.Context, ev binding.Event, rc *funcd.RetryContext) error {
	if !g.Acquire() {
		return funcd.Errorf(funcd.EUNAVAILABLE, "function '%s': the host is restarting or stopping", ev.Function.Name)
	}
	defer g.Release()
	inv := &funcd.Invocation{
		ID: funcd.NewGUID(), Function: ev.Function, Trigger: ev.Value, Metadata: ev.Data, Retry: rc, Reason: ev.Reason,
	}
	res, err := g.Invoke(ctx, inv)
	discard(res)
	return err
}

// discard releases what a result holds.
func discard(res *funcd.Result) {
	if res == nil || res.HTTP == nil {
		return
	}
	if res.HTTP.BodyReader != nil {
		_ = res.HTTP.BodyReader.Close()
	}
	if res.HTTP.Release != nil {
		res.HTTP.Release()
	}
}

// bindingData returns the binding data an invocation's input and output
// bindings are resolved with: the trigger's, or for an HTTP trigger its
// route parameters, query parameters (but code) and the top-level
// properties of a JSON object body.
func bindingData(inv *funcd.Invocation) binding.Data {
	if inv.HTTP == nil {
		return binding.Data(inv.Metadata)
	}
	data := binding.Data{}
	r := inv.HTTP
	if body := strings.TrimSpace(string(r.Body)); strings.HasPrefix(body, "{") {
		var props map[string]json.RawMessage
		if json.Unmarshal(r.Body, &props) == nil {
			for k, v := range props {
				data[k] = v
			}
		}
	}
	q, _ := url.ParseQuery(r.RawQuery)
	for k, vs := range q {
		if !strings.EqualFold(k, "code") && len(vs) > 0 {
			data[k], _ = json.Marshal(vs[len(vs)-1])
		}
	}
	for k, v := range r.Params {
		if v != nil {
			data[k], _ = json.Marshal(*v)
		}
	}
	return data
}

// needsBindings reports whether fn has input or output bindings besides
// its trigger and HTTP, which the pipeline reads and writes.
func needsBindings(fn *funcd.Function) bool {
	for i := range fn.Bindings {
		b := &fn.Bindings[i]
		if !b.IsTrigger() && !isHTTPType(b.Type) {
			return true
		}
	}
	return false
}

// readInputs reads fn's input bindings (other than the trigger) with
// their Kinds.
func (g *Generation) readInputs(ctx context.Context, inv *funcd.Invocation, data binding.Data) error {
	fn := inv.Function
	for i := range fn.Bindings {
		b := &fn.Bindings[i]
		if b.IsTrigger() || b.Direction != funcd.In || isHTTPType(b.Type) {
			continue
		}
		k, ok := g.host.registry.Lookup(b.Type)
		if !ok || k.Read == nil {
			continue
		}
		v, err := k.Read(ctx, g.env, fn, b, data)
		if err != nil {
			//lint:ignore ST1005 the real host's words
			return fmt.Errorf("Exception binding parameter '%s': %w", b.Name, err)
		}
		if inv.Inputs == nil {
			inv.Inputs = map[string]funcd.Value{}
		}
		inv.Inputs[b.Name] = v
	}
	return nil
}

// writeOutputs writes the output bindings the worker gave a value, in
// function.json order: Outputs[name], or for $return the return value.
func (g *Generation) writeOutputs(ctx context.Context, inv *funcd.Invocation, res *funcd.Result, data binding.Data) error {
	fn := inv.Function
	for i := range fn.Bindings {
		b := &fn.Bindings[i]
		if (b.Direction != funcd.Out && b.Direction != funcd.InOut) || isHTTPType(b.Type) {
			continue
		}
		v, ok := res.Outputs[b.Name]
		if !ok && b.Name == "$return" {
			v, ok = res.ReturnValue, true
		}
		if !ok || v.IsNone() {
			continue
		}
		k, found := g.host.registry.Lookup(b.Type)
		if !found || k.Write == nil {
			continue
		}
		if err := k.Write(ctx, g.env, fn, b, data, v); err != nil {
			//lint:ignore ST1005 the real host's words
			return fmt.Errorf("Error while handling parameter %s after function returned: %w", b.Name, err)
		}
	}
	return nil
}

// startListeners starts a listener per enabled, indexed function with a
// non-HTTP trigger whose Kind listens. A listener that does not start puts
// its function in error: it leaves the index, and its status shows why.
func (g *Generation) startListeners(ctx context.Context) {
	var failed []*funcd.Function
	for _, fn := range g.functions {
		t := fn.Trigger()
		if t == nil || isHTTPType(t.Type) || fn.Disabled {
			continue
		}
		k, ok := g.host.registry.Lookup(t.Type)
		if !ok || k.Listen == nil {
			continue
		}
		l, err := k.Listen(fn, t, g.env, g.invoker(fn))
		if err == nil {
			err = l.Start(ctx)
		}
		if err != nil {
			e := &funcd.ConfigError{File: fn.ConfigFile, Field: "bindings[" + itoa(slices.IndexFunc(fn.Bindings, func(b funcd.Binding) bool { return b.IsTrigger() })) + "]",
				Msg: fmt.Sprintf("The listener for function 'Functions.%s' was unable to start. %v", fn.Name, err)}
			if ce, ok := errors.AsType[*funcd.ConfigError](err); ok {
				e = bindingError(fn, slices.IndexFunc(fn.Bindings, func(b funcd.Binding) bool { return b.IsTrigger() }), ce)
			}
			fn.Errors = append(fn.Errors, e)
			g.log.Error(fmt.Sprintf("The '%s' function is in error: %s", fn.Name, e.Msg), "function", fn.Name, "error", err)
			failed = append(failed, fn)
			continue
		}
		g.listeners = append(g.listeners, listener{fn: fn, l: l})
	}
	if len(failed) > 0 {
		g.functions = slices.DeleteFunc(g.functions, func(f *funcd.Function) bool { return slices.Contains(failed, f) })
	}
}

// stopListeners stops the generation's listeners at once, each draining
// its events in flight until ctx is done.
func (g *Generation) stopListeners(ctx context.Context) error {
	g.stopOnce.Do(func() { close(g.stopping) })
	errs := make([]error, len(g.listeners))
	var wg sync.WaitGroup
	for i, l := range g.listeners {
		wg.Go(func() {
			if err := l.l.Stop(ctx); err != nil {
				errs[i] = fmt.Errorf("stopping the listener of %s: %w", l.fn.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// manualEvent makes the event of an invocation through the admin API:
// triggers bind the input as their Kind's Manual does (a timer gets a
// TimerInfo that is not past due, whatever the input), else as a string
// with binding data {"<Type>": input}.
func (g *Generation) manualEvent(ctx context.Context, fn *funcd.Function, input string) (binding.Event, error) {
	t := fn.Trigger()
	ev := binding.Event{Function: fn}
	if t == nil {
		ev.Value = funcd.StringValue(input)
		return ev, nil
	}
	if k, ok := g.host.registry.Lookup(t.Type); ok && k.Manual != nil {
		ev, err := k.Manual(ctx, g.env, fn, t, input)
		ev.Function = fn
		return ev, err
	}
	ev.Value = funcd.StringValue(input)
	key := strings.ToUpper(t.Type[:1]) + t.Type[1:]
	text, _ := json.Marshal(input)
	ev.Data = binding.Data{key: text}
	return ev, nil
}

// InvokeManual runs fn once with an input from the admin API, without
// retries. The caller holds the generation; the invocation is logged.
func (g *Generation) InvokeManual(ctx context.Context, fn *funcd.Function, input string) error {
	ev, err := g.manualEvent(ctx, fn, input)
	if err != nil {
		g.functionLog(fn).Error(fmt.Sprintf("Function '%s' could not be invoked with the input: %v", fn.Name, err), "error", err)
		return err
	}
	return g.InvokeEvent(ctx, ev)
}

// isDevelopment reports whether AZURE_FUNCTIONS_ENVIRONMENT is
// Development.
func isDevelopment(settings map[string]string) bool {
	v, _, _ := getFold(settings, "AZURE_FUNCTIONS_ENVIRONMENT")
	return strings.EqualFold(strings.TrimSpace(v), "Development")
}

// logRetrySupport warns, as the WebJobs SDK does, about retry policies on
// triggers other than the timer (HTTP requests are never retried).
func logRetrySupport(log *slog.Logger, g *Generation) {
	for _, fn := range g.functions {
		t := fn.Trigger()
		if t == nil || g.RetryPolicy(fn) == nil || strings.EqualFold(t.Type, "timerTrigger") {
			continue
		}
		log.Warn(fmt.Sprintf(retryWarning, fn.Name), "function", fn.Name)
	}
}
