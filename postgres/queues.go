package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/storage"
)

// asyncCommit, as a column of a statement's result, makes the statement's
// own (implicit) transaction commit without waiting for its WAL to reach
// the disk. Receive and Delete use it: if the server crashes before the
// WAL writer flushes (within wal_writer_delay, 200ms by default), the
// receive or delete is lost and the message is delivered again, which
// at-least-once delivery allows; WAL is flushed in order, so a durable
// write after it makes it durable too. Enqueue and Move always wait for the
// disk. This halves the flushes a message costs.
const asyncCommit = `set_config('synchronous_commit', 'off', true)`

// purgeEvery is how often (by the store's clock) a Receive starts a sweep of
// expired messages. Expired messages are invisible to every read before
// then; the sweep only reclaims their space.
const purgeEvery = time.Minute

// CreateQueue makes the queue if it does not exist.
func (s *Store) CreateQueue(ctx context.Context, queue string) error {
	if err := checkQueueName(queue); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx,
		`INSERT INTO funcd_queues (name, created_ns) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		queue, s.now())
	if err != nil {
		return fmt.Errorf("postgres: create queue %q: %w", queue, err)
	}
	return nil
}

// DeleteQueue removes the queue and its messages.
func (s *Store) DeleteQueue(ctx context.Context, queue string) error {
	var n int64
	err := s.pool.QueryRow(ctx, `
WITH q AS (DELETE FROM funcd_queues WHERE name = $1 RETURNING 1),
     m AS (DELETE FROM funcd_messages WHERE queue = $1)
SELECT count(*) FROM q`, queue).Scan(&n)
	if err != nil {
		return fmt.Errorf("postgres: delete queue %q: %w", queue, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: delete queue %q: %w", queue, storage.ErrNotFound)
	}
	return nil
}

// ListQueues lists the queues whose names start with prefix, by name.
func (s *Store) ListQueues(ctx context.Context, prefix string) ([]storage.QueueInfo, error) {
	rows, err := s.pool.Query(ctx, `
SELECT q.name,
       (SELECT count(*) FROM funcd_messages m
        WHERE m.queue = q.name AND (m.expires_ns IS NULL OR m.expires_ns > $2))
FROM funcd_queues q
WHERE starts_with(q.name, $1)
ORDER BY q.name`, prefix, s.now())
	if err != nil {
		return nil, fmt.Errorf("postgres: list queues: %w", err)
	}
	infos, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.QueueInfo, error) {
		var qi storage.QueueInfo
		err := row.Scan(&qi.Name, &qi.Messages)
		return qi, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list queues: %w", err)
	}
	return infos, nil
}

// Enqueue adds a message, creating the queue if it does not exist, and
// notifies watchers in the same transaction when it is visible at once.
// Concurrent enqueues share one statement and one commit.
func (s *Store) Enqueue(ctx context.Context, queue string, body []byte, visibilityDelay, ttl time.Duration) (storage.Message, error) {
	if err := checkQueueName(queue); err != nil {
		return storage.Message{}, err
	}
	if len(body) > storage.MaxMessageSize {
		return storage.Message{}, fmt.Errorf("postgres: enqueue on %q: message of %d bytes: %w (the limit is %d)",
			queue, len(body), storage.ErrTooLarge, storage.MaxMessageSize)
	}
	if body == nil {
		body = []byte{}
	}
	now := s.now()
	visible := addNanos(now, max(visibilityDelay, 0))
	expires := expiry(now, ttl)
	id := newUUID()
	_, err := s.enqueues.do(ctx, enqueueReq{
		queue: queue, id: id, body: body, inserted: now, expires: expires, visible: visible,
	})
	if err != nil {
		return storage.Message{}, fmt.Errorf("postgres: enqueue on %q: %w", queue, err)
	}
	if visible <= now {
		s.watch.signal(queueKey(queue))
	}
	return storage.Message{
		ID:              id,
		Body:            body,
		InsertionTime:   fromNanos(now),
		ExpirationTime:  fromNullNanos(expires),
		NextVisibleTime: fromNanos(visible),
	}, nil
}

// expiry is the stored expiry of a message inserted at now with ttl: NULL
// when it never expires.
func expiry(now int64, ttl time.Duration) *int64 {
	if ttl == 0 {
		ttl = storage.DefaultMessageTTL
	}
	if ttl < 0 {
		return nil
	}
	e := addNanos(now, ttl)
	return &e
}

// Receive takes up to max visible messages in one statement: the rows are
// locked with FOR UPDATE SKIP LOCKED, so concurrent receivers, in this
// process or another, each take different messages.
func (s *Store) Receive(ctx context.Context, queue string, limit int, visibility time.Duration) ([]storage.Message, error) {
	limit = max(limit, 1)
	now := s.now()
	s.maybePurge(now)
	rows, err := s.pool.Query(ctx, `
WITH taken AS (
	UPDATE funcd_messages
	SET dequeue_count = dequeue_count + 1,
	    pop_receipt = nextval('funcd_pop_receipts'),
	    visible_ns = $3
	WHERE seq = ANY (ARRAY (
		SELECT seq FROM funcd_messages
		WHERE queue = $1 AND visible_ns <= $2 AND (expires_ns IS NULL OR expires_ns > $2)
		ORDER BY seq
		LIMIT $4
		FOR UPDATE SKIP LOCKED))
	RETURNING seq, id::text, pop_receipt, body, dequeue_count, inserted_ns, expires_ns, visible_ns
)
SELECT EXISTS (SELECT 1 FROM funcd_queues WHERE name = $1),
       taken.id, taken.pop_receipt, taken.body, taken.dequeue_count,
       taken.inserted_ns, taken.expires_ns, taken.visible_ns,
       `+asyncCommit+`
FROM (VALUES (1)) AS one LEFT JOIN taken ON true
ORDER BY taken.seq`,
		queue, now, addNanos(now, max(visibility, 0)), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: receive from %q: %w", queue, err)
	}
	msgs, err := collectMessages(rows, true)
	if err != nil {
		return nil, fmt.Errorf("postgres: receive from %q: %w", queue, err)
	}
	return msgs, nil
}

// Peek returns up to max visible messages without changing them.
func (s *Store) Peek(ctx context.Context, queue string, limit int) ([]storage.Message, error) {
	limit = max(limit, 1)
	rows, err := s.pool.Query(ctx, `
WITH peeked AS (
	SELECT seq, id::text, NULL::bigint AS pop_receipt, body, dequeue_count, inserted_ns, expires_ns, visible_ns
	FROM funcd_messages
	WHERE queue = $1 AND visible_ns <= $2 AND (expires_ns IS NULL OR expires_ns > $2)
	ORDER BY seq
	LIMIT $3
)
SELECT EXISTS (SELECT 1 FROM funcd_queues WHERE name = $1),
       peeked.id, peeked.pop_receipt, peeked.body, peeked.dequeue_count,
       peeked.inserted_ns, peeked.expires_ns, peeked.visible_ns, ''
FROM (VALUES (1)) AS one LEFT JOIN peeked ON true
ORDER BY peeked.seq`, queue, s.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: peek at %q: %w", queue, err)
	}
	msgs, err := collectMessages(rows, false)
	if err != nil {
		return nil, fmt.Errorf("postgres: peek at %q: %w", queue, err)
	}
	return msgs, nil
}

// collectMessages reads the rows of Receive and Peek: (queue exists,
// message columns), the message columns NULL when there are none.
func collectMessages(rows pgx.Rows, received bool) ([]storage.Message, error) {
	var (
		msgs   []storage.Message
		exists bool
	)
	for rows.Next() {
		var (
			id                                   *string
			receipt, count, inserted, expires, v *int64
			body                                 []byte
		)
		if err := rows.Scan(&exists, &id, &receipt, &body, &count, &inserted, &expires, &v, nil); err != nil {
			rows.Close()
			return nil, err
		}
		if id == nil {
			continue
		}
		m := storage.Message{
			ID:              *id,
			Body:            body,
			DequeueCount:    *count,
			InsertionTime:   fromNanos(*inserted),
			ExpirationTime:  fromNullNanos(expires),
			NextVisibleTime: fromNanos(*v),
		}
		if received {
			m.PopReceipt = strconv.FormatInt(*receipt, 10)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !exists {
		return nil, storage.ErrNotFound
	}
	return msgs, nil
}

// Delete removes a received message. Concurrent deletes share one
// statement, which also tells a missing message from a stale pop receipt.
func (s *Store) Delete(ctx context.Context, queue, id, popReceipt string) error {
	if !validUUID(id) {
		return fmt.Errorf("postgres: delete message %q from %q: %w", id, queue, storage.ErrNotFound)
	}
	res, err := s.deletes.do(ctx, deleteReq{queue: queue, id: id, receipt: parseReceipt(popReceipt)})
	if err == nil {
		err = res
	}
	if err != nil {
		return fmt.Errorf("postgres: delete message %q from %q: %w", id, queue, err)
	}
	return nil
}

// UpdateVisibility makes a received message visible again after visibility,
// with a new pop receipt, notifying watchers when that is at once.
func (s *Store) UpdateVisibility(ctx context.Context, queue, id, popReceipt string, visibility time.Duration) (storage.Message, error) {
	if !validUUID(id) {
		return storage.Message{}, fmt.Errorf("postgres: update message %q in %q: %w", id, queue, storage.ErrNotFound)
	}
	now := s.now()
	visible := addNanos(now, max(visibility, 0))
	notify := visible <= now
	var (
		m                           = storage.Message{ID: id}
		receipt, inserted, visible2 int64
		expires                     *int64
		discard                     *string
	)
	err := s.pool.QueryRow(ctx, `
WITH u AS (
	UPDATE funcd_messages SET visible_ns = $4, pop_receipt = nextval('funcd_pop_receipts')
	WHERE id = $1 AND queue = $2 AND pop_receipt = $3
	RETURNING pop_receipt, body, dequeue_count, inserted_ns, expires_ns, visible_ns
)
SELECT u.*, CASE WHEN $5 THEN pg_notify($6, $7)::text END FROM u`,
		id, queue, parseReceipt(popReceipt), visible, notify, s.watch.channel, queueKey(queue),
	).Scan(&receipt, &m.Body, &m.DequeueCount, &inserted, &expires, &visible2, &discard)
	if isNoRows(err) {
		err = s.missing(ctx, queue, id)
	}
	if err != nil {
		return storage.Message{}, fmt.Errorf("postgres: update message %q in %q: %w", id, queue, err)
	}
	if notify {
		s.watch.signal(queueKey(queue))
	}
	m.PopReceipt = strconv.FormatInt(receipt, 10)
	m.InsertionTime = fromNanos(inserted)
	m.ExpirationTime = fromNullNanos(expires)
	m.NextVisibleTime = fromNanos(visible2)
	return m, nil
}

// Move enqueues a received message's body on another queue and deletes it
// from this one, in one statement.
func (s *Store) Move(ctx context.Context, queue, id, popReceipt, to string) (storage.Message, error) {
	if err := checkQueueName(to); err != nil {
		return storage.Message{}, err
	}
	if !validUUID(id) {
		return storage.Message{}, fmt.Errorf("postgres: move message %q from %q: %w", id, queue, storage.ErrNotFound)
	}
	now := s.now()
	expires := expiry(now, 0)
	newID := newUUID()
	var (
		body    []byte
		discard *string
	)
	err := s.pool.QueryRow(ctx, `
WITH d AS (DELETE FROM funcd_messages WHERE id = $1 AND queue = $2 AND pop_receipt = $3 RETURNING body),
     q AS (INSERT INTO funcd_queues (name, created_ns) SELECT $4, $5 FROM d ON CONFLICT DO NOTHING),
     m AS (INSERT INTO funcd_messages (queue, id, body, inserted_ns, expires_ns, visible_ns)
           SELECT $4, $6, body, $5, $7, $5 FROM d RETURNING body)
SELECT m.body, pg_notify($8, $9)::text FROM m`,
		id, queue, parseReceipt(popReceipt), to, now, newID, expires, s.watch.channel, queueKey(to),
	).Scan(&body, &discard)
	if isNoRows(err) {
		err = s.missing(ctx, queue, id)
	}
	if err != nil {
		return storage.Message{}, fmt.Errorf("postgres: move message %q from %q to %q: %w", id, queue, to, err)
	}
	s.watch.signal(queueKey(to))
	return storage.Message{
		ID:              newID,
		Body:            body,
		InsertionTime:   fromNanos(now),
		ExpirationTime:  fromNullNanos(expires),
		NextVisibleTime: fromNanos(now),
	}, nil
}

// missing tells why a statement keyed by a message and its pop receipt found
// nothing: the message is gone, or the receipt is stale.
func (s *Store) missing(ctx context.Context, queue, id string) error {
	var exists bool
	err := s.pool.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM funcd_messages WHERE id = $1 AND queue = $2)`, id, queue).Scan(&exists)
	switch {
	case err != nil:
		return err
	case exists:
		return storage.ErrPopReceiptMismatch
	default:
		return storage.ErrNotFound
	}
}

