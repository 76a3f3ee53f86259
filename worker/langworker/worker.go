package langworker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/appconfig"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/worker"
	"github.com/funcd/funcd/worker/grpcworker"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
	"github.com/funcd/funcd/worker/workerconfig"
)

// Config configures a Worker. App is required.
type Config struct {
	// App is the loaded app: its Root, Settings (the worker's environment
	// and the settings that choose the worker) and, for a worker that does
	// not index the app itself, its function.json functions.
	App *funcd.App
	// Folders are folders of worker folders searched after the ones the
	// app's settings name (FUNCD_WORKERS_DIR, languageWorkers:
	// workersDirectory): funcd's own installed workers.
	Folders []string
	// HostVersion is sent in WorkerInitRequest.
	HostVersion string
	// Buffers is the host's budget of buffered body bytes; nil means
	// unbounded.
	Buffers *funcd.BufferBudget
	// Logger receives the worker's logs and output; default
	// slog.Default(). What a function's code logs goes to it with the
	// category "Function.<name>.User", as in the real host.
	Logger *slog.Logger
	Clock  clock.Clock
	// OnFatal and ExitOnFailure are the host's restart policy, as for a
	// custom handler: with ExitOnFailure the worker gives up after the
	// Functions host's limit of failures and OnFatal is called.
	OnFatal       func(error)
	ExitOnFailure bool
	// StartTimeout bounds a start (connect, initialise, index, load);
	// default the worker's processOptions initializationTimeout, at least
	// grpcworker.DefaultStartTimeout.
	StartTimeout time.Duration
}

// Worker runs an app on its language worker: it resolves the worker from
// the workers folders, starts it over FunctionRpc, reports the functions it
// indexed, and runs invocations on it. It implements the host's worker
// interface. Its methods are safe for concurrent use.
type Worker struct {
	cfg      Config
	log      *slog.Logger
	resolved *workerconfig.Worker
	rpc      *grpcworker.Worker

	mu      sync.Mutex
	state   *sessionState           // of the last session seen
	proxies map[string]*httpProxy   // by HttpUri
	names   map[string]string       // invocation id -> function, while running
	fnLogs  map[string]*slog.Logger // by function name

	inlineKey string // offered to the worker for inline invocations (inline.go)
}

// sessionState is what a Worker derives from one worker process's
// grpcworker.Session: function ids by lower-case name, and the proxy to
// its HttpUri.
type sessionState struct {
	session *grpcworker.Session
	ids     map[string]string
	caps    Capabilities
	proxy   *httpProxy
	err     error // an unusable HttpUri
}

