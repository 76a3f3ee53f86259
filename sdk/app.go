package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/funcd/funcd/sdk/bindings"
)

// Handler types of the triggers.
type (
	// HTTPHandler serves an HTTP trigger.
	HTTPHandler = http.HandlerFunc
	// TimerHandler serves a timer trigger.
	TimerHandler = func(context.Context, bindings.TimerInfo) error
	// QueueHandler serves a storage queue trigger.
	QueueHandler = func(context.Context, bindings.QueueMessage) error
	// BlobHandler serves a storage blob trigger with the blob's bytes.
	BlobHandler = func(context.Context, []byte) error
	// BlobInfoHandler serves a storage blob trigger with the blob's bytes
	// and its name, address and metadata.
	BlobInfoHandler = func(context.Context, bindings.Blob) error
)

// App is a function app: the functions a program registers before it hands
// the app to worker.Start. Registration is not safe for concurrent use and
// ends when worker.Start is called.
type App struct {
	mu         sync.Mutex
	funcs      []*Function
	middleware []Middleware
	frozen     bool
}

// FunctionApp returns an empty App.
func FunctionApp() *App { return &App{} }

// Use adds middleware around every function's handler. The first added is
// the outermost.
func (a *App) Use(mw ...Middleware) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.frozen {
		panic("sdk: App.Use after worker.Start")
	}
	a.middleware = append(a.middleware, mw...)
}

// HTTP registers an HTTP-triggered function. Its defaults: route = name,
// methods GET and POST, authLevel anonymous. Route parameters reach the
// handler as r.PathValue(name).
func (a *App) HTTP(name string, h http.HandlerFunc, opts ...Option) *Function {
	if h == nil {
		panic(fmt.Sprintf("sdk: HTTP function %q has a nil handler", name))
	}
	f := a.register(name, h, "httpTrigger", "req", opts, func(f *Function) {
		f.trigger.fields["authLevel"] = "anonymous"
		f.trigger.fields["methods"] = []string{"GET", "POST"}
		f.trigger.fields["route"] = f.name
		f.out = append(f.out, &binding{name: "$return", typ: "http", direction: "out", fields: map[string]any{}})
	})
	f.httpHandler = h
	return f
}

// Timer registers a timer-triggered function; it needs a schedule
// (Schedule or WithSchedule), an NCRONTAB expression.
func (a *App) Timer(name string, h TimerHandler, opts ...Option) *Function {
	if h == nil {
		panic(fmt.Sprintf("sdk: timer function %q has a nil handler", name))
	}
	f := a.register(name, h, "timerTrigger", "timer", opts, nil)
	f.run = func(ctx context.Context, inv *invocation) error {
		var t bindings.TimerInfo
		if err := decodeJSON(inv.trigger(), &t); err != nil {
			return fmt.Errorf("timer payload: %w", err)
		}
		return h(ctx, t)
	}
	return f
}

// Queue registers a storage-queue-triggered function; it needs a queue
// name (QueueName or WithQueueName).
func (a *App) Queue(name string, h QueueHandler, opts ...Option) *Function {
	if h == nil {
		panic(fmt.Sprintf("sdk: queue function %q has a nil handler", name))
	}
	f := a.register(name, h, "queueTrigger", "message", opts, nil)
	f.run = func(ctx context.Context, inv *invocation) error {
		return h(ctx, inv.queueMessage())
	}
	return f
}

// Blob registers a storage-blob-triggered function; it needs a path
// (Path or WithPath). The handler is a BlobHandler (the blob's bytes) or a
// BlobInfoHandler (bytes, name, address, metadata); anything else panics.
func (a *App) Blob(name string, h any, opts ...Option) *Function {
	var run func(ctx context.Context, inv *invocation) error
	switch h := h.(type) {
	case BlobHandler:
		if h != nil {
			run = func(ctx context.Context, inv *invocation) error { return h(ctx, typedBytes(inv.trigger())) }
		}
	case BlobInfoHandler:
		if h != nil {
			run = func(ctx context.Context, inv *invocation) error { return h(ctx, inv.blob()) }
		}
	default:
		panic(fmt.Sprintf("sdk: blob function %q: the handler is a %T; want func(context.Context, []byte) error or func(context.Context, bindings.Blob) error", name, h))
	}
	if run == nil {
		panic(fmt.Sprintf("sdk: blob function %q has a nil handler", name))
	}
	f := a.register(name, h, "blobTrigger", "blob", opts, nil)
	f.run = run
	return f
}

