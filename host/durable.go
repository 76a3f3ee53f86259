package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/worker/langworker"
)

// The Durable Functions binding types. The triggers have no listener: the
// host's durable.Engine runs their functions when its work items are due.
const (
	orchestrationTriggerType = "orchestrationTrigger"
	activityTriggerType      = "activityTrigger"
	entityTriggerType        = "entityTrigger"
	durableClientType        = "durableClient"
	orchestrationClientType  = "orchestrationClient" // the durableClient's old name
)

// durableKinds returns the Durable Functions binding types; the client
// binding reads its value from rd (nil in DefaultKinds, which only tell
// which types are known).
func durableKinds(rd func(ctx context.Context, env *binding.Env, fn *funcd.Function, b *funcd.Binding, data binding.Data) (funcd.Value, error)) []binding.Kind {
	return []binding.Kind{
		{Type: orchestrationTriggerType},
		{Type: activityTriggerType},
		{Type: entityTriggerType},
		{Type: durableClientType, Read: rd},
		{Type: orchestrationClientType, Read: rd},
	}
}

// durableFunctions sorts a generation's functions by durable trigger, and
// reports whether any function uses the engine (a durable trigger or a
// client binding).
func durableFunctions(fns []*funcd.Function) (durable.Functions, bool) {
	var out durable.Functions
	uses := false
	for _, fn := range fns {
		if fn.Disabled {
			continue
		}
		for i := range fn.Bindings {
			b := &fn.Bindings[i]
			switch {
			case strings.EqualFold(b.Type, orchestrationTriggerType):
				out.Orchestrators = append(out.Orchestrators, fn.Name)
			case strings.EqualFold(b.Type, activityTriggerType):
				out.Activities = append(out.Activities, fn.Name)
			case strings.EqualFold(b.Type, entityTriggerType):
				out.Entities = append(out.Entities, fn.Name)
			case strings.EqualFold(b.Type, durableClientType), strings.EqualFold(b.Type, orchestrationClientType):
			default:
				continue
			}
			uses = true
		}
	}
	return out, uses
}

// durableSettings are host.json's extensions.durableTask settings that
// funcd honours.
type durableSettings struct {
	HubName                            string `json:"hubName"`
	MaxConcurrentActivityFunctions     *int   `json:"maxConcurrentActivityFunctions"`
	MaxConcurrentOrchestratorFunctions *int   `json:"maxConcurrentOrchestratorFunctions"`
	MaxConcurrentEntityFunctions       *int   `json:"maxConcurrentEntityFunctions"`
	OverridableExistingInstanceStates  string `json:"overridableExistingInstanceStates"`
}

// durableConfig reads host.json's extensions.durableTask into the engine's
// options: the task hub (hubName, which may name an app setting as
// %NAME%; else WEBSITE_SITE_NAME; else TestHubName) and the caps on
// functions run at once.
func durableConfig(app *funcd.App) (durable.Options, error) {
	var ext durableSettings
	if raw, ok := app.Host.Extensions["durabletask"]; ok {
		if err := json.Unmarshal(raw, &ext); err != nil {
			return durable.Options{}, &funcd.ConfigError{File: "host.json", Field: "extensions.durableTask", Msg: "is not an object with the Durable Functions settings: " + err.Error()}
		}
	}
	hub := ext.HubName
	if strings.HasPrefix(hub, "%") && strings.HasSuffix(hub, "%") && len(hub) > 2 {
		hub = app.Settings[strings.Trim(hub, "%")]
	}
	if hub == "" {
		hub = app.Settings["WEBSITE_SITE_NAME"]
	}
	if hub == "" {
		hub = durable.DefaultHub
	}
	opts := durable.Options{Hub: hub, TraceDir: app.Settings["FUNCD_DURABLE_TRACE"]}
	for _, c := range []struct {
		field string
		v     *int
		dst   *int
	}{
		{"maxConcurrentActivityFunctions", ext.MaxConcurrentActivityFunctions, &opts.MaxConcurrentActivities},
		{"maxConcurrentOrchestratorFunctions", ext.MaxConcurrentOrchestratorFunctions, &opts.MaxConcurrentOrchestrations},
		{"maxConcurrentEntityFunctions", ext.MaxConcurrentEntityFunctions, &opts.MaxConcurrentEntities},
	} {
		if c.v == nil {
			continue
		}
		if *c.v < 1 {
			return durable.Options{}, &funcd.ConfigError{File: "host.json", Field: "extensions.durableTask." + c.field,
				Msg: fmt.Sprintf("is %d; expected a number of functions of at least 1", *c.v)}
		}
		*c.dst = *c.v
	}
	switch strings.ToLower(ext.OverridableExistingInstanceStates) {
	case "", "nonrunningstates":
		opts.Reuse = durable.OverwriteNonRunning
	case "anystate":
		opts.Reuse = durable.OverwriteAny
	default:
		return durable.Options{}, &funcd.ConfigError{File: "host.json", Field: "extensions.durableTask.overridableExistingInstanceStates",
			Msg: fmt.Sprintf("is %q; expected NonRunningStates (the default) or AnyState", ext.OverridableExistingInstanceStates)}
	}
	return opts, nil
}