// New resolves the app's language worker (FUNCTIONS_WORKER_RUNTIME) and
// returns a Worker that has started nothing. Errors are the
// *funcd.ConfigError of a worker that cannot be found or described.
func New(cfg Config) (*Worker, error) {
	app := cfg.App
	if app == nil {
		return nil, errors.New("langworker: Config.App is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	resolved, err := workerconfig.Resolve(workerconfig.Options{
		AppRoot: app.Root, Folders: cfg.Folders, Settings: workerconfig.Settings(app.Settings), HostVersion: cfg.HostVersion,
	})
	if err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, log: cfg.Logger, resolved: resolved, proxies: map[string]*httpProxy{},
		names: map[string]string{}, fnLogs: map[string]*slog.Logger{}, inlineKey: newInlineKey()}
	for _, msg := range resolved.Warnings {
		w.log.Warn(msg)
	}
	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = max(resolved.ProcessOptions.InitializationTimeout, grpcworker.DefaultStartTimeout)
	}
	maxErrors := 0
	if cfg.ExitOnFailure {
		maxErrors = worker.DefaultMaxErrors
	}
	cmd := resolved.Command
	w.rpc, err = grpcworker.New(grpcworker.Config{
		Path:            cmd.Path,
		Args:            cmd.Args,
		Dir:             cmd.Dir,
		Env:             environment(app, cmd.Env),
		HostVersion:     cfg.HostVersion,
		Capabilities:    map[string]string{capInlineInvocationKey: w.inlineKey},
		WorkerDirectory: resolved.Dir,
		AppDirectory:    app.Root,
		Functions:       functionMetadata(app, resolved.Description.Language),
		StartTimeout:    timeout,
		OnLog:           w.onLog,
		Output:          w.output,
		Logger:          cfg.Logger,
		Clock:           cfg.Clock,
		MaxErrors:       maxErrors,
		OnFatal:         w.fatal,
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Describe says which worker runs the app, for the host's log: its
// language, its executable and where its description came from.
func (w *Worker) Describe() string {
	src := w.resolved.Source
	if src == "" {
		src = "funcd's built-in " + w.resolved.Description.Language + " description"
	}
	return fmt.Sprintf("%s worker: %s %s (%s)", w.resolved.Description.Language, w.resolved.Command.Path,
		strings.Join(w.resolved.Command.Args, " "), src)
}

// environment is the app's settings (sorted), AzureWebJobsScriptRoot unless
// set, then the variables the host adds for the worker.
func environment(app *funcd.App, extra []string) []string {
	if app.Settings == nil {
		return append(os.Environ(), extra...)
	}
	env := make([]string, 0, len(app.Settings)+len(extra)+1)
	for k, v := range app.Settings {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	if _, ok := app.Settings["AzureWebJobsScriptRoot"]; !ok {
		env = append(env, "AzureWebJobsScriptRoot="+app.Root)
	}
	return append(env, extra...)
}

// Start launches the worker and waits until it has initialised and loaded
// its functions. If it fails, the error says why and the caller should
// Shutdown the Worker.
func (w *Worker) Start(ctx context.Context) error {
	w.log.Info("Starting the " + w.Describe())
	if err := w.rpc.Start(ctx); err != nil {
		return &funcd.Error{Code: funcd.EUNAVAILABLE, Message: fmt.Sprintf("the %s did not start: %v", w.Describe(), err), Err: err}
	}
	_, err := w.session(ctx)
	return err
}

// Functions returns the functions the worker indexed itself, for the host to
// index the app from, and true; or nil and false when the worker asked the
// host to index the app from its function.json files.
func (w *Worker) Functions(ctx context.Context) ([]appconfig.WorkerFunction, bool, error) {
	st, err := w.session(ctx)
	if err != nil {
		return nil, false, err
	}
	if !st.session.WorkerIndexed {
		return nil, false, nil
	}
	fns := make([]appconfig.WorkerFunction, 0, len(st.session.Functions))
	for _, f := range st.session.Functions {
		fns = append(fns, workerFunction(f))
	}
	return fns, true, nil
}

// workerFunction turns one worker-indexed function into appconfig's terms.
func workerFunction(f grpcworker.Function) appconfig.WorkerFunction {
	m := f.Metadata
	wf := appconfig.WorkerFunction{Name: m.GetName(), ScriptFile: m.GetScriptFile(), EntryPoint: m.GetEntryPoint(), Err: f.Err}
	if wf.ScriptFile != "" && !filepath.IsAbs(wf.ScriptFile) && m.GetDirectory() != "" {
		wf.ScriptFile = filepath.Join(m.GetDirectory(), wf.ScriptFile)
	}
	for _, raw := range m.GetRawBindings() {
		wf.Bindings = append(wf.Bindings, json.RawMessage(raw))
	}
	if len(m.GetRawBindings()) == 0 {
		// A worker that sends only the bindings map: rebuild the objects.
		names := make([]string, 0, len(m.GetBindings()))
		for name := range m.GetBindings() {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			b := m.GetBindings()[name]
			obj := map[string]any{"name": name, "type": b.GetType(), "direction": b.GetDirection().String()}
			for k, v := range b.GetProperties() {
				obj[k] = v
			}
			raw, _ := json.Marshal(obj)
			wf.Bindings = append(wf.Bindings, raw)
		}
	}
	wf.Retry = retryJSON(m.GetRetryOptions())
	return wf
}

// retryJSON writes a worker's retry options as a function.json "retry"
// object.
func retryJSON(r *rpcpb.RpcRetryOptions) json.RawMessage {
	if r == nil {
		return nil
	}
	obj := map[string]any{"maxRetryCount": r.GetMaxRetryCount()}
	span := func(d interface{ AsDuration() time.Duration }) string { return funcd.TimeSpan(d.AsDuration()) }
	if r.GetRetryStrategy() == rpcpb.RpcRetryOptions_fixed_delay {
		obj["strategy"] = "fixedDelay"
		if r.GetDelayInterval() != nil {
			obj["delayInterval"] = span(r.GetDelayInterval())
		}
	} else {
		obj["strategy"] = "exponentialBackoff"
		if r.GetMinimumInterval() != nil {
			obj["minimumInterval"] = span(r.GetMinimumInterval())
		}
		if r.GetMaximumInterval() != nil {
			obj["maximumInterval"] = span(r.GetMaximumInterval())
		}
	}
	raw, _ := json.Marshal(obj)
	return raw
}

// functionMetadata is the host's index of a function.json app, loaded
// into a worker that answers use_default_metadata_indexing.
func functionMetadata(app *funcd.App, language string) []*grpcworker.FunctionMetadata {
	var metas []*grpcworker.FunctionMetadata
	for _, fn := range app.Functions {
		if !fn.OK() || fn.Excluded || fn.NotAllowed {
			continue
		}
		m := &grpcworker.FunctionMetadata{
			Name: fn.Name, ScriptFile: fn.ScriptFile, EntryPoint: fn.EntryPoint, Language: language,
			Directory: filepath.Join(app.Root, fn.Name), Bindings: map[string]*grpcworker.BindingInfo{},
			FunctionId: newFunctionID(fn.Name),
		}
		for i := range fn.Bindings {
			b := &fn.Bindings[i]
			info := &grpcworker.BindingInfo{Type: b.Type, Direction: rpcpb.BindingInfo_in}
			switch b.Direction {
			case funcd.Out:
				info.Direction = rpcpb.BindingInfo_out
			case funcd.InOut:
				info.Direction = rpcpb.BindingInfo_inout
			}
			switch strings.ToLower(b.DataType) {
			case "string":
				info.DataType = rpcpb.BindingInfo_string
			case "binary":
				info.DataType = rpcpb.BindingInfo_binary
			case "stream":
				info.DataType = rpcpb.BindingInfo_stream
			}
			m.Bindings[b.Name] = info
			raw, _ := json.Marshal(b.Properties)
			m.RawBindings = append(m.RawBindings, string(raw))
		}
		metas = append(metas, m)
	}
	return metas
}

// newFunctionID is a function's id for a worker the host indexes for: a
// name-based one, stable across worker restarts.
func newFunctionID(name string) string { return "funcd-" + strings.ToLower(name) }

// session returns the state of the ready worker process, deriving it
// when the process is new.
func (w *Worker) session(ctx context.Context) (*sessionState, error) {
	s, err := w.rpc.Session(ctx)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != nil && w.state.session == s {
		return w.state, nil
	}
	st := &sessionState{session: s, ids: make(map[string]string, len(s.Functions)), caps: Capabilities(s.Capabilities)}
	for _, f := range s.Functions {
		if f.Err == nil {
			st.ids[strings.ToLower(f.Metadata.GetName())] = f.Metadata.GetFunctionId()
		}
	}
	if uri := st.caps.HTTPURI(); uri != "" {
		p := w.proxies[uri]
		if p == nil {
			p, st.err = newHTTPProxy(uri, w.cfg.Buffers, w.log)
			if p != nil {
				p.inlineKey = w.inlineKey
				w.proxies[uri] = p
			}
		}
		st.proxy = p
	}
	if old := w.state; old != nil && old.proxy != nil && old.proxy != st.proxy {
		old.proxy.Close()
	}
	w.state = st
	return st, nil
}

// Invoke runs one invocation on the worker.
func (w *Worker) Invoke(ctx context.Context, inv *funcd.Invocation) (*funcd.Result, error) {
	if inv.HTTP == nil {
		// A trigger's event waits for a worker being replaced; an HTTP
		// caller gets 503 and Retry-After at once.
		if err := w.rpc.WaitReady(ctx, worker.DefaultRestartWait); err != nil {
			return nil, w.notReady(inv, err)
		}
	}
	st, err := w.session(ctx)
	if err != nil {
		return nil, w.notReady(inv, err)
	}
	id, ok := st.ids[strings.ToLower(inv.Function.Name)]
	if !ok {
		return nil, funcd.Errorf(funcd.EUNAVAILABLE, "function '%s' cannot run: the %s worker (pid %d) did not load it",
			inv.Function.Name, w.resolved.Description.Language, st.session.Pid)
	}
	if st.err != nil && inv.HTTP != nil {
		return nil, funcd.Errorf(funcd.EINTERNAL, "function '%s': %v", inv.Function.Name, st.err)
	}
	w.mu.Lock()
	w.names[inv.ID] = inv.Function.Name
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.names, inv.ID)
		w.mu.Unlock()
	}()
	return invoke(ctx, w.rpc, st.proxy, inv, id, st.caps)
}

// notReady is the error of an invocation that found no ready worker; it
// wraps err, so that a *worker.DownError still answers 503.
func (w *Worker) notReady(inv *funcd.Invocation, err error) error {
	return funcd.Errorf(funcd.EUNAVAILABLE, "function '%s' cannot run: the %s is not ready: %w", inv.Function.Name, w.resolved.Description.Language, err)
}

// StreamsRequestBody reports whether HTTP requests go to the worker as they
// arrive (it serves them at its HttpUri) rather than whole in the
// InvocationRequest.
func (w *Worker) StreamsRequestBody(*funcd.Function) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state != nil && w.state.proxy != nil
}