func (a *App) register(name string, h any, trigger, bindingName string, opts []Option, defaults func(*Function)) *Function {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.frozen {
		panic("sdk: function registered after worker.Start")
	}
	if name == "" {
		name = funcName(h)
	}
	for _, f := range a.funcs {
		if f.name == name && f.trigger.typ == trigger {
			panic(fmt.Sprintf("sdk: function %q with a %s is registered twice", name, trigger))
		}
	}
	sum := sha256.Sum256([]byte(name + ":" + trigger))
	f := &Function{
		app:     a,
		name:    name,
		id:      hex.EncodeToString(sum[:]),
		trigger: &binding{name: bindingName, typ: trigger, direction: "in", fields: map[string]any{}},
		source:  funcFile(h),
	}
	if defaults != nil {
		defaults(f)
	}
	for _, o := range opts {
		o(f)
	}
	a.funcs = append(a.funcs, f)
	return f
}

// funcName is the Go name of h's function, for a registration without a
// name.
func funcName(h any) string {
	v := reflect.ValueOf(h)
	if v.Kind() != reflect.Func {
		return ""
	}
	n := runtime.FuncForPC(v.Pointer()).Name()
	return n[strings.LastIndexAny(n, "./")+1:]
}

func funcFile(h any) string {
	v := reflect.ValueOf(h)
	if v.Kind() != reflect.Func {
		return ""
	}
	file, _ := runtime.FuncForPC(v.Pointer()).FileLine(v.Pointer())
	return file
}

// Function is a registered function. Its methods set the trigger's and the
// outputs' properties and return the Function, so that they chain:
//
//	app.HTTP("hello", hello).Methods("GET").Route("hello/{name}").Auth("function")
//
// A method that does not fit the trigger (Schedule on an HTTP function,
// say) panics, as registration mistakes do.
type Function struct {
	app         *App
	name, id    string
	source      string
	trigger     *binding
	in          []*binding // input bindings
	out         []*binding
	retry       *RetryOptions
	httpHandler http.HandlerFunc
	run         func(context.Context, *invocation) error
	routeParams []string
	toolProps   []mcpToolProperty // an MCP tool's properties
	mcpListed   bool              // an MCP tool checked against the app's others
}

// RegisteredFunction is Function under the preview Go worker's name.
type RegisteredFunction = Function

// Name is the function's name.
func (f *Function) Name() string { return f.name }

// ID is the function's id: hex(sha256(name + ":" + trigger type)).
func (f *Function) ID() string { return f.id }

func (f *Function) need(trigger, method string) {
	if f.trigger.typ != trigger {
		panic(fmt.Sprintf("sdk: %s applies to a %s; function %q has a %s", method, trigger, f.name, f.trigger.typ))
	}
}

// Methods sets the HTTP methods the function accepts.
func (f *Function) Methods(methods ...string) *Function {
	f.need("httpTrigger", "Methods")
	up := make([]string, len(methods))
	for i, m := range methods {
		up[i] = strings.ToUpper(m)
	}
	f.trigger.fields["methods"] = up
	return f
}

// Route sets the HTTP route template (without the host's "api/" prefix),
// e.g. "hello/{name}".
func (f *Function) Route(route string) *Function {
	return f.set("httpTrigger", "Route", "route", route)
}

// set sets a property of the trigger, which must be of type typ (method
// names the builder method, for the panic when it is not).
func (f *Function) set(typ, method, key string, v any) *Function {
	f.need(typ, method)
	f.trigger.fields[key] = v
	return f
}

// Auth sets the HTTP authorization level: "anonymous", "function" or
// "admin".
func (f *Function) Auth(level string) *Function {
	f.need("httpTrigger", "Auth")
	switch level {
	case "anonymous", "function", "admin":
	default:
		panic(fmt.Sprintf("sdk: function %q: auth level %q; want anonymous, function or admin", f.name, level))
	}
	f.trigger.fields["authLevel"] = level
	return f
}

// Schedule sets a timer's NCRONTAB expression (six fields, with seconds).
func (f *Function) Schedule(expr string) *Function {
	return f.set("timerTrigger", "Schedule", "schedule", expr)
}

// RunOnStartup makes a timer also fire when the host starts.
func (f *Function) RunOnStartup(on bool) *Function {
	return f.set("timerTrigger", "RunOnStartup", "runOnStartup", on)
}

// QueueName sets a queue trigger's queue.
func (f *Function) QueueName(queue string) *Function {
	return f.set("queueTrigger", "QueueName", "queueName", queue)
}

// Path sets a blob trigger's path pattern, container/{name}.
func (f *Function) Path(path string) *Function {
	return f.set("blobTrigger", "Path", "path", path)
}

// Connection names the app setting with the trigger's storage connection
// (default AzureWebJobsStorage).
func (f *Function) Connection(setting string) *Function {
	if f.trigger.typ == "httpTrigger" || f.trigger.typ == "timerTrigger" {
		panic(fmt.Sprintf("sdk: Connection applies to a queue or blob trigger; function %q has a %s", f.name, f.trigger.typ))
	}
	f.trigger.fields["connection"] = setting
	return f
}

