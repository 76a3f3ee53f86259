package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/funcd/funcd/durable"
)

// The durable task hubs (durable.Backend) live in six tables, every row
// keyed by its hub:
//
//   - durable_instances: one row per instance (its current execution).
//   - durable_history: the current execution's events, one JSON row each,
//     numbered by seq from 0.
//   - durable_messages: the instances' inboxes. due is when a message may
//     be delivered (its VisibleAt, or when it was sent), which orders the
//     hub's ready work; visible is VisibleAt as sent; execution_id is the
//     message's ExecutionID, NULL for none (added by migration 3, so not
//     in the CREATE TABLE below).
//   - durable_locks: the instances locked for an episode, with the lock's
//     random token and expiry. An instance is ready when it has a due
//     message and no unexpired lock.
//   - durable_tasks: activity tasks. A locked task's due is its lock's
//     expiry, so one index finds both new tasks and tasks whose owner
//     died.
//   - durable_hubs: the hubs created.
//
// Every write goes through the group-commit batcher, and LockNext*
// and NextDue walk the (hub, due) indexes from their start, so their cost
// does not grow with the number of instances waiting for a timer or an
// activity.
const durableSchema = `
CREATE TABLE durable_hubs (
	name    TEXT PRIMARY KEY,
	created INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE durable_instances (
	hub           TEXT NOT NULL,
	id            TEXT NOT NULL,
	execution_id  TEXT NOT NULL,
	name          TEXT NOT NULL,
	version       TEXT NOT NULL,
	status        INTEGER NOT NULL,
	input         TEXT NOT NULL,
	output        TEXT NOT NULL,
	custom_status TEXT NOT NULL,
	parent_id     TEXT NOT NULL,
	state         BLOB,
	created       INTEGER NOT NULL,
	updated       INTEGER NOT NULL,
	PRIMARY KEY (hub, id)
) WITHOUT ROWID;
CREATE INDEX durable_instances_created ON durable_instances (hub, created, id);

CREATE TABLE durable_history (
	hub      TEXT NOT NULL,
	instance TEXT NOT NULL,
	seq      INTEGER NOT NULL,
	event    BLOB NOT NULL,
	PRIMARY KEY (hub, instance, seq)
) WITHOUT ROWID;

CREATE TABLE durable_messages (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	hub      TEXT NOT NULL,
	instance TEXT NOT NULL,
	visible  INTEGER NOT NULL,
	due      INTEGER NOT NULL,
	event    BLOB NOT NULL
);
-- Ready work, oldest due first (the rowid breaks ties in send order).
CREATE INDEX durable_messages_due ON durable_messages (hub, due);
-- One instance's inbox, in ID order.
CREATE INDEX durable_messages_inbox ON durable_messages (hub, instance);

CREATE TABLE durable_locks (
	hub      TEXT NOT NULL,
	instance TEXT NOT NULL,
	owner    TEXT NOT NULL,
	token    INTEGER NOT NULL,
	until    INTEGER NOT NULL,
	PRIMARY KEY (hub, instance)
) WITHOUT ROWID;
CREATE INDEX durable_locks_until ON durable_locks (hub, until);

CREATE TABLE durable_tasks (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	hub          TEXT NOT NULL,
	instance     TEXT NOT NULL,
	execution_id TEXT NOT NULL,
	name         TEXT NOT NULL,
	task_id      INTEGER NOT NULL,
	input        TEXT NOT NULL,
	visible      INTEGER NOT NULL,
	due          INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	owner        TEXT NOT NULL DEFAULT '',
	token        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX durable_tasks_due ON durable_tasks (hub, due);
CREATE INDEX durable_tasks_instance ON durable_tasks (hub, instance);
`

var _ durable.Backend = (*Store)(nil)

// durableStatements are the prepared statements of the durable hot paths:
// writes on the writing connection, reads on the reading ones.
type durableStatements struct {
	insMessage, delMessage, insTask, insLockedTask, nextSeq, upsertInstance, lockToken, delLock,
	pickInstance, pickInstances, setLock, lockIfIdle, lockTask, lockTasks, deleteTask, instanceStatus, hasDueMessage *sql.Stmt
	// insHistory[k] appends k events to a history in one statement.
	insHistory [maxHistoryRows + 1]*sql.Stmt
	nextDue    *sql.Stmt
	// dataVersion reads PRAGMA data_version on the writing connection.
	dataVersion *sql.Stmt
	// The reads of a work item on the reading connections, and on the
	// writing one for the work items a commit hands off.
	rd, wrd workReads
}

// workReads are the statements that read a work item.
type workReads struct {
	instance, history, historyFrom, inbox *sql.Stmt
}

func (st *durableStatements) close() {
	for _, s := range append([]*sql.Stmt{st.insMessage, st.delMessage, st.insTask, st.insLockedTask, st.nextSeq,
		st.upsertInstance, st.lockToken, st.hasDueMessage, st.delLock, st.pickInstance, st.pickInstances, st.setLock, st.lockIfIdle, st.lockTask, st.lockTasks, st.deleteTask,
		st.instanceStatus, st.nextDue, st.dataVersion, st.rd.instance, st.rd.history, st.rd.historyFrom, st.rd.inbox,
		st.wrd.instance, st.wrd.history, st.wrd.historyFrom, st.wrd.inbox}, st.insHistory[:]...) {
		if s != nil {
			s.Close()
		}
	}
}

const (
	instanceColumns = `id, execution_id, name, version, status, input, output, custom_status, parent_id, state, created, updated`
	taskColumns     = `id, instance, execution_id, name, task_id, input, visible, attempts, token`
)