// CheckDurable reports what keeps an app's durable functions from running
// that the app's loading does not: host.json's Durable Functions settings.
// It returns nil for an app without durable functions.
func CheckDurable(app *funcd.App) *funcd.ConfigError {
	if _, uses := durableFunctions(app.Functions); !uses {
		return nil
	}
	_, err := durableConfig(app)
	if ce, ok := errors.AsType[*funcd.ConfigError](err); ok {
		return ce
	}
	return nil
}

// IsDurableFunction says whether fn is a durable function: an
// orchestrator, an activity, an entity, or a function with a durableClient
// binding.
func IsDurableFunction(fn *funcd.Function) bool {
	d := *fn
	d.Disabled = false
	_, uses := durableFunctions([]*funcd.Function{&d})
	return uses
}

// durableHub is the app's task hub name (see durableConfig).
func durableHub(app *funcd.App) (string, error) {
	opts, err := durableConfig(app)
	return opts.Hub, err
}

// localRPCEnabled reports whether the durableClient binding carries the
// local endpoint (host.json extensions.durableTask.localRpcEndpointEnabled,
// on unless false): without it the SDKs call the public webhook's URLs.
func localRPCEnabled(app *funcd.App) bool {
	var ext struct {
		LocalRPCEndpointEnabled *bool `json:"localRpcEndpointEnabled"`
	}
	if raw, ok := app.Host.Extensions["durabletask"]; ok {
		_ = json.Unmarshal(raw, &ext) // durableHub reports a malformed section
	}
	return ext.LocalRPCEndpointEnabled == nil || *ext.LocalRPCEndpointEnabled
}

// startDurable gives the engine a new generation's durable functions,
// making and starting the engine the first time an app has some.
func (h *Host) startDurable(ctx context.Context, g *Generation) error {
	fns, uses := durableFunctions(g.functions)
	if !uses {
		return nil
	}
	opts, err := durableConfig(g.App)
	if err != nil {
		return err
	}
	backend, ok := g.env.Store.(durable.Backend)
	if !ok || g.env.Store == nil {
		return errors.New("the store does not keep Durable Functions state")
	}
	h.durableMu.Lock()
	defer h.durableMu.Unlock()
	// A new task hub or new limits take a new engine; work in flight on
	// the old one ends or is taken up again after its lease.
	if h.durable != nil && h.durableOpts != opts {
		old := h.durable
		h.durable = nil
		_ = old.Stop(ctx)
	}
	if h.durable == nil {
		h.durableOpts = opts
		opts.Owner, opts.Clock, opts.Logger = h.owner, h.clock, g.log.With("category", "DurableTask.Core")
		if r, ok := backend.(durable.LockReleaser); ok {
			// The work a killed funcd held on the embedded store, which
			// one machine uses, is taken up now rather than when its
			// leases expire.
			if n, err := r.ReleaseLocks(ctx, opts.Hub, ownerGone); err != nil {
				g.log.Warn("cannot release the Durable Functions locks of ended processes; their work waits for its leases to expire", "error", err)
			} else if n > 0 {
				g.log.Info(fmt.Sprintf("Took over %d Durable Functions work items and activity tasks that ended processes held", n))
			}
		}
		e := durable.New(backend, opts)
		if err := e.Start(ctx); err != nil {
			return fmt.Errorf("cannot start the Durable Functions engine: %w", err)
		}
		h.durable = e
	}
	h.durable.SetFunctions(fns, &durableExecutor{g: g})
	return nil
}

// Durable returns the host's Durable Functions engine, nil when the app
// has no durable functions.
func (h *Host) Durable() *durable.Engine {
	h.durableMu.Lock()
	defer h.durableMu.Unlock()
	return h.durable
}

// stopDurable stops the engine's dispatchers, letting work in flight end
// until ctx is done.
func (h *Host) stopDurable(ctx context.Context) error {
	h.durableMu.Lock()
	e := h.durable
	h.durable = nil
	h.durableMu.Unlock()
	if e == nil {
		return nil
	}
	return e.Stop(ctx)
}

// durableExecutor runs durable functions through a generation's pipeline.
type durableExecutor struct {
	g *Generation
}

func (x *durableExecutor) Orchestrate(ctx context.Context, name string, payload []byte) ([]byte, error) {
	// A JSON value: a language worker's library parses it as it parses the
	// string the real host sends, and a custom handler gets an object.
	res, err := x.invoke(ctx, name, funcd.JSONValue(payload), nil, "")
	if err != nil {
		return nil, err
	}
	return res.Data, nil
}

func (x *durableExecutor) Activity(ctx context.Context, name, instanceID, input string) (string, error) {
	id, _ := json.Marshal(instanceID)
	res, err := x.invoke(ctx, name, funcd.StringValue(input), binding.Data{"instanceId": id}, "")
	if err != nil {
		return "", err
	}
	switch res.Kind {
	case funcd.ValueNone:
		return "null", nil
	case funcd.ValueJSON:
		return string(res.Data), nil
	default:
		b, _ := json.Marshal(string(res.Data))
		return string(b), nil
	}
}