// QueueOutput adds a storage queue output binding. The handler sets its
// value with SetOutput(ctx, name, v); name "$return" makes it the
// function's return value (SetReturnValue), except for HTTP functions,
// whose return value is the response.
func (f *Function) QueueOutput(name, queue, connection string) *Function {
	return f.output(&binding{name: name, typ: "queue", direction: "out",
		fields: map[string]any{"queueName": queue, "connection": connection}})
}

// BlobOutput adds a storage blob output binding; see QueueOutput for how
// the handler sets it.
func (f *Function) BlobOutput(name, path, connection string) *Function {
	return f.output(&binding{name: name, typ: "blob", direction: "out",
		fields: map[string]any{"path": path, "connection": connection}})
}

func (f *Function) output(b *binding) *Function {
	if b.name == "" {
		panic(fmt.Sprintf("sdk: function %q: an output binding has no name", f.name))
	}
	if b.name == "$return" && f.trigger.typ == "httpTrigger" {
		panic(fmt.Sprintf("sdk: function %q: an HTTP function's $return is its response", f.name))
	}
	for _, o := range f.out {
		if o.name == b.name {
			panic(fmt.Sprintf("sdk: function %q has two output bindings named %q", f.name, b.name))
		}
	}
	if c, _ := b.fields["connection"].(string); c == "" {
		delete(b.fields, "connection")
	}
	f.out = append(f.out, b)
	return f
}

// Retry sets the function's retry policy (FixedDelay, ExponentialBackoff).
func (f *Function) Retry(r *RetryOptions) *Function {
	f.retry = r
	return f
}

// RetryOptions is a retry policy: the host runs a failed invocation again.
type RetryOptions struct {
	// Strategy is "fixedDelay" or "exponentialBackoff".
	Strategy string
	// MaxRetryCount bounds the retries; -1 retries forever.
	MaxRetryCount int
	// DelayInterval is fixedDelay's wait.
	DelayInterval time.Duration
	// MinimumInterval and MaximumInterval bound exponentialBackoff's wait.
	MinimumInterval, MaximumInterval time.Duration
}

// FixedDelay retries up to max times, delay apart.
func FixedDelay(max int, delay time.Duration) *RetryOptions {
	return &RetryOptions{Strategy: "fixedDelay", MaxRetryCount: max, DelayInterval: delay}
}

// ExponentialBackoff retries up to max times, waiting from min to maxWait.
func ExponentialBackoff(max int, min, maxWait time.Duration) *RetryOptions {
	return &RetryOptions{Strategy: "exponentialBackoff", MaxRetryCount: max, MinimumInterval: min, MaximumInterval: maxWait}
}

// Option sets a property of a function at registration, the functional
// form of Function's methods.
type Option func(*Function)

// WithMethods is Function.Methods.
func WithMethods(methods ...string) Option { return func(f *Function) { f.Methods(methods...) } }

// WithRoute is Function.Route.
func WithRoute(route string) Option { return func(f *Function) { f.Route(route) } }

// WithAuth is Function.Auth.
func WithAuth(level string) Option { return func(f *Function) { f.Auth(level) } }

// WithSchedule is Function.Schedule.
func WithSchedule(expr string) Option { return func(f *Function) { f.Schedule(expr) } }

// WithRunOnStartup is Function.RunOnStartup.
func WithRunOnStartup(on bool) Option { return func(f *Function) { f.RunOnStartup(on) } }

// WithQueueName is Function.QueueName.
func WithQueueName(queue string) Option { return func(f *Function) { f.QueueName(queue) } }

// WithPath is Function.Path.
func WithPath(path string) Option { return func(f *Function) { f.Path(path) } }

// WithConnection is Function.Connection.
func WithConnection(setting string) Option { return func(f *Function) { f.Connection(setting) } }

// WithQueueOutput is Function.QueueOutput.
func WithQueueOutput(name, queue, connection string) Option {
	return func(f *Function) { f.QueueOutput(name, queue, connection) }
}

// WithBlobOutput is Function.BlobOutput.
func WithBlobOutput(name, path, connection string) Option {
	return func(f *Function) { f.BlobOutput(name, path, connection) }
}

// WithRetry is Function.Retry.
func WithRetry(r *RetryOptions) Option { return func(f *Function) { f.Retry(r) } }

// hasOutput says whether the function declares an output binding name.
func (f *Function) hasOutput(name string) bool {
	return slices.ContainsFunc(f.out, func(b *binding) bool { return b.name == name })
}
