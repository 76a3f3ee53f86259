package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/route"
)

// A Generation is one load of the app: its configuration, the functions the
// host indexed from it, and the worker that runs them. Restart replaces the
// current generation with a new one; invocations hold on to the generation
// they started on until they end.
type Generation struct {
	// App is the app as loaded, including functions in error.
	App *funcd.App
	// Local is local.settings.json as read (empty when there is none).
	Local *funcd.LocalSettings

	host      *Host
	functions []*funcd.Function // indexed: loaded without errors and allowed
	routes    []httpRoute       // HTTP triggers, in function-name order
	worker    Worker
	work      *drainGroup
	loaded    time.Time
	log       *slog.Logger                     // obeys host.json logging.logLevel
	fnLogs    map[*funcd.Function]*slog.Logger // each indexed function's logger

	env       *binding.Env
	listeners []listener
	stopping  chan struct{} // closed when the generation starts to stop
	stopOnce  sync.Once

	// startErr is why the app's language worker did not start: the
	// generation runs nothing and the host shows the error.
	startErr error
}

// httpRoute is one HTTP-triggered function's place in the URL space.
type httpRoute struct {
	fn       *funcd.Function
	template *route.Template
	methods  []string // upper-case; empty matches every method
}

// Functions returns the indexed functions (loaded, without errors, allowed by
// the allow list) in name order. Disabled functions are included.
func (g *Generation) Functions() []*funcd.Function { return g.functions }

// Listed returns the functions the admin API lists, in name order: every
// function whose function.json could be read, including those in error and
// those an allow list leaves out (the real host lists functions without
// applying its allow list), but not the legacy "excluded" ones.
func (g *Generation) Listed() []*funcd.Function {
	var out []*funcd.Function
	for _, f := range g.App.Functions {
		if !f.Excluded && !f.Unreadable {
			out = append(out, f)
		}
	}
	return out
}

