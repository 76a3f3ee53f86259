package durable

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/funcd/funcd"
)

// Errors a Backend returns, wrapped with %w and detail; test with
// errors.Is.
var (
	// ErrNotFound: the instance does not exist.
	ErrNotFound = errors.New("instance not found")
	// ErrInstanceExists: CreateInstance found the id in a status its reuse
	// policy does not overwrite.
	ErrInstanceExists = errors.New("instance already exists")
	// ErrLockLost: the work item's lock expired and may have been taken by
	// another owner; the work item's changes were not committed.
	ErrLockLost = errors.New("work item lock lost")
)

// Instance is an orchestration or entity instance's row: its current
// execution's status and values. An entity's id is "@<name>@<key>".
type Instance struct {
	ID          string
	ExecutionID string
	// Name is the orchestrator function's name (an entity's name for an
	// entity).
	Name    string
	Version string
	Status  Status
	// Input, Output and CustomStatus are JSON text ("" for none). The
	// Output of a failed instance is its failure message as a JSON string.
	Input        string
	Output       string
	CustomStatus string
	// ParentID is the parent orchestration's instance id for a
	// sub-orchestration.
	ParentID string
	// State is the engine's own bookkeeping for the instance (an entity's
	// state and queue, events held back while suspended), opaque to the
	// backend.
	State []byte
	// CreatedAt is when the instance was created (or last reset by a new
	// start); LastUpdatedAt when a work item or a client last changed it.
	// The backend sets both from its clock: CreateInstance and a Start set
	// CreatedAt to now, an OrchestrationUpdate's row keeps the stored
	// CreatedAt when its own is zero, and every write of the row sets
	// LastUpdatedAt to now.
	CreatedAt     time.Time
	LastUpdatedAt time.Time
}

// Message is one event in an instance's inbox, waiting for the instance's
// next work item: an ExecutionStarted, a TaskCompleted, a TimerFired, an
// EventRaised (external events and entity operations), an
// ExecutionTerminated, an ExecutionSuspended or ExecutionResumed.
type Message struct {
	// ID is assigned by the backend when the message is stored; messages
	// of one instance are delivered in ID order.
	ID         int64
	InstanceID string
	// ExecutionID, when set, is the execution the message is for: a
	// task's result or a timer of an execution that has since continued
	// as new is dropped rather than delivered to the next one.
	ExecutionID string
	Event       Event
	// VisibleAt is when the message may be delivered (a timer's fire
	// time); the zero time means at once.
	VisibleAt time.Time
}

// ActivityTask is one scheduled run of an activity function.
type ActivityTask struct {
	// ID is assigned by the backend.
	ID          int64
	InstanceID  string
	ExecutionID string
	// Name is the activity function's name, TaskID the EventID of its
	// TaskScheduled event, Input its input as JSON text.
	Name   string
	TaskID int
	Input  string
	// VisibleAt is when the task may run (zero: at once).
	VisibleAt time.Time
	// Attempts counts the times the task was locked, including this one.
	Attempts int
	// LockToken identifies the lock a LockNextActivity took.
	LockToken string
}

// OrchestrationWorkItem is an instance locked for one episode: its row,
// its current execution's history and the inbox messages that are due.
type OrchestrationWorkItem struct {
	InstanceID string
	// Instance is nil when the instance has no row yet (messages sent to
	// an entity that never ran, or to an id that does not exist).
	Instance *Instance
	History  []Event
	Messages []Message
	// LockToken identifies the lock; Complete, Abandon and Renew need it.
	LockToken string
	// LockedUntil is when the lock expires unless renewed.
	LockedUntil time.Time
}

// OrchestrationUpdate is what an episode changes, committed by
// CompleteOrchestration in one transaction.
type OrchestrationUpdate struct {
	// Instance is the instance's new row (nil: leave the row as it is; an
	// instance without a row keeps none).
	Instance *Instance
	// ResetHistory replaces the history with NewEvents (a new execution:
	// continue-as-new, a restart, a rewind); otherwise NewEvents are
	// appended.
	ResetHistory bool
	NewEvents    []Event
	// Consumed are the IDs of the work item's messages to delete; messages
	// not listed stay in the inbox.
	Consumed []int64
	// Messages are sent to any instance's inbox, this one's included
	// (timers are messages to itself with a VisibleAt). A message to an
	// instance without a row is kept until that instance is created or
	// the message is consumed.
	Messages []Message
	// Starts create instances (sub-orchestrations) as CreateInstance does
	// with OverwriteAny: the row, a new history, and the start message
	// (an ExecutionStarted) in its inbox.
	Starts []Start
	// Tasks are activity tasks to schedule.
	Tasks []ActivityTask
}

// Start is a new instance with the message that starts it.
type Start struct {
	Instance Instance
	Message  Message
}

