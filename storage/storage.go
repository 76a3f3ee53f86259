// Package storage is the vocabulary of funcd's state: the queues, blobs,
// leases, timer schedule status, blob receipts and checkpoints that triggers
// keep, as interfaces every backend implements. The embedded SQLite store
// (package sqlite) and the shared PostgreSQL store (package postgres)
// implement all of Store; the Azure Storage provider (package azstorage)
// implements Queues and Blobs, and the Receipts of the blob trigger for
// blobs in the account. One conformance suite, storage/storagetest,
// holds every backend to the behaviour written here.
//
// Times are read from the clock a backend was opened with, never from a
// database server, so that tests can drive visibility timeouts and lease
// expiry with a fake clock.
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors a backend returns, wrapped with %w and detail; test with errors.Is.
var (
	// ErrNotFound: the queue, message, blob or container does not exist.
	ErrNotFound = errors.New("not found")
	// ErrPopReceiptMismatch: the message exists but the pop receipt is not
	// its current one (another receive took it since).
	ErrPopReceiptMismatch = errors.New("pop receipt mismatch")
	// ErrConditionNotMet: a blob write's IfMatch/IfNoneMatch failed.
	ErrConditionNotMet = errors.New("condition not met")
	// ErrLeaseHeld: another owner holds the lease and it has not expired.
	ErrLeaseHeld = errors.New("lease held by another owner")
	// ErrLeaseLost: the lease named by a fence is no longer held with that
	// token (it expired and another owner took it, or it was released).
	ErrLeaseLost = errors.New("lease lost")
	// ErrInvalidName: a queue, container or blob name breaks Azure Storage's
	// naming rules.
	ErrInvalidName = errors.New("invalid name")
	// ErrTooLarge: a message or blob is larger than the backend accepts.
	ErrTooLarge = errors.New("too large")
)

// Store is a whole backend: everything funcd keeps.
type Store interface {
	Queues
	Blobs
	BlobFeed
	Leases
	Schedules
	Receipts
	Checkpoints
	// Close releases the backend's connections and files.
	Close() error
}

// NeverExpires as a message time to live keeps the message until it is
// deleted (Azure's -1).
const NeverExpires time.Duration = -1

// DefaultMessageTTL is Azure Storage's default message time to live.
const DefaultMessageTTL = 7 * 24 * time.Hour

// MaxMessageSize is Azure Storage's limit on a message's body, in bytes as
// stored (after any base64 encoding the writer applied).
const MaxMessageSize = 64 * 1024

// Message is one queue message as a receive or peek returns it.
type Message struct {
	ID string
	// PopReceipt identifies the receive that made the message invisible;
	// empty from Peek. Delete and UpdateVisibility need the current one.
	PopReceipt string
	// Body is the message as stored: the bytes the writer enqueued.
	Body            []byte
	DequeueCount    int64
	InsertionTime   time.Time
	ExpirationTime  time.Time // the zero time when the message never expires
	NextVisibleTime time.Time
}

// QueueInfo describes a queue for listings.
type QueueInfo struct {
	Name string
	// Messages counts the messages in the queue, visible or not, expired
	// ones excluded.
	Messages int64
}

