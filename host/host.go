package host

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/appconfig"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/keys"
	"github.com/funcd/funcd/storage"
	"github.com/funcd/funcd/worker"
	"github.com/funcd/funcd/worker/httpworker"
)

// Version is the Functions host version funcd reports, to workers and in host
// status. Handlers and clients compare it against the real host's 4.x.
const Version = "4.1040.0.0"

// Worker runs functions. It is started once, invoked concurrently, and shut
// down once.
type Worker interface {
	Start(ctx context.Context) error
	Invoke(ctx context.Context, inv *funcd.Invocation) (*funcd.Result, error)
	Shutdown(ctx context.Context) error
}

// WorkerHealth is implemented by workers that run a process the host reports
// on in its status and readiness.
type WorkerHealth interface {
	Health() worker.Health
}

// WorkerOptions is what the host tells a WorkerFactory besides the app.
type WorkerOptions struct {
	Logger *slog.Logger
	// OnFatal is to be called when the worker has failed for good.
	OnFatal func(error)
	// ExitOnFailure asks the worker to give up (and call OnFatal) after the
	// Functions host's restart limit instead of restarting forever.
	ExitOnFailure bool
}

// WorkerFactory makes the worker for a loaded app, or returns (nil, nil) when
// the app has nothing for a worker to run.
type WorkerFactory func(app *funcd.App, opts WorkerOptions) (Worker, error)

// ExitOnWorkerFailureSetting is the app setting that, set to true, makes the
// host give up on a worker the way the Functions host does (three failures,
// each within 30 minutes of the one before), so that a process supervisor
// can act; Config.ExitOnWorkerFailure does the same.
const ExitOnWorkerFailureSetting = "FUNCD_EXIT_ON_WORKER_FAILURE"

// Config configures a Host. Zero fields take the documented defaults.
type Config struct {
	// ScriptRoot is the app's folder. Required.
	ScriptRoot string
	// StateDir holds funcd's own state (keys by default); default a
	// per-user folder outside the app (DefaultStateDir), or the .funcd
	// folder inside the app when an earlier funcd made one.
	StateDir string
	// Environ is the process environment as KEY=VALUE; local.settings.json
	// Values are added to it.
	Environ []string
	// AllowList replaces host.json "functions" when non-empty.
	AllowList []string
	// KnownBindings reports the binding types the host can run; default
	// HTTP and the types of Kinds.
	KnownBindings func(typ string) bool
	// Kinds are the trigger and binding types the host runs besides HTTP;
	// default DefaultKinds().
	Kinds []binding.Kind
	// Store, when set, is the host's store (schedule status, leases,
	// receipts, the embedded queues and blobs) instead of the one
	// FUNCD_STORE chooses; the host does not close it.
	Store storage.Store
	// NewWorker makes the app's worker; default a custom handler when
	// host.json has a customHandler section, else the language worker
	// FUNCTIONS_WORKER_RUNTIME names.
	NewWorker WorkerFactory
	// WorkerFolders are folders of language worker folders (each holding a
	// worker.config.json), searched after the ones the app's settings name
	// (FUNCD_WORKERS_DIR) and before funcd's own.
	WorkerFolders []string
	// MaxBufferedBytes bounds the request and response body bytes held in
	// memory at once, across all requests; default the app setting or
	// environment variable FUNCD_MAX_BUFFERED_BYTES, else
	// funcd.DefaultMaxBufferedBytes.
	MaxBufferedBytes int64
	// ExitOnWorkerFailure gives up on a worker that keeps failing, as the
	// Functions host does: the host goes to the Error state and Fatal's
	// channel closes (funcd start then exits). By default a failed worker is
	// restarted forever, with backoff. The app setting
	// ExitOnWorkerFailureSetting turns it on too.
	ExitOnWorkerFailure bool

	Logger *slog.Logger
	Clock  clock.Clock

	backends backends // the store backends of this build (bindings.go)
}

