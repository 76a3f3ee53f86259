package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/funcd/funcd/storage"
)

// statements are the prepared statements of the hot paths, on the writing
// connection.
type statements struct {
	enqueue, receive, deleteMsg, updateVis *sql.Stmt
}

func (st *statements) close() {
	for _, s := range []*sql.Stmt{st.enqueue, st.receive, st.deleteMsg, st.updateVis} {
		if s != nil {
			s.Close()
		}
	}
}

const messageColumns = `seq, nonce, pop, dequeue_count, inserted, expires, visible, body`

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&s.stmts.enqueue, `INSERT INTO messages (nonce, queue, inserted, expires, visible, body)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING seq`},
		// One statement takes the messages, so that two receivers (in this
		// process or another) never take the same one.
		{&s.stmts.receive, `UPDATE messages
			SET dequeue_count = dequeue_count + 1, pop = random(), visible = ?1
			WHERE seq IN (
				SELECT seq FROM messages INDEXED BY messages_fifo
				WHERE queue = ?2 AND visible <= ?3 AND expires > ?3
				ORDER BY seq LIMIT ?4)
			RETURNING ` + messageColumns},
		{&s.stmts.deleteMsg, `DELETE FROM messages WHERE seq = ? AND nonce = ? AND queue = ? AND pop = ? AND pop <> 0`},
		{&s.stmts.updateVis, `UPDATE messages SET pop = random(), visible = ?
			WHERE seq = ? AND nonce = ? AND queue = ? AND pop = ? AND pop <> 0
			RETURNING ` + messageColumns},
	} {
		st, err := s.w.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", p.query, err)
		}
		*p.stmt = st
	}
	return nil
}

// never is the expiry stored for a message that never expires.
const never = math.MaxInt64

// messageID is a message's ID as the caller sees it: its nonce and seq as a
// GUID-shaped string.
func messageID(seq, nonce int64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(nonce))
	binary.BigEndian.PutUint64(b[8:], uint64(seq))
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// parseMessageID undoes messageID; ok is false for an ID this store never
// gave.
func parseMessageID(id string) (seq, nonce int64, ok bool) {
	if len(id) != 36 {
		return 0, 0, false
	}
	b, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(b) != 16 || messageID(int64(binary.BigEndian.Uint64(b[8:])), int64(binary.BigEndian.Uint64(b[:8]))) != id {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(b[8:])), int64(binary.BigEndian.Uint64(b[:8])), true
}