// Queues is a set of named message queues with Azure Storage's semantics:
// at-least-once delivery, visibility timeouts, dequeue counts, pop receipts.
type Queues interface {
	// CreateQueue makes the queue if it does not exist.
	CreateQueue(ctx context.Context, queue string) error
	// DeleteQueue removes the queue and its messages (ErrNotFound if absent).
	DeleteQueue(ctx context.Context, queue string) error
	// ListQueues lists the queues whose names start with prefix, by name.
	ListQueues(ctx context.Context, prefix string) ([]QueueInfo, error)

	// Enqueue adds a message, creating the queue if it does not exist. It
	// becomes visible after visibilityDelay (0: at once) and expires ttl
	// after insertion (0: DefaultMessageTTL; NeverExpires). A body over
	// MaxMessageSize is ErrTooLarge. The message is durable when Enqueue
	// returns.
	Enqueue(ctx context.Context, queue string, body []byte, visibilityDelay, ttl time.Duration) (Message, error)
	// Receive takes up to max visible, unexpired messages, oldest insertion
	// first: each gets DequeueCount+1, a new PopReceipt and NextVisibleTime
	// = now + visibility. A queue that does not exist is ErrNotFound; an
	// empty one returns no messages. Two concurrent receives (in one process
	// or several sharing the backend) never return the same message while
	// it is invisible.
	Receive(ctx context.Context, queue string, max int, visibility time.Duration) ([]Message, error)
	// Peek returns up to max visible messages without changing them.
	Peek(ctx context.Context, queue string, max int) ([]Message, error)
	// Delete removes a received message. ErrNotFound when it is gone,
	// ErrPopReceiptMismatch when popReceipt is not its current one.
	Delete(ctx context.Context, queue, id, popReceipt string) error
	// UpdateVisibility makes a received message visible again after
	// visibility (0: at once) and returns it with its new pop receipt and
	// NextVisibleTime. Errors as Delete.
	UpdateVisibility(ctx context.Context, queue, id, popReceipt string, visibility time.Duration) (Message, error)
	// Move enqueues a received message's body on another queue (created if
	// missing; DequeueCount starts again) and deletes it from this one, in
	// one transaction where the backend has them. Errors as Delete.
	Move(ctx context.Context, queue, id, popReceipt, to string) (Message, error)
	// Clear deletes every message of the queue.
	Clear(ctx context.Context, queue string) error

	// WatchQueue returns a channel that receives a value soon after a
	// message may have become visible in the queue: an Enqueue or Move to
	// it, or an UpdateVisibility with no delay, by this process or, for a
	// shared backend, by any process. It is a hint, not a count (capacity
	// 1, sends never block); a receiver still polls for messages that
	// become visible when their timeout runs out. stop ends the watch.
	// A backend that cannot notify returns a nil channel.
	WatchQueue(queue string) (ch <-chan struct{}, stop func())
}

// BlobProps describes a stored blob.
type BlobProps struct {
	Container string
	Name      string
	// ETag is quoted, as Azure sends it ("\"0x8DC...\""); every write gives
	// a new one.
	ETag         string
	Size         int64
	ContentType  string
	ContentMD5   []byte
	Created      time.Time
	LastModified time.Time
	Metadata     map[string]string
	// Seq orders writes in a backend with a BlobFeed: every put gets a
	// larger Seq than any before it in the store. 0 elsewhere.
	Seq int64
}

// DefaultContentType is the content type Azure gives a blob written
// without one.
const DefaultContentType = "application/octet-stream"

// PutBlobOptions are a blob write's properties and conditions.
type PutBlobOptions struct {
	// ContentType is DefaultContentType when empty.
	ContentType string
	Metadata    map[string]string
	// IfMatch, when set, requires the blob's current ETag.
	IfMatch string
	// IfNoneMatch "*" requires that the blob does not exist.
	IfNoneMatch string
}

// Blobs stores block blobs in containers.
type Blobs interface {
	// PutBlob writes a whole blob, creating the container if missing; the
	// blob is durable and visible to readers only once the write is
	// complete. A failed condition is ErrConditionNotMet.
	PutBlob(ctx context.Context, container, name string, body io.Reader, opts PutBlobOptions) (BlobProps, error)
	// OpenBlob reads a blob (ErrNotFound if it or its container is absent).
	// The reader sees the version whose props are returned, even if the
	// blob is overwritten meanwhile.
	OpenBlob(ctx context.Context, container, name string) (io.ReadCloser, BlobProps, error)
	// StatBlob returns a blob's properties.
	StatBlob(ctx context.Context, container, name string) (BlobProps, error)
	// DeleteBlob removes a blob; ifMatch, when set, requires its ETag.
	DeleteBlob(ctx context.Context, container, name, ifMatch string) error
	// ListBlobs lists up to max blobs whose names start with prefix, by
	// name, after the marker a previous page returned ("" to begin); next
	// is "" on the last page.
	ListBlobs(ctx context.Context, container, prefix, marker string, max int) (page []BlobProps, next string, err error)
	// ListContainers lists the containers, by name.
	ListContainers(ctx context.Context) ([]string, error)
	// DeleteContainer removes a container and its blobs.
	DeleteContainer(ctx context.Context, container string) error
}