func (s *Store) prepareDurable(ctx context.Context) error {
	type prep = struct {
		db    *sql.DB
		stmt  **sql.Stmt
		query string
	}
	var reads []prep
	for _, r := range []struct {
		db *sql.DB
		rs *workReads
	}{{s.r, &s.dstmts.rd}, {s.w, &s.dstmts.wrd}} {
		reads = append(reads,
			prep{r.db, &r.rs.instance, `SELECT ` + instanceColumns + ` FROM durable_instances WHERE hub = ? AND id = ?`},
			prep{r.db, &r.rs.history, `SELECT event FROM durable_history WHERE hub = ? AND instance = ? ORDER BY seq`},
			prep{r.db, &r.rs.historyFrom, `SELECT seq, event FROM durable_history WHERE hub = ? AND instance = ? AND seq >= ? ORDER BY seq`},
			prep{r.db, &r.rs.inbox, `SELECT id, visible, event, coalesce(execution_id, '') FROM durable_messages INDEXED BY durable_messages_inbox
			WHERE hub = ? AND instance = ? AND due <= ? ORDER BY id`})
	}
	for k := 1; k <= maxHistoryRows; k++ {
		reads = append(reads, prep{s.w, &s.dstmts.insHistory[k], historyInsert(k)})
	}
	for _, p := range append(reads, []struct {
		db    *sql.DB
		stmt  **sql.Stmt
		query string
	}{
		{s.w, &s.dstmts.insMessage, `INSERT INTO durable_messages (hub, instance, visible, due, event, execution_id) VALUES (?, ?, ?, ?, ?, nullif(?, ''))`},
		{s.w, &s.dstmts.delMessage, `DELETE FROM durable_messages WHERE id = ? AND hub = ? AND instance = ?`},
		{s.w, &s.dstmts.insTask, `INSERT INTO durable_tasks (hub, instance, execution_id, name, task_id, input, visible, due)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
		{s.w, &s.dstmts.insLockedTask, `INSERT INTO durable_tasks (hub, instance, execution_id, name, task_id, input, visible, due, attempts, owner, token)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`},
		// Locks an instance that has no task left and no unexpired lock
		// (?6 is now): one row changed when it did.
		{s.w, &s.dstmts.lockIfIdle, `INSERT OR REPLACE INTO durable_locks (hub, instance, owner, token, until)
			SELECT ?1, ?2, ?3, ?4, ?5
			WHERE NOT EXISTS (SELECT 1 FROM durable_tasks INDEXED BY durable_tasks_instance WHERE hub = ?1 AND instance = ?2)
			AND NOT EXISTS (SELECT 1 FROM durable_locks WHERE hub = ?1 AND instance = ?2 AND until > ?6)`},
		{s.w, &s.dstmts.hasDueMessage, `SELECT 1 FROM durable_messages INDEXED BY durable_messages_inbox
			WHERE hub = ? AND instance = ? AND due <= ? LIMIT 1`},
		{s.w, &s.dstmts.nextSeq, `SELECT coalesce(max(seq) + 1, 0) FROM durable_history WHERE hub = ? AND instance = ?`},
		// ?11 is the row's new CreatedAt, 0 to keep the row's (now for a
		// new row).
		{s.w, &s.dstmts.upsertInstance, `INSERT INTO durable_instances (hub, ` + instanceColumns + `)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, CASE WHEN ?12 = 0 THEN ?13 ELSE ?12 END, ?13)
			ON CONFLICT (hub, id) DO UPDATE SET execution_id = excluded.execution_id, name = excluded.name,
				version = excluded.version, status = excluded.status, input = excluded.input,
				output = excluded.output, custom_status = excluded.custom_status, parent_id = excluded.parent_id,
				state = excluded.state, updated = excluded.updated,
				created = CASE WHEN ?12 = 0 THEN durable_instances.created ELSE ?12 END`},
		{s.w, &s.dstmts.lockToken, `SELECT token FROM durable_locks WHERE hub = ? AND instance = ?`},
		{s.w, &s.dstmts.dataVersion, `PRAGMA data_version`},
		{s.w, &s.dstmts.delLock, `DELETE FROM durable_locks WHERE hub = ? AND instance = ? AND token = ?`},
		// The instance whose oldest due message is oldest, among those
		// without an unexpired lock.
		{s.w, &s.dstmts.pickInstance, `SELECT m.instance FROM durable_messages AS m INDEXED BY durable_messages_due
			WHERE m.hub = ?1 AND m.due <= ?2 AND NOT EXISTS (
				SELECT 1 FROM durable_locks AS l WHERE l.hub = ?1 AND l.instance = m.instance AND l.until > ?2)
			ORDER BY m.due, m.id LIMIT 1`},
		// The ready instances' due messages, oldest first: the caller
		// keeps the first of each instance.
		{s.w, &s.dstmts.pickInstances, `SELECT m.instance FROM durable_messages AS m INDEXED BY durable_messages_due
			WHERE m.hub = ?1 AND m.due <= ?2 AND NOT EXISTS (
				SELECT 1 FROM durable_locks AS l WHERE l.hub = ?1 AND l.instance = m.instance AND l.until > ?2)
			ORDER BY m.due, m.id`},
		{s.w, &s.dstmts.setLock, `INSERT OR REPLACE INTO durable_locks (hub, instance, owner, token, until) VALUES (?, ?, ?, ?, ?)`},
		// One statement takes the task, so that two lockers never take
		// the same one.
		{s.w, &s.dstmts.lockTask, `UPDATE durable_tasks SET due = ?1, owner = ?2, token = ?3, attempts = attempts + 1
			WHERE id = (SELECT id FROM durable_tasks INDEXED BY durable_tasks_due
				WHERE hub = ?4 AND due <= ?5 ORDER BY due, id LIMIT 1)
			RETURNING ` + taskColumns},
		// LIMIT +?6, not ?6: SQLite re-prepares a statement whose LIMIT
		// is a bare parameter each time a new value is bound to it.
		{s.w, &s.dstmts.lockTasks, `UPDATE durable_tasks SET due = ?1, owner = ?2, token = ?3, attempts = attempts + 1
			WHERE id IN (SELECT id FROM durable_tasks INDEXED BY durable_tasks_due
				WHERE hub = ?4 AND due <= ?5 ORDER BY due, id LIMIT +?6)
			RETURNING ` + taskColumns},
		{s.w, &s.dstmts.deleteTask, `DELETE FROM durable_tasks WHERE id = ? AND hub = ? AND token = ?`},
		{s.w, &s.dstmts.instanceStatus, `SELECT status FROM durable_instances WHERE hub = ? AND id = ?`},
		{s.r, &s.dstmts.nextDue, `SELECT min(t) FROM (
			SELECT min(due) AS t FROM durable_messages INDEXED BY durable_messages_due WHERE hub = ?1 AND due > ?2
			UNION ALL SELECT min(due) FROM durable_tasks INDEXED BY durable_tasks_due WHERE hub = ?1 AND due > ?2
			UNION ALL SELECT min(until) FROM durable_locks INDEXED BY durable_locks_until WHERE hub = ?1 AND until > ?2)`},
	}...) {
		st, err := p.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", p.query, err)
		}
		*p.stmt = st
	}
	return nil
}

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

// CreateTaskHub records the hub (the tables serve every hub).
func (s *Store) CreateTaskHub(ctx context.Context, hub string) error {
	return s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO durable_hubs (name, created) VALUES (?, ?)`, hub, nanos(s.clock.Now()))
		if err != nil {
			return sqlErr("create task hub "+hub, err)
		}
		return nil
	})
}

