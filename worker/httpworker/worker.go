package httpworker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/worker"
	"github.com/funcd/funcd/worker/internal/loopback"
)

// Environment variables the handler gets, named as the host names them.
const (
	envCustomHandlerPort     = "FUNCTIONS_CUSTOMHANDLER_PORT"
	envCustomHandlerWorkerID = "FUNCTIONS_CUSTOMHANDLER_WORKER_ID"
	envHTTPWorkerPort        = "FUNCTIONS_HTTPWORKER_PORT"
	envHTTPWorkerID          = "FUNCTIONS_HTTPWORKER_ID"
	envAppRootPath           = "FUNCTIONS_APP_ROOT_PATH"
	envScriptRoot            = "AzureWebJobsScriptRoot"
)

const (
	// readyPollInterval is WorkerReadyCheckPollingIntervalMilliseconds.
	readyPollInterval = 25 * time.Millisecond
	// defaultInitTimeout is HttpWorkerOptions.InitializationTimeout.
	defaultInitTimeout = 30 * time.Second
	// defaultHostVersion is sent when Config.HostVersion is empty.
	defaultHostVersion = "4.0.0.0"
	// maxResponseBytes bounds a handler's response body.
	maxResponseBytes = 256 << 20
)

// Config configures a Worker. App is required; the zero value of every other
// field means its default.
type Config struct {
	// App is the loaded app: its Root, Settings (the handler's environment),
	// Host.CustomHandler and Host.FunctionTimeout are used.
	App *funcd.App
	// Logger receives the handler's output and the Worker's records;
	// default slog.Default().
	Logger *slog.Logger
	// Clock times readiness polling and restarts; default the real clock.
	Clock clock.Clock
	// HostVersion is sent in X-Azure-Functions-HostVersion and User-Agent.
	HostVersion string
	// OnFatal is called once, with a funcd.Error of code EUNAVAILABLE that
	// wraps a *worker.RestartLimitError, when ExitOnFailure is set and the
	// handler failed too often to be restarted again. The host should shut
	// down, as the real one does.
	OnFatal func(error)
	// ExitOnFailure applies the Functions host's restart limit (three
	// failures, each within 30 minutes of the one before), after which the
	// Worker gives up and calls OnFatal. Without it the handler is restarted
	// forever, with backoff.
	ExitOnFailure bool
	// RestartBackoff is the wait before the first restart after a failure
	// (doubling after each further one); default worker.DefaultBackoff.
	RestartBackoff time.Duration
	// StopGrace is how long Shutdown lets the handler exit after SIGTERM
	// before SIGKILL; default worker.DefaultStopGrace.
	StopGrace time.Duration
	// Buffers is the host's budget of buffered body bytes, which the
	// invocation payloads and the handler's replies are held within; nil
	// means unbounded.
	Buffers *funcd.BufferBudget
}

// Worker runs one custom handler process and invokes functions on it.
// Its methods are safe for concurrent use.
type Worker struct {
	cfg     Config
	ch      *funcd.CustomHandler
	log     *slog.Logger
	clock   clock.Clock
	exe     string // resolved by Start
	initMax time.Duration

	sup       *worker.Supervisor
	transport *loopback.Transport
	client    *http.Client // the default protocol: follows redirects unless forwarding is on
	direct    *http.Client // never follows redirects

	hostVersion []string // shared, read-only header values
	userAgent   string
	calls       callTracker
	emptyWarned sync.Map // function name -> true once its empty reply was logged

	shutdown sync.Once
	shutErr  error
	closed   atomic.Bool
}

// generation is what the Worker knows of one handler process.
type generation struct {
	id   string // FUNCTIONS_CUSTOMHANDLER_WORKER_ID
	port int
	base string // "http://127.0.0.1:{port}"
}

func generationOf(p *worker.Process) *generation { return p.Spec().Data.(*generation) }

