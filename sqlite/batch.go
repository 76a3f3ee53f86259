package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/storage"
)

// batcher commits concurrent small writes (enqueues and deletes) together:
// while one transaction is being written, the writes that arrive wait, and
// the next of them runs them all in one transaction, so that many writers
// share one commit's cost (group commit). Each write still gets its own
// result, and is durable when its call returns.
type batcher struct {
	mu      sync.Mutex
	pending []*batchOp // guarded by mu
	leading bool       // a goroutine is running a batch; guarded by mu
}

// batchOp is one write waiting for a batch.
type batchOp struct {
	ctx  context.Context
	run  func(ctx context.Context, tx *sql.Tx) error
	err  error
	done chan struct{} // closed when the op ran (or failed with its batch)
	lead chan struct{} // closed when the op's goroutine is to run the next batch
}

// inBatch runs op in a transaction shared with the writes that wait at the
// same time, and returns its own error. An error that is not one of
// storage's (a failed statement) rolls back the whole batch and is every
// op's error.
func (s *Store) inBatch(ctx context.Context, run func(ctx context.Context, tx *sql.Tx) error) error {
	op := &batchOp{ctx: ctx, run: run, done: make(chan struct{}), lead: make(chan struct{})}
	b := &s.batch
	b.mu.Lock()
	b.pending = append(b.pending, op)
	if b.leading {
		b.mu.Unlock()
		// Wait regardless of ctx: leadership may be handed to this op, and
		// the batch running now takes no longer than one transaction.
		select {
		case <-op.done:
			return op.err
		case <-op.lead:
		}
		b.mu.Lock()
	}
	b.leading = true
	batch := b.pending
	b.pending = nil
	b.mu.Unlock()

	s.runBatch(ctx, batch)

	b.mu.Lock()
	if len(b.pending) > 0 {
		close(b.pending[0].lead) // it runs the next batch
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	return op.err
}

func (s *Store) runBatch(ctx context.Context, batch []*batchOp) {
	defer func() {
		for _, op := range batch {
			close(op.done)
		}
	}()
	fail := func(err error) {
		for _, op := range batch {
			op.err = err
		}
	}
	ctx = context.WithoutCancel(ctx)
	s.hooks = s.hooks[:0]
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		fail(sqlErr("begin a write", err))
		return
	}
	if err := s.noticeOthers(ctx, tx); err != nil {
		tx.Rollback()
		fail(err)
		return
	}
	for _, op := range batch {
		if op.err = op.ctx.Err(); op.err != nil {
			continue
		}
		op.err = op.run(ctx, tx)
		if op.err != nil && !isStorageError(op.err) {
			tx.Rollback()
			fail(op.err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(sqlErr("commit", err))
		return
	}
	for _, f := range s.hooks {
		f()
	}
	s.hooks = s.hooks[:0]
}

// afterCommit runs f once the running batch has committed, before the next
// batch begins; if the batch rolls back, f does not run. Only a batch's op
// may call it.
func (s *Store) afterCommit(f func()) { s.hooks = append(s.hooks, f) }

// noticeOthers forgets what this Store caches of the database when
// another connection (another process) has committed since the last
// batch. It runs first in each batch's transaction, which holds the write
// lock: nobody else commits until it ends, so what the cache holds then
// is what the transaction sees, but for its own writes.
func (s *Store) noticeOthers(ctx context.Context, tx *sql.Tx) error {
	if s.dstmts.dataVersion == nil {
		return nil
	}
	var v int64
	if err := tx.StmtContext(ctx, s.dstmts.dataVersion).QueryRowContext(ctx).Scan(&v); err != nil {
		return sqlErr("read the data version", err)
	}
	if v != s.dataVersion {
		s.histories.clear()
		s.dataVersion = v
	}
	return nil
}

// isStorageError reports whether err is an outcome a write reports to its
// caller, as opposed to a failed statement.
func isStorageError(err error) bool {
	for _, e := range []error{storage.ErrNotFound, storage.ErrPopReceiptMismatch, storage.ErrTooLarge,
		storage.ErrInvalidName, storage.ErrConditionNotMet, storage.ErrLeaseHeld, storage.ErrLeaseLost,
		durable.ErrNotFound, durable.ErrInstanceExists, durable.ErrLockLost} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
