package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/funcd/funcd/durable"
)

// The durable task hubs (durable.Backend) live in six tables, every row
// keyed by its hub, so that hubs share nothing (schema version 2):
//
//   - funcd_durable_instances: one row per instance (its current
//     execution).
//   - funcd_durable_history: the current execution's events, one JSON row
//     each, numbered by seq from 0.
//   - funcd_durable_messages: the instances' inboxes. due_ns is when a
//     message may be delivered (its VisibleAt, or when it was sent), which
//     orders the hub's ready work; visible_ns is VisibleAt as sent,
//     execution_id the execution the message is for.
//   - funcd_durable_locks: the instances locked for an episode, with the
//     lock's owner, random token and expiry. An instance is ready when it
//     has a due message and no unexpired lock.
//   - funcd_durable_tasks: activity tasks. A locked task's due_ns is its
//     lock's expiry, so one index finds both new tasks and tasks whose
//     owner died.
//   - funcd_durable_hubs: the hubs created.
//
// Several processes share a hub. A claim is one statement: it picks the
// oldest due message (or task) with FOR UPDATE SKIP LOCKED, so that
// claimers in other processes pass over the rows being claimed, and takes
// the instance's lock with an insert whose conflict clause only replaces
// an expired lock: a lock changes hands only after it expired, and a late
// owner's Complete fails with ErrLockLost only when another owner took it
// over. Every write that makes work due wakes the hub's watchers in this
// process and, by a NOTIFY sent after its commit (hubNotifier), in every
// other, so that any process picks the work up at once; the engine's
// dispatchers still poll as a fallback.

var _ durable.Backend = (*Store)(nil)

// durableKey is the watch key (and NOTIFY payload) of a task hub.
func durableKey(hub string) string { return "durable:" + hub }

const (
	durableInstanceColumns = `id, execution_id, name, version, status, input, output, custom_status, parent_id, state, created_ns, updated_ns`
	durableTaskColumns     = `id, instance, execution_id, name, task_id, input, visible_ns, attempts, token`
)

// newLockToken is a random lock token; 0 marks an unlocked task.
func newLockToken() int64 { return rand.Int64N(math.MaxInt64-1) + 1 }

func formatToken(tok int64) string { return strconv.FormatInt(tok, 36) }

// parseToken undoes formatToken; a token this store never gave is 0.
func parseToken(s string) int64 {
	tok, err := strconv.ParseInt(s, 36, 64)
	if err != nil {
		return 0
	}
	return tok
}

// durableErr wraps a database error with what the store was doing.
func durableErr(what string, err error) error {
	return fmt.Errorf("postgres: %s: %w", what, err)
}

func lockLost(hub, id string) error {
	return fmt.Errorf("instance %s of task hub %s: %w", id, hub, durable.ErrLockLost)
}

func notFound(hub, id string) error {
	return fmt.Errorf("instance %s of task hub %s: %w", id, hub, durable.ErrNotFound)
}

// hubNotifier sends the NOTIFYs that wake a task hub's watchers in every
// process, after the writes that call for them have committed. A NOTIFY
// in the writing transaction would serialize the commits of every
// process: PostgreSQL holds a database-wide lock on the notification
// queue from a notifying transaction's commit until the end of its WAL
// flush. Sent apart, without waiting for its own flush (a lost NOTIFY
// costs one poll interval), it is cheap, and the notifier coalesces the
// wake-ups that come while one is being sent into one per hub.
type hubNotifier struct {
	mu      sync.Mutex
	pending map[string]struct{} // hubs to notify; guarded by mu
	wake    chan struct{}
}

func newHubNotifier() *hubNotifier {
	return &hubNotifier{pending: map[string]struct{}{}, wake: make(chan struct{}, 1)}
}

// durableWrote wakes hub's watchers in this process at once and, soon,
// in every other.
func (s *Store) durableWrote(hub string) {
	s.watch.signal(durableKey(hub))
	n := s.hubNotify
	n.mu.Lock()
	n.pending[hub] = struct{}{}
	n.mu.Unlock()
	poke(n.wake)
}

// runHubNotifier sends the pending NOTIFYs until ctx is done.
func (s *Store) runHubNotifier(ctx context.Context) {
	n := s.hubNotify
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		n.mu.Lock()
		hubs := make([]string, 0, len(n.pending))
		for h := range n.pending {
			hubs = append(hubs, durableKey(h))
		}
		clear(n.pending)
		n.mu.Unlock()
		_, err := s.pool.Exec(ctx, `SELECT `+asyncCommit+`, pg_notify($1, k) FROM unnest($2::text[]) AS k`, s.watch.channel, hubs)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("postgres: notify the task hubs' watchers", "err", err)
		}
	}
}

