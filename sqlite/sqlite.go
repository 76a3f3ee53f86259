// Package sqlite is funcd's embedded store: every part of storage.Store in
// one SQLite database in a folder, with blob contents as files beside it.
//
// The folder holds store.db (with its -wal and -shm files) and blobs/, where
// each blob version is one file named by an internal id, never by the blob's
// name, so that no blob name can reach outside the folder.
//
// # Durability
//
// The database runs in WAL mode with synchronous=NORMAL by default: a commit
// is written to the WAL, in the operating system's cache, before the call
// returns, so every acknowledged write survives the process being killed
// (kill -9, a crash, an OOM kill). A power loss or kernel crash can lose the
// last transactions before the WAL was synced at a checkpoint, though never
// corrupt the database. Options.FullSync syncs the WAL at every commit and
// makes writes survive power loss too, at the cost of one fsync per write.
// Blob files are always fsynced, and renamed into place, before the row
// that names them commits, so the database never points at a missing file;
// a crash can at worst leave an orphan file, which a later Open removes.
//
// # Concurrency
//
// SQLite lets one connection write at a time. A Store writes through one
// connection, so its writers queue in Go rather than spin on SQLITE_BUSY, and
// reads (Peek, StatBlob, OpenBlob, listings, checkpoints) through a small pool
// of reading connections. Several Stores may open one folder, in one process
// or several: they take turns at the write lock (waiting up to the busy
// timeout), receives are single statements so no two hand out one message,
// and leases, fences and receipts are checked inside write transactions.
// WatchQueue and WatchBlobs only hear writes made through the same Store: a
// second Store or process on the folder is not notified, and its writes are
// seen by polling.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"

	_ "modernc.org/sqlite" // the pure Go SQLite driver, registered as "sqlite"
)

// Options configure a Store.
type Options struct {
	// Clock tells the time for visibility timeouts, expiry and leases;
	// clock.Real{} when nil.
	Clock clock.Clock
	// Logger receives the store's warnings (files it could not remove);
	// nothing is logged when nil.
	Logger *slog.Logger
	// FullSync syncs the database's log at every commit (synchronous=FULL),
	// so that an acknowledged write survives power loss as well as a
	// process crash. Off, writes survive a process crash (synchronous=NORMAL).
	FullSync bool
	// BusyTimeout is how long a write waits for another Store or process
	// on the same folder to release the write lock; 10 seconds when zero.
	BusyTimeout time.Duration
}

// Store is the embedded store. It is safe for concurrent use.
type Store struct {
	dir    string
	blobs  string // dir/blobs
	clock  clock.Clock
	log    *slog.Logger
	w      *sql.DB // the one writing connection
	r      *sql.DB // reading connections
	stmts  statements
	dstmts durableStatements
	// histories caches the histories of the instances recently run.
	histories historyCache
	queueW    watchers
	blobW     watchers
	// durableW watches task hubs, by hub name.
	durableW watchers
	batch    batcher
	// Guarded by being the batch's leader (see runBatch): the data_version
	// the writing connection read at the start of the last batch, and what
	// the running batch does once it has committed.
	dataVersion int64
	hooks       []func()

	stopWatch chan struct{} // closed by Close: ends watchOthers
	closeOnce sync.Once
	watching  sync.WaitGroup // watchOthers

	purgeMu   sync.Mutex
	lastPurge map[string]time.Time // queue -> when its expired messages were last removed; guarded by purgeMu
}

var _ storage.Store = (*Store)(nil)

// DBFile is the database's file name in the store's folder.
const DBFile = "store.db"

// blobDir is the folder, in the store's folder, of blob contents.
const blobDir = "blobs"

// orphanAge is how old an unreferenced blob file must be before Open removes
// it: a file younger than this may belong to a write in progress in another
// Store on the same folder.
const orphanAge = 15 * time.Minute

// Open opens the store in dir, creating the folder and the database if
// needed and bringing an older database's schema up to date.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	s := &Store{
		dir:       dir,
		blobs:     filepath.Join(dir, blobDir),
		clock:     opts.Clock,
		log:       opts.Logger.With("store", dir),
		lastPurge: map[string]time.Time{},
		stopWatch: make(chan struct{}),
	}
	if err := os.MkdirAll(s.blobs, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: cannot create the store's folder: %w", err)
	}
	syncMode := "NORMAL"
	if opts.FullSync {
		syncMode = "FULL"
	}
	dsn := func(txlock string, extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+syncMode+")")
		for _, p := range extra {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", txlock)
		return "file:" + filepath.ToSlash(filepath.Join(dir, DBFile)) + "?" + q.Encode()
	}
	var err error
	if s.w, err = sql.Open("sqlite", dsn("immediate")); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", filepath.Join(dir, DBFile), err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if s.r, err = sql.Open("sqlite", dsn("deferred", "query_only(1)")); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", filepath.Join(dir, DBFile), err)
	}
	s.r.SetMaxOpenConns(4)
	s.r.SetMaxIdleConns(4)
	ctx := context.Background()
	if err := s.migrate(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.stmts.close()
		s.closeDBs()
		return nil, err
	}
	if err := s.prepareDurable(ctx); err != nil {
		s.stmts.close()
		s.dstmts.close()
		s.closeDBs()
		return nil, err
	}
	if err := s.purgeExpired(ctx, ""); err != nil {
		s.Close()
		return nil, err
	}
	s.removeOrphans(ctx, orphanAge)
	s.watching.Go(func() { s.watchOthers(s.stopWatch) })
	return s, nil
}