// popReceipt is a receive's random number as a pop receipt; "" for none.
func popReceipt(pop int64) string {
	if pop == 0 {
		return ""
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(pop))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// parsePopReceipt undoes popReceipt; a receipt this store never gave is 0,
// which the statements never match (0 marks a message never received).
func parsePopReceipt(r string) int64 {
	b, err := base64.RawURLEncoding.DecodeString(r)
	if err != nil || len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

type rowScanner interface{ Scan(...any) error }

func scanMessage(r rowScanner) (storage.Message, int64, error) {
	var seq, nonce, pop, dq, ins, exp, vis int64
	var body []byte
	if err := r.Scan(&seq, &nonce, &pop, &dq, &ins, &exp, &vis, &body); err != nil {
		return storage.Message{}, 0, err
	}
	m := storage.Message{
		ID:              messageID(seq, nonce),
		PopReceipt:      popReceipt(pop),
		Body:            body,
		DequeueCount:    dq,
		InsertionTime:   fromNanos(ins),
		NextVisibleTime: fromNanos(vis),
	}
	if exp != never {
		m.ExpirationTime = fromNanos(exp)
	}
	if m.Body == nil {
		m.Body = []byte{}
	}
	return m, seq, nil
}

// CreateQueue makes the queue if it does not exist.
func (s *Store) CreateQueue(ctx context.Context, queue string) error {
	if err := storage.CheckQueueName(queue); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT OR IGNORE INTO queues (name, created) VALUES (?, ?)`, queue, nanos(s.clock.Now()))
	if err != nil {
		return sqlErr("create queue "+queue, err)
	}
	return nil
}

// DeleteQueue removes the queue and its messages.
func (s *Store) DeleteQueue(ctx context.Context, queue string) error {
	if err := storage.CheckQueueName(queue); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return sqlErr("delete queue "+queue, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM queues WHERE name = ?`, queue)
	if err != nil {
		return sqlErr("delete queue "+queue, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("queue %s: %w", queue, storage.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE queue = ?`, queue); err != nil {
		return sqlErr("delete queue "+queue, err)
	}
	if err := tx.Commit(); err != nil {
		return sqlErr("delete queue "+queue, err)
	}
	return nil
}

// ListQueues lists the queues whose names start with prefix, by name, with
// their unexpired messages counted.
func (s *Store) ListQueues(ctx context.Context, prefix string) ([]storage.QueueInfo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT q.name,
			(SELECT count(*) FROM messages m WHERE m.queue = q.name AND m.expires > ?)
		FROM queues q WHERE q.name >= ? ORDER BY q.name`, nanos(s.clock.Now()), prefix)
	if err != nil {
		return nil, sqlErr("list queues", err)
	}
	defer rows.Close()
	var out []storage.QueueInfo
	for rows.Next() {
		var qi storage.QueueInfo
		if err := rows.Scan(&qi.Name, &qi.Messages); err != nil {
			return nil, sqlErr("list queues", err)
		}
		if !strings.HasPrefix(qi.Name, prefix) {
			break
		}
		out = append(out, qi)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlErr("list queues", err)
	}
	return out, nil
}

// Enqueue adds a message, creating the queue if it does not exist.
func (s *Store) Enqueue(ctx context.Context, queue string, body []byte, visibilityDelay, ttl time.Duration) (storage.Message, error) {
	if err := storage.CheckQueueName(queue); err != nil {
		return storage.Message{}, err
	}
	var m storage.Message
	err := s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		m, err = s.enqueue(ctx, tx.StmtContext(ctx, s.stmts.enqueue), queue, body, visibilityDelay, ttl)
		return err
	})
	if err != nil {
		return storage.Message{}, err
	}
	s.queueW.notify(queue)
	return m, nil
}

// enqueue inserts a message with stmt, the prepared statement or its
// transaction's copy.
func (s *Store) enqueue(ctx context.Context, stmt *sql.Stmt, queue string, body []byte, delay, ttl time.Duration) (storage.Message, error) {
	if len(body) > storage.MaxMessageSize {
		return storage.Message{}, fmt.Errorf("message of %d bytes for queue %s is over %d: %w",
			len(body), queue, storage.MaxMessageSize, storage.ErrTooLarge)
	}
	if body == nil {
		body = []byte{}
	}
	now := s.clock.Now()
	m := storage.Message{Body: body, InsertionTime: now.UTC(), NextVisibleTime: now.Add(max(delay, 0)).UTC()}
	exp := int64(never)
	switch {
	case ttl == storage.NeverExpires || ttl < 0:
	case ttl == 0:
		m.ExpirationTime = now.Add(storage.DefaultMessageTTL).UTC()
	default:
		m.ExpirationTime = now.Add(ttl).UTC()
	}
	if !m.ExpirationTime.IsZero() {
		exp = m.ExpirationTime.UnixNano()
	}
	nonce := rand.Int64()
	var seq int64
	err := stmt.QueryRowContext(ctx, nonce, queue, now.UnixNano(), exp, m.NextVisibleTime.UnixNano(), body).Scan(&seq)
	if err != nil {
		return storage.Message{}, sqlErr("enqueue to "+queue, err)
	}
	m.ID = messageID(seq, nonce)
	return m, nil
}

// Receive takes up to limit visible messages, oldest first.
func (s *Store) Receive(ctx context.Context, queue string, limit int, visibility time.Duration) ([]storage.Message, error) {
	if err := storage.CheckQueueName(queue); err != nil {
		return nil, err
	}
	limit = min(max(limit, 1), 1000)
	now := s.clock.Now()
	if err := s.maybePurge(ctx, queue, now); err != nil {
		return nil, err
	}
	rows, err := s.stmts.receive.QueryContext(ctx, now.Add(max(visibility, 0)).UnixNano(), queue, now.UnixNano(), limit)
	if err != nil {
		return nil, sqlErr("receive from "+queue, err)
	}
	defer rows.Close()
	type taken struct {
		m   storage.Message
		seq int64
	}
	var got []taken
	for rows.Next() {
		m, seq, err := scanMessage(rows)
		if err != nil {
			return nil, sqlErr("receive from "+queue, err)
		}
		got = append(got, taken{m, seq})
	}
	if err := rows.Err(); err != nil {
		return nil, sqlErr("receive from "+queue, err)
	}
	rows.Close()
	if len(got) == 0 {
		return nil, s.queueMustExist(ctx, queue)
	}
	// RETURNING gives rows in no promised order.
	slices.SortFunc(got, func(a, b taken) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]storage.Message, len(got))
	for i, t := range got {
		out[i] = t.m
	}
	return out, nil
}