// CreateTaskHub records the hub (the tables serve every hub).
func (s *Store) CreateTaskHub(ctx context.Context, hub string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO funcd_durable_hubs (name, created_ns) VALUES ($1, $2) ON CONFLICT DO NOTHING`, hub, s.now())
	if err != nil {
		return durableErr("create task hub "+hub, err)
	}
	return nil
}

// DeleteTaskHub removes the hub and everything in it.
func (s *Store) DeleteTaskHub(ctx context.Context, hub string) error {
	b := &pgx.Batch{}
	for _, table := range []string{"funcd_durable_instances", "funcd_durable_history", "funcd_durable_messages",
		"funcd_durable_locks", "funcd_durable_tasks"} {
		b.Queue(`DELETE FROM `+table+` WHERE hub = $1`, hub)
	}
	b.Queue(`DELETE FROM funcd_durable_hubs WHERE name = $1`, hub)
	if err := s.runBatch(ctx, b); err != nil {
		return durableErr("delete task hub "+hub, err)
	}
	return nil
}

// runBatch runs b in one transaction.
func (s *Store) runBatch(ctx context.Context, b *pgx.Batch) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, b).Close()
	})
}

// CreateInstance creates inst with start in its inbox, replacing an
// existing instance if policy allows.
func (s *Store) CreateInstance(ctx context.Context, hub string, inst durable.Instance, start durable.Message, policy durable.ReusePolicy) error {
	ev, err := durable.EncodeStoredEvent(&start.Event)
	if err != nil {
		return err
	}
	err = retryDeadlock(func() error { return s.createInstance(ctx, hub, inst, start, ev, policy) })
	if err != nil {
		return err
	}
	s.durableWrote(hub)
	return nil
}

// isDeadlock reports whether err is PostgreSQL's deadlock_detected: the
// transaction was rolled back and may be run again.
func isDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40P01"
}

// retryDeadlock runs f again, a few times, when it fails with a deadlock.
func retryDeadlock(f func() error) error {
	for attempt := 0; ; attempt++ {
		err := f()
		if attempt < 3 && isDeadlock(err) {
			continue
		}
		return err
	}
}

// createInstance is one attempt of CreateInstance.
func (s *Store) createInstance(ctx context.Context, hub string, inst durable.Instance, start durable.Message, ev []byte, policy durable.ReusePolicy) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Two processes starting one new id at once: the second waits for
		// the first's commit, then sees its row.
		lb := &pgx.Batch{}
		lb.Queue(`SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(1) || $2, 0))`, hub, inst.ID)
		lb.Queue(`SELECT status FROM funcd_durable_instances WHERE hub = $1 AND id = $2`, hub, inst.ID)
		br := tx.SendBatch(ctx, lb)
		var status int
		_, err := br.Exec()
		if err == nil {
			err = br.QueryRow().Scan(&status)
		}
		if cerr := br.Close(); cerr != nil && (err == nil || isNoRows(err)) {
			err = cerr
		}
		switch {
		case isNoRows(err):
		case err != nil:
			return durableErr("read instance "+inst.ID, err)
		case policy == durable.OverwriteNonRunning && !durable.Status(status).Terminal():
			return fmt.Errorf("instance %s of task hub %s is %v: %w", inst.ID, hub, durable.Status(status), durable.ErrInstanceExists)
		}
		b := &pgx.Batch{}
		s.queueStart(b, hub, inst, start, ev, s.now())
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return durableErr("create instance "+inst.ID, err)
		}
		return nil
	})
}

// queueStart adds to b the statements that replace the instance inst.ID
// (its row, history, inbox, lock and tasks, when it has a row: a new id
// keeps the messages sent to it before it existed) with a new one whose
// inbox holds start (encoded as ev).
func (s *Store) queueStart(b *pgx.Batch, hub string, inst durable.Instance, start durable.Message, ev []byte, now int64) {
	queueDeleteInstance(b, hub, inst.ID)
	inst.CreatedAt = fromNanos(now)
	queueWriteInstance(b, hub, &inst, now)
	start.InstanceID = inst.ID
	queueMessages(b, hub, now, []durable.Message{start}, [][]byte{ev})
}

// deleteInstanceSQL deletes an instance's row and, when it had one, its
// history, inbox, lock and tasks; it returns 1 when there was a row.
const deleteInstanceSQL = `
WITH i AS (DELETE FROM funcd_durable_instances WHERE hub = $1 AND id = $2 RETURNING id),
     h AS (DELETE FROM funcd_durable_history WHERE hub = $1 AND instance = $2 AND EXISTS (SELECT 1 FROM i)),
     m AS (DELETE FROM funcd_durable_messages WHERE hub = $1 AND instance = $2 AND EXISTS (SELECT 1 FROM i)),
     l AS (DELETE FROM funcd_durable_locks WHERE hub = $1 AND instance = $2 AND EXISTS (SELECT 1 FROM i)),
     t AS (DELETE FROM funcd_durable_tasks WHERE hub = $1 AND instance = $2 AND EXISTS (SELECT 1 FROM i))
