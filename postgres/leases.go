package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/funcd/funcd/storage"
)

// AcquireLease takes the lease for owner in one conditional upsert: the row
// lock of ON CONFLICT DO UPDATE serializes contenders. The token grows
// whenever the lease is not already owner's unexpired holding.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (storage.Lease, error) {
	if owner == "" {
		return storage.Lease{}, fmt.Errorf("postgres: acquire lease %q: the owner is empty", name)
	}
	now := s.now()
	l := storage.Lease{Name: name, Owner: owner}
	expires := addNanos(now, ttl)
	err := s.pool.QueryRow(ctx, `
INSERT INTO funcd_leases AS l (name, owner, token, expires_ns) VALUES ($1, $2, 1, $4)
ON CONFLICT (name) DO UPDATE SET
	token = CASE WHEN l.owner = excluded.owner AND l.expires_ns > $3 THEN l.token ELSE l.token + 1 END,
	owner = excluded.owner,
	expires_ns = excluded.expires_ns
WHERE l.owner = excluded.owner OR l.owner = '' OR l.expires_ns <= $3
RETURNING token`, name, owner, now, expires).Scan(&l.Token)
	if isNoRows(err) {
		return storage.Lease{}, fmt.Errorf("postgres: acquire lease %q for %q: %w", name, owner, storage.ErrLeaseHeld)
	}
	if err != nil {
		return storage.Lease{}, fmt.Errorf("postgres: acquire lease %q for %q: %w", name, owner, err)
	}
	l.Expires = fromNanos(expires)
	return l, nil
}

// RenewLease extends l if it is still the current, unexpired holding.
func (s *Store) RenewLease(ctx context.Context, l storage.Lease, ttl time.Duration) (storage.Lease, error) {
	now := s.now()
	expires := addNanos(now, ttl)
	tag, err := s.pool.Exec(ctx, `
UPDATE funcd_leases SET expires_ns = $4
WHERE name = $1 AND owner = $2 AND token = $3 AND expires_ns > $5`,
		l.Name, l.Owner, l.Token, expires, now)
	if err != nil {
		return storage.Lease{}, fmt.Errorf("postgres: renew lease %q for %q: %w", l.Name, l.Owner, err)
	}
	if tag.RowsAffected() == 0 {
		return storage.Lease{}, fmt.Errorf("postgres: renew lease %q for %q (token %d): %w", l.Name, l.Owner, l.Token, storage.ErrLeaseLost)
	}
	l.Expires = fromNanos(expires)
	return l, nil
}

// ReleaseLease frees the lease if l still holds it. The row stays, with no
// owner, so that the next holder's token is larger.
func (s *Store) ReleaseLease(ctx context.Context, l storage.Lease) error {
	_, err := s.pool.Exec(ctx, `
UPDATE funcd_leases SET owner = '', expires_ns = 0
WHERE name = $1 AND owner = $2 AND token = $3`, l.Name, l.Owner, l.Token)
	if err != nil {
		return fmt.Errorf("postgres: release lease %q for %q: %w", l.Name, l.Owner, err)
	}
	return nil
}

// ScheduleStatus returns the status saved under name.
func (s *Store) ScheduleStatus(ctx context.Context, name string) (storage.ScheduleStatus, bool, error) {
	var last, next, updated *int64
	err := s.pool.QueryRow(ctx,
		`SELECT last_ns, next_ns, last_updated_ns FROM funcd_schedules WHERE name = $1`, name,
	).Scan(&last, &next, &updated)
	if isNoRows(err) {
		return storage.ScheduleStatus{}, false, nil
	}
	if err != nil {
		return storage.ScheduleStatus{}, false, fmt.Errorf("postgres: schedule status %q: %w", name, err)
	}
	return storage.ScheduleStatus{
		Last:        fromNullNanos(last),
		Next:        fromNullNanos(next),
		LastUpdated: fromNullNanos(updated),
	}, true, nil
}