// ReusePolicy says which existing instances a start with the same id may
// replace.
type ReusePolicy int

const (
	// OverwriteNonRunning replaces a Completed, Failed, Terminated or
	// Canceled instance and refuses a running one (Running, Pending,
	// ContinuedAsNew, Suspended) with ErrInstanceExists: the real host's
	// default (overridableExistingInstanceStates NonRunningStates).
	OverwriteNonRunning ReusePolicy = iota
	// OverwriteAny replaces the instance whatever its status.
	OverwriteAny
)

// InstanceQuery filters a listing of instances. Zero fields do not
// filter.
type InstanceQuery struct {
	CreatedFrom, CreatedTo         time.Time // CreatedAt >= From, <= To
	LastUpdatedFrom, LastUpdatedTo time.Time
	Statuses                       []Status
	// IDPrefix keeps instances whose id starts with it ("@counter@" for
	// the entities named counter).
	IDPrefix string
	// Entities selects entities (ids starting with "@") when true and
	// orchestrations when false.
	Entities bool
	// PageSize caps the page (0: 100); Continuation is the token of the
	// page before ("" for the first).
	PageSize     int
	Continuation string
}

// Backend keeps the durable state of task hubs. Every method takes the
// task hub's name: hubs share nothing. Implementations: package sqlite
// (the embedded default) and package postgres (shared by several funcd
// processes); durable/durabletest is the conformance suite they pass.
//
// Locks are leases that expire: a work item whose owner dies is taken
// again by another LockNext call once LockedUntil passes, and the late
// owner's Complete fails with ErrLockLost. Times are read from the
// backend's clock, never from a database server.
type Backend interface {
	// CreateTaskHub prepares a hub for use (idempotent).
	CreateTaskHub(ctx context.Context, hub string) error
	// DeleteTaskHub removes a hub's instances, history, messages and
	// tasks.
	DeleteTaskHub(ctx context.Context, hub string) error

	// CreateInstance creates an instance in one transaction: its row, an
	// empty history, and start (an ExecutionStarted message) in its
	// inbox. An existing instance with the same id is replaced (its
	// history, pending messages and tasks deleted) if policy allows it,
	// else the call fails with ErrInstanceExists.
	CreateInstance(ctx context.Context, hub string, inst Instance, start Message, policy ReusePolicy) error
	// SendMessages adds messages to instances' inboxes, in one
	// transaction.
	SendMessages(ctx context.Context, hub string, msgs ...Message) error

	// LockNextOrchestration locks an instance that has due messages and no
	// unexpired lock (the instance whose oldest due message is oldest
	// first) for owner until now+lease, and returns it with its history
	// and its due messages (in ID order). It returns nil, nil when there
	// is none.
	LockNextOrchestration(ctx context.Context, hub, owner string, lease time.Duration) (*OrchestrationWorkItem, error)
	// RenewOrchestrationLock extends a work item's lock (ErrLockLost if it
	// is no longer held) and updates LockedUntil.
	RenewOrchestrationLock(ctx context.Context, hub string, wi *OrchestrationWorkItem, lease time.Duration) error
	// CompleteOrchestration commits an episode's changes and releases the
	// lock, in one transaction, or changes nothing and returns
	// ErrLockLost.
	CompleteOrchestration(ctx context.Context, hub string, wi *OrchestrationWorkItem, u OrchestrationUpdate) error
	// AbandonOrchestration releases the lock without changing anything;
	// the messages are due again after delay.
	AbandonOrchestration(ctx context.Context, hub string, wi *OrchestrationWorkItem, delay time.Duration) error

	// LockNextActivity locks the oldest due activity task without an
	// unexpired lock for owner until now+lease, incrementing its Attempts;
	// nil, nil when there is none.
	LockNextActivity(ctx context.Context, hub, owner string, lease time.Duration) (*ActivityTask, error)
	// RenewActivityLock extends a task's lock (ErrLockLost if it is no
	// longer held).
	RenewActivityLock(ctx context.Context, hub string, t *ActivityTask, lease time.Duration) error
	// CompleteActivity deletes the task and sends result (its
	// TaskCompleted or TaskFailed) to the instance's inbox, in one
	// transaction; ErrLockLost changes nothing.
	CompleteActivity(ctx context.Context, hub string, t *ActivityTask, result Message) error
	// AbandonActivity releases the task's lock; it is due again after
	// delay.
	AbandonActivity(ctx context.Context, hub string, t *ActivityTask, delay time.Duration) error

	// NextDue returns the earliest VisibleAt in the future among the hub's
	// messages and tasks, or the earliest expiry in the future of a lock
	// (when its work becomes due again), so that a dispatcher can sleep
	// until then; ok is false when nothing waits.
	NextDue(ctx context.Context, hub string) (t time.Time, ok bool, err error)
	// Watch returns a channel that receives a value soon after a message
	// or task may have become due in the hub, from this process or, for a
	// shared backend, any process. A hint (capacity 1, sends never
	// block); stop ends the watch.
	Watch(hub string) (ch <-chan struct{}, stop func())

	// GetInstance returns an instance's row (ErrNotFound).
	GetInstance(ctx context.Context, hub, id string) (*Instance, error)
	// GetHistory returns the current execution's history (ErrNotFound).
	GetHistory(ctx context.Context, hub, id string) ([]Event, error)
	// ListInstances returns a page of instances matching q, ordered by
	// CreatedAt then id, and the token of the next page ("" on the last).
	// A continuation token it did not issue is InvalidContinuation's error.
	ListInstances(ctx context.Context, hub string, q InstanceQuery) (page []*Instance, next string, err error)
	// PurgeInstances deletes the instances matching q (every page), with
	// their history, messages and tasks, and returns how many it deleted.
	// Running instances are deleted too if q's statuses include them.
	PurgeInstances(ctx context.Context, hub string, q InstanceQuery) (int, error)
	// PurgeInstance deletes one instance with its history, messages and
	// tasks; ErrNotFound when it does not exist.
	PurgeInstance(ctx context.Context, hub, id string) error
}