func (x *durableExecutor) Entity(ctx context.Context, name string, batch []byte) ([]byte, error) {
	res, err := x.invoke(ctx, name, funcd.JSONValue(batch), nil, "")
	if err != nil {
		return nil, err
	}
	return res.Data, nil
}

// invoke runs a durable function once and returns its return value. A
// failure of the function itself is a *durable.FunctionError; the host not
// being able to run it (stopping, a worker restarting) is any other error.
func (x *durableExecutor) invoke(ctx context.Context, name string, trigger funcd.Value, data binding.Data, reason string) (funcd.Value, error) {
	g := x.g
	fn := g.Function(name)
	if fn == nil {
		return funcd.Value{}, fmt.Errorf("function '%s' is not loaded", name)
	}
	if !g.Acquire() {
		return funcd.Value{}, funcd.Errorf(funcd.EUNAVAILABLE, "function '%s': the host is restarting or stopping", name)
	}
	defer g.Release()
	inv := &funcd.Invocation{ID: funcd.NewGUID(), Function: fn, Trigger: trigger, Metadata: data, Reason: reason}
	res, err := g.Invoke(ctx, inv)
	if err != nil {
		return funcd.Value{}, functionError(ctx, err)
	}
	defer discard(res)
	return res.ReturnValue, nil
}

// functionError tells a function's own failure from the host's.
func functionError(ctx context.Context, err error) error {
	if ie, ok := errors.AsType[*langworker.InvocationError](err); ok {
		if ie.Cancelled {
			return err
		}
		return &durable.FunctionError{Message: ie.Message, Details: ie.Stack}
	}
	if ctx.Err() != nil {
		return err
	}
	switch funcd.ErrorCode(err) {
	case funcd.EUNAVAILABLE:
		return err
	case funcd.ETIMEOUT:
		return &durable.FunctionError{Message: err.Error()}
	}
	if strings.Contains(err.Error(), "is restarting") {
		return err
	}
	return &durable.FunctionError{Message: err.Error()}
}

// readDurableClient is the durableClient input binding: the JSON the
// Durable SDKs build their client from (the real host's shim flavour:
// creation and management URL templates under the public webhook, with the
// durabletask_extension system key, and the local RPC endpoint).
func (h *Host) readDurableClient(ctx context.Context, env *binding.Env, fn *funcd.Function, b *funcd.Binding, _ binding.Data) (funcd.Value, error) {
	g := h.Current()
	if g == nil {
		return funcd.Value{}, funcd.Errorf(funcd.EUNAVAILABLE, "the host is not running")
	}
	hub, err := durableHub(g.App)
	if err != nil {
		return funcd.Value{}, err
	}
	if th := binding.StringProperty(b, "taskHub"); th != "" {
		hub = th
	}
	key := ""
	if km := h.Keys(); km != nil {
		if key, err = km.ExtensionKey(ctx, "durabletask"); err != nil {
			return funcd.Value{}, fmt.Errorf("cannot read the durabletask_extension key: %w", err)
		}
	}
	conn := binding.StringProperty(b, "connectionName")
	rpc := h.durableRPCURL()
	if !localRPCEnabled(g.App) {
		rpc = ""
	}
	v, err := json.Marshal(durable.ClientBindingData(durable.ClientBindingOptions{
		BaseURL: h.baseURL(g) + "/runtime/webhooks/durabletask", Hub: hub, Key: key, Connection: conn, RPCBaseURL: rpc,
	}))
	if err != nil {
		return funcd.Value{}, err
	}
	return funcd.StringValue(string(v)), nil
}

// SetBaseURL tells the host the URL it is served at
// (http://127.0.0.1:7071), for the URLs the durableClient binding gives
// functions.
func (h *Host) SetBaseURL(u string) {
	h.durableMu.Lock()
	h.publicURL = strings.TrimSuffix(u, "/")
	h.durableMu.Unlock()
}

// SetDurableRPC tells the host the URL of the local endpoint of the Durable
// Functions management API ("http://127.0.0.1:17071/durabletask/"), which
// the durableClient binding gives the SDKs as rpcBaseUrl; "" for none.
func (h *Host) SetDurableRPC(u string) {
	h.durableMu.Lock()
	h.durableRPC = u
	h.durableMu.Unlock()
}

// baseURL is the app's public URL: SetBaseURL's, else WEBSITE_HOSTNAME,
// else Core Tools' default.
func (h *Host) baseURL(g *Generation) string {
	h.durableMu.Lock()
	u := h.publicURL
	h.durableMu.Unlock()
	if u != "" {
		return u
	}
	if hn := g.App.Settings["WEBSITE_HOSTNAME"]; hn != "" {
		return "http://" + hn
	}
	return "http://localhost:7071"
}

// durableRPCURL is the local endpoint the SDKs' clients call, "" when there
// is none.
func (h *Host) durableRPCURL() string {
	h.durableMu.Lock()
	defer h.durableMu.Unlock()
	return h.durableRPC
}
