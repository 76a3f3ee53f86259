// Package postgres is funcd's shared store: a storage.Store in a PostgreSQL
// database, so that several funcd processes, on one machine or many, serve
// one app from the same queues, blobs, leases and timer status.
//
// Correctness with several processes comes from the database: Receive takes
// messages with FOR UPDATE SKIP LOCKED in one statement, leases and fenced
// schedule writes are single conditional statements, and a lease's fencing
// token grows every time it changes hands. Every time written to or compared
// in the database comes from the Options.Clock, never from the server's
// now(), so a fake clock drives tests and all processes agree on one time
// source per caller.
//
// Watches (WatchQueue, WatchBlobs) are pushed by LISTEN/NOTIFY: every write
// that can make a message visible or that puts a blob notifies in its own
// transaction, and one dedicated connection per Store listens for all of
// its watches.
//
// The tables live in the schema the connection's search_path selects, or in
// Options.Schema when it is set (created if missing); their names start with
// funcd_ so that they can share a schema with other tables. Open creates them
// when missing, under an advisory lock, so that processes starting together
// do not race, and records the schema's version in funcd_schema_version.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// MaxBlobSize is the largest blob PutBlob accepts, in bytes; a larger body
// is storage.ErrTooLarge. A put holds the whole body in memory while it is
// written (about twice its size at the peak), so the limit bounds a put's
// memory; reads stream the blob in chunks.
const MaxBlobSize = 256 << 20

// defaultMaxConns is the pool size when the connection string does not set
// pool_max_conns. A large blob being read holds one connection until its
// reader is closed.
const defaultMaxConns = 8

// Options configure a Store.
type Options struct {
	// Clock gives every time the store writes or compares; clock.Real{}
	// when nil.
	Clock clock.Clock
	// Logger receives the listener's reconnects; slog.Default() when nil.
	Logger *slog.Logger
	// Schema, when set, is the schema the tables live in: Open creates it
	// if missing and sets every connection's search_path to it. When empty,
	// the connection string's search_path (or the server's default)
	// decides.
	Schema string
}

// Store is a storage.Store in PostgreSQL. It is safe for concurrent use, and
// any number of Stores, in any number of processes, may share a schema.
type Store struct {
	pool    *pgxpool.Pool
	clock   clock.Clock
	log     *slog.Logger
	schema  string // the schema the tables are in, as the server named it
	maxBlob int    // MaxBlobSize; smaller in tests

	watch     *notifier
	hubNotify *hubNotifier

	enqueues group[enqueueReq, struct{}]
	deletes  group[deleteReq, error]

	purgeMu   sync.Mutex
	lastPurge time.Time // guarded by purgeMu
	closing   bool      // no new background work; guarded by purgeMu

	cancel context.CancelFunc
	wg     sync.WaitGroup // the listener and background purges
	closed sync.Once
}

var _ storage.Store = (*Store)(nil)

// Open connects to the database connString names (a postgres:// URL or
// key=value DSN as pgx accepts, including pool_max_conns), creates the
// tables if missing and starts the listener that serves watches. Close
// releases it.
func Open(ctx context.Context, connString string, opts Options) (*Store, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("postgres: connection string: %w", err)
	}
	if !strings.Contains(connString, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, defaultMaxConns)
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	schema, err := migrate(ctx, pool, opts.Schema)
	if err != nil {
		pool.Close()
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	s := &Store{
		pool:    pool,
		clock:   opts.Clock,
		log:     opts.Logger,
		schema:  schema,
		maxBlob: MaxBlobSize,
		cancel:  cancel,
	}
	s.enqueues.exec = s.execEnqueues
	s.deletes.exec = s.execDeletes
	s.watch = newNotifier(channelName(schema), cfg.ConnConfig.Copy(), opts.Logger)
	s.hubNotify = newHubNotifier()
	s.wg.Go(func() { s.watch.run(lctx) })
	s.wg.Go(func() { s.runHubNotifier(lctx) })
	return s, nil
}

// Close stops the listener, waits for background work and closes the pool.
// Readers of large blobs must be closed first.
func (s *Store) Close() error {
	s.closed.Do(func() {
		s.purgeMu.Lock()
		s.closing = true
		s.purgeMu.Unlock()
		s.cancel()
		s.wg.Wait()
		s.pool.Close()
	})
	return nil
}

// Schema returns the schema the store's tables are in.
func (s *Store) Schema() string { return s.schema }

// channelName is the NOTIFY channel of the stores sharing schema. Channels
// are database-wide, so the schema is part of the name; hashing it keeps the
// name within PostgreSQL's 63-byte identifier limit.
func channelName(schema string) string {
	h := fnv.New64a()
	h.Write([]byte(schema))
	return fmt.Sprintf("funcd_%016x", h.Sum64())
}

// now is the store's clock as Unix nanoseconds, the form times are stored in.
func (s *Store) now() int64 { return s.clock.Now().UnixNano() }

// fromNanos turns a stored time back into a time.Time in UTC.
func fromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// fromNullNanos is fromNanos for a column that may be NULL (the zero time).
func fromNullNanos(ns *int64) time.Time {
	if ns == nil {
		return time.Time{}
	}
	return fromNanos(*ns)
}

// nullNanos is the stored form of a time that may be zero (NULL).
func nullNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ns := t.UnixNano()
	return &ns
}

// addNanos is now + d in nanoseconds, saturating instead of overflowing.
func addNanos(now int64, d time.Duration) int64 {
	if d > 0 && now > (1<<63-1)-int64(d) {
		return 1<<63 - 1
	}
	return now + int64(d)
}

// isNoRows reports whether err is pgx's "no rows" error.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