SELECT count(*) FROM i`

func queueDeleteInstance(b *pgx.Batch, hub, id string) {
	b.Queue(deleteInstanceSQL, hub, id)
}

// upsertInstanceSQL writes an instance's row; $12 is its new CreatedAt, 0
// to keep the row's (now, $13, for a new row).
const upsertInstanceSQL = `
INSERT INTO funcd_durable_instances (hub, ` + durableInstanceColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CASE WHEN $12::bigint = 0 THEN $13::bigint ELSE $12::bigint END, $13)
ON CONFLICT (hub, id) DO UPDATE SET execution_id = excluded.execution_id, name = excluded.name,
	version = excluded.version, status = excluded.status, input = excluded.input,
	output = excluded.output, custom_status = excluded.custom_status, parent_id = excluded.parent_id,
	state = excluded.state, updated_ns = excluded.updated_ns,
	created_ns = CASE WHEN $12::bigint = 0 THEN funcd_durable_instances.created_ns ELSE $12::bigint END`

// zeroNanos is t in Unix nanoseconds, 0 for the zero time.
func zeroNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func queueWriteInstance(b *pgx.Batch, hub string, inst *durable.Instance, now int64) {
	b.Queue(upsertInstanceSQL, hub, inst.ID, inst.ExecutionID, inst.Name, inst.Version, int(inst.Status),
		inst.Input, inst.Output, inst.CustomStatus, inst.ParentID, inst.State, zeroNanos(inst.CreatedAt), now)
}

// insertMessagesSQL adds messages from arrays, in array order (which is
// the order of their IDs).
const insertMessagesSQL = `
INSERT INTO funcd_durable_messages (hub, instance, execution_id, visible_ns, due_ns, event)
SELECT $1, m.instance, m.execution_id, m.visible_ns, m.due_ns, m.event
FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bytea[])
	WITH ORDINALITY AS m(instance, execution_id, visible_ns, due_ns, event, n)
ORDER BY m.n`

// queueMessages adds to b the insert of msgs, whose events are evs.
func queueMessages(b *pgx.Batch, hub string, now int64, msgs []durable.Message, evs [][]byte) {
	if len(msgs) == 0 {
		return
	}
	instances := make([]string, len(msgs))
	execs := make([]string, len(msgs))
	visible := make([]*int64, len(msgs))
	due := make([]int64, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		instances[i], execs[i], visible[i] = m.InstanceID, m.ExecutionID, nullNanos(m.VisibleAt)
		due[i] = now
		if visible[i] != nil && *visible[i] > now {
			due[i] = *visible[i]
		}
	}
	b.Queue(insertMessagesSQL, hub, instances, execs, visible, due, evs)
}

// encodeMessages encodes the events of msgs.
func encodeMessages(msgs []durable.Message) ([][]byte, error) {
	evs := make([][]byte, len(msgs))
	for i := range msgs {
		var err error
		if evs[i], err = durable.EncodeStoredEvent(&msgs[i].Event); err != nil {
			return nil, err
		}
	}
	return evs, nil
}

// SendMessages adds messages to their instances' inboxes.
func (s *Store) SendMessages(ctx context.Context, hub string, msgs ...durable.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	evs, err := encodeMessages(msgs)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	queueMessages(b, hub, s.now(), msgs, evs)
	if err := s.runBatch(ctx, b); err != nil {
		return durableErr("send messages in task hub "+hub, err)
	}
	s.durableWrote(hub)
	return nil
}

// claimInstanceSQL locks the instance whose oldest due message is oldest
// among those without an unexpired lock. SKIP LOCKED passes over messages
// another claimer is looking at; the insert's conflict clause replaces
// only an expired lock, so that a lock taken meanwhile by another process
// (which the statement's snapshot may not show) is never taken over.
// Like a queue's receive, a claim commits without waiting for its WAL
// flush: a claim lost to a server crash only means the work item is
// claimed again (and its first owner's Complete fails with ErrLockLost).
const claimInstanceSQL = `
WITH c AS (
	SELECT m.instance FROM funcd_durable_messages AS m
	WHERE m.hub = $1 AND m.due_ns <= $2 AND NOT EXISTS (
		SELECT 1 FROM funcd_durable_locks AS l WHERE l.hub = $1 AND l.instance = m.instance AND l.until_ns > $2)
	ORDER BY m.due_ns, m.id
	LIMIT 1
	FOR UPDATE OF m SKIP LOCKED),
ins AS (
	INSERT INTO funcd_durable_locks AS l (hub, instance, owner, token, until_ns)
	SELECT $1, c.instance, $3, $4, $5 FROM c
	ON CONFLICT (hub, instance) DO UPDATE SET owner = excluded.owner, token = excluded.token, until_ns = excluded.until_ns
		WHERE l.until_ns <= $2
	RETURNING l.instance)
SELECT c.instance, EXISTS (SELECT 1 FROM ins), ` + asyncCommit + ` FROM c`

// claimAttempts bounds the claims one LockNextOrchestration tries when it
// loses races to other processes.
const claimAttempts = 3

// LockNextOrchestration locks the ready instance whose oldest due message
// is oldest and reads its work item, in one round trip: the reads find the
// instance through the lock's token.
func (s *Store) LockNextOrchestration(ctx context.Context, hub, owner string, lease time.Duration) (*durable.OrchestrationWorkItem, error) {
	for range claimAttempts {
		now := s.now()
		until := addNanos(now, lease)
		tok := newLockToken()
		wi := &durable.OrchestrationWorkItem{LockToken: formatToken(tok), LockedUntil: fromNanos(until)}
		claimed, err := s.claimWorkItem(ctx, hub, owner, tok, now, until, wi)
		if err != nil || claimed == claimedNone {
			return nil, err
		}
		if claimed == claimedRace {
			// Another process took the instance between this
			// statement's snapshot and its insert: look again.
			continue
		}
		if len(wi.Messages) > 0 {
			return wi, nil
		}
		// The messages were consumed by the owner before, whose commit
		// the claim's snapshot did not show yet: nothing to do.
		if _, err := s.pool.Exec(ctx, `DELETE FROM funcd_durable_locks WHERE hub = $1 AND instance = $2 AND token = $3`,
			hub, wi.InstanceID, tok); err != nil {
			return nil, durableErr("unlock "+wi.InstanceID, err)
		}
	}
	return nil, nil
}

// claim outcomes.
const (
	claimedNone = iota // nothing ready
	claimedRace        // another process locked the instance first
	claimedOne
)

// lockedID is the instance the lock with token $2 holds in hub $1.
const lockedID = `(SELECT instance FROM funcd_durable_locks WHERE token = $2 AND hub = $1)`

// claimWorkItem claims an instance with token tok and reads its row,
// history and due messages into wi.
func (s *Store) claimWorkItem(ctx context.Context, hub, owner string, tok, now, until int64, wi *durable.OrchestrationWorkItem) (int, error) {
	b := &pgx.Batch{}
	b.Queue(claimInstanceSQL, hub, now, owner, tok, until)
	b.Queue(`SELECT `+durableInstanceColumns+` FROM funcd_durable_instances WHERE hub = $1 AND id = `+lockedID, hub, tok)
	b.Queue(`SELECT event FROM funcd_durable_history WHERE hub = $1 AND instance = `+lockedID+` ORDER BY seq`, hub, tok)
	b.Queue(`SELECT id, execution_id, visible_ns, event FROM funcd_durable_messages
		WHERE hub = $1 AND instance = `+lockedID+` AND due_ns <= $3 ORDER BY id`, hub, tok, now)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	var locked bool
	err := br.QueryRow().Scan(&wi.InstanceID, &locked, nil)
	if isNoRows(err) {
		return claimedNone, br.Close()
	}
	if err != nil {
		return claimedNone, durableErr("lock an orchestration in task hub "+hub, err)
	}
	if !locked {
		return claimedRace, br.Close()
	}
	inst, err := scanInstance(br.QueryRow())
	switch {
	case isNoRows(err):
	case err != nil:
		return claimedNone, durableErr("read instance "+wi.InstanceID, err)
	default:
		wi.Instance = inst
	}
	if wi.History, err = scanEvents(br, wi.InstanceID); err != nil {
		return claimedNone, err
	}
	rows, err := br.Query()
	if err != nil {
		return claimedNone, durableErr("read the inbox of "+wi.InstanceID, err)
	}
	wi.Messages, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (durable.Message, error) {
		m := durable.Message{InstanceID: wi.InstanceID}
		var visible *int64
		var ev []byte
		if err := row.Scan(&m.ID, &m.ExecutionID, &visible, &ev); err != nil {
			return m, err
		}
		m.VisibleAt = fromNullNanos(visible)
		var err error
		if m.Event, err = durable.DecodeStoredEvent(ev); err != nil {
			return m, fmt.Errorf("message %d to %s: %w", m.ID, wi.InstanceID, err)
		}
		return m, nil
	})
	if err != nil {
		return claimedNone, durableErr("read the inbox of "+wi.InstanceID, err)
	}
	return claimedOne, br.Close()
}