// DeleteTaskHub removes the hub and everything in it.
func (s *Store) DeleteTaskHub(ctx context.Context, hub string) error {
	return s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, table := range []string{"durable_instances", "durable_history", "durable_messages", "durable_locks", "durable_tasks"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE hub = ?`, hub); err != nil {
				return sqlErr("delete task hub "+hub, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM durable_hubs WHERE name = ?`, hub); err != nil {
			return sqlErr("delete task hub "+hub, err)
		}
		s.histories.clear()
		return nil
	})
}

// CreateInstance creates inst with start in its inbox, replacing an
// existing instance if policy allows.
func (s *Store) CreateInstance(ctx context.Context, hub string, inst durable.Instance, start durable.Message, policy durable.ReusePolicy) error {
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.startInstance(ctx, tx, hub, inst, start, policy)
	})
	if err != nil {
		return err
	}
	s.durableW.notify(hub)
	return nil
}

// startInstance writes a new instance's row and start message, replacing
// the instance with the same id if policy allows. It checks before it
// writes, so that a refusal leaves the batch's transaction as it was.
func (s *Store) startInstance(ctx context.Context, tx *sql.Tx, hub string, inst durable.Instance, start durable.Message, policy durable.ReusePolicy) error {
	var status durable.Status
	err := tx.StmtContext(ctx, s.dstmts.instanceStatus).QueryRowContext(ctx, hub, inst.ID).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// A new id keeps the messages sent to it before it existed.
	case err != nil:
		return sqlErr("read instance "+inst.ID, err)
	case policy == durable.OverwriteNonRunning && !status.Terminal():
		return fmt.Errorf("instance %s of task hub %s is %v: %w", inst.ID, hub, status, durable.ErrInstanceExists)
	default:
		if _, err := s.deleteInstance(ctx, tx, hub, inst.ID); err != nil {
			return err
		}
	}
	now := s.clock.Now()
	inst.CreatedAt = now
	if err := s.writeInstance(ctx, tx, hub, &inst, now); err != nil {
		return err
	}
	start.InstanceID = inst.ID
	return s.insertMessages(ctx, tx, hub, now, start)
}

// deleteInstance deletes an instance's row, history, inbox, lock and
// tasks, and reports whether it had a row.
func (s *Store) deleteInstance(ctx context.Context, tx *sql.Tx, hub, id string) (bool, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM durable_instances WHERE hub = ? AND id = ?`, hub, id)
	if err != nil {
		return false, sqlErr("delete instance "+id, err)
	}
	for _, q := range []string{
		`DELETE FROM durable_history WHERE hub = ? AND instance = ?`,
		`DELETE FROM durable_messages WHERE hub = ? AND instance = ?`,
		`DELETE FROM durable_locks WHERE hub = ? AND instance = ?`,
		`DELETE FROM durable_tasks WHERE hub = ? AND instance = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, hub, id); err != nil {
			return false, sqlErr("delete instance "+id, err)
		}
	}
	s.histories.drop(hub, id)
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// writeInstance inserts or updates an instance's row; a zero CreatedAt
// keeps the row's (now for a new row).
func (s *Store) writeInstance(ctx context.Context, tx *sql.Tx, hub string, inst *durable.Instance, now time.Time) error {
	s.histories.writing(hub, inst.ID)
	_, err := tx.StmtContext(ctx, s.dstmts.upsertInstance).ExecContext(ctx, hub, inst.ID, inst.ExecutionID, inst.Name,
		inst.Version, inst.Status, inst.Input, inst.Output, inst.CustomStatus, inst.ParentID, inst.State,
		nanos(inst.CreatedAt), now.UnixNano())
	if err != nil {
		return sqlErr("write instance "+inst.ID, err)
	}
	return nil
}

// insertMessages adds messages to their instances' inboxes.
func (s *Store) insertMessages(ctx context.Context, tx *sql.Tx, hub string, now time.Time, msgs ...durable.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	stmt := tx.StmtContext(ctx, s.dstmts.insMessage)
	for i := range msgs {
		m := &msgs[i]
		ev, err := durable.EncodeStoredEvent(&m.Event)
		if err != nil {
			return err
		}
		due := now
		if m.VisibleAt.After(now) {
			due = m.VisibleAt
		}
		if _, err := stmt.ExecContext(ctx, hub, m.InstanceID, nanos(m.VisibleAt), due.UnixNano(), ev, m.ExecutionID); err != nil {
			return sqlErr("send a message to "+m.InstanceID, err)
		}
	}
	return nil
}

// SendMessages adds messages to their instances' inboxes.
func (s *Store) SendMessages(ctx context.Context, hub string, msgs ...durable.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.insertMessages(ctx, tx, hub, s.clock.Now(), msgs...)
	})
	if err != nil {
		return err
	}
	s.durableW.notify(hub)
	return nil
}

// LockNextOrchestration locks the ready instance whose oldest due message
// is oldest and reads its work item.
func (s *Store) LockNextOrchestration(ctx context.Context, hub, owner string, lease time.Duration) (*durable.OrchestrationWorkItem, error) {
	now := s.clock.Now()
	until := now.Add(lease)
	var id string
	tok := newLockToken()
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := tx.StmtContext(ctx, s.dstmts.pickInstance).QueryRowContext(ctx, hub, now.UnixNano()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return sqlErr("find an orchestration to lock in task hub "+hub, err)
		}
		if _, err := tx.StmtContext(ctx, s.dstmts.setLock).ExecContext(ctx, hub, id, owner, tok, until.UnixNano()); err != nil {
			return sqlErr("lock instance "+id, err)
		}
		return nil
	})
	if err != nil || id == "" {
		return nil, err
	}
	// The lock keeps the instance's row and history as they are read
	// here, outside the write lock.
	wi := &durable.OrchestrationWorkItem{InstanceID: id, LockToken: formatToken(tok), LockedUntil: until.UTC()}
	if err := s.readWorkItem(ctx, hub, wi, now); err != nil {
		return nil, err
	}
	return wi, nil
}