// Host is a running function app. Its methods are safe for concurrent use.
type Host struct {
	cfg      Config
	log      *slog.Logger
	clock    clock.Clock
	keys     *keys.Manager
	stateDir stateLocation // how the default state folder was chosen
	buffers  *funcd.BufferBudget
	registry *Registry
	owner    string     // this process among those sharing a store
	conns    *connCache // storage providers by connection value

	started time.Time
	fatal   chan struct{} // closed when the worker failed for good
	once    sync.Once     // guards close(fatal)

	mu       sync.Mutex
	state    State
	errs     []string
	current  *Generation
	retired  map[*Generation]bool // replaced by Restart, still draining
	restarts sync.WaitGroup       // Restart calls in progress; Add only while !stopped
	fatalErr error
	stopped  bool

	store       storage.Store
	primary     *primaryLock // competes for the primary host lease in store; set by Start
	storeChoice storeChoice
	storeOwned  bool // opened by the host, closed by Shutdown
	storeOpened bool

	langWorkers languageWorkers

	durableMu sync.Mutex
	durable   *durable.Engine // made when an app first has durable functions; guarded by durableMu
	// durableOpts are the host.json settings the engine was made with.
	durableOpts durable.Options
	// durableRPC is the local endpoint of the management API the Durable
	// SDKs call (rpcBaseUrl); guarded by durableMu.
	durableRPC string
	// publicURL is the URL the app is served at (SetBaseURL); guarded by
	// durableMu.
	publicURL string
}

// New returns a host for the app in cfg.ScriptRoot. It starts nothing.
func New(cfg Config) (*Host, error) {
	if cfg.ScriptRoot == "" {
		return nil, errors.New("host: Config.ScriptRoot is empty")
	}
	root, err := filepath.Abs(cfg.ScriptRoot)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve script root: %w", err)
	}
	cfg.ScriptRoot = root
	var state stateLocation
	if cfg.StateDir == "" {
		if state, err = findStateDir(root); err != nil {
			return nil, err
		}
		cfg.StateDir = state.dir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Kinds == nil {
		cfg.Kinds = DefaultKinds()
	}
	cfg.backends = defaultBackends()
	h := &Host{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, state: StateDefault, fatal: make(chan struct{}), stateDir: state,
		owner: newOwner(), conns: &connCache{}}
	h.registry = NewRegistry(slices.Concat(cfg.Kinds, durableKinds(h.readDurableClient)))
	if h.cfg.KnownBindings == nil {
		h.cfg.KnownBindings = h.registry.Known
	}
	h.buffers = funcd.NewBufferBudget(funcd.DefaultMaxBufferedBytes)
	if h.cfg.NewWorker == nil {
		h.cfg.NewWorker = h.defaultWorker
	}
	return h, nil
}

// SettingMaxBufferedBytes names the app setting (or environment variable)
// that sets the host's buffer budget, in bytes.
const SettingMaxBufferedBytes = "FUNCD_MAX_BUFFERED_BYTES"

// Buffers returns the host's budget of buffered body bytes, shared by all
// requests and generations.
func (h *Host) Buffers() *funcd.BufferBudget { return h.buffers }

// Clock returns the clock the host and its bindings, store and worker run
// on: Config.Clock, else the system's.
func (h *Host) Clock() clock.Clock { return h.clock }

// setBufferLimit applies Config.MaxBufferedBytes, else the app's
// FUNCD_MAX_BUFFERED_BYTES setting.
func (h *Host) setBufferLimit(settings map[string]string) error {
	limit := h.cfg.MaxBufferedBytes
	if v, ok := settings[SettingMaxBufferedBytes]; ok && limit == 0 {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return &funcd.ConfigError{
				Field: SettingMaxBufferedBytes,
				Msg:   fmt.Sprintf("the value %q is not a positive number of bytes", v),
				Hint:  fmt.Sprintf("Set %s (an app setting in local.settings.json Values, or an environment variable) to a byte count such as %d (128 MiB, the default).", SettingMaxBufferedBytes, funcd.DefaultMaxBufferedBytes),
			}
		}
		limit = n
	}
	if limit > 0 {
		h.buffers.SetLimit(limit)
	}
	return nil
}

// KnownBindings reports whether funcd can run bindings of the given
// function.json type: HTTP or one of DefaultKinds.
func KnownBindings(typ string) bool {
	return NewRegistry(DefaultKinds()).Known(typ)
}

// Registry returns the binding Kinds the host runs.
func (h *Host) Registry() *Registry { return h.registry }