// New returns a Worker for cfg.App. It starts nothing; configuration
// problems are reported by Start.
func New(cfg Config) *Worker {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.HostVersion == "" {
		cfg.HostVersion = defaultHostVersion
	}
	w := &Worker{
		cfg:         cfg,
		log:         cfg.Logger,
		clock:       cfg.Clock,
		hostVersion: []string{cfg.HostVersion},
		userAgent:   "Azure-Functions-Host/" + cfg.HostVersion,
		initMax:     defaultInitTimeout,
	}
	if cfg.App != nil && cfg.App.Host.CustomHandler != nil {
		w.ch = cfg.App.Host.CustomHandler
		if w.ch.InitializationTimeout > 0 {
			w.initMax = w.ch.InitializationTimeout
		}
	}
	w.transport = loopback.New()
	w.direct = &http.Client{Transport: w.transport, CheckRedirect: noRedirect}
	w.client = &http.Client{Transport: w.transport}
	if w.ch != nil && (w.ch.EnableForwardingHttpRequest || w.ch.EnableProxyingHttpRequest) {
		w.client = w.direct
	}
	maxErrors := 0
	if cfg.ExitOnFailure {
		maxErrors = worker.DefaultMaxErrors
	}
	w.sup = worker.NewSupervisor(worker.Config{
		Prepare:   w.prepare,
		Ready:     w.ready,
		Output:    w.output,
		Clock:     cfg.Clock,
		Logger:    cfg.Logger,
		OnFatal:   w.fatal,
		MaxErrors: maxErrors,
		Backoff:   cfg.RestartBackoff,
		StopGrace: cfg.StopGrace,
	})
	return w
}

// Health reports the handler process's state: starting, ready, down
// (waiting to restart after a failure) or failed, with its restart count
// and last failure.
func (w *Worker) Health() worker.Health { return w.sup.Health() }

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// do sends req with client. A client that follows no redirects is only its
// transport: do calls that directly, without what http.Client spends per
// request to be ready for redirects, and reports errors as the client does.
func (w *Worker) do(client *http.Client, req *http.Request) (*http.Response, error) {
	if client != w.direct {
		return client.Do(req)
	}
	resp, err := w.transport.RoundTrip(req)
	if err != nil {
		op := req.Method[:1] + strings.ToLower(req.Method[1:])
		return nil, &url.Error{Op: op, URL: req.URL.String(), Err: err}
	}
	return resp, nil
}

// Start resolves the handler executable, launches it and returns without
// waiting for it to be ready (Invoke waits). A missing or non-executable
// program is a *funcd.ConfigError naming the path and the host.json field;
// another launch failure is a funcd.Error of code EUNAVAILABLE. Start may be
// called once.
func (w *Worker) Start(ctx context.Context) error {
	if w.ch == nil {
		return funcd.Errorf(funcd.EINVALID, "the app has no customHandler section in host.json")
	}
	exe, err := w.resolveExecutable()
	if err != nil {
		return err
	}
	w.exe = exe
	if err := w.sup.Start(ctx); err != nil {
		return funcd.Errorf(funcd.EUNAVAILABLE, "cannot start the custom handler %s (host.json %s): %w", exe, w.field("defaultExecutablePath"), err)
	}
	return nil
}

// Shutdown stops the handler: SIGTERM to its process group, SIGKILL after
// Config.StopGrace or when ctx is done, and waits for it. Invocations in
// flight fail. Shutdown is idempotent; later calls return the first result.
func (w *Worker) Shutdown(ctx context.Context) error {
	w.shutdown.Do(func() {
		w.closed.Store(true)
		w.shutErr = w.sup.Stop(ctx)
		w.transport.CloseIdleConnections()
	})
	return w.shutErr
}

// field names a host.json property of the handler's section.
func (w *Worker) field(name string) string {
	section := "customHandler"
	if w.ch.Legacy {
		section = "httpWorker"
	}
	if name == "" {
		return section
	}
	return section + ".description." + name
}