var _ durable.BatchLocker = (*Store)(nil)

// LockNextOrchestrations locks up to max ready instances, oldest due
// message first, in one transaction, and reads their work items.
func (s *Store) LockNextOrchestrations(ctx context.Context, hub, owner string, lease time.Duration, max int) ([]*durable.OrchestrationWorkItem, error) {
	now := s.clock.Now()
	until := now.Add(lease)
	var ids []string
	var toks []int64
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ids, toks = ids[:0], toks[:0]
		rows, err := tx.StmtContext(ctx, s.dstmts.pickInstances).QueryContext(ctx, hub, now.UnixNano())
		if err != nil {
			return sqlErr("find orchestrations to lock in task hub "+hub, err)
		}
		for len(ids) < max && rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return sqlErr("find orchestrations to lock in task hub "+hub, err)
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return sqlErr("find orchestrations to lock in task hub "+hub, err)
		}
		set := tx.StmtContext(ctx, s.dstmts.setLock)
		for _, id := range ids {
			tok := newLockToken()
			if _, err := set.ExecContext(ctx, hub, id, owner, tok, until.UnixNano()); err != nil {
				return sqlErr("lock instance "+id, err)
			}
			toks = append(toks, tok)
		}
		return nil
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	// One read transaction for all: the locks keep the rows as they are.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, sqlErr("read the work items of task hub "+hub, err)
	}
	defer tx.Rollback()
	wis := make([]*durable.OrchestrationWorkItem, len(ids))
	for i, id := range ids {
		wis[i] = &durable.OrchestrationWorkItem{InstanceID: id, LockToken: formatToken(toks[i]), LockedUntil: until.UTC()}
		if err := s.readWorkItemIn(ctx, tx, &s.dstmts.rd, hub, wis[i], now); err != nil {
			// The locks taken expire: their instances are taken again then.
			return nil, err
		}
	}
	return wis, nil
}