// scanEvents reads the history query's result from br.
func scanEvents(br pgx.BatchResults, id string) ([]durable.Event, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, durableErr("read the history of "+id, err)
	}
	return collectEvents(rows, id)
}

func collectEvents(rows pgx.Rows, id string) ([]durable.Event, error) {
	n := 0
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (durable.Event, error) {
		var b []byte
		if err := row.Scan(&b); err != nil {
			return durable.Event{}, err
		}
		ev, err := durable.DecodeStoredEvent(b)
		if err != nil {
			return ev, fmt.Errorf("event %d: %w", n, err)
		}
		n++
		return ev, nil
	})
	if err != nil {
		return nil, durableErr("read the history of "+id, err)
	}
	return out, nil
}

func scanInstance(r pgx.Row) (*durable.Instance, error) {
	var inst durable.Instance
	var created, updated int64
	var status int
	err := r.Scan(&inst.ID, &inst.ExecutionID, &inst.Name, &inst.Version, &status, &inst.Input, &inst.Output,
		&inst.CustomStatus, &inst.ParentID, &inst.State, &created, &updated)
	if err != nil {
		return nil, err
	}
	inst.Status = durable.Status(status)
	inst.CreatedAt, inst.LastUpdatedAt = fromNanos(created), fromNanos(updated)
	return &inst, nil
}