// Function returns the indexed function with the given name
// (case-insensitive), or nil.
func (g *Generation) Function(name string) *funcd.Function {
	for _, f := range g.functions {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

// MatchHTTP finds the HTTP function whose route matches the method and the
// escaped request path. As in the real host, routes are tried in function-name
// order and the first match wins; a method a function does not accept simply
// does not match.
func (g *Generation) MatchHTTP(method, escapedPath string) (*funcd.Function, map[string]*string, bool) {
	for i := range g.routes {
		r := &g.routes[i]
		if len(r.methods) > 0 && !slices.Contains(r.methods, method) {
			continue
		}
		if values, ok := r.template.Match(escapedPath); ok {
			return r.fn, values, true
		}
	}
	return nil, nil, false
}

// RouteTemplate returns the full route template of an HTTP function, prefix
// included and without a leading slash ("api/products/{id}").
func (g *Generation) RouteTemplate(fn *funcd.Function) string {
	return routeTemplate(g.App.Host.HTTP.RoutePrefix, fn)
}

func routeTemplate(prefix string, fn *funcd.Function) string {
	r := fn.Name
	if t := fn.HTTPTrigger(); t != nil {
		if route := triggerRoute(t); route != "" {
			r = route
		}
	}
	r = strings.Trim(r, "/")
	if prefix == "" {
		return r
	}
	if r == "" {
		return prefix
	}
	return prefix + "/" + r
}

// triggerRoute is an HTTP trigger's route: as read, or, for a function that
// failed before its trigger was read, as function.json writes it (the real
// host's invoke_url_template takes it from the raw binding either way).
func triggerRoute(t *funcd.Binding) string {
	if t.Route != "" {
		return t.Route
	}
	for k, v := range t.Properties {
		if s, ok := v.(string); ok && strings.EqualFold(k, "route") {
			return s
		}
	}
	return ""
}

// Acquire registers one invocation (or request) on the generation so that a
// restart or shutdown waits for it. It returns false when the generation no
// longer accepts work. Each successful Acquire must be paired with Release.
func (g *Generation) Acquire() bool { return g.work.acquire() }

// Release ends work registered with Acquire.
func (g *Generation) Release() { g.work.release() }

// InFlight returns the number of requests and invocations running on the
// generation.
func (g *Generation) InFlight() int { return g.work.inFlight() }

// Invoke runs one invocation of inv.Function: it reads the function's
// input bindings (with the trigger's binding data; for an HTTP trigger its
// route and query parameters), runs the worker with the app's function
// timeout, and after a success writes the output bindings the worker gave
// values. A failed output write fails the invocation, as in the real host
// (an HTTP caller gets 500). The caller must hold the generation (Acquire).
// A function that times out fails with a funcd.Error of code ETIMEOUT.
//
// The result's HTTP response may stream its body (HTTPResponse.BodyReader):
// the caller must close it, and should keep holding the generation until
// then.
func (g *Generation) Invoke(ctx context.Context, inv *funcd.Invocation) (*funcd.Result, error) {
	if !needsBindings(inv.Function) || g.worker == nil {
		return g.invokeWorker(ctx, inv)
	}
	data := bindingData(inv)
	if err := g.readInputs(ctx, inv, data); err != nil {
		g.functionLog(inv.Function).Error(fmt.Sprintf("Executed 'Functions.%s' (Failed, Id=%s)", inv.Function.Name, inv.ID), "invocation_id", inv.ID, "error", err)
		return nil, err
	}
	res, err := g.invokeWorker(ctx, inv)
	if err != nil {
		return nil, err
	}
	if res.Deferred != nil && res.HTTP != nil && res.HTTP.BodyReader != nil {
		// The outputs come once the streamed response is done: write them
		// when the caller closes the body, still holding the generation.
		res.HTTP.BodyReader = &deferredOutputs{ReadCloser: res.HTTP.BodyReader, g: g, ctx: context.WithoutCancel(ctx), inv: inv, res: res, data: data}
		return res, nil
	}
	if err := g.writeOutputs(ctx, inv, res, data); err != nil {
		discard(res)
		g.functionLog(inv.Function).Error(fmt.Sprintf("Function 'Functions.%s' failed writing its outputs (Id=%s)", inv.Function.Name, inv.ID), "invocation_id", inv.ID, "error", err)
		return nil, err
	}
	return res, nil
}

// invokeWorker runs an invocation on the worker with the function
// timeout, and logs it.
func (g *Generation) invokeWorker(ctx context.Context, inv *funcd.Invocation) (res *funcd.Result, err error) {
	fn := inv.Function
	if g.worker == nil {
		return nil, funcd.Errorf(funcd.EUNAVAILABLE,
			"function '%s' cannot run: host.json has no customHandler section, and funcd needs a custom handler to run this app's functions", fn.Name)
	}
	if inv.Started.IsZero() {
		inv.Started = g.host.clock.Now()
	}
	timeout := g.App.Host.FunctionTimeout
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		// A response body that streams from the worker is part of the
		// invocation: the timeout lasts until the body is closed.
		defer func() {
			if res != nil && res.HTTP != nil && res.HTTP.BodyReader != nil {
				res.HTTP.BodyReader = &cancelOnClose{ReadCloser: res.HTTP.BodyReader, cancel: cancel}
				return
			}
			cancel()
		}()
	}

	log := g.functionLog(fn)
	reason := inv.Reason
	if reason == "" {
		reason = invokeReason
	}
	id := slog.String("invocation_id", inv.ID)
	if log.Enabled(ctx, slog.LevelInfo) {
		log.LogAttrs(ctx, slog.LevelInfo, "Executing 'Functions."+fn.Name+"' (Reason='"+reason+"', Id="+inv.ID+")", id)
	}
	res, err = g.worker.Invoke(ctx, inv)
	if err != nil && timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) && funcd.ErrorCode(err) != funcd.ETIMEOUT {
		err = funcd.TimeoutError(timeout, fn.Name, inv.ID, err)
	}
	elapsed := strconv.FormatInt(g.host.clock.Now().Sub(inv.Started).Milliseconds(), 10)
	if err != nil {
		log.LogAttrs(ctx, slog.LevelError, "Executed 'Functions."+fn.Name+"' (Failed, Id="+inv.ID+", Duration="+elapsed+"ms)", id, slog.Any("error", err))
		return nil, err
	}
	if log.Enabled(ctx, slog.LevelInfo) {
		log.LogAttrs(ctx, slog.LevelInfo, "Executed 'Functions."+fn.Name+"' (Succeeded, Id="+inv.ID+", Duration="+elapsed+"ms)", id)
	}
	return res, nil
}