// newOwner names this host process among those sharing a store: the
// machine, the process id and a random part.
func newOwner() string {
	name, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", name, os.Getpid(), funcd.NewGUID()[:8])
}

// ownerGone says whether the process an owner (newOwner) names has ended:
// it ran on this machine, is not this process, and no process has its id.
func ownerGone(owner string) bool {
	rest, _, ok := cutLast(owner, "-")
	if !ok {
		return false
	}
	name, pidText, ok := cutLast(rest, "-")
	if !ok {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	if host, _ := os.Hostname(); name != host {
		return false
	}
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	// A zombie has ended too: in a container whose first process does
	// not reap orphans, a killed funcd stays one.
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, ok := cutLast(string(stat), ")")
	return ok && strings.HasPrefix(after, " Z")
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// defaultWorker runs a custom handler app on its handler and a language
// worker app on its language worker.
func (h *Host) defaultWorker(app *funcd.App, opts WorkerOptions) (Worker, error) {
	if app.Host.CustomHandler == nil {
		if app.WorkerRuntime != "" {
			return h.languageWorker(app, opts)
		}
		return nil, nil
	}
	return httpworker.New(httpworker.Config{
		App: app, Logger: opts.Logger, HostVersion: Version, OnFatal: opts.OnFatal, ExitOnFailure: opts.ExitOnFailure, Buffers: h.buffers,
		Clock: h.clock,
	}), nil
}

// exitOnWorkerFailure reads ExitOnWorkerFailureSetting.
func exitOnWorkerFailure(app *funcd.App, local *funcd.LocalSettings) (bool, error) {
	v, ok := app.Settings[ExitOnWorkerFailureSetting]
	if !ok || strings.TrimSpace(v) == "" {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	e := &funcd.ConfigError{
		Field: ExitOnWorkerFailureSetting,
		Msg:   fmt.Sprintf("the app setting %s is %q; expected true or false", ExitOnWorkerFailureSetting, v),
		Hint:  "Set it to true to exit when the custom handler keeps failing, or false (the default) to restart it forever.",
	}
	if _, inLocal := local.Values[ExitOnWorkerFailureSetting]; inLocal {
		e.File, e.Field = "local.settings.json", "Values."+ExitOnWorkerFailureSetting
	}
	return false, e
}

// ScriptRoot returns the absolute path of the app's folder.
func (h *Host) ScriptRoot() string { return h.cfg.ScriptRoot }

// StateDir returns the folder of funcd's own state for this app.
func (h *Host) StateDir() string { return h.cfg.StateDir }

// Keys returns the app's key manager. It is nil before Start.
func (h *Host) Keys() *keys.Manager {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.keys
}

// Start loads the app, starts its worker and indexes its functions. On
// failure the host is left in the Error state with the reason in its status.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.state != StateDefault {
		h.mu.Unlock()
		return errors.New("host: Start called twice")
	}
	h.state = StateStarting
	h.started = h.clock.Now()
	h.mu.Unlock()

	gen, err := h.load(ctx)
	if err != nil {
		h.setError(err)
		return err
	}
	h.stateDir.keepLegacy(h.log)
	if err := h.setBufferLimit(gen.App.Settings); err != nil {
		h.stopGeneration(context.WithoutCancel(ctx), gen)
		h.setError(err)
		return err
	}
	store, err := keys.Open(gen.App.Settings, h.cfg.StateDir, h.log)
	if err != nil {
		h.stopGeneration(context.WithoutCancel(ctx), gen)
		h.setError(err)
		return err
	}
	h.mu.Lock()
	h.keys = keys.NewManager(store, keys.Options{
		Logger:     h.log,
		HostName:   gen.App.Settings["WEBSITE_HOSTNAME"],
		InstanceID: gen.App.Settings["WEBSITE_INSTANCE_ID"],
	})
	h.current = gen
	h.state = StateRunning
	if gen.startErr != nil {
		h.state = StateError
		h.errs = []string{gen.startErr.Error()}
	}
	if h.store != nil {
		h.primary = startPrimaryLock(h.store, hostID(gen.App.Settings, h.cfg.ScriptRoot), h.owner,
			instanceID(gen.App.Settings), h.clock, h.log)
	}
	h.mu.Unlock()
	return nil
}

// load reads the app and starts a new generation of it.
func (h *Host) load(ctx context.Context) (*Generation, error) {
	fsys := os.DirFS(h.cfg.ScriptRoot)
	local, err := appconfig.ReadLocalSettings(fsys, "local.settings.json")
	if err != nil {
		return nil, err
	}
	env, skipped := appconfig.Environ(h.cfg.Environ, local)
	for _, k := range skipped {
		h.log.Info(fmt.Sprintf("Skipping '%s' from local settings as it's already defined in current environment variables.", k))
	}
	opts := appconfig.Options{
		Root:           h.cfg.ScriptRoot,
		Env:            env,
		KnownBindings:  h.cfg.KnownBindings,
		AllowList:      h.cfg.AllowList,
		WorkerRuntimes: h.workerRuntimes(env),
	}
	app, err := appconfig.Load(fsys, opts)
	if err != nil {
		return nil, err
	}
	log := newCategoryLogger(h.log, app.Host.Logging.LogLevel)
	exit, err := exitOnWorkerFailure(app, local)
	if err != nil {
		return nil, err
	}
	wopts := WorkerOptions{Logger: log, OnFatal: h.onWorkerFatal, ExitOnFailure: exit || h.cfg.ExitOnWorkerFailure}

	// A language worker starts before the functions are indexed: it may
	// index them itself.
	var w Worker
	var startErr error
	if app.WorkerRuntime != "" && app.Host.CustomHandler == nil {
		w, app, startErr = h.startLanguageWorker(ctx, fsys, opts, app, wopts)
		if startErr != nil && w == nil {
			return nil, startErr
		}
		if startErr != nil {
			_ = w.Shutdown(context.WithoutCancel(ctx))
			w = nil
		}
	}
	stopEarly := func() {
		if w != nil {
			_ = w.Shutdown(context.WithoutCancel(ctx))
		}
	}
	for _, warn := range app.Warnings {
		h.log.Warn(warn.Error())
	}
	if err := h.openStore(ctx, app.Settings, local); err != nil {
		stopEarly()
		return nil, err
	}
	gen := &Generation{
		App: app, Local: local, host: h, work: newDrainGroup(), loaded: h.clock.Now(),
		log:      log,
		fnLogs:   map[*funcd.Function]*slog.Logger{},
		stopping: make(chan struct{}),
		startErr: startErr,
	}
	gen.env = h.newEnv(app, local, gen.log)
	if startErr != nil {
		// The host stays up, in the Error state, showing why; a restart
		// (POST /admin/host/restart) tries again.
		gen.log.Error(startErr.Error())
		return gen, nil
	}
	h.registry.Validate(app, gen.env)
	gen.index(gen.log)
	logRetrySupport(gen.log, gen)

	if w == nil {
		if w, err = h.cfg.NewWorker(app, wopts); err != nil {
			return nil, err
		}
		if w != nil && len(gen.functions) > 0 {
			if err := w.Start(ctx); err != nil {
				_ = w.Shutdown(context.WithoutCancel(ctx))
				return nil, fmt.Errorf("cannot start the custom handler: %w", err)
			}
		} else {
			w = nil
		}
	}
	gen.worker = w
	if gen.worker != nil {
		gen.startListeners(ctx)
		if err := h.startDurable(ctx, gen); err != nil {
			gen.log.Error("Durable Functions cannot run: " + err.Error())
		}
	}
	return gen, nil
}

// startLanguageWorker makes and starts the worker of a language worker app
// and, when the worker indexes the app itself, loads the app again with the
// functions it indexed. A worker that cannot be made (not found, badly
// described) fails the load; one that does not start is returned with the
// error, for the host to show while staying up.
func (h *Host) startLanguageWorker(ctx context.Context, fsys fs.FS, opts appconfig.Options, app *funcd.App, wopts WorkerOptions) (Worker, *funcd.App, error) {
	w, err := h.cfg.NewWorker(app, wopts)
	if err != nil {
		return nil, app, err
	}
	if w == nil {
		return nil, app, nil
	}
	if err := w.Start(ctx); err != nil {
		return w, app, err
	}
	ix, ok := w.(WorkerIndexer)
	if !ok {
		return w, app, nil
	}
	fns, indexed, err := ix.Functions(ctx)
	if err != nil {
		return w, app, err
	}
	if !indexed {
		return w, app, nil
	}
	opts.WorkerFunctions = fns
	if fns == nil {
		opts.WorkerFunctions = []appconfig.WorkerFunction{}
	}
	reloaded, err := appconfig.Load(fsys, opts)
	if err != nil {
		_ = w.Shutdown(context.WithoutCancel(ctx))
		return nil, app, err
	}
	return w, reloaded, nil
}

// newEnv builds a generation's binding environment.
func (h *Host) newEnv(app *funcd.App, local *funcd.LocalSettings, log *slog.Logger) *binding.Env {
	h.mu.Lock()
	st, choice := h.store, h.storeChoice
	h.mu.Unlock()
	c := &connector{
		settings: app.Settings, local: local, store: st, storeKind: choice.kind, storeDir: choice.dir,
		backends: h.cfg.backends, clock: h.clock, log: log, cache: h.conns,
	}
	return &binding.Env{
		HostID:             hostID(app.Settings, h.cfg.ScriptRoot),
		Owner:              h.owner,
		Settings:           app.Settings,
		Store:              st,
		Connect:            c.Connect,
		Extensions:         app.Host.Extensions,
		ListenerLockPeriod: app.Host.Singleton.ListenerLockPeriod,
		Development:        isDevelopment(app.Settings),
		Clock:              h.clock,
		Logger:             log,
	}
}

// onWorkerFatal puts the host in the Error state when its worker has failed
// for good (restarts exhausted, only with ExitOnWorkerFailure); Fatal's
// channel then closes. The worker has logged the failure; the caller of
// Fatal reports err.
func (h *Host) onWorkerFatal(err error) {
	h.setError(err)
	h.once.Do(func() {
		h.mu.Lock()
		h.fatalErr = err
		h.mu.Unlock()
		close(h.fatal)
	})
}

// Fatal returns a channel that is closed when the host can no longer run its
// functions (the worker kept crashing and ExitOnWorkerFailure is on);
// FatalErr then says why.
func (h *Host) Fatal() <-chan struct{} { return h.fatal }

// FatalErr returns the reason Fatal's channel was closed, or nil.
func (h *Host) FatalErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fatalErr
}

