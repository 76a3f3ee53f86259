package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/funcd/funcd/sdk/internal/bridge"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// binding is one binding of a function, as function.json would have it.
type binding struct {
	name, typ, direction string
	fields               map[string]any // the other properties, camelCase
}

// raw is the binding as a JSON object: name, type and direction first,
// then the other properties in name order.
func (b *binding) raw() string {
	var buf bytes.Buffer
	w := func(k string, v any) {
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteByte('{')
	w("name", b.name)
	w("type", b.typ)
	w("direction", b.direction)
	for _, k := range slices.Sorted(maps.Keys(b.fields)) {
		w(k, b.fields[k])
	}
	buf.WriteByte('}')
	return buf.String()
}

// check says what a function lacks to be indexed.
func (f *Function) check() error {
	need := map[string]string{"timerTrigger": "schedule", "queueTrigger": "queueName", "blobTrigger": "path",
		mcpToolTrigger: "toolName", mcpResourceTrigger: "uri"}[f.trigger.typ]
	if need != "" {
		if s, _ := f.trigger.fields[need].(string); s == "" {
			return fmt.Errorf("function %q: its %s has no %s", f.name, f.trigger.typ, need)
		}
	}
	if r := f.retry; r != nil && r.Strategy != "fixedDelay" && r.Strategy != "exponentialBackoff" {
		return fmt.Errorf("function %q: retry strategy %q; want fixedDelay or exponentialBackoff", f.name, r.Strategy)
	}
	return nil
}

// metadata is the function's RpcFunctionMetadata for worker indexing.
func (f *Function) metadata() *rpcpb.RpcFunctionMetadata {
	all := append(append([]*binding{f.trigger}, f.in...), f.out...)
	m := &rpcpb.RpcFunctionMetadata{
		FunctionId: f.id,
		Name:       f.name,
		Language:   "go",
		ScriptFile: f.source,
		EntryPoint: f.name,
		Bindings:   make(map[string]*rpcpb.BindingInfo, len(all)),
	}
	for _, b := range all {
		m.RawBindings = append(m.RawBindings, b.raw())
		dir := rpcpb.BindingInfo_in
		if b.direction == "out" {
			dir = rpcpb.BindingInfo_out
		}
		m.Bindings[b.name] = &rpcpb.BindingInfo{Type: b.typ, Direction: dir}
	}
	if err := f.check(); err != nil {
		m.Status = &rpcpb.StatusResult{Status: rpcpb.StatusResult_Failure, Result: err.Error(),
			Exception: &rpcpb.RpcException{Message: err.Error()}}
	}
	if r := f.retry; r != nil {
		ro := &rpcpb.RpcRetryOptions{MaxRetryCount: int32(r.MaxRetryCount)}
		if r.Strategy == "fixedDelay" {
			ro.RetryStrategy = rpcpb.RpcRetryOptions_fixed_delay
			ro.DelayInterval = durationpb.New(r.DelayInterval)
		} else {
			ro.RetryStrategy = rpcpb.RpcRetryOptions_exponential_backoff
			ro.MinimumInterval = durationpb.New(r.MinimumInterval)
			ro.MaximumInterval = durationpb.New(r.MaximumInterval)
		}
		m.RetryOptions = ro
	}
	return m
}

// routeParamNames are the parameter names of an HTTP route template:
// "{name}", "{id:int}", "{opt?}", "{*rest}".
func routeParamNames(route string) []string {
	var names []string
	for {
		i := strings.IndexByte(route, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(route[i:], '}')
		if j < 0 {
			return names
		}
		p := route[i+1 : i+j]
		p = strings.TrimLeft(p, "*")
		if k := strings.IndexAny(p, ":=?"); k >= 0 {
			p = p[:k]
		}
		if p != "" {
			names = append(names, p)
		}
		route = route[i+j+1:]
	}
}

func init() {
	bridge.Functions = func(a any) []*bridge.Function { return a.(*App).bridge() }
	bridge.Capabilities = func(a any) map[string]string { return a.(*App).capabilities() }
}

// bridge freezes the app and returns its functions for the worker.
func (a *App) bridge() []*bridge.Function {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.frozen = true
	out := make([]*bridge.Function, 0, len(a.funcs))
	for _, f := range a.funcs {
		if f.trigger.typ == "httpTrigger" {
			r, _ := f.trigger.fields["route"].(string)
			f.routeParams = routeParamNames(r)
		}
		h := f.innermost()
		for i := len(a.middleware) - 1; i >= 0; i-- {
			h = a.middleware[i].Wrap(h)
		}
		out = append(out, &bridge.Function{
			Name:     f.name,
			Metadata: f.metadata(),
			HTTP:     f.trigger.typ == "httpTrigger",
			Invoke:   f.invoker(h),
		})
	}
	return out
}

// CapabilityProvider is a Middleware that adds capabilities to the
// worker's WorkerInitResponse.
type CapabilityProvider interface {
	Capabilities() map[string]string
}

func (a *App) capabilities() map[string]string {
	caps := map[string]string{}
	for _, mw := range a.middleware {
		if p, ok := mw.(CapabilityProvider); ok {
			maps.Copy(caps, p.Capabilities())
		}
	}
	return caps
}
