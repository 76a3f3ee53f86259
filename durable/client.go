package durable

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/funcd/funcd"
)

// ErrGone: the instance has finished (Completed, Failed, Terminated or
// Canceled) and takes no more events; the management API answers 410.
var ErrGone = errors.New("instance has finished")

// Client runs the management operations on one task hub: what the
// durableClient binding's SDK calls, the HTTP API under
// /runtime/webhooks/durabletask and `funcd durable` do.
type Client struct {
	e   *Engine
	hub string
}

// Hub returns the task hub's name.
func (c *Client) Hub() string { return c.hub }

// StartOptions are a new orchestration's optional settings.
type StartOptions struct {
	// InstanceID is the new instance's id; a random one when empty.
	InstanceID string
	// Input is the orchestration's input as JSON text ("" for none).
	Input   string
	Version string
	// StartAt delays the start (the zero time: at once).
	StartAt time.Time
}

// NewInstanceID returns a random instance id, as the real host makes them
// (a GUID without dashes).
func NewInstanceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// CheckInstanceID applies the real host's rules to a caller's instance id:
// not empty, at most 256 characters, not starting with '@', and without
// '/', '\\', '?', '#' or control characters.
func CheckInstanceID(id string) error {
	switch {
	case id == "":
		return funcd.Errorf(funcd.EINVALID, "instance id must not be empty")
	case len(id) > 256:
		return funcd.Errorf(funcd.EINVALID, "instance id is %d characters long; the limit is 256", len(id))
	case strings.HasPrefix(id, "@"):
		return funcd.Errorf(funcd.EINVALID, "instance id %q must not start with '@' (reserved for entities)", id)
	}
	for _, r := range id {
		if r == '/' || r == '\\' || r == '?' || r == '#' || unicode.IsControl(r) {
			return funcd.Errorf(funcd.EINVALID, "instance id %q must not contain %q", id, r)
		}
	}
	return nil
}

// StartNew creates an orchestration instance of the orchestrator function
// name and returns its id. An unknown orchestrator or a malformed id or
// input is an EINVALID error; an id in use by a running instance is
// ErrInstanceExists (the reuse policy is the engine's).
func (c *Client) StartNew(ctx context.Context, name string, opts StartOptions) (string, error) {
	if !c.e.isOrchestrator(name) {
		return "", funcd.Errorf(funcd.EINVALID, "the function '%s' doesn't exist, is disabled, or is not an orchestrator function", name)
	}
	id := opts.InstanceID
	if id == "" {
		id = NewInstanceID()
	} else if err := CheckInstanceID(id); err != nil {
		return "", err
	}
	if opts.Input != "" && !json.Valid([]byte(opts.Input)) {
		return "", funcd.Errorf(funcd.EINVALID, "the input of orchestration '%s' is not valid JSON", name)
	}
	inst, start := c.e.newExecution(id, name, opts.Version, opts.Input, nil, opts.StartAt)
	if err := c.e.backend.CreateInstance(ctx, c.hub, inst, start, c.e.reuse); err != nil {
		return "", err
	}
	c.e.kick(c.hub)
	return id, nil
}

// Status returns an instance's row (ErrNotFound).
func (c *Client) Status(ctx context.Context, id string) (*Instance, error) {
	return c.e.backend.GetInstance(ctx, c.hub, id)
}

// History returns the current execution's history (ErrNotFound).
func (c *Client) History(ctx context.Context, id string) ([]Event, error) {
	return c.e.backend.GetHistory(ctx, c.hub, id)
}

// List returns a page of instances (orchestrations, or entities with
// q.Entities) and the next page's token.
func (c *Client) List(ctx context.Context, q InstanceQuery) ([]*Instance, string, error) {
	return c.e.backend.ListInstances(ctx, c.hub, q)
}

// live returns the instance if it exists and has not finished: ErrNotFound
// or ErrGone otherwise.
func (c *Client) live(ctx context.Context, id string) (*Instance, error) {
	inst, err := c.e.backend.GetInstance(ctx, c.hub, id)
	if err != nil {
		return nil, err
	}
	if inst.Status.Terminal() {
		return inst, fmt.Errorf("instance '%s' is %s: %w", id, inst.Status, ErrGone)
	}
	return inst, nil
}