// RenewOrchestrationLock extends wi's lock by lease from now.
func (s *Store) RenewOrchestrationLock(ctx context.Context, hub string, wi *durable.OrchestrationWorkItem, lease time.Duration) error {
	until := addNanos(s.now(), lease)
	tag, err := s.pool.Exec(ctx, `UPDATE funcd_durable_locks SET until_ns = $1 WHERE hub = $2 AND instance = $3 AND token = $4`,
		until, hub, wi.InstanceID, parseToken(wi.LockToken))
	if err != nil {
		return durableErr("renew the lock of "+wi.InstanceID, err)
	}
	if tag.RowsAffected() == 0 {
		return lockLost(hub, wi.InstanceID)
	}
	wi.LockedUntil = fromNanos(until)
	return nil
}

// appendHistorySQL appends events after the instance's last one.
const appendHistorySQL = `
INSERT INTO funcd_durable_history (hub, instance, seq, event)
SELECT $1, $2, base.n + e.n - 1, e.event
FROM (SELECT coalesce(max(seq) + 1, 0) AS n FROM funcd_durable_history WHERE hub = $1 AND instance = $2) AS base,
	unnest($3::bytea[]) WITH ORDINALITY AS e(event, n)`

// insertTasksSQL schedules activity tasks from arrays, in array order.
const insertTasksSQL = `
INSERT INTO funcd_durable_tasks (hub, instance, execution_id, name, task_id, input, visible_ns, due_ns)
SELECT $1, t.instance, t.execution_id, t.name, t.task_id, t.input, t.visible_ns, t.due_ns
FROM unnest($2::text[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::bigint[], $8::bigint[])
	WITH ORDINALITY AS t(instance, execution_id, name, task_id, input, visible_ns, due_ns, n)
ORDER BY t.n`

// CompleteOrchestration commits an episode and releases its lock, in one
// transaction and one round trip for the statements.
func (s *Store) CompleteOrchestration(ctx context.Context, hub string, wi *durable.OrchestrationWorkItem, u durable.OrchestrationUpdate) error {
	events := make([][]byte, len(u.NewEvents))
	for i := range u.NewEvents {
		var err error
		if events[i], err = durable.EncodeStoredEvent(&u.NewEvents[i]); err != nil {
			return err
		}
	}
	msgEvs, err := encodeMessages(u.Messages)
	if err != nil {
		return err
	}
	startEvs := make([][]byte, len(u.Starts))
	for i := range u.Starts {
		if startEvs[i], err = durable.EncodeStoredEvent(&u.Starts[i].Message.Event); err != nil {
			return err
		}
	}
	now := s.now()
	id := wi.InstanceID
	b := &pgx.Batch{}
	if len(u.Consumed) > 0 {
		b.Queue(`DELETE FROM funcd_durable_messages WHERE hub = $1 AND instance = $2 AND id = ANY($3)`, hub, id, u.Consumed)
	}
	if u.Instance != nil {
		inst := *u.Instance
		inst.ID = id
		queueWriteInstance(b, hub, &inst, now)
	}
	if u.ResetHistory {
		b.Queue(`DELETE FROM funcd_durable_history WHERE hub = $1 AND instance = $2`, hub, id)
	}
	if len(events) > 0 {
		b.Queue(appendHistorySQL, hub, id, events)
	}
	queueMessages(b, hub, now, u.Messages, msgEvs)
	queueTasks(b, hub, now, u.Tasks)
	for i, st := range u.Starts {
		s.queueStart(b, hub, st.Instance, st.Message, startEvs[i], now)
	}
	// The lock is released (and so checked) last: from then on until the
	// commit, a claimer's insert of the instance's lock waits for this
	// transaction, so this transaction must need no row a claimer holds.
	b.Queue(releaseLockSQL, hub, id, parseToken(wi.LockToken))
	if err := s.commitLocked(ctx, b, hub, id, "complete an episode of "+id); err != nil {
		return err
	}
	s.durableWrote(hub)
	return nil
}