// Health reports the worker process's state.
func (w *Worker) Health() worker.Health { return w.rpc.Health() }

// Shutdown stops the worker process (WorkerTerminate, then a kill after the
// grace period) and drops the connections to it.
func (w *Worker) Shutdown(ctx context.Context) error {
	err := w.rpc.Shutdown(ctx)
	w.mu.Lock()
	for _, p := range w.proxies {
		p.Close()
	}
	w.mu.Unlock()
	return err
}

// onLog logs a worker's RpcLog record: a function's own records on the
// function's logger (category Function.<name>.User), the worker's on the
// host's.
func (w *Worker) onLog(l grpcworker.Log) {
	ctx := context.Background()
	fn := ""
	if l.InvocationID != "" {
		w.mu.Lock()
		fn = w.names[l.InvocationID]
		w.mu.Unlock()
		if fn == "" {
			// A record that arrives after its invocation ended: workers
			// name the function in the category, "<name>.Invocation".
			fn, _ = strings.CutSuffix(l.Category, ".Invocation")
			if fn == l.Category {
				fn = ""
			}
		}
	}
	log := w.log
	if fn != "" && !l.System {
		log = w.functionLog(fn)
	}
	if !log.Enabled(ctx, l.Level) {
		return
	}
	attrs := make([]slog.Attr, 0, 3)
	if l.InvocationID != "" {
		attrs = append(attrs, slog.String("invocation_id", l.InvocationID))
	}
	msg := l.Message
	if l.Exception != "" {
		msg += "\n" + l.Exception
	}
	if fn == "" || l.System {
		attrs = append(attrs, slog.String("worker_category", l.Category))
	}
	log.LogAttrs(ctx, l.Level, msg, attrs...)
}