// queueMustExist is ErrNotFound when the queue does not exist.
func (s *Store) queueMustExist(ctx context.Context, queue string) error {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM queues WHERE name = ?`, queue).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("queue %s: %w", queue, storage.ErrNotFound)
	}
	if err != nil {
		return sqlErr("read queue "+queue, err)
	}
	return nil
}

// Peek returns up to limit visible messages without changing them.
func (s *Store) Peek(ctx context.Context, queue string, limit int) ([]storage.Message, error) {
	if err := storage.CheckQueueName(queue); err != nil {
		return nil, err
	}
	limit = min(max(limit, 1), 1000)
	now := nanos(s.clock.Now())
	rows, err := s.r.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages INDEXED BY messages_fifo
		WHERE queue = ?1 AND visible <= ?2 AND expires > ?2 ORDER BY seq LIMIT ?3`, queue, now, limit)
	if err != nil {
		return nil, sqlErr("peek "+queue, err)
	}
	defer rows.Close()
	var out []storage.Message
	for rows.Next() {
		m, _, err := scanMessage(rows)
		if err != nil {
			return nil, sqlErr("peek "+queue, err)
		}
		m.PopReceipt = ""
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlErr("peek "+queue, err)
	}
	if len(out) == 0 {
		return nil, s.queueMustExist(ctx, queue)
	}
	return out, nil
}

// Delete removes a received message.
func (s *Store) Delete(ctx context.Context, queue, id, popReceipt string) error {
	if err := storage.CheckQueueName(queue); err != nil {
		return err
	}
	seq, nonce, ok := parseMessageID(id)
	if !ok {
		return fmt.Errorf("message %s in queue %s: %w", id, queue, storage.ErrNotFound)
	}
	return s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.stmts.deleteMsg).ExecContext(ctx, seq, nonce, queue, parsePopReceipt(popReceipt))
		if err != nil {
			return sqlErr("delete a message from "+queue, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		return s.whyNot(ctx, tx, queue, id, seq, nonce)
	})
}