// deferredOutputs writes an invocation's outputs when its streamed HTTP
// response is closed and the worker has finished the invocation. The
// response has been sent by then: a failure is logged.
type deferredOutputs struct {
	io.ReadCloser
	g    *Generation
	ctx  context.Context
	inv  *funcd.Invocation
	res  *funcd.Result
	data binding.Data
	once sync.Once
}

func (d *deferredOutputs) Close() error {
	err := d.ReadCloser.Close()
	d.once.Do(func() {
		late, ferr := d.res.Deferred()
		if ferr != nil || late == nil {
			return // the worker's failure is logged where the body ends
		}
		if werr := d.g.writeOutputs(d.ctx, d.inv, late, d.data); werr != nil {
			d.g.functionLog(d.inv.Function).Error(fmt.Sprintf("Function 'Functions.%s' failed writing its outputs (Id=%s)", d.inv.Function.Name, d.inv.ID), "invocation_id", d.inv.ID, "error", werr)
		}
	})
	return err
}

// cancelOnClose ends an invocation's context when its streamed response
// body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// StreamsRequestBody reports whether fn's worker takes an HTTP request's
// body as a stream (HTTPRequest.BodyReader) rather than whole: a custom
// handler that has requests forwarded.
func (g *Generation) StreamsRequestBody(fn *funcd.Function) bool {
	s, ok := g.worker.(interface{ StreamsRequestBody(*funcd.Function) bool })
	return ok && s.StreamsRequestBody(fn)
}

// functionLog returns the logger of a function's invocation records:
// category "Function.<Name>", so host.json logging.logLevel applies.
func (g *Generation) functionLog(fn *funcd.Function) *slog.Logger {
	if l, ok := g.fnLogs[fn]; ok {
		return l
	}
	return g.log.With(CategoryKey, "Function."+fn.Name, "function", fn.Name)
}

// invokeReason is the reason the real host logs for invocations that come
// through its own APIs, HTTP triggers included.
const invokeReason = "This function was programmatically called via the host APIs."

// index builds the generation's function index from its app: functions that
// loaded without errors, are not excluded and pass the allow list.
func (g *Generation) index(log *slog.Logger) {
	app := g.App
	allow := app.Host.Functions
	if len(allow) > 0 {
		log.Info(fmt.Sprintf("A function allow list has been specified, excluding all but the following functions: [%s]", strings.Join(allow, ", ")))
	}
	for _, f := range app.Functions {
		switch {
		case f.Excluded, f.NotAllowed:
			continue
		case !f.OK():
			for _, e := range f.Errors {
				attrs := []any{"function", f.Name, "file", e.File}
				if e.Line > 0 { // a worker-indexed function has a file but no position in it
					attrs = append(attrs, "line", e.Line, "column", e.Column)
				}
				if e.Hint != "" { // what funcd doctor would say to do
					attrs = append(attrs, "fix", e.Hint)
				}
				log.Error(fmt.Sprintf("The '%s' function is in error: %s", f.Name, e.Msg), attrs...)
			}
			continue
		}
		g.functions = append(g.functions, f)
		g.fnLogs[f] = g.log.With(CategoryKey, "Function."+f.Name, "function", f.Name)
		if t := f.HTTPTrigger(); t != nil {
			tmpl, err := route.Parse(routeTemplate(app.Host.HTTP.RoutePrefix, f))
			if err != nil {
				// appconfig validated the route; this only guards against
				// the two disagreeing.
				log.Error(fmt.Sprintf("The '%s' function is in error: %v", f.Name, err), "function", f.Name)
				g.functions = g.functions[:len(g.functions)-1]
				continue
			}
			g.routes = append(g.routes, httpRoute{fn: f, template: tmpl, methods: t.Methods})
		}
	}
}