// Clear deletes every message of the queue.
func (s *Store) Clear(ctx context.Context, queue string) error {
	var exists bool
	err := s.pool.QueryRow(ctx, `
WITH d AS (DELETE FROM funcd_messages WHERE queue = $1)
SELECT EXISTS (SELECT 1 FROM funcd_queues WHERE name = $1)`, queue).Scan(&exists)
	if err != nil {
		return fmt.Errorf("postgres: clear %q: %w", queue, err)
	}
	if !exists {
		return fmt.Errorf("postgres: clear %q: %w", queue, storage.ErrNotFound)
	}
	return nil
}

// WatchQueue signals soon after a message may have become visible in the
// queue, written by any process sharing the database.
func (s *Store) WatchQueue(queue string) (<-chan struct{}, func()) {
	return s.watch.add(queueKey(queue))
}

// maybePurge starts a sweep of expired messages when the last one is
// purgeEvery old.
func (s *Store) maybePurge(now int64) {
	s.purgeMu.Lock()
	defer s.purgeMu.Unlock()
	t := fromNanos(now)
	if s.closing || t.Sub(s.lastPurge) < purgeEvery {
		return
	}
	s.lastPurge = t
	s.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := s.pool.Exec(ctx, `
DELETE FROM funcd_messages WHERE seq = ANY (ARRAY (
	SELECT seq FROM funcd_messages WHERE expires_ns <= $1 LIMIT 10000 FOR UPDATE SKIP LOCKED))`, now)
		if err != nil {
			s.log.Warn("postgres: purge expired messages", "err", err)
		}
	})
}