// BlobFeed is a change feed over a store's blobs, which the blob trigger
// follows instead of scanning containers.
type BlobFeed interface {
	// BlobChanges returns up to max current blobs of the container with
	// Seq > after, in Seq order. A blob overwritten since appears once,
	// with its newest Seq.
	BlobChanges(ctx context.Context, container string, after int64, max int) ([]BlobProps, error)
	// WatchBlobs signals (as WatchQueue) after a put to the container.
	WatchBlobs(container string) (ch <-chan struct{}, stop func())
}

// Lease is a named lock with an owner and an expiry. Token is a fencing
// token: it grows every time the lease changes hands, so a write fenced
// with an old token is refused after another owner took over.
type Lease struct {
	Name    string
	Owner   string
	Token   int64
	Expires time.Time
}

// Leases are leases shared by every process using the backend.
type Leases interface {
	// AcquireLease takes the lease for owner for ttl: free, expired, or
	// already owner's (then it is renewed, same token). Held by another
	// owner and not expired: ErrLeaseHeld.
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error)
	// RenewLease extends a held lease; ErrLeaseLost if l is no longer the
	// current holding (same owner and token, not expired).
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// ReleaseLease frees the lease if l still holds it; otherwise it does
	// nothing.
	ReleaseLease(ctx context.Context, l Lease) error
}

// ScheduleStatus is a timer's persisted status, the real host's
// ScheduleStatus.
type ScheduleStatus struct {
	Last        time.Time
	Next        time.Time
	LastUpdated time.Time
}

// Schedules keeps timer trigger schedule status.
type Schedules interface {
	// ScheduleStatus returns the status saved under name; ok is false when
	// none was.
	ScheduleStatus(ctx context.Context, name string) (st ScheduleStatus, ok bool, err error)
	// SetScheduleStatus saves status under name, fenced: unless fence is
	// the zero Lease, the write happens only if fence is still the current
	// holding of the lease fence.Name (ErrLeaseLost otherwise), checked in
	// the same transaction.
	SetScheduleStatus(ctx context.Context, name string, st ScheduleStatus, fence Lease) error
}

// ReceiptKey names one version of one blob as seen by one function.
type ReceiptKey struct {
	Function  string
	Container string
	Name      string
	ETag      string
}

// Receipts record which blob versions a function has processed, so that a
// blob is processed once per version across restarts and hosts.
type Receipts interface {
	// ClaimReceipt takes the receipt's lease for owner for ttl. completed is
	// true (and claimed false) when the version was processed already;
	// claimed is false when another owner holds an unexpired claim.
	ClaimReceipt(ctx context.Context, key ReceiptKey, owner string, ttl time.Duration) (claimed, completed bool, err error)
	// CompleteReceipt marks the version processed and frees the claim.
	CompleteReceipt(ctx context.Context, key ReceiptKey, owner string) error
	// ReleaseReceipt frees owner's claim without completing it.
	ReleaseReceipt(ctx context.Context, key ReceiptKey, owner string) error
}

// Checkpoints keep small named values, such as a trigger's position in a
// feed or a scan's high-water mark.
type Checkpoints interface {
	// Checkpoint returns the value saved under name, "" when none.
	Checkpoint(ctx context.Context, name string) (string, error)
	// SetCheckpoint saves value under name.
	SetCheckpoint(ctx context.Context, name, value string) error
}