// releaseLockSQL releases an instance's lock if the token still holds it
// and fails with a division by zero (SQLSTATE 22012) when it does not,
// which aborts the batch's transaction. The release makes the instance's
// other messages ready.
const releaseLockSQL = `
WITH d AS (DELETE FROM funcd_durable_locks WHERE hub = $1 AND instance = $2 AND token = $3 RETURNING 1)
SELECT 1 / (SELECT count(*) FROM d)`

// commitLocked runs b, whose last statement is releaseLockSQL, in one round trip and one transaction (a
// batch outside a transaction is one implicit transaction), which fails
// with ErrLockLost when the lock was not held. A deadlock with another
// transaction is retried: nothing was committed.
func (s *Store) commitLocked(ctx context.Context, b *pgx.Batch, hub, id, what string) error {
	err := retryDeadlock(func() error {
		br := s.pool.SendBatch(ctx, b)
		defer br.Close()
		for i := range b.Len() {
			if _, err := br.Exec(); err != nil {
				var pgErr *pgconn.PgError
				if i == b.Len()-1 && errors.As(err, &pgErr) && pgErr.Code == "22012" {
					return lockLost(hub, id)
				}
				return err
			}
		}
		return br.Close()
	})
	if err != nil && !errors.Is(err, durable.ErrLockLost) {
		return durableErr(what, err)
	}
	return err
}

// queueTasks adds to b the insert of tasks.
func queueTasks(b *pgx.Batch, hub string, now int64, tasks []durable.ActivityTask) {
	if len(tasks) == 0 {
		return
	}
	n := len(tasks)
	instances, execs, names, inputs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	taskIDs := make([]int32, n)
	visible := make([]*int64, n)
	due := make([]int64, n)
	for i, t := range tasks {
		instances[i], execs[i], names[i], inputs[i] = t.InstanceID, t.ExecutionID, t.Name, t.Input
		taskIDs[i] = int32(t.TaskID)
		visible[i] = nullNanos(t.VisibleAt)
		due[i] = now
		if visible[i] != nil && *visible[i] > now {
			due[i] = *visible[i]
		}
	}
	b.Queue(insertTasksSQL, hub, instances, execs, names, taskIDs, inputs, visible, due)
}

// AbandonOrchestration releases wi's lock; the instance's due messages are
// due again after delay.
func (s *Store) AbandonOrchestration(ctx context.Context, hub string, wi *durable.OrchestrationWorkItem, delay time.Duration) error {
	now := s.now()
	b := &pgx.Batch{}
	if delay > 0 {
		b.Queue(`UPDATE funcd_durable_messages SET due_ns = $1 WHERE hub = $2 AND instance = $3 AND due_ns <= $4`,
			addNanos(now, delay), hub, wi.InstanceID, now)
	}
	b.Queue(releaseLockSQL, hub, wi.InstanceID, parseToken(wi.LockToken))
	if err := s.commitLocked(ctx, b, hub, wi.InstanceID, "abandon a work item of "+wi.InstanceID); err != nil {
		return err
	}
	s.durableWrote(hub)
	return nil
}

// claimTaskSQL locks the oldest due task; SKIP LOCKED passes over the task
// another claimer is taking. It commits without waiting for its WAL flush,
// as claimInstanceSQL does: a lost claim (and its count in Attempts) only
// means the task is claimed again.
const claimTaskSQL = `
UPDATE funcd_durable_tasks SET due_ns = $1, owner = $2, token = $3, attempts = attempts + 1
WHERE id = (SELECT id FROM funcd_durable_tasks WHERE hub = $4 AND due_ns <= $5 ORDER BY due_ns, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING ` + durableTaskColumns + `, ` + asyncCommit

// LockNextActivity locks the oldest due activity task.
func (s *Store) LockNextActivity(ctx context.Context, hub, owner string, lease time.Duration) (*durable.ActivityTask, error) {
	now := s.now()
	var t durable.ActivityTask
	var visible *int64
	var tok int64
	var taskID int32
	err := s.pool.QueryRow(ctx, claimTaskSQL, addNanos(now, lease), owner, newLockToken(), hub, now).
		Scan(&t.ID, &t.InstanceID, &t.ExecutionID, &t.Name, &taskID, &t.Input, &visible, &t.Attempts, &tok, nil)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, durableErr("lock an activity task in task hub "+hub, err)
	}
	t.TaskID, t.VisibleAt, t.LockToken = int(taskID), fromNullNanos(visible), formatToken(tok)
	return &t, nil
}