// newUUID returns a random (version 4) UUID, the form of Azure's message IDs.
func newUUID() string { return funcd.NewGUID() }

// validUUID reports whether s is a UUID in its canonical text form.
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// parseReceipt is the stored form of a pop receipt; one that is not a
// number matches no message (-1 is never issued).
func parseReceipt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// enqueueReq is one Enqueue in a group.
type enqueueReq struct {
	queue, id         string
	body              []byte
	inserted, visible int64
	expires           *int64
}

// execEnqueues inserts a group of messages in one statement, creating their
// queues and notifying each queue that got a message visible at once.
func (s *Store) execEnqueues(ctx context.Context, reqs []enqueueReq) ([]struct{}, error) {
	var (
		queues, ids       = make([]string, len(reqs)), make([]string, len(reqs))
		bodies            = make([][]byte, len(reqs))
		inserted, visible = make([]int64, len(reqs)), make([]int64, len(reqs))
		expires           = make([]*int64, len(reqs))
	)
	for i, r := range reqs {
		queues[i], ids[i], bodies[i] = r.queue, r.id, r.body
		inserted[i], visible[i], expires[i] = r.inserted, r.visible, r.expires
	}
	_, err := s.pool.Exec(ctx, `
WITH q AS (
	INSERT INTO funcd_queues (name, created_ns)
	SELECT DISTINCT name, $2::bigint FROM unnest($1::text[]) AS u(name)
	ON CONFLICT DO NOTHING),
m AS (
	INSERT INTO funcd_messages (queue, id, body, inserted_ns, expires_ns, visible_ns)
	SELECT * FROM unnest($1::text[], $3::uuid[], $4::bytea[], $5::bigint[], $6::bigint[], $7::bigint[])
	RETURNING queue, inserted_ns, visible_ns)
SELECT pg_notify($8, 'queue:' || n.queue)::text
FROM (SELECT DISTINCT queue FROM m WHERE visible_ns <= inserted_ns) AS n`,
		queues, inserted[0], ids, bodies, inserted, expires, visible, s.watch.channel)
	if err != nil {
		return nil, err
	}
	return make([]struct{}, len(reqs)), nil
}