// functionLog returns the logger of what a function's code logs.
func (w *Worker) functionLog(fn string) *slog.Logger {
	w.mu.Lock()
	defer w.mu.Unlock()
	if l, ok := w.fnLogs[fn]; ok {
		return l
	}
	l := w.log.With("category", "Function."+fn+".User", "function", fn)
	w.fnLogs[fn] = l
	return l
}

// consoleLogPrefix starts the lines a language worker writes for the host
// to log; funcd's Node.js worker follows it with the level in brackets.
const consoleLogPrefix = "LanguageWorkerConsoleLog"

// consoleLevels are the bracketed levels after consoleLogPrefix.
var consoleLevels = map[string]slog.Level{
	"[trace]": slog.LevelDebug, "[debug]": slog.LevelDebug, "[info]": slog.LevelInfo, "[information]": slog.LevelInfo,
	"[warn]": slog.LevelWarn, "[warning]": slog.LevelWarn, "[error]": slog.LevelError, "[critical]": slog.LevelError,
}

// output logs a line the worker process wrote to stdout or stderr: at the
// level a LanguageWorkerConsoleLog line names, else as worker.Level says.
func (w *Worker) output(p *worker.Process, s worker.Stream, line string) {
	level := worker.Level(s, line)
	if rest, ok := strings.CutPrefix(line, consoleLogPrefix); ok {
		level = slog.LevelInfo
		if end := strings.IndexByte(rest, ']'); strings.HasPrefix(rest, "[") && end > 0 {
			if l, known := consoleLevels[strings.ToLower(rest[:end+1])]; known {
				level = l
				rest = rest[end+1:]
			}
		}
		line = strings.TrimSpace(rest)
	}
	ctx := context.Background()
	if !w.log.Enabled(ctx, level) {
		return
	}
	w.log.LogAttrs(ctx, level, line, slog.Int("pid", p.Pid()))
}

// fatal reports that the worker failed too often to be restarted again.
func (w *Worker) fatal(err error) {
	if w.cfg.OnFatal == nil {
		return
	}
	w.cfg.OnFatal(&funcd.Error{Code: funcd.EUNAVAILABLE,
		Message: fmt.Sprintf("%v. The %s kept failing; its output, in the log above, says why.", err, w.Describe()), Err: err})
}