// taskLost is ErrLockLost for t.
func taskLost(hub string, t *durable.ActivityTask) error {
	return fmt.Errorf("activity task %d (%s of %s) in task hub %s: %w", t.ID, t.Name, t.InstanceID, hub, durable.ErrLockLost)
}

// RenewActivityLock extends t's lock by lease from now.
func (s *Store) RenewActivityLock(ctx context.Context, hub string, t *durable.ActivityTask, lease time.Duration) error {
	tag, err := s.pool.Exec(ctx, `UPDATE funcd_durable_tasks SET due_ns = $1 WHERE id = $2 AND hub = $3 AND token = $4`,
		addNanos(s.now(), lease), t.ID, hub, parseToken(t.LockToken))
	if err != nil {
		return durableErr("renew the lock of activity task "+strconv.FormatInt(t.ID, 10), err)
	}
	if tag.RowsAffected() == 0 {
		return taskLost(hub, t)
	}
	return nil
}

// completeTaskSQL deletes a locked task and sends its result, in one
// statement, notifying the hub's watchers when it did.
const completeTaskSQL = `
WITH d AS (DELETE FROM funcd_durable_tasks WHERE id = $1 AND hub = $2 AND token = $3 RETURNING id),
     m AS (INSERT INTO funcd_durable_messages (hub, instance, execution_id, visible_ns, due_ns, event)
	SELECT $2, $4, $5, $6, $7, $8 FROM d RETURNING id)
SELECT id FROM m`

// CompleteActivity deletes t and sends result.
func (s *Store) CompleteActivity(ctx context.Context, hub string, t *durable.ActivityTask, result durable.Message) error {
	ev, err := durable.EncodeStoredEvent(&result.Event)
	if err != nil {
		return err
	}
	now := s.now()
	visible := nullNanos(result.VisibleAt)
	due := now
	if visible != nil && *visible > now {
		due = *visible
	}
	tag, err := s.pool.Exec(ctx, completeTaskSQL, t.ID, hub, parseToken(t.LockToken), result.InstanceID, result.ExecutionID,
		visible, due, ev)
	if err != nil {
		return durableErr("complete activity task "+strconv.FormatInt(t.ID, 10), err)
	}
	if tag.RowsAffected() == 0 {
		return taskLost(hub, t)
	}
	s.durableWrote(hub)
	return nil
}

// AbandonActivity releases t's lock; it is due again after delay.
func (s *Store) AbandonActivity(ctx context.Context, hub string, t *durable.ActivityTask, delay time.Duration) error {
	tag, err := s.pool.Exec(ctx, `
UPDATE funcd_durable_tasks SET due_ns = $1, owner = '', token = 0 WHERE id = $2 AND hub = $3 AND token = $4`,
		addNanos(s.now(), max(delay, 0)), t.ID, hub, parseToken(t.LockToken))
	if err != nil {
		return durableErr("abandon activity task "+strconv.FormatInt(t.ID, 10), err)
	}
	if tag.RowsAffected() == 0 {
		return taskLost(hub, t)
	}
	s.durableWrote(hub)
	return nil
}