// resolveExecutable finds defaultExecutablePath as the host's process start
// does: an absolute path as is; a relative one under the app root, then the
// current directory, then (a bare name) on PATH.
func (w *Worker) resolveExecutable() (string, error) {
	p := w.ch.DefaultExecutablePath
	if p == "" {
		return "", w.exeError("WorkerDescription DefaultExecutablePath cannot be empty", "")
	}
	path := p
	if !filepath.IsAbs(p) {
		path = ""
		for _, dir := range []string{w.cfg.App.Root, "."} {
			if full, err := filepath.Abs(filepath.Join(dir, p)); err == nil && isFile(full) {
				path = full
				break
			}
		}
		if path == "" {
			found, err := exec.LookPath(p)
			if err != nil {
				return "", w.exeError(fmt.Sprintf("custom handler executable %q not found", p),
					fmt.Sprintf("Build the handler, or fix %s: a relative path is looked up under the app root (%s), then the current directory, then PATH.", w.field("defaultExecutablePath"), w.cfg.App.Root))
			}
			path = found
		}
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return "", w.exeError(fmt.Sprintf("custom handler executable %q not found", path),
			fmt.Sprintf("Build the handler, or fix %s in host.json.", w.field("defaultExecutablePath")))
	case fi.IsDir():
		return "", w.exeError(fmt.Sprintf("custom handler executable %q is a directory", path),
			fmt.Sprintf("Point %s at the handler program.", w.field("defaultExecutablePath")))
	case fi.Mode()&0o111 == 0:
		return "", w.exeError(fmt.Sprintf("custom handler executable %q is not executable", path),
			fmt.Sprintf("Run chmod +x %s.", path))
	}
	return path, nil
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

func (w *Worker) exeError(msg, hint string) error {
	return &funcd.ConfigError{File: "host.json", Field: w.field("defaultExecutablePath"), Msg: msg, Hint: hint}
}

// prepare describes the next handler process: a new port and worker id.
func (w *Worker) prepare() (worker.Spec, error) {
	// The previous handler, if any, has exited: its connections are dead.
	w.transport.CloseIdleConnections()
	port, err := freePort()
	if err != nil {
		return worker.Spec{}, fmt.Errorf("cannot find a free port for the custom handler: %w", err)
	}
	g := &generation{id: newGUID(), port: port, base: "http://127.0.0.1:" + strconv.Itoa(port)}
	vars := w.handlerVars(g)
	dir := w.ch.WorkingDirectory
	if dir == "" {
		dir = w.cfg.App.Root
	}
	return worker.Spec{Path: w.exe, Args: w.arguments(vars), Dir: dir, Env: w.environment(vars), Data: g}, nil
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago
// (WorkerUtilities.GetUnusedTcpPort).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// handlerVars are the variables the host adds to the handler's environment.
func (w *Worker) handlerVars(g *generation) [][2]string {
	port := strconv.Itoa(g.port)
	return [][2]string{
		{envHTTPWorkerPort, port},
		{envHTTPWorkerID, g.id},
		{envCustomHandlerPort, port},
		{envCustomHandlerWorkerID, g.id},
		{envAppRootPath, w.cfg.App.Root},
	}
}

// environment is the app's settings (sorted), AzureWebJobsScriptRoot unless
// set, then the handler variables.
func (w *Worker) environment(vars [][2]string) []string {
	settings := w.cfg.App.Settings
	if settings == nil {
		return append(os.Environ(), varsEnv(vars)...)
	}
	env := make([]string, 0, len(settings)+len(vars)+1)
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	if _, ok := settings[envScriptRoot]; !ok {
		env = append(env, envScriptRoot+"="+w.cfg.App.Root)
	}
	return append(env, varsEnv(vars)...)
}

func varsEnv(vars [][2]string) []string {
	env := make([]string, len(vars))
	for i, kv := range vars {
		env[i] = kv[0] + "=" + kv[1]
	}
	return env
}

// unresolvedVar matches a %NAME% left in an argument.
var unresolvedVar = regexp.MustCompile(`%(.+?)%`)

// arguments are the description's arguments, defaultWorkerPath and
// workerArguments, with the handler variables expanded and any other %NAME%
// removed (DefaultWorkerProcessFactory).
func (w *Worker) arguments(vars [][2]string) []string {
	args := slices.Clone(w.ch.Arguments)
	if w.ch.DefaultWorkerPath != "" {
		args = append(args, w.ch.DefaultWorkerPath)
	}
	args = append(args, w.ch.WorkerArguments...)
	for i, a := range args {
		for _, kv := range vars {
			a = strings.ReplaceAll(a, "%"+kv[0]+"%", kv[1])
		}
		args[i] = unresolvedVar.ReplaceAllString(a, "")
	}
	return args
}

// ready polls GET / every 25 ms until the handler answers (any response),
// the connection fails otherwise than by being refused (also taken as
// ready, as the host does), or the initialization timeout passes.
func (w *Worker) ready(ctx context.Context, p *worker.Process) error {
	g := generationOf(p)
	start := w.clock.Now()
	for {
		ok, err := w.ping(ctx, g.base+"/", w.initMax-w.clock.Now().Sub(start))
		if ok {
			w.log.Debug("HttpWorker is Initialized.", "worker", g.id)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if w.clock.Now().Sub(start) >= w.initMax {
			return funcd.Errorf(funcd.EUNAVAILABLE, "Initializing HttpWorker timed out. The custom handler %s did not answer GET %s/ within %v (host.json %s.initializationTimeout; last error: %v); it must listen on 127.0.0.1 at the port in %s.",
				w.exe, g.base, w.initMax, w.field(""), err, envCustomHandlerPort)
		}
		t := w.clock.NewTimer(readyPollInterval)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// ping sends one readiness request. It reports whether the handler counts
// as ready, and the error that says it does not.
func (w *Worker) ping(ctx context.Context, url string, limit time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, max(limit, readyPollInterval))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := w.do(w.direct, req)
	if err == nil {
		drainClose(resp)
		return true, nil
	}
	if ctx.Err() != nil || notListening(err) {
		return false, err
	}
	return true, nil
}

// notListening reports whether err is a socket error: nobody accepts
// connections on the port yet.
func notListening(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// output logs one line of handler output (see the package documentation).
func (w *Worker) output(p *worker.Process, s worker.Stream, line string) {
	level := worker.Level(s, line)
	ctx := context.Background()
	if !w.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 1, 3)
	attrs[0] = slog.String("worker", generationOf(p).id)
	if inv := w.calls.single(); inv != nil {
		attrs = append(attrs, slog.String("invocation_id", inv.ID), slog.String("function", inv.Function.Name))
	}
	w.log.LogAttrs(ctx, level, line, attrs...)
}

// fatal reports that restarts are exhausted.
func (w *Worker) fatal(err error) {
	if w.cfg.OnFatal != nil {
		w.cfg.OnFatal(w.fatalError(err))
	}
}

// fatalError wraps the Supervisor's *worker.RestartLimitError with what to
// check.
func (w *Worker) fatalError(err error) error {
	return &funcd.Error{
		Code: funcd.EUNAVAILABLE,
		Message: fmt.Sprintf("%v. The custom handler %s (host.json %s) must start, listen on 127.0.0.1 at the port in %s within %v, and keep running; its output, in the log above, says why it did not.",
			err, w.exe, w.field("defaultExecutablePath"), envCustomHandlerPort, w.initMax),
		Err: err,
	}
}

// newGUID returns a random (version 4) GUID in the lower-case, hyphenated
// form .NET prints.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
	return string(s[:])
}

// callTracker knows the invocations in flight, to attribute handler output
// when there is exactly one.
type callTracker struct {
	mu    sync.Mutex
	calls map[*funcd.Invocation]int // guarded by mu
}

func (t *callTracker) begin(inv *funcd.Invocation) {
	t.mu.Lock()
	if t.calls == nil {
		t.calls = make(map[*funcd.Invocation]int)
	}
	t.calls[inv]++
	t.mu.Unlock()
}

func (t *callTracker) end(inv *funcd.Invocation) {
	t.mu.Lock()
	if t.calls[inv]--; t.calls[inv] <= 0 {
		delete(t.calls, inv)
	}
	t.mu.Unlock()
}

// single returns the only invocation in flight, or nil.
func (t *callTracker) single() *funcd.Invocation {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.calls) != 1 {
		return nil
	}
	for inv, n := range t.calls {
		if n == 1 {
			return inv
		}
	}
	return nil
}
