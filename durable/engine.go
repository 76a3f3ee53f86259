package durable

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/funcd/funcd/clock"
)

// Executor runs the app's durable functions for the engine: the host
// implements it with its invocation pipeline and worker.
type Executor interface {
	// Orchestrate runs the orchestrator function name with its trigger
	// payload (the JSON of OrchestrationPayload) and returns the JSON the
	// function returned (an OrchestratorState). A failed invocation's
	// error message may carry the state after "$OutOfProcData$:".
	Orchestrate(ctx context.Context, name string, payload []byte) ([]byte, error)
	// Activity runs the activity function name with its input, as the
	// activityTrigger binds it (see ActivityInput), and returns its
	// result as JSON text ("" for none).
	Activity(ctx context.Context, name, instanceID, input string) (string, error)
	// Entity runs a batch of operations on the entity function name (the
	// JSON of an entity batch) and returns the function's result JSON.
	Entity(ctx context.Context, name string, batch []byte) ([]byte, error)
}

// Functions are the durable functions an app declares, by name.
type Functions struct {
	Orchestrators []string
	Activities    []string
	Entities      []string
}

// Options configure an Engine.
type Options struct {
	// Hub is the task hub the engine runs (host.json
	// extensions.durableTask.hubName); DefaultHub when empty.
	Hub string
	// Owner identifies this process among those sharing the backend.
	Owner string
	// Reuse says which existing instances a start may replace.
	Reuse ReusePolicy
	// MaxConcurrentOrchestrations, MaxConcurrentActivities and
	// MaxConcurrentEntities cap the work items run at once (host.json
	// maxConcurrentOrchestratorFunctions, ...); 10 × the number of CPUs
	// when zero, as the real host.
	MaxConcurrentOrchestrations int
	MaxConcurrentActivities     int
	MaxConcurrentEntities       int
	// MaxShortTimer and LongTimerInterval split long durable timers as the
	// real host does with Azure Storage (6 days and 3 days when zero).
	MaxShortTimer     time.Duration
	LongTimerInterval time.Duration
	// Lease is how long a work item's lock lasts before it is renewed (or
	// taken by another owner when its process died); 1 minute when zero.
	Lease time.Duration
	// MaxActions caps the actions one execution may issue (the real
	// host's maxOrchestrationActions, 100000 when zero).
	MaxActions int
	// TraceDir, when set, is a folder where every orchestrator episode's
	// request and reply are written (see TraceRecord); a diagnostic for
	// the authors of SDKs and custom handlers.
	TraceDir string
	Clock    clock.Clock
	Logger   *slog.Logger
}

// DefaultHub is the task hub's name when host.json names none and the app
// does not run in Azure (WEBSITE_SITE_NAME unset), as in the real host.
const DefaultHub = "TestHubName"

// Engine runs a task hub's orchestrations, activities and entities on a
// Backend.
type Engine struct {
	backend Backend
	opts    Options
	clock   clock.Clock
	log     *slog.Logger
	reuse   ReusePolicy

	mu    sync.RWMutex
	funcs funcSet  // guarded by mu
	exec  Executor // guarded by mu

	// entitySlots caps the entity batches run at once
	// (MaxConcurrentEntities); they share the orchestration dispatcher's
	// work items.
	entitySlots chan struct{}

	// wakeOrch and wakeAct tell the dispatchers that work may be due in
	// the engine's hub.
	wakeOrch, wakeAct signal

	// The dispatchers' slots, made by Start: work that the backend hands
	// off (Handoff) runs in one of them too. handoff is the backend's
	// Handoff, nil when it has none.
	orchSlots, actSlots chan struct{}
	handoff             Handoff

	runMu    sync.Mutex
	cancel   context.CancelFunc // set by Start; guarded by runMu
	stopping chan struct{}      // closed by Stop
	stopOnce sync.Once
	running  sync.WaitGroup // the dispatchers
}

