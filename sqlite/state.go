package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/funcd/funcd/storage"
)

// AcquireLease takes the lease for owner for ttl.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (storage.Lease, error) {
	now := s.clock.Now()
	l := storage.Lease{Name: name, Owner: owner, Expires: now.Add(ttl).UTC()}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return storage.Lease{}, sqlErr("acquire lease "+name, err)
	}
	defer tx.Rollback()
	var holder string
	var token, expires int64
	err = tx.QueryRowContext(ctx, `SELECT owner, token, expires FROM leases WHERE name = ?`, name).Scan(&holder, &token, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		l.Token = 1
	case err != nil:
		return storage.Lease{}, sqlErr("acquire lease "+name, err)
	case holder == owner && expires > now.UnixNano():
		l.Token = token
	case holder == "" || expires <= now.UnixNano():
		l.Token = token + 1
	default:
		return storage.Lease{}, fmt.Errorf("lease %s is held by %s until %v: %w", name, holder, fromNanos(expires), storage.ErrLeaseHeld)
	}
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO leases (name, owner, token, expires) VALUES (?, ?, ?, ?)`,
		name, owner, l.Token, l.Expires.UnixNano())
	if err != nil {
		return storage.Lease{}, sqlErr("acquire lease "+name, err)
	}
	if err := tx.Commit(); err != nil {
		return storage.Lease{}, sqlErr("acquire lease "+name, err)
	}
	return l, nil
}

// RenewLease extends a held lease.
func (s *Store) RenewLease(ctx context.Context, l storage.Lease, ttl time.Duration) (storage.Lease, error) {
	now := s.clock.Now()
	l.Expires = now.Add(ttl).UTC()
	res, err := s.w.ExecContext(ctx, `UPDATE leases SET expires = ? WHERE name = ? AND owner = ? AND token = ? AND expires > ?`,
		l.Expires.UnixNano(), l.Name, l.Owner, l.Token, now.UnixNano())
	if err != nil {
		return storage.Lease{}, sqlErr("renew lease "+l.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return storage.Lease{}, fmt.Errorf("lease %s with token %d for %s: %w", l.Name, l.Token, l.Owner, storage.ErrLeaseLost)
	}
	return l, nil
}

// ReleaseLease frees the lease if l still holds it.
func (s *Store) ReleaseLease(ctx context.Context, l storage.Lease) error {
	_, err := s.w.ExecContext(ctx, `UPDATE leases SET owner = '', expires = 0 WHERE name = ? AND owner = ? AND token = ?`,
		l.Name, l.Owner, l.Token)
	if err != nil {
		return sqlErr("release lease "+l.Name, err)
	}
	return nil
}

// ScheduleStatus returns the status saved under name.
func (s *Store) ScheduleStatus(ctx context.Context, name string) (storage.ScheduleStatus, bool, error) {
	var last, next, updated int64
	err := s.r.QueryRowContext(ctx, `SELECT last, next, updated FROM schedules WHERE name = ?`, name).Scan(&last, &next, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.ScheduleStatus{}, false, nil
	}
	if err != nil {
		return storage.ScheduleStatus{}, false, sqlErr("read schedule status "+name, err)
	}
	return storage.ScheduleStatus{Last: fromNanos(last), Next: fromNanos(next), LastUpdated: fromNanos(updated)}, true, nil
}

// SetScheduleStatus saves status under name, fenced by a lease unless fence
// is the zero Lease.
func (s *Store) SetScheduleStatus(ctx context.Context, name string, st storage.ScheduleStatus, fence storage.Lease) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return sqlErr("save schedule status "+name, err)
	}
	defer tx.Rollback()
	if err := s.checkFence(ctx, tx, fence); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO schedules (name, last, next, updated) VALUES (?, ?, ?, ?)`,
		name, nanos(st.Last), nanos(st.Next), nanos(st.LastUpdated))
	if err != nil {
		return sqlErr("save schedule status "+name, err)
	}
	if err := tx.Commit(); err != nil {
		return sqlErr("save schedule status "+name, err)
	}
	return nil
}

// checkFence is ErrLeaseLost unless fence is the zero Lease or the current
// holding of its lease.
func (s *Store) checkFence(ctx context.Context, tx *sql.Tx, fence storage.Lease) error {
	if fence == (storage.Lease{}) {
		return nil
	}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM leases WHERE name = ? AND owner = ? AND token = ? AND expires > ?`,
		fence.Name, fence.Owner, fence.Token, nanos(s.clock.Now())).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("fence: lease %s with token %d for %s: %w", fence.Name, fence.Token, fence.Owner, storage.ErrLeaseLost)
	}
	if err != nil {
		return sqlErr("check lease "+fence.Name, err)
	}
	return nil
}

const receiptKey = `function = ? AND container = ? AND name = ? AND etag = ?`

func keyArgs(k storage.ReceiptKey, more ...any) []any {
	return append([]any{k.Function, k.Container, k.Name, k.ETag}, more...)
}

// ClaimReceipt takes the receipt's claim for owner for ttl.
func (s *Store) ClaimReceipt(ctx context.Context, key storage.ReceiptKey, owner string, ttl time.Duration) (claimed, completed bool, err error) {
	now := s.clock.Now()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, false, sqlErr("claim a receipt", err)
	}
	defer tx.Rollback()
	var holder string
	var expires int64
	var done bool
	err = tx.QueryRowContext(ctx, `SELECT owner, expires, completed FROM receipts WHERE `+receiptKey, keyArgs(key)...).
		Scan(&holder, &expires, &done)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return false, false, sqlErr("claim a receipt", err)
	case done:
		return false, true, nil
	case holder != "" && holder != owner && expires > now.UnixNano():
		return false, false, nil
	}
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO receipts (function, container, name, etag, owner, expires, completed)
		VALUES (?, ?, ?, ?, ?, ?, 0)`, keyArgs(key, owner, now.Add(ttl).UnixNano())...)
	if err != nil {
		return false, false, sqlErr("claim a receipt", err)
	}
	if err := tx.Commit(); err != nil {
		return false, false, sqlErr("claim a receipt", err)
	}
	return true, false, nil
}

// CompleteReceipt marks the version processed and frees the claim.
func (s *Store) CompleteReceipt(ctx context.Context, key storage.ReceiptKey, owner string) error {
	_, err := s.w.ExecContext(ctx, `INSERT OR REPLACE INTO receipts (function, container, name, etag, owner, expires, completed)
		VALUES (?, ?, ?, ?, '', 0, 1)`, keyArgs(key)...)
	if err != nil {
		return sqlErr("complete a receipt", err)
	}
	return nil
}

// ReleaseReceipt frees owner's claim without completing it.
func (s *Store) ReleaseReceipt(ctx context.Context, key storage.ReceiptKey, owner string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE receipts SET owner = '', expires = 0 WHERE `+receiptKey+` AND owner = ? AND completed = 0`,
		keyArgs(key, owner)...)
	if err != nil {
		return sqlErr("release a receipt", err)
	}
	return nil
}

// Checkpoint returns the value saved under name, "" when none.
func (s *Store) Checkpoint(ctx context.Context, name string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM checkpoints WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", sqlErr("read checkpoint "+name, err)
	}
	return v, nil
}

// SetCheckpoint saves value under name.
func (s *Store) SetCheckpoint(ctx context.Context, name, value string) error {
	_, err := s.w.ExecContext(ctx, `INSERT OR REPLACE INTO checkpoints (name, value) VALUES (?, ?)`, name, value)
	if err != nil {
		return sqlErr("save checkpoint "+name, err)
	}
	return nil
}