func (h *Host) setError(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state = StateError
	h.errs = []string{err.Error()}
}

// Current returns the generation serving new work, or nil before Start or
// after Shutdown. Callers that run work on it must Acquire it, and retry
// with Current if Acquire fails (a restart swapped it).
func (h *Host) Current() *Generation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.current
}

// Acquire returns the current generation with one unit of work registered on
// it; the caller must call Release on it. It fails with EUNAVAILABLE when the
// host is not running, which includes the Error state (the worker failed for
// good).
func (h *Host) Acquire() (*Generation, error) {
	for {
		h.mu.Lock()
		g, stopped, failed := h.current, h.stopped, h.state == StateError
		h.mu.Unlock()
		if g == nil || stopped || failed {
			if g != nil && g.startErr != nil && !stopped {
				return nil, funcd.Errorf(funcd.EUNAVAILABLE, "the host is not running: %v", g.startErr)
			}
			return nil, funcd.Errorf(funcd.EUNAVAILABLE, "the host is not running")
		}
		if g.Acquire() {
			return g, nil
		}
		// A restart swapped g out between the read and Acquire: try the new
		// one.
	}
}

// Restart loads the app again and swaps the new generation in. Work already
// running finishes on the old generation, which is then stopped. If the app
// cannot be loaded, the old generation keeps serving and the error is
// returned and shown in host status.
func (h *Host) Restart(ctx context.Context) error {
	h.mu.Lock()
	if h.stopped || h.current == nil {
		h.mu.Unlock()
		return funcd.Errorf(funcd.EUNAVAILABLE, "the host is not running")
	}
	h.restarts.Add(1) // Shutdown waits for this restart to finish
	h.mu.Unlock()
	defer h.restarts.Done()
	h.log.Info("Restarting host.")

	gen, err := h.load(ctx)
	if err == nil && gen.startErr != nil {
		err = gen.startErr
		_ = h.stopGeneration(context.WithoutCancel(ctx), gen)
	}
	if err != nil {
		h.mu.Lock()
		h.errs = []string{err.Error()}
		h.mu.Unlock()
		return err
	}
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		_ = h.stopGeneration(context.WithoutCancel(ctx), gen)
		return funcd.Errorf(funcd.EUNAVAILABLE, "the host is not running")
	}
	old := h.current
	h.current = gen
	h.state = StateRunning
	h.errs = nil
	if h.retired == nil {
		h.retired = map[*Generation]bool{}
	}
	h.retired[old] = true
	km := h.keys
	h.mu.Unlock()
	if km != nil {
		km.Reload()
	}
	// The old generation drains in the background; Shutdown stops it too if
	// it is still draining then.
	go func() {
		_ = h.stopGeneration(context.WithoutCancel(ctx), old)
		h.mu.Lock()
		delete(h.retired, old)
		h.mu.Unlock()
	}()
	h.log.Info("Host restarted.")
	return nil
}