// deleteReq is one Delete in a group.
type deleteReq struct {
	queue, id string
	receipt   int64
}

// execDeletes deletes a group of messages in one statement and tells each
// request whether its message went, or was missing, or had another receipt.
func (s *Store) execDeletes(ctx context.Context, reqs []deleteReq) ([]error, error) {
	var (
		ids, queues = make([]string, len(reqs)), make([]string, len(reqs))
		receipts    = make([]int64, len(reqs))
	)
	for i, r := range reqs {
		ids[i], queues[i], receipts[i] = r.id, r.queue, r.receipt
	}
	rows, err := s.pool.Query(ctx, `
WITH req AS (
	SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[]) WITH ORDINALITY AS r(id, queue, receipt, i)),
d AS (
	DELETE FROM funcd_messages m USING req
	WHERE m.id = req.id AND m.queue = req.queue AND m.pop_receipt = req.receipt
	RETURNING m.id, m.pop_receipt)
SELECT EXISTS (SELECT 1 FROM d WHERE d.id = req.id AND d.pop_receipt = req.receipt),
       EXISTS (SELECT 1 FROM funcd_messages m WHERE m.id = req.id AND m.queue = req.queue),
       `+asyncCommit+`
FROM req ORDER BY req.i`, ids, queues, receipts)
	if err != nil {
		return nil, err
	}
	results := make([]error, 0, len(reqs))
	deleted := map[deleteReq]bool{}
	for rows.Next() {
		var gone, exists bool
		if err := rows.Scan(&gone, &exists, nil); err != nil {
			rows.Close()
			return nil, err
		}
		r := reqs[len(results)]
		switch {
		case gone && !deleted[r]:
			deleted[r] = true // a second delete of it in the group finds it gone
			results = append(results, nil)
		case exists && !gone:
			results = append(results, storage.ErrPopReceiptMismatch)
		default:
			results = append(results, storage.ErrNotFound)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(results) != len(reqs) {
		return nil, fmt.Errorf("grouped delete returned %d results for %d requests", len(results), len(reqs))
	}
	return results, nil
}