// BatchLocker is a Backend that can lock several work items in one
// transaction; the engine's dispatchers use it, when a backend has it, to
// claim as many work items as they have room for at once.
type BatchLocker interface {
	// LockNextOrchestrations is LockNextOrchestration for up to max
	// instances (distinct, in the same order); none is an empty slice.
	LockNextOrchestrations(ctx context.Context, hub, owner string, lease time.Duration, max int) ([]*OrchestrationWorkItem, error)
	// LockNextActivities is LockNextActivity for up to max tasks.
	LockNextActivities(ctx context.Context, hub, owner string, lease time.Duration, max int) ([]*ActivityTask, error)
}

// Handoff is a Backend that, in the transaction that commits a work item,
// can lock for the same owner the work that the commit makes due, so that
// the engine runs that work next without claiming it (a locking
// transaction, a dispatcher woken): the activity tasks an episode
// schedules, the orchestration an activity's result is for. The locks are
// those LockNext* would take; nothing is locked that the commit does not
// make durable. Watch announces only the work the commit did not hand off.
type Handoff interface {
	// CompleteOrchestrationLocking is CompleteOrchestration that also
	// locks, for owner until now+lease, up to max of the activity tasks u
	// schedules that are due at once, in the order of u.Tasks (Attempts
	// 1, as LockNextActivity would), and returns them.
	CompleteOrchestrationLocking(ctx context.Context, hub string, wi *OrchestrationWorkItem, u OrchestrationUpdate, owner string, lease time.Duration, max int) ([]*ActivityTask, error)
	// CompleteActivityLocking is CompleteActivity that also locks the
	// instance result is for, for owner until now+lease, when the
	// instance has no unexpired lock and no other activity task (while
	// other tasks of the instance run, their results are left to be
	// claimed together), and returns its work item as
	// LockNextOrchestration does; nil when it did not lock it.
	CompleteActivityLocking(ctx context.Context, hub string, t *ActivityTask, result Message, owner string, lease time.Duration) (*OrchestrationWorkItem, error)
}

// Continuation is the page token a backend gives after inst, the last
// instance of a page listed in creation-time then id order: that time and
// id, for the next page's query to start after.
func Continuation(inst *Instance) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(inst.CreatedAt.UnixNano(), 10) + ":" + inst.ID))
}

// ParseContinuation undoes Continuation: the creation time in Unix
// nanoseconds and the id; a token it did not make is InvalidContinuation.
func ParseContinuation(tok string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		if created, id, ok := strings.Cut(string(b), ":"); ok {
			n, err := strconv.ParseInt(created, 10, 64)
			if err == nil {
				return n, id, nil
			}
		}
	}
	return 0, "", InvalidContinuation(tok)
}

// InvalidContinuation is the error of a listing whose continuation token is
// not one the backend issued: bad input (funcd.EINVALID), which the
// management API answers with 400.
func InvalidContinuation(token string) error {
	return funcd.Errorf(funcd.EINVALID, "the continuation token %q is not one this task hub's store issued; pass the token of the previous page's response (x-ms-continuation-token)", token)
}

// LockReleaser is a Backend that can release, at once, the locks of owners
// known to be gone (their process died), so that their work items and
// activity tasks need not wait for their leases to expire. The engine
// calls it when it starts, with Options.OwnerGone.
type LockReleaser interface {
	// ReleaseLocks releases every lock of hub whose owner gone reports,
	// instances' and activity tasks' alike, and returns how many.
	ReleaseLocks(ctx context.Context, hub string, gone func(owner string) bool) (int, error)
}