type funcSet struct {
	// Lower-case names to the names the app declared.
	orchestrators, activities, entities map[string]string
}

// New returns an engine over backend; it runs nothing until Start.
func New(backend Backend, opts Options) *Engine {
	if opts.Hub == "" {
		opts.Hub = DefaultHub
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxShortTimer <= 0 {
		opts.MaxShortTimer = 6 * 24 * time.Hour
	}
	if opts.LongTimerInterval <= 0 {
		opts.LongTimerInterval = 3 * 24 * time.Hour
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.MaxActions <= 0 {
		opts.MaxActions = 100000
	}
	return &Engine{
		backend: backend, opts: opts, clock: opts.Clock, log: opts.Logger, reuse: opts.Reuse,
		stopping:    make(chan struct{}),
		entitySlots: make(chan struct{}, orDefault(opts.MaxConcurrentEntities, 10*runtime.GOMAXPROCS(0))),
	}
}

// Hub returns the engine's task hub.
func (e *Engine) Hub() string { return e.opts.Hub }

// Reuse returns which existing instances a start may replace
// (Options.Reuse).
func (e *Engine) Reuse() ReusePolicy { return e.reuse }

// Client returns the management client of a task hub ("" for the engine's
// own).
func (e *Engine) Client(hub string) *Client {
	if hub == "" {
		hub = e.opts.Hub
	}
	return &Client{e: e, hub: hub}
}

// SetFunctions installs the app's durable functions and the executor that
// runs them (a new generation of the app replaces both).
func (e *Engine) SetFunctions(fns Functions, exec Executor) {
	set := funcSet{orchestrators: lowerSet(fns.Orchestrators), activities: lowerSet(fns.Activities), entities: lowerSet(fns.Entities)}
	e.mu.Lock()
	e.funcs, e.exec = set, exec
	e.mu.Unlock()
	e.kick(e.opts.Hub)
}

func lowerSet(names []string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = n
	}
	return m
}

func (e *Engine) isOrchestrator(name string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, ok := e.funcs.orchestrators[strings.ToLower(name)]
	return ok
}

func (e *Engine) isEntity(name string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, ok := e.funcs.entities[strings.ToLower(name)]
	return ok
}

func (e *Engine) isActivity(name string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, ok := e.funcs.activities[strings.ToLower(name)]
	return ok
}

func (e *Engine) executor() Executor {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.exec
}

// kick wakes the engine's dispatchers when hub is its own.
func (e *Engine) kick(hub string) {
	if hub != e.opts.Hub {
		return
	}
	e.wakeOrch.fire()
	e.wakeAct.fire()
}

// newExecution returns a new instance's row (Pending) and the
// ExecutionStarted message that starts it.
func (e *Engine) newExecution(id, name, version, input string, parent *ParentInstance, startAt time.Time) (Instance, Message) {
	now := e.clock.Now().UTC()
	exec := NewInstanceID()
	inst := Instance{
		ID: id, ExecutionID: exec, Name: name, Version: version, Status: Pending, Input: input,
		CreatedAt: now, LastUpdatedAt: now,
	}
	if parent != nil && parent.OrchestrationInstance != nil {
		inst.ParentID = parent.OrchestrationInstance.InstanceID
	}
	ev := Event{
		EventType: ExecutionStarted, EventID: NoEventID, Timestamp: now, Name: name, Version: version,
		Input:                 jsonText(input),
		OrchestrationInstance: &InstanceRef{InstanceID: id, ExecutionID: exec},
		ParentInstance:        parent,
	}
	msg := Message{InstanceID: id, Event: ev}
	if !startAt.IsZero() {
		t := startAt.UTC()
		ev.ScheduledStartTime = &t
		msg.Event = ev
		msg.VisibleAt = t
	}
	return inst, msg
}

// entityName returns the declared name of the entity function name.
func (e *Engine) entityName(name string) (string, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	n, ok := e.funcs.entities[strings.ToLower(name)]
	return n, ok
}