func (c *Client) send(ctx context.Context, id string, ev Event) error {
	ev.EventID = NoEventID
	ev.Timestamp = c.e.clock.Now().UTC()
	if err := c.e.backend.SendMessages(ctx, c.hub, Message{InstanceID: id, Event: ev}); err != nil {
		return err
	}
	c.e.kick(c.hub)
	return nil
}

// RaiseEvent sends the external event name with data (JSON text, "" for
// null) to a running instance: ErrNotFound, ErrGone.
func (c *Client) RaiseEvent(ctx context.Context, id, name, data string) error {
	if _, err := c.live(ctx, id); err != nil {
		return err
	}
	if data != "" && !json.Valid([]byte(data)) {
		return funcd.Errorf(funcd.EINVALID, "the data of event '%s' is not valid JSON", name)
	}
	return c.send(ctx, id, Event{EventType: EventRaised, Name: name, Input: jsonText(data)})
}

// Terminate ends a running or suspended instance with status Terminated:
// ErrNotFound, ErrGone.
func (c *Client) Terminate(ctx context.Context, id, reason string) error {
	if _, err := c.live(ctx, id); err != nil {
		return err
	}
	return c.send(ctx, id, Event{EventType: ExecutionTerminated, Input: jsonString(reason)})
}

// Suspend pauses an instance: events it receives wait until Resume.
func (c *Client) Suspend(ctx context.Context, id, reason string) error {
	if _, err := c.live(ctx, id); err != nil {
		return err
	}
	return c.send(ctx, id, Event{EventType: ExecutionSuspended, Reason: reason})
}

// Resume continues a suspended instance.
func (c *Client) Resume(ctx context.Context, id, reason string) error {
	if _, err := c.live(ctx, id); err != nil {
		return err
	}
	return c.send(ctx, id, Event{EventType: ExecutionResumed, Reason: reason})
}

// Rewind runs a Failed instance again from its failures: the failed tasks
// (and failed sub-orchestrations, recursively) are forgotten and scheduled
// again with their sequence numbers. Only a Failed instance can be
// rewound: ErrNotFound, or EPRECONDITION for another status.
func (c *Client) Rewind(ctx context.Context, id, reason string) error {
	inst, err := c.e.backend.GetInstance(ctx, c.hub, id)
	if err != nil {
		return err
	}
	if inst.Status != Failed {
		return fmt.Errorf("instance '%s' is %s, and only Failed instances can be rewound: %w", id, inst.Status, ErrNotFailed)
	}
	return c.send(ctx, id, Event{EventType: ExecutionRewound, Reason: reason, InstanceID: id})
}

// ErrNotFailed: a rewind of an instance that has not failed.
var ErrNotFailed = errors.New("instance has not failed")

// Restart starts the instance's orchestrator again with its original input,
// under the same id (replacing it, whatever its status) or a new one, and
// returns the id.
func (c *Client) Restart(ctx context.Context, id string, newID bool) (string, error) {
	inst, err := c.e.backend.GetInstance(ctx, c.hub, id)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(id, "@") {
		return "", funcd.Errorf(funcd.EINVALID, "'%s' is an entity, not an orchestration", id)
	}
	input, err := c.originalInput(ctx, inst)
	if err != nil {
		return "", err
	}
	target := id
	if newID {
		target = NewInstanceID()
	}
	next, start := c.e.newExecution(target, inst.Name, inst.Version, input, nil, time.Time{})
	if err := c.e.backend.CreateInstance(ctx, c.hub, next, start, OverwriteAny); err != nil {
		return "", err
	}
	c.e.kick(c.hub)
	return target, nil
}

// originalInput is the input the instance was first started with (its
// current execution's, after continue-as-new).
func (c *Client) originalInput(ctx context.Context, inst *Instance) (string, error) {
	if inst.Input != "" {
		return inst.Input, nil
	}
	h, err := c.e.backend.GetHistory(ctx, c.hub, inst.ID)
	if err != nil {
		return "", err
	}
	for i := range h {
		if h[i].EventType == ExecutionStarted && h[i].Input != nil {
			return *h[i].Input, nil
		}
	}
	return "", nil
}

// Purge deletes an instance with its history (ErrNotFound).
func (c *Client) Purge(ctx context.Context, id string) error {
	return c.e.backend.PurgeInstance(ctx, c.hub, id)
}