// stopGeneration stops g's listeners (they take no more events and drain
// theirs), waits for the rest of g's work to end, and stops its worker.
func (h *Host) stopGeneration(ctx context.Context, g *Generation) error {
	err := g.stopListeners(ctx)
	err = errors.Join(err, g.work.close(ctx))
	if g.worker != nil {
		err = errors.Join(err, g.worker.Shutdown(ctx))
	}
	return err
}

// Shutdown stops accepting work, waits for work in flight until ctx is done,
// then stops the workers: the current generation's and those of generations
// a restart replaced that are still draining. It is idempotent.
func (h *Host) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return nil
	}
	h.stopped = true
	if h.state != StateError {
		h.state = StateStopping
	}
	h.mu.Unlock()

	// A restart still loading stops what it loaded itself once it sees
	// stopped; wait for it so no worker outlives Shutdown.
	restarted := make(chan struct{})
	go func() { h.restarts.Wait(); close(restarted) }()
	select {
	case <-restarted:
	case <-ctx.Done():
	}

	h.mu.Lock()
	gens := make([]*Generation, 0, 1+len(h.retired))
	if h.current != nil {
		gens = append(gens, h.current)
	}
	for g := range h.retired {
		gens = append(gens, g)
	}
	h.mu.Unlock()
	// The engine's work items hold generations: stop taking them first.
	durableErr := h.stopDurable(ctx)
	h.mu.Lock()
	primary := h.primary
	h.mu.Unlock()
	if primary != nil {
		primary.Stop()
	}
	errs := make([]error, len(gens))
	var wg sync.WaitGroup
	for i, g := range gens {
		wg.Go(func() { errs[i] = h.stopGeneration(ctx, g) })
	}
	wg.Wait()
	err := errors.Join(append(errs, durableErr, h.closeStore())...)
	h.mu.Lock()
	h.state = StateStopped
	h.current = nil
	h.mu.Unlock()
	return err
}

// ID returns the host id, as the real host chooses it:
// AzureFunctionsWebHost__hostid, else the site name (WEBSITE_SITE_NAME, as in
// Azure), else derived from the machine name and the script root, as for
// local runs. Processes that share a store share leases, timer status and
// blob receipts by host id.
func (h *Host) ID() string {
	var settings map[string]string
	if g := h.Current(); g != nil {
		settings = g.App.Settings
	}
	return hostID(settings, h.cfg.ScriptRoot)
}

// SettingHostID is the setting that fixes the host id.
const SettingHostID = "AzureFunctionsWebHost__hostid"

func hostID(settings map[string]string, root string) string {
	if id := settings[SettingHostID]; id != "" {
		return normalizeHostID(id)
	}
	if site := settings["WEBSITE_SITE_NAME"]; site != "" {
		return normalizeHostID(site)
	}
	name, _ := os.Hostname()
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
		}
	}
	f := fnv.New32a()
	f.Write([]byte(root))
	return normalizeHostID(fmt.Sprintf("%s-%d", b.String(), f.Sum32()&0x7fffffff))
}

func normalizeHostID(id string) string {
	id = strings.ToLower(id)
	if len(id) > 32 {
		id = id[:32]
	}
	return strings.TrimRight(id, "-")
}