// whyNot tells why a message named by id and a pop receipt did not match:
// it is gone (ErrNotFound), or the receipt is not its current one.
func (s *Store) whyNot(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, queue, id string, seq, nonce int64) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM messages WHERE seq = ? AND nonce = ? AND queue = ?`, seq, nonce, queue).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("message %s in queue %s: %w", id, queue, storage.ErrNotFound)
	}
	if err != nil {
		return sqlErr("read a message of "+queue, err)
	}
	return fmt.Errorf("message %s in queue %s: %w", id, queue, storage.ErrPopReceiptMismatch)
}

// UpdateVisibility makes a received message visible again after visibility.
func (s *Store) UpdateVisibility(ctx context.Context, queue, id, popReceipt string, visibility time.Duration) (storage.Message, error) {
	if err := storage.CheckQueueName(queue); err != nil {
		return storage.Message{}, err
	}
	seq, nonce, ok := parseMessageID(id)
	if !ok {
		return storage.Message{}, fmt.Errorf("message %s in queue %s: %w", id, queue, storage.ErrNotFound)
	}
	visible := s.clock.Now().Add(max(visibility, 0))
	m, _, err := scanMessage(s.stmts.updateVis.QueryRowContext(ctx, visible.UnixNano(), seq, nonce, queue, parsePopReceipt(popReceipt)))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Message{}, s.whyNot(ctx, s.r, queue, id, seq, nonce)
	}
	if err != nil {
		return storage.Message{}, sqlErr("update a message of "+queue, err)
	}
	if visibility <= 0 {
		s.queueW.notify(queue)
	}
	return m, nil
}

// Move enqueues a received message's body on another queue and deletes it
// from this one, in one transaction.
func (s *Store) Move(ctx context.Context, queue, id, popReceipt, to string) (storage.Message, error) {
	if err := storage.CheckQueueName(queue); err != nil {
		return storage.Message{}, err
	}
	if err := storage.CheckQueueName(to); err != nil {
		return storage.Message{}, err
	}
	seq, nonce, ok := parseMessageID(id)
	if !ok {
		return storage.Message{}, fmt.Errorf("message %s in queue %s: %w", id, queue, storage.ErrNotFound)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return storage.Message{}, sqlErr("move a message of "+queue, err)
	}
	defer tx.Rollback()
	var body []byte
	err = tx.QueryRowContext(ctx, `DELETE FROM messages WHERE seq = ? AND nonce = ? AND queue = ? AND pop = ? AND pop <> 0 RETURNING body`,
		seq, nonce, queue, parsePopReceipt(popReceipt)).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Message{}, s.whyNot(ctx, tx, queue, id, seq, nonce)
	}
	if err != nil {
		return storage.Message{}, sqlErr("move a message of "+queue, err)
	}
	m, err := s.enqueue(ctx, tx.StmtContext(ctx, s.stmts.enqueue), to, body, 0, 0)
	if err != nil {
		return storage.Message{}, err
	}
	if err := tx.Commit(); err != nil {
		return storage.Message{}, sqlErr("move a message of "+queue, err)
	}
	s.queueW.notify(to)
	return m, nil
}

// Clear deletes every message of the queue.
func (s *Store) Clear(ctx context.Context, queue string) error {
	if err := storage.CheckQueueName(queue); err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM messages WHERE queue = ?`, queue); err != nil {
		return sqlErr("clear "+queue, err)
	}
	return s.queueMustExist(ctx, queue)
}

// WatchQueue signals after an Enqueue or Move to the queue, or an
// UpdateVisibility with no delay, through this Store.
func (s *Store) WatchQueue(queue string) (<-chan struct{}, func()) { return s.queueW.watch(queue) }

// purgeEvery is how often Receive removes a queue's expired messages.
const purgeEvery = 10 * time.Minute

// maybePurge removes the queue's expired messages if it has not lately.
func (s *Store) maybePurge(ctx context.Context, queue string, now time.Time) error {
	s.purgeMu.Lock()
	last, ok := s.lastPurge[queue]
	due := !ok || now.Sub(last) >= purgeEvery || now.Before(last)
	if due {
		s.lastPurge[queue] = now
	}
	s.purgeMu.Unlock()
	if !due || !ok {
		// A queue seen for the first time was purged at Open.
		return nil
	}
	return s.purgeExpired(ctx, queue)
}

// purgeExpired removes expired messages of one queue, or of every queue
// when queue is "".
func (s *Store) purgeExpired(ctx context.Context, queue string) error {
	now := nanos(s.clock.Now())
	var err error
	if queue == "" {
		_, err = s.w.ExecContext(ctx, `DELETE FROM messages WHERE expires <= ?`, now)
	} else {
		_, err = s.w.ExecContext(ctx, `DELETE FROM messages WHERE queue = ? AND expires <= ?`, queue, now)
	}
	if err != nil {
		return sqlErr("remove expired messages", err)
	}
	return nil
}