// Close closes the database. Blob readers still open keep working.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.stopWatch) })
	s.watching.Wait()
	s.stmts.close()
	s.dstmts.close()
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	return errors.Join(s.w.Close(), s.r.Close())
}

// migrations bring the schema from version i to i+1. Append, never edit: a
// database records how many it has applied.
var migrations = []string{
	// 1: the first schema.
	`
CREATE TABLE queues (
	name    TEXT PRIMARY KEY,
	created INTEGER NOT NULL
) WITHOUT ROWID;

-- A message's id is its seq and nonce; seq orders messages by insertion.
CREATE TABLE messages (
	seq           INTEGER PRIMARY KEY,
	nonce         INTEGER NOT NULL,
	queue         TEXT NOT NULL,
	pop           INTEGER NOT NULL DEFAULT 0,
	dequeue_count INTEGER NOT NULL DEFAULT 0,
	inserted      INTEGER NOT NULL,
	expires       INTEGER NOT NULL,
	visible       INTEGER NOT NULL,
	body          BLOB NOT NULL
);
-- Receive walks a queue oldest first, reading visibility and expiry from
-- the index alone.
CREATE INDEX messages_fifo ON messages (queue, seq, visible, expires);
CREATE TRIGGER messages_make_queue AFTER INSERT ON messages BEGIN
	INSERT OR IGNORE INTO queues (name, created) VALUES (NEW.queue, NEW.inserted);
END;

CREATE TABLE containers (
	name    TEXT PRIMARY KEY,
	created INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE blobs (
	container    TEXT NOT NULL,
	name         TEXT NOT NULL,
	file         TEXT NOT NULL,
	etag         TEXT NOT NULL,
	seq          INTEGER NOT NULL,
	size         INTEGER NOT NULL,
	content_type TEXT NOT NULL,
	md5          BLOB NOT NULL,
	created      INTEGER NOT NULL,
	modified     INTEGER NOT NULL,
	metadata     TEXT NOT NULL,
	PRIMARY KEY (container, name)
) WITHOUT ROWID;
CREATE UNIQUE INDEX blobs_feed ON blobs (container, seq);

CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('blob_seq', 0);

CREATE TABLE leases (
	name    TEXT PRIMARY KEY,
	owner   TEXT NOT NULL,
	token   INTEGER NOT NULL,
	expires INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE schedules (
	name    TEXT PRIMARY KEY,
	last    INTEGER NOT NULL,
	next    INTEGER NOT NULL,
	updated INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE receipts (
	function  TEXT NOT NULL,
	container TEXT NOT NULL,
	name      TEXT NOT NULL,
	etag      TEXT NOT NULL,
	owner     TEXT NOT NULL,
	expires   INTEGER NOT NULL,
	completed INTEGER NOT NULL,
	PRIMARY KEY (function, container, name, etag)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
`,
	// 2: the durable task hubs (durable.go).
	durableSchema,
	// 3: the execution a durable message is for (NULL: any).
	`ALTER TABLE durable_messages ADD COLUMN execution_id TEXT;`,
}

// migrate brings the schema up to date in one transaction, recording the
// version reached in schema_version.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", filepath.Join(s.dir, DBFile), err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: read the schema version: %w", err)
	}
	var version int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`)
	}
	if err != nil {
		return fmt.Errorf("sqlite: read the schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("sqlite: %s has schema version %d, newer than this funcd knows (%d): use a newer funcd",
			filepath.Join(s.dir, DBFile), version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("sqlite: migrate %s to schema version %d: %w", filepath.Join(s.dir, DBFile), v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
		return fmt.Errorf("sqlite: record the schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", filepath.Join(s.dir, DBFile), err)
	}
	return nil
}

// removeOrphans removes blob files no row names that are older than minAge,
// left by a crash between writing a file and committing its row, or between
// committing a delete and removing the file.
func (s *Store) removeOrphans(ctx context.Context, minAge time.Duration) {
	entries, err := os.ReadDir(s.blobs)
	if err != nil {
		s.log.Warn("cannot list blob files", "err", err)
		return
	}
	if len(entries) == 0 {
		return
	}
	// Files are listed before the rows are read: a file written and
	// committed in between is then young, or named by a row.
	known := map[string]bool{}
	rows, err := s.r.QueryContext(ctx, `SELECT file FROM blobs`)
	if err != nil {
		s.log.Warn("cannot read blob files' names", "err", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			s.log.Warn("cannot read blob files' names", "err", err)
			return
		}
		known[f] = true
	}
	if err := rows.Err(); err != nil {
		s.log.Warn("cannot read blob files' names", "err", err)
		return
	}
	cutoff := time.Now().Add(-minAge)
	for _, e := range entries {
		if known[e.Name()] || e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil || info.ModTime().After(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(s.blobs, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("cannot remove an orphan blob file", "file", e.Name(), "err", err)
		}
	}
}

// nanos is t as stored: Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the time stored as n, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// sqlErr wraps a database error with what was being done.
func sqlErr(what string, err error) error {
	return fmt.Errorf("sqlite: %s: %w", what, err)
}