// SetScheduleStatus saves status under name. A fenced write is one
// statement whose condition locks the lease row FOR SHARE: a takeover waits
// for it, and it sees a takeover that committed first.
func (s *Store) SetScheduleStatus(ctx context.Context, name string, st storage.ScheduleStatus, fence storage.Lease) error {
	fenced := fence != storage.Lease{}
	tag, err := s.pool.Exec(ctx, `
INSERT INTO funcd_schedules (name, last_ns, next_ns, last_updated_ns)
SELECT $1, $2, $3, $4
WHERE NOT $5 OR EXISTS (
	SELECT 1 FROM funcd_leases
	WHERE name = $6 AND owner = $7 AND token = $8 AND expires_ns > $9
	FOR SHARE)
ON CONFLICT (name) DO UPDATE SET
	last_ns = excluded.last_ns,
	next_ns = excluded.next_ns,
	last_updated_ns = excluded.last_updated_ns`,
		name, nullNanos(st.Last), nullNanos(st.Next), nullNanos(st.LastUpdated),
		fenced, fence.Name, fence.Owner, fence.Token, s.now())
	if err != nil {
		return fmt.Errorf("postgres: set schedule status %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: set schedule status %q fenced by lease %q (owner %q, token %d): %w",
			name, fence.Name, fence.Owner, fence.Token, storage.ErrLeaseLost)
	}
	return nil
}

// ClaimReceipt takes the receipt's claim for owner in one conditional
// upsert; only when that fails does a second query tell a completed version
// from another owner's claim.
func (s *Store) ClaimReceipt(ctx context.Context, key storage.ReceiptKey, owner string, ttl time.Duration) (claimed, completed bool, err error) {
	if owner == "" {
		return false, false, fmt.Errorf("postgres: claim receipt %v: the owner is empty", key)
	}
	now := s.now()
	err = s.pool.QueryRow(ctx, `
INSERT INTO funcd_receipts AS r (function, container, name, etag, owner, expires_ns, completed)
VALUES ($1, $2, $3, $4, $5, $6, false)
ON CONFLICT (function, container, name, etag) DO UPDATE SET
	owner = excluded.owner,
	expires_ns = excluded.expires_ns
WHERE NOT r.completed AND (r.owner = excluded.owner OR r.owner = '' OR r.expires_ns <= $7)
RETURNING true`,
		key.Function, key.Container, key.Name, key.ETag, owner, addNanos(now, ttl), now).Scan(&claimed)
	if err == nil {
		return true, false, nil
	}
	if !isNoRows(err) {
		return false, false, fmt.Errorf("postgres: claim receipt %v: %w", key, err)
	}
	err = s.pool.QueryRow(ctx, `
SELECT completed FROM funcd_receipts WHERE function = $1 AND container = $2 AND name = $3 AND etag = $4`,
		key.Function, key.Container, key.Name, key.ETag).Scan(&completed)
	if isNoRows(err) {
		// Receipt rows are never deleted, so this cannot happen; say
		// "held" so that the caller tries again later.
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("postgres: claim receipt %v: %w", key, err)
	}
	return false, completed, nil
}

// CompleteReceipt marks the version processed and frees the claim.
func (s *Store) CompleteReceipt(ctx context.Context, key storage.ReceiptKey, owner string) error {
	_, err := s.pool.Exec(ctx, `
INSERT INTO funcd_receipts (function, container, name, etag, owner, expires_ns, completed)
VALUES ($1, $2, $3, $4, '', 0, true)
ON CONFLICT (function, container, name, etag) DO UPDATE SET owner = '', expires_ns = 0, completed = true`,
		key.Function, key.Container, key.Name, key.ETag)
	if err != nil {
		return fmt.Errorf("postgres: complete receipt %v for %q: %w", key, owner, err)
	}
	return nil
}

// ReleaseReceipt frees owner's claim without completing it.
func (s *Store) ReleaseReceipt(ctx context.Context, key storage.ReceiptKey, owner string) error {
	_, err := s.pool.Exec(ctx, `
UPDATE funcd_receipts SET owner = '', expires_ns = 0
WHERE function = $1 AND container = $2 AND name = $3 AND etag = $4 AND owner = $5 AND NOT completed`,
		key.Function, key.Container, key.Name, key.ETag, owner)
	if err != nil {
		return fmt.Errorf("postgres: release receipt %v for %q: %w", key, owner, err)
	}
	return nil
}

// Checkpoint returns the value saved under name, "" when none.
func (s *Store) Checkpoint(ctx context.Context, name string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM funcd_checkpoints WHERE name = $1`, name).Scan(&v)
	if isNoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: checkpoint %q: %w", name, err)
	}
	return v, nil
}

// SetCheckpoint saves value under name.
func (s *Store) SetCheckpoint(ctx context.Context, name, value string) error {
	_, err := s.pool.Exec(ctx, `
INSERT INTO funcd_checkpoints (name, value) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	if err != nil {
		return fmt.Errorf("postgres: set checkpoint %q: %w", name, err)
	}
	return nil
}