// LockNextActivities locks up to max due activity tasks, oldest first, in
// one statement.
func (s *Store) LockNextActivities(ctx context.Context, hub, owner string, lease time.Duration, max int) ([]*durable.ActivityTask, error) {
	now := s.clock.Now()
	var out []*durable.ActivityTask
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.StmtContext(ctx, s.dstmts.lockTasks).QueryContext(ctx, now.Add(lease).UnixNano(), owner, newLockToken(), hub, now.UnixNano(), max)
		if err != nil {
			return sqlErr("lock activity tasks in task hub "+hub, err)
		}
		defer rows.Close()
		for rows.Next() {
			var visible, tok int64
			at := &durable.ActivityTask{}
			if err := rows.Scan(&at.ID, &at.InstanceID, &at.ExecutionID, &at.Name, &at.TaskID, &at.Input, &visible, &at.Attempts, &tok); err != nil {
				return sqlErr("lock activity tasks in task hub "+hub, err)
			}
			at.VisibleAt, at.LockToken = fromNanos(visible), formatToken(tok)
			out = append(out, at)
		}
		if err := rows.Err(); err != nil {
			return sqlErr("lock activity tasks in task hub "+hub, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives the rows in no set order: oldest first.
	slices.SortFunc(out, func(a, b *durable.ActivityTask) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// readWorkItem reads a locked instance's row, history and due messages in
// one read transaction.
func (s *Store) readWorkItem(ctx context.Context, hub string, wi *durable.OrchestrationWorkItem, now time.Time) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return sqlErr("read instance "+wi.InstanceID, err)
	}
	defer tx.Rollback()
	return s.readWorkItemIn(ctx, tx, &s.dstmts.rd, hub, wi, now)
}

// readWorkItemIn reads a locked instance's work item in tx.
func (s *Store) readWorkItemIn(ctx context.Context, tx *sql.Tx, rs *workReads, hub string, wi *durable.OrchestrationWorkItem, now time.Time) error {
	// In a write (the work items a commit hands off), the row and history
	// this Store's commits wrote are read from the cache alone.
	inWrite := rs == &s.dstmts.wrd
	if h := s.histories.get(hub, wi.InstanceID); inWrite && h != nil && h.exact && h.inst != nil {
		inst := *h.inst
		wi.Instance, wi.History = &inst, slices.Clone(h.events)
	} else {
		inst, err := scanInstance(tx.StmtContext(ctx, rs.instance).QueryRowContext(ctx, hub, wi.InstanceID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return sqlErr("read instance "+wi.InstanceID, err)
		default:
			wi.Instance = inst
		}
		if wi.History, err = s.readHistoryCached(ctx, tx, rs, hub, wi.InstanceID, inWrite); err != nil {
			return err
		}
	}
	rows, err := tx.StmtContext(ctx, rs.inbox).QueryContext(ctx, hub, wi.InstanceID, now.UnixNano())
	if err != nil {
		return sqlErr("read the inbox of "+wi.InstanceID, err)
	}
	defer rows.Close()
	for rows.Next() {
		m := durable.Message{InstanceID: wi.InstanceID}
		var visible int64
		var ev []byte
		if err := rows.Scan(&m.ID, &visible, &ev, &m.ExecutionID); err != nil {
			return sqlErr("read the inbox of "+wi.InstanceID, err)
		}
		m.VisibleAt = fromNanos(visible)
		if m.Event, err = durable.DecodeStoredEvent(ev); err != nil {
			return fmt.Errorf("message %d to %s: %w", m.ID, wi.InstanceID, err)
		}
		wi.Messages = append(wi.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return sqlErr("read the inbox of "+wi.InstanceID, err)
	}
	return nil
}

// readEvents reads an instance's history.
func (s *Store) readEvents(ctx context.Context, tx *sql.Tx, hub, id string) ([]durable.Event, error) {
	out, _, err := s.readEventsRaw(ctx, tx, &s.dstmts.rd, hub, id)
	return out, err
}

// readEventsRaw reads an instance's history, and the stored form of its
// last event.
func (s *Store) readEventsRaw(ctx context.Context, tx *sql.Tx, rs *workReads, hub, id string) ([]durable.Event, []byte, error) {
	rows, err := tx.StmtContext(ctx, rs.history).QueryContext(ctx, hub, id)
	if err != nil {
		return nil, nil, sqlErr("read the history of "+id, err)
	}
	defer rows.Close()
	var out []durable.Event
	var last []byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, nil, sqlErr("read the history of "+id, err)
		}
		ev, err := durable.DecodeStoredEvent(b)
		if err != nil {
			return nil, nil, fmt.Errorf("history of %s, event %d: %w", id, len(out), err)
		}
		out = append(out, ev)
		last = b
	}
	if err := rows.Err(); err != nil {
		return nil, nil, sqlErr("read the history of "+id, err)
	}
	return out, last, nil
}

func scanInstance(r rowScanner) (*durable.Instance, error) {
	var inst durable.Instance
	var created, updated int64
	err := r.Scan(&inst.ID, &inst.ExecutionID, &inst.Name, &inst.Version, &inst.Status, &inst.Input, &inst.Output,
		&inst.CustomStatus, &inst.ParentID, &inst.State, &created, &updated)
	if err != nil {
		return nil, err
	}
	inst.CreatedAt, inst.LastUpdatedAt = fromNanos(created), fromNanos(updated)
	return &inst, nil
}

// unlock deletes wi's lock, ErrLockLost when it is not the instance's
// current one.
func (s *Store) unlock(ctx context.Context, tx *sql.Tx, hub string, wi *durable.OrchestrationWorkItem) error {
	res, err := tx.StmtContext(ctx, s.dstmts.delLock).ExecContext(ctx, hub, wi.InstanceID, parseToken(wi.LockToken))
	if err != nil {
		return sqlErr("unlock "+wi.InstanceID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("instance %s of task hub %s: %w", wi.InstanceID, hub, durable.ErrLockLost)
	}
	return nil
}

// checkLock is ErrLockLost unless wi's lock is the instance's current one.
func (s *Store) checkLock(ctx context.Context, tx *sql.Tx, hub string, wi *durable.OrchestrationWorkItem) error {
	var tok int64
	err := tx.StmtContext(ctx, s.dstmts.lockToken).QueryRowContext(ctx, hub, wi.InstanceID).Scan(&tok)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && tok != parseToken(wi.LockToken)) {
		return fmt.Errorf("instance %s of task hub %s: %w", wi.InstanceID, hub, durable.ErrLockLost)
	}
	if err != nil {
		return sqlErr("check the lock of "+wi.InstanceID, err)
	}
	return nil
}

// RenewOrchestrationLock extends wi's lock by lease from now.
func (s *Store) RenewOrchestrationLock(ctx context.Context, hub string, wi *durable.OrchestrationWorkItem, lease time.Duration) error {
	until := s.clock.Now().Add(lease)
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE durable_locks SET until = ? WHERE hub = ? AND instance = ? AND token = ?`,
			until.UnixNano(), hub, wi.InstanceID, parseToken(wi.LockToken))
		if err != nil {
			return sqlErr("renew the lock of "+wi.InstanceID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("instance %s of task hub %s: %w", wi.InstanceID, hub, durable.ErrLockLost)
		}
		return nil
	})
	if err != nil {
		return err
	}
	wi.LockedUntil = until.UTC()
	return nil
}

// CompleteOrchestration commits an episode and releases its lock.
func (s *Store) CompleteOrchestration(ctx context.Context, hub string, wi *durable.OrchestrationWorkItem, u durable.OrchestrationUpdate) error {
	_, err := s.completeOrchestration(ctx, hub, wi, u, "", 0, 0)
	return err
}

var _ durable.Handoff = (*Store)(nil)

// CompleteOrchestrationLocking commits an episode, releases its lock, and
// locks for owner up to max of the activity tasks it schedules that are
// due at once.
func (s *Store) CompleteOrchestrationLocking(ctx context.Context, hub string, wi *durable.OrchestrationWorkItem, u durable.OrchestrationUpdate, owner string, lease time.Duration, max int) ([]*durable.ActivityTask, error) {
	return s.completeOrchestration(ctx, hub, wi, u, owner, lease, max)
}

// completeOrchestration commits an episode and releases its lock; with
// max > 0, up to max of the tasks due at once are inserted locked for
// owner until now+lease and returned, and Watch is told only of what is
// left to claim.
func (s *Store) completeOrchestration(ctx context.Context, hub string, wi *durable.OrchestrationWorkItem, u durable.OrchestrationUpdate, owner string, lease time.Duration, max int) ([]*durable.ActivityTask, error) {
	// Encode outside the write lock.
	events := make([][]byte, len(u.NewEvents))
	for i := range u.NewEvents {
		var err error
		if events[i], err = durable.EncodeStoredEvent(&u.NewEvents[i]); err != nil {
			return nil, err
		}
	}
	var locked []*durable.ActivityTask
	announce := true
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		locked, announce = locked[:0], true
		// Unlocking first checks the lock: a lock that is not wi's
		// anymore is ErrLockLost before anything is written.
		if err := s.unlock(ctx, tx, hub, wi); err != nil {
			return err
		}
		now := s.clock.Now()
		id := wi.InstanceID
		s.histories.writing(hub, id)
		// The row as the database will hold it: wi's (read under the
		// lock) unless the update writes a new one.
		var row *durable.Instance
		if wi.Instance != nil {
			inst := *wi.Instance
			row = &inst
		}
		if u.Instance != nil {
			inst := *u.Instance
			inst.ID = id
			if err := s.writeInstance(ctx, tx, hub, &inst, now); err != nil {
				return err
			}
			switch {
			case !inst.CreatedAt.IsZero():
			case wi.Instance != nil:
				inst.CreatedAt = wi.Instance.CreatedAt
			default:
				inst.CreatedAt = now
			}
			inst.CreatedAt, inst.LastUpdatedAt = fromNanos(nanos(inst.CreatedAt)), fromNanos(now.UnixNano())
			row = &inst
		}
		seq := 0
		if u.ResetHistory {
			if _, err := tx.ExecContext(ctx, `DELETE FROM durable_history WHERE hub = ? AND instance = ?`, hub, id); err != nil {
				return sqlErr("reset the history of "+id, err)
			}
		} else if h := s.histories.get(hub, id); h != nil {
			// The cache holds the history as the work item read it, and
			// nothing else wrote it since: the lock unlock just checked
			// is gone when another process deletes or rewrites it.
			seq = len(h.events)
		} else if len(events) > 0 {
			if err := tx.StmtContext(ctx, s.dstmts.nextSeq).QueryRowContext(ctx, hub, id).Scan(&seq); err != nil {
				return sqlErr("read the history of "+id, err)
			}
		}
		if err := s.appendHistory(ctx, tx, hub, id, seq, events); err != nil {
			return err
		}
		if len(u.Consumed) > 0 {
			del := tx.StmtContext(ctx, s.dstmts.delMessage)
			for _, mid := range u.Consumed {
				if _, err := del.ExecContext(ctx, mid, hub, id); err != nil {
					return sqlErr("consume a message of "+id, err)
				}
			}
		}
		if err := s.insertMessages(ctx, tx, hub, now, u.Messages...); err != nil {
			return err
		}
		for _, st := range u.Starts {
			if err := s.startInstance(ctx, tx, hub, st.Instance, st.Message, durable.OverwriteAny); err != nil {
				return err
			}
		}
		tasks := u.Tasks
		if max > 0 {
			var err error
			if locked, tasks, err = s.insertLockedTasks(ctx, tx, hub, now, tasks, owner, now.Add(lease), max); err != nil {
				return err
			}
		}
		if err := s.insertTasks(ctx, tx, hub, now, tasks); err != nil {
			return err
		}
		if max > 0 && len(tasks) == 0 && len(u.Messages) == 0 && len(u.Starts) == 0 {
			// Nothing new to claim, unless messages came to the
			// instance while it was locked.
			var one int
			err := tx.StmtContext(ctx, s.dstmts.hasDueMessage).QueryRowContext(ctx, hub, id, now.UnixNano()).Scan(&one)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				announce = false
			case err != nil:
				return sqlErr("read the inbox of "+id, err)
			}
		}
		// The cache follows the history once it is committed.
		s.afterCommit(func() {
			if u.Instance != nil && u.Instance.Status.Terminal() {
				s.histories.drop(hub, id)
			} else {
				s.histories.committed(hub, id, seq, u.NewEvents, events, row)
			}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if announce {
		s.durableW.notify(hub)
	}
	return locked, nil
}

// insertLockedTasks inserts up to max of the tasks that are due at once,
// locked for owner until until, and returns them and the tasks left.
func (s *Store) insertLockedTasks(ctx context.Context, tx *sql.Tx, hub string, now time.Time, tasks []durable.ActivityTask, owner string, until time.Time, max int) ([]*durable.ActivityTask, []durable.ActivityTask, error) {
	var locked []*durable.ActivityTask
	var rest []durable.ActivityTask
	tok := newLockToken()
	stmt := tx.StmtContext(ctx, s.dstmts.insLockedTask)
	for i, t := range tasks {
		if len(locked) == max || t.VisibleAt.After(now) {
			if rest == nil {
				rest = make([]durable.ActivityTask, 0, len(tasks)-i)
			}
			rest = append(rest, t)
			continue
		}
		res, err := stmt.ExecContext(ctx, hub, t.InstanceID, t.ExecutionID, t.Name, t.TaskID, t.Input, nanos(t.VisibleAt), until.UnixNano(), owner, tok)
		if err != nil {
			return nil, nil, sqlErr(fmt.Sprintf("schedule activity %s for %s", t.Name, t.InstanceID), err)
		}
		if t.ID, err = res.LastInsertId(); err != nil {
			return nil, nil, sqlErr(fmt.Sprintf("schedule activity %s for %s", t.Name, t.InstanceID), err)
		}
		t.Attempts, t.LockToken = 1, formatToken(tok)
		locked = append(locked, &t)
	}
	return locked, rest, nil
}

// insertTasks schedules activity tasks.
func (s *Store) insertTasks(ctx context.Context, tx *sql.Tx, hub string, now time.Time, tasks []durable.ActivityTask) error {
	if len(tasks) == 0 {
		return nil
	}
	stmt := tx.StmtContext(ctx, s.dstmts.insTask)
	for _, t := range tasks {
		due := now
		if t.VisibleAt.After(now) {
			due = t.VisibleAt
		}
		_, err := stmt.ExecContext(ctx, hub, t.InstanceID, t.ExecutionID, t.Name, t.TaskID, t.Input, nanos(t.VisibleAt), due.UnixNano())
		if err != nil {
			return sqlErr(fmt.Sprintf("schedule activity %s for %s", t.Name, t.InstanceID), err)
		}
	}
	return nil
}

// maxHistoryRows is the most events one statement appends to a history.
const maxHistoryRows = 8

// historyInsert is the statement that appends k events (1 <= k <=
// maxHistoryRows): ?1 is the hub, ?2 the instance, then each event's
// sequence number and stored form.
func historyInsert(k int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO durable_history (hub, instance, seq, event) VALUES `)
	for i := range k {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(?1, ?2, ?%d, ?%d)", 3+2*i, 4+2*i)
	}
	return b.String()
}

// appendHistory writes events as an instance's history from seq on.
func (s *Store) appendHistory(ctx context.Context, tx *sql.Tx, hub, id string, seq int, events [][]byte) error {
	args := make([]any, 0, 2+2*min(len(events), maxHistoryRows))
	for len(events) > 0 {
		k := min(len(events), maxHistoryRows)
		args = append(args[:0], hub, id)
		for i, ev := range events[:k] {
			args = append(args, seq+i, ev)
		}
		if _, err := tx.StmtContext(ctx, s.dstmts.insHistory[k]).ExecContext(ctx, args...); err != nil {
			return sqlErr("append to the history of "+id, err)
		}
		events, seq = events[k:], seq+k
	}
	return nil
}

// AbandonOrchestration releases wi's lock; the instance's due messages are
// due again after delay.
func (s *Store) AbandonOrchestration(ctx context.Context, hub string, wi *durable.OrchestrationWorkItem, delay time.Duration) error {
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.checkLock(ctx, tx, hub, wi); err != nil {
			return err
		}
		if delay > 0 {
			now := s.clock.Now()
			_, err := tx.ExecContext(ctx, `UPDATE durable_messages SET due = ?1 WHERE hub = ?2 AND instance = ?3 AND due <= ?4`,
				now.Add(delay).UnixNano(), hub, wi.InstanceID, now.UnixNano())
			if err != nil {
				return sqlErr("delay the messages of "+wi.InstanceID, err)
			}
		}
		if _, err := tx.StmtContext(ctx, s.dstmts.delLock).ExecContext(ctx, hub, wi.InstanceID, parseToken(wi.LockToken)); err != nil {
			return sqlErr("unlock "+wi.InstanceID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.durableW.notify(hub)
	return nil
}

// LockNextActivity locks the oldest due activity task.
func (s *Store) LockNextActivity(ctx context.Context, hub, owner string, lease time.Duration) (*durable.ActivityTask, error) {
	now := s.clock.Now()
	var t *durable.ActivityTask
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		row := tx.StmtContext(ctx, s.dstmts.lockTask).QueryRowContext(ctx, now.Add(lease).UnixNano(), owner, newLockToken(), hub, now.UnixNano())
		var visible, tok int64
		at := durable.ActivityTask{}
		err := row.Scan(&at.ID, &at.InstanceID, &at.ExecutionID, &at.Name, &at.TaskID, &at.Input, &visible, &at.Attempts, &tok)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return sqlErr("lock an activity task in task hub "+hub, err)
		}
		at.VisibleAt, at.LockToken = fromNanos(visible), formatToken(tok)
		t = &at
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// taskLost is ErrLockLost for t.
func taskLost(hub string, t *durable.ActivityTask) error {
	return fmt.Errorf("activity task %d (%s of %s) in task hub %s: %w", t.ID, t.Name, t.InstanceID, hub, durable.ErrLockLost)
}

// RenewActivityLock extends t's lock by lease from now.
func (s *Store) RenewActivityLock(ctx context.Context, hub string, t *durable.ActivityTask, lease time.Duration) error {
	until := s.clock.Now().Add(lease)
	return s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE durable_tasks SET due = ? WHERE id = ? AND hub = ? AND token = ?`,
			until.UnixNano(), t.ID, hub, parseToken(t.LockToken))
		if err != nil {
			return sqlErr("renew the lock of activity task "+strconv.FormatInt(t.ID, 10), err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return taskLost(hub, t)
		}
		return nil
	})
}

// CompleteActivity deletes t and sends result.
func (s *Store) CompleteActivity(ctx context.Context, hub string, t *durable.ActivityTask, result durable.Message) error {
	_, err := s.completeActivity(ctx, hub, t, result, "", 0)
	return err
}

// CompleteActivityLocking deletes t, sends result, and locks its instance
// for owner when the instance has no lock and no other task.
func (s *Store) CompleteActivityLocking(ctx context.Context, hub string, t *durable.ActivityTask, result durable.Message, owner string, lease time.Duration) (*durable.OrchestrationWorkItem, error) {
	return s.completeActivity(ctx, hub, t, result, owner, lease)
}

// completeActivity deletes t and sends result; with an owner, it locks
// result's instance for it as CompleteActivityLocking says and returns
// its work item.
func (s *Store) completeActivity(ctx context.Context, hub string, t *durable.ActivityTask, result durable.Message, owner string, lease time.Duration) (*durable.OrchestrationWorkItem, error) {
	var wi *durable.OrchestrationWorkItem
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		wi = nil
		res, err := tx.StmtContext(ctx, s.dstmts.deleteTask).ExecContext(ctx, t.ID, hub, parseToken(t.LockToken))
		if err != nil {
			return sqlErr("complete activity task "+strconv.FormatInt(t.ID, 10), err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return taskLost(hub, t)
		}
		now := s.clock.Now()
		if err := s.insertMessages(ctx, tx, hub, now, result); err != nil {
			return err
		}
		if owner == "" {
			return nil
		}
		id := result.InstanceID
		// Unless other tasks of the instance run or it is locked.
		tok, lockedUntil := newLockToken(), now.Add(lease)
		res, err = tx.StmtContext(ctx, s.dstmts.lockIfIdle).ExecContext(ctx, hub, id, owner, tok, lockedUntil.UnixNano(), now.UnixNano())
		if err != nil {
			return sqlErr("lock instance "+id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		// The work item is read here, on the writing connection, whose
		// cache holds the pages just written.
		next := &durable.OrchestrationWorkItem{InstanceID: id, LockToken: formatToken(tok), LockedUntil: lockedUntil.UTC()}
		if err := s.readWorkItemIn(ctx, tx, &s.dstmts.wrd, hub, next, now); err != nil {
			// The result is committed all the same; the instance is
			// left to be claimed.
			if _, err := tx.StmtContext(ctx, s.dstmts.delLock).ExecContext(ctx, hub, id, tok); err != nil {
				return sqlErr("unlock "+id, err)
			}
			return nil
		}
		wi = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	if wi == nil {
		s.durableW.notify(hub)
	}
	return wi, nil
}

// AbandonActivity releases t's lock; it is due again after delay.
func (s *Store) AbandonActivity(ctx context.Context, hub string, t *durable.ActivityTask, delay time.Duration) error {
	due := s.clock.Now().Add(max(delay, 0))
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE durable_tasks SET due = ?, owner = '', token = 0 WHERE id = ? AND hub = ? AND token = ?`,
			due.UnixNano(), t.ID, hub, parseToken(t.LockToken))
		if err != nil {
			return sqlErr("abandon activity task "+strconv.FormatInt(t.ID, 10), err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return taskLost(hub, t)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.durableW.notify(hub)
	return nil
}

// NextDue returns the earliest future time at which a message or task
// becomes due, or a lock expires.
func (s *Store) NextDue(ctx context.Context, hub string) (time.Time, bool, error) {
	now := nanos(s.clock.Now())
	var next sql.NullInt64
	err := s.dstmts.nextDue.QueryRowContext(ctx, hub, now).Scan(&next)
	if err != nil {
		return time.Time{}, false, sqlErr("read the next due time of task hub "+hub, err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromNanos(next.Int64), true, nil
}

// Watch signals after this Store adds messages or tasks to the hub or
// releases a lock in it (and, polled, after another process writes to
// the database).
func (s *Store) Watch(hub string) (<-chan struct{}, func()) { return s.durableW.watch(hub) }

// GetInstance reads an instance's row.
func (s *Store) GetInstance(ctx context.Context, hub, id string) (*durable.Instance, error) {
	inst, err := scanInstance(s.dstmts.rd.instance.QueryRowContext(ctx, hub, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("instance %s of task hub %s: %w", id, hub, durable.ErrNotFound)
	}
	if err != nil {
		return nil, sqlErr("read instance "+id, err)
	}
	return inst, nil
}

// GetHistory reads an instance's history.
func (s *Store) GetHistory(ctx context.Context, hub, id string) ([]durable.Event, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, sqlErr("read the history of "+id, err)
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM durable_instances WHERE hub = ? AND id = ?`, hub, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("instance %s of task hub %s: %w", id, hub, durable.ErrNotFound)
	}
	if err != nil {
		return nil, sqlErr("read instance "+id, err)
	}
	return s.readEvents(ctx, tx, hub, id)
}

// defaultPageSize is a listing's page size when the query gives none.
const defaultPageSize = 100

// instanceFilter is q's WHERE clause and arguments (without paging).
func instanceFilter(hub string, q durable.InstanceQuery) (string, []any) {
	var b strings.Builder
	args := []any{hub}
	b.WriteString(`hub = ?`)
	cond := func(c string, v any) {
		b.WriteString(" AND " + c)
		args = append(args, v)
	}
	if !q.CreatedFrom.IsZero() {
		cond(`created >= ?`, q.CreatedFrom.UnixNano())
	}
	if !q.CreatedTo.IsZero() {
		cond(`created <= ?`, q.CreatedTo.UnixNano())
	}
	if !q.LastUpdatedFrom.IsZero() {
		cond(`updated >= ?`, q.LastUpdatedFrom.UnixNano())
	}
	if !q.LastUpdatedTo.IsZero() {
		cond(`updated <= ?`, q.LastUpdatedTo.UnixNano())
	}
	if q.IDPrefix != "" {
		// substr and length both count characters.
		b.WriteString(` AND substr(id, 1, length(?)) = ?`)
		args = append(args, q.IDPrefix, q.IDPrefix)
	}
	if q.Entities {
		b.WriteString(` AND id >= '@' AND id < 'A'`)
	} else {
		b.WriteString(` AND NOT (id >= '@' AND id < 'A')`)
	}
	if len(q.Statuses) > 0 {
		b.WriteString(` AND status IN (`)
		for i, st := range q.Statuses {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("?")
			args = append(args, int(st))
		}
		b.WriteString(")")
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
		where += ` AND (created, id) > (?, ?)`
		args = append(args, created, id)
	}
	size := q.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	args = append(args, size+1)
	rows, err := s.r.QueryContext(ctx, `SELECT `+instanceColumns+` FROM durable_instances INDEXED BY durable_instances_created
		WHERE `+where+` ORDER BY created, id LIMIT ?`, args...)
	if err != nil {
		return nil, "", sqlErr("list the instances of task hub "+hub, err)
	}
	defer rows.Close()
	var page []*durable.Instance
	for rows.Next() {
		inst, err := scanInstance(rows)
		if err != nil {
			return nil, "", sqlErr("list the instances of task hub "+hub, err)
		}
		page = append(page, inst)
	}
	if err := rows.Err(); err != nil {
		return nil, "", sqlErr("list the instances of task hub "+hub, err)
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
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx, `SELECT id FROM durable_instances WHERE `+where, args...)
		if err != nil {
			return sqlErr("purge the instances of task hub "+hub, err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return sqlErr("purge the instances of task hub "+hub, err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return sqlErr("purge the instances of task hub "+hub, err)
		}
		for _, id := range ids {
			if _, err := s.deleteInstance(ctx, tx, hub, id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// PurgeInstance deletes one instance.
func (s *Store) PurgeInstance(ctx context.Context, hub, id string) error {
	return s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM durable_instances WHERE hub = ? AND id = ?`, hub, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("instance %s of task hub %s: %w", id, hub, durable.ErrNotFound)
		}
		if err != nil {
			return sqlErr("read instance "+id, err)
		}
		_, err = s.deleteInstance(ctx, tx, hub, id)
		return err
	})
}

var _ durable.LockReleaser = (*Store)(nil)

// ReleaseLocks releases the instance and activity task locks of hub whose
// owner gone reports: their work is due again at once.
func (s *Store) ReleaseLocks(ctx context.Context, hub string, gone func(owner string) bool) (int, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT owner FROM durable_locks WHERE hub = ?1
		UNION SELECT owner FROM durable_tasks WHERE hub = ?1 AND owner != ''`, hub)
	if err != nil {
		return 0, sqlErr("read the durable locks' owners", err)
	}
	var dead []string
	for rows.Next() {
		var owner string
		if err := rows.Scan(&owner); err != nil {
			_ = rows.Close()
			return 0, sqlErr("read the durable locks' owners", err)
		}
		if gone(owner) {
			dead = append(dead, owner)
		}
	}
	if err := rows.Close(); err != nil {
		return 0, sqlErr("read the durable locks' owners", err)
	}
	if len(dead) == 0 {
		return 0, nil
	}
	n := 0
	err = s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n = 0
		now := s.clock.Now().UnixNano()
		for _, owner := range dead {
			res, err := tx.ExecContext(ctx, `DELETE FROM durable_locks WHERE hub = ? AND owner = ?`, hub, owner)
			if err != nil {
				return sqlErr("release the locks of "+owner, err)
			}
			k, _ := res.RowsAffected()
			n += int(k)
			res, err = tx.ExecContext(ctx, `UPDATE durable_tasks SET due = ?, owner = '', token = 0 WHERE hub = ? AND owner = ?`, now, hub, owner)
			if err != nil {
				return sqlErr("release the tasks of "+owner, err)
			}
			k, _ = res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.durableW.notify(hub)
	return n, nil
}