// NextDue returns the earliest future time at which a message or task
// becomes due, or a lock expires.
func (s *Store) NextDue(ctx context.Context, hub string) (time.Time, bool, error) {
	var next *int64
	err := s.pool.QueryRow(ctx, `SELECT least(
		(SELECT min(due_ns) FROM funcd_durable_messages WHERE hub = $1 AND due_ns > $2),
		(SELECT min(due_ns) FROM funcd_durable_tasks WHERE hub = $1 AND due_ns > $2),
		(SELECT min(until_ns) FROM funcd_durable_locks WHERE hub = $1 AND until_ns > $2))`,
		hub, s.now()).Scan(&next)
	if err != nil {
		return time.Time{}, false, durableErr("read the next due time of task hub "+hub, err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return fromNanos(*next), true, nil
}

// Watch signals after any store on the schema, in any process, adds
// messages or tasks to the hub or releases a lock in it.
func (s *Store) Watch(hub string) (<-chan struct{}, func()) { return s.watch.add(durableKey(hub)) }

// GetInstance reads an instance's row.
func (s *Store) GetInstance(ctx context.Context, hub, id string) (*durable.Instance, error) {
	inst, err := scanInstance(s.pool.QueryRow(ctx,
		`SELECT `+durableInstanceColumns+` FROM funcd_durable_instances WHERE hub = $1 AND id = $2`, hub, id))
	if isNoRows(err) {
		return nil, notFound(hub, id)
	}
	if err != nil {
		return nil, durableErr("read instance "+id, err)
	}
	return inst, nil
}

// GetHistory reads an instance's history.
func (s *Store) GetHistory(ctx context.Context, hub, id string) ([]durable.Event, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT EXISTS (SELECT 1 FROM funcd_durable_instances WHERE hub = $1 AND id = $2)`, hub, id)
	b.Queue(`SELECT event FROM funcd_durable_history WHERE hub = $1 AND instance = $2 ORDER BY seq`, hub, id)
	var h []durable.Event
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		var ok bool
		if err := br.QueryRow().Scan(&ok); err != nil {
			return durableErr("read instance "+id, err)
		}
		if !ok {
			return notFound(hub, id)
		}
		var err error
		if h, err = scanEvents(br, id); err != nil {
			return err
		}
		return br.Close()
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// defaultPageSize is a listing's page size when the query gives none.
const defaultPageSize = 100

// instanceFilter is q's WHERE clause and arguments (without paging).
func instanceFilter(hub string, q durable.InstanceQuery) (string, []any) {
	var b strings.Builder
	args := []any{hub}
	b.WriteString(`hub = $1`)
	cond := func(c string, v any) {
		args = append(args, v)
		fmt.Fprintf(&b, " AND "+c, len(args))
	}
	if !q.CreatedFrom.IsZero() {
		cond(`created_ns >= $%d`, q.CreatedFrom.UnixNano())
	}
	if !q.CreatedTo.IsZero() {
		cond(`created_ns <= $%d`, q.CreatedTo.UnixNano())
	}
	if !q.LastUpdatedFrom.IsZero() {
		cond(`updated_ns >= $%d`, q.LastUpdatedFrom.UnixNano())
	}
	if !q.LastUpdatedTo.IsZero() {
		cond(`updated_ns <= $%d`, q.LastUpdatedTo.UnixNano())
	}
	if q.IDPrefix != "" {
		cond(`starts_with(id, $%d)`, q.IDPrefix)
	}
	if q.Entities {
		b.WriteString(` AND id >= '@' AND id < 'A'`)
	} else {
		b.WriteString(` AND NOT (id >= '@' AND id < 'A')`)
	}
	if len(q.Statuses) > 0 {
		st := make([]int32, len(q.Statuses))
		for i, s := range q.Statuses {
			st[i] = int32(s)
		}
		cond(`status = ANY($%d)`, st)
	}
	return b.String(), args
}

// ListInstances returns a page of the instances matching q, ordered by
// creation time then id.
func (s *Store) ListInstances(ctx context.Context, hub string, q durable.InstanceQuery) ([]*durable.Instance, string, error) {
	where, args := instanceFilter(hub, q)
	if q.Continuation != "" {
		created, id, err := durable.ParseContinuation(q.Continuation)
		if err != nil {
			return nil, "", err
		}
		args = append(args, created, id)
		where += fmt.Sprintf(` AND (created_ns, id) > ($%d, $%d)`, len(args)-1, len(args))
	}
	size := q.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	args = append(args, size+1)
	rows, err := s.pool.Query(ctx, `SELECT `+durableInstanceColumns+` FROM funcd_durable_instances
		WHERE `+where+` ORDER BY created_ns, id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", durableErr("list the instances of task hub "+hub, err)
	}
	page, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*durable.Instance, error) { return scanInstance(row) })
	if err != nil {
		return nil, "", durableErr("list the instances of task hub "+hub, err)
	}
	if len(page) <= size {
		return page, "", nil
	}
	page = page[:size]
	return page, durable.Continuation(page[size-1]), nil
}

// PurgeInstances deletes every instance matching q, in one transaction.
func (s *Store) PurgeInstances(ctx context.Context, hub string, q durable.InstanceQuery) (int, error) {
	where, args := instanceFilter(hub, q)
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM funcd_durable_instances WHERE `+where+` FOR UPDATE`, args...)
		if err != nil {
			return durableErr("purge the instances of task hub "+hub, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return durableErr("purge the instances of task hub "+hub, err)
		}
		b := &pgx.Batch{}
		for _, id := range ids {
			queueDeleteInstance(b, hub, id)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return durableErr("purge the instances of task hub "+hub, err)
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// PurgeInstance deletes one instance.
func (s *Store) PurgeInstance(ctx context.Context, hub, id string) error {
	var n int
	if err := s.pool.QueryRow(ctx, deleteInstanceSQL, hub, id).Scan(&n); err != nil {
		return durableErr("purge instance "+id, err)
	}
	if n == 0 {
		return notFound(hub, id)
	}
	return nil
}
