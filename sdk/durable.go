package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/funcd/funcd/sdk/durable"
	"github.com/funcd/funcd/sdk/internal/bridge"
)

// Orchestration registers an orchestrator function (package
// github.com/funcd/funcd/sdk/durable): an orchestrationTrigger whose
// return value is the orchestrator's state for the host.
func (a *App) Orchestration(name string, fn durable.Orchestrator, opts ...Option) *Function {
	if fn == nil {
		panic(fmt.Sprintf("sdk: orchestration %q has a nil function", name))
	}
	f := a.register(name, fn, "orchestrationTrigger", "context", opts, durableReturn("orchestrationTrigger"))
	f.run = func(ctx context.Context, inv *invocation) error {
		state, err := durable.RunOrchestrator(ctx, typedBytes(inv.trigger()), fn)
		if err != nil {
			return err
		}
		return inv.set("$return", json.RawMessage(state))
	}
	return f
}

// Activity registers an activity function, a func(context.Context[, In])
// ([Out, ]error) (see durable.NewActivity): an activityTrigger whose
// input is the orchestrator's and whose return value goes back to it. A
// function of another shape panics.
func (a *App) Activity(name string, fn any, opts ...Option) *Function {
	h, err := durable.NewActivity(fn)
	if err != nil {
		panic(fmt.Sprintf("sdk: activity %q: %v", name, err))
	}
	f := a.register(name, fn, "activityTrigger", "input", opts, durableReturn("activityTrigger"))
	f.run = func(ctx context.Context, inv *invocation) error {
		out, err := h(ctx, typedBytes(inv.trigger()))
		if err != nil {
			return err
		}
		return inv.set("$return", out)
	}
	return f
}

// Entity registers an entity function (package
// github.com/funcd/funcd/sdk/durable): an entityTrigger that runs a batch
// of operations and returns their results and the entity's state.
func (a *App) Entity(name string, fn durable.Entity, opts ...Option) *Function {
	if fn == nil {
		panic(fmt.Sprintf("sdk: entity %q has a nil function", name))
	}
	f := a.register(name, fn, "entityTrigger", "context", opts, durableReturn("entityTrigger"))
	f.run = func(ctx context.Context, inv *invocation) error {
		out, err := durable.RunEntity(ctx, typedBytes(inv.trigger()), fn)
		if err != nil {
			return err
		}
		return inv.set("$return", json.RawMessage(out))
	}
	return f
}

// durableReturn declares a durable trigger's return value.
func durableReturn(trigger string) func(*Function) {
	return func(f *Function) {
		f.out = append(f.out, &binding{name: "$return", typ: trigger, direction: "out", fields: map[string]any{}})
	}
}

// DurableClient adds a durableClient input binding named name to the
// function: its handler gets a durable.Client with durable.GetClient(ctx)
// (for an HTTP handler, r.Context()). A function has at most one.
func (f *Function) DurableClient(name string) *Function {
	if name == "" || name == "$return" || name == f.trigger.name {
		panic(fmt.Sprintf("sdk: function %q: durable client binding name %q", f.name, name))
	}
	for _, b := range f.in {
		if b.typ == "durableClient" {
			panic(fmt.Sprintf("sdk: function %q already has a durable client binding, %q", f.name, b.name))
		}
	}
	if f.hasOutput(name) {
		panic(fmt.Sprintf("sdk: function %q has an output binding named %q", f.name, name))
	}
	f.in = append(f.in, &binding{name: name, typ: "durableClient", direction: "in", fields: map[string]any{}})
	return f
}

// WithDurableClient is Function.DurableClient.
func WithDurableClient(name string) Option { return func(f *Function) { f.DurableClient(name) } }

func init() {
	bridge.DurableClientInput = func(ctx context.Context) ([]byte, error) {
		mc, ok := MiddlewareContextFrom(ctx)
		if !ok {
			return nil, errors.New("sdk: durable.GetClient outside an invocation")
		}
		for _, b := range mc.inv.fn.in {
			if b.typ == "durableClient" {
				if v := mc.BindingInput(b.name); v != nil {
					return v, nil
				}
				return nil, fmt.Errorf("sdk: the host sent no value for the durableClient binding %q of function %q", b.name, mc.FunctionName)
			}
		}
		return nil, nil
	}
}