// PurgeBy deletes the orchestration instances matching q and returns how
// many.
func (c *Client) PurgeBy(ctx context.Context, q InstanceQuery) (int, error) {
	q.Entities = false
	return c.e.backend.PurgeInstances(ctx, c.hub, q)
}

// EntityID names an entity: its function's name and a key.
type EntityID struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// InstanceID returns the entity's instance id, "@<lower-case name>@<key>".
func (id EntityID) InstanceID() string { return "@" + strings.ToLower(id.Name) + "@" + id.Key }

// ParseEntityInstanceID splits "@name@key"; ok is false for an
// orchestration's id.
func ParseEntityInstanceID(s string) (id EntityID, ok bool) {
	if !strings.HasPrefix(s, "@") {
		return EntityID{}, false
	}
	name, key, found := strings.Cut(s[1:], "@")
	if !found {
		return EntityID{}, false
	}
	return EntityID{Name: name, Key: key}, true
}

// SignalEntity sends the operation op with input (JSON text, "" for none)
// to an entity, one way; at delays it (the zero time: at once). An unknown
// entity function is EINVALID.
func (c *Client) SignalEntity(ctx context.Context, id EntityID, op, input string, at time.Time) error {
	if !c.e.isEntity(id.Name) {
		return funcd.Errorf(funcd.EINVALID, "the function '%s' doesn't exist, is disabled, or is not an entity function", id.Name)
	}
	if input != "" && !json.Valid([]byte(input)) {
		return funcd.Errorf(funcd.EINVALID, "the input of operation '%s' is not valid JSON", op)
	}
	req := RequestMessage{Op: op, Signal: true, Input: input, ID: NewInstanceID()}
	ev := req.event(c.e.clock.Now(), at)
	msg := Message{InstanceID: id.InstanceID(), Event: ev}
	if !at.IsZero() {
		msg.VisibleAt = at
	}
	msg.Event.EventID = NoEventID
	msg.Event.Timestamp = c.e.clock.Now().UTC()
	if err := c.e.backend.SendMessages(ctx, c.hub, msg); err != nil {
		return err
	}
	c.e.kick(c.hub)
	return nil
}

// EntityState is an entity as the management API reads it.
type EntityState struct {
	ID EntityID
	// Exists is false when the entity was never written or was deleted.
	Exists bool
	// State is the entity's state as JSON text.
	State         string
	LastOperation time.Time
}

// ReadEntity returns an entity's state; Exists is false (and err nil) when
// it has none.
func (c *Client) ReadEntity(ctx context.Context, id EntityID) (EntityState, error) {
	inst, err := c.e.backend.GetInstance(ctx, c.hub, id.InstanceID())
	if errors.Is(err, ErrNotFound) {
		return EntityState{ID: id}, nil
	}
	if err != nil {
		return EntityState{}, err
	}
	return entityStateOf(id, inst)
}

// ListEntities returns a page of entities whose function is name (all when
// empty).
func (c *Client) ListEntities(ctx context.Context, name string, q InstanceQuery) ([]EntityState, string, error) {
	q.Entities = true
	if name != "" {
		q.IDPrefix = "@" + strings.ToLower(name) + "@"
	}
	page, next, err := c.e.backend.ListInstances(ctx, c.hub, q)
	if err != nil {
		return nil, "", err
	}
	out := make([]EntityState, 0, len(page))
	for _, inst := range page {
		id, _ := ParseEntityInstanceID(inst.ID)
		st, err := entityStateOf(id, inst)
		if err != nil {
			return nil, "", err
		}
		if st.Exists {
			out = append(out, st)
		}
	}
	return out, next, nil
}

func entityStateOf(id EntityID, inst *Instance) (EntityState, error) {
	st, err := decodeState(inst.State)
	if err != nil {
		return EntityState{}, fmt.Errorf("entity %s: %w", inst.ID, err)
	}
	es := EntityState{ID: id, Exists: st.Entity != nil && st.Entity.Exists, LastOperation: inst.LastUpdatedAt}
	if es.Exists && st.Entity.State != nil {
		es.State = *st.Entity.State
	}
	return es, nil
}

// jsonText returns s as an Event value: nil for "".
func jsonText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// jsonString returns s encoded as a JSON string.
func jsonString(s string) *string {
	b, _ := json.Marshal(s)
	t := string(b)
	return &t
}
