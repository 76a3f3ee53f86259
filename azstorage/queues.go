package azstorage

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/funcd/funcd/storage"
)

// maxPerCall is Azure's limit on the messages one Get Messages or Peek
// Messages call returns.
const maxPerCall = 32

// moveHide is how long a moved message stays invisible on its target queue
// until the source copy is deleted; if Move stops between the two, the
// copy shows up by itself after this long.
const moveHide = 30 * time.Second

// CreateQueue makes the queue if it does not exist.
func (p *Provider) CreateQueue(ctx context.Context, queue string) error {
	svc, err := p.queueService()
	if err != nil {
		return err
	}
	if err := storage.CheckQueueName(queue); err != nil {
		return err
	}
	return createQueue(ctx, svc.NewQueueClient(queue), queue)
}

func createQueue(ctx context.Context, q *azqueue.QueueClient, queue string) error {
	_, err := q.Create(ctx, nil)
	if code, _, _ := azureCode(err); err != nil && code != "QueueAlreadyExists" {
		return wrap(err, "create queue %s", queue)
	}
	return nil
}

// DeleteQueue removes the queue and its messages.
func (p *Provider) DeleteQueue(ctx context.Context, queue string) error {
	svc, err := p.queueService()
	if err != nil {
		return err
	}
	if err := storage.CheckQueueName(queue); err != nil {
		return err
	}
	p.held.removeQueue(queue)
	if _, err := svc.NewQueueClient(queue).Delete(ctx, nil); err != nil {
		return wrap(err, "delete queue %s", queue)
	}
	return nil
}

// ListQueues lists the queues whose names start with prefix, by name, with
// Azure's approximate message counts (which may lag, and may count expired
// messages not yet collected).
func (p *Provider) ListQueues(ctx context.Context, prefix string) ([]storage.QueueInfo, error) {
	svc, err := p.queueService()
	if err != nil {
		return nil, err
	}
	var out []storage.QueueInfo
	opts := &azqueue.ListQueuesOptions{}
	if prefix != "" {
		opts.Prefix = &prefix
	}
	pager := svc.NewListQueuesPager(opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "list queues")
		}
		for _, q := range page.Queues {
			if q == nil || q.Name == nil {
				continue
			}
			props, err := svc.NewQueueClient(*q.Name).GetProperties(ctx, nil)
			if code, _, _ := azureCode(err); code == "QueueNotFound" {
				continue // deleted since the listing
			} else if err != nil {
				return nil, wrap(err, "count the messages of queue %s", *q.Name)
			}
			info := storage.QueueInfo{Name: *q.Name}
			if props.ApproximateMessagesCount != nil {
				info.Messages = int64(*props.ApproximateMessagesCount)
			}
			out = append(out, info)
		}
	}
	return out, nil
}

// checkText reports whether a body can travel as a queue message's text:
// Azure's API carries it in XML, so it must be valid UTF-8 holding only
// characters XML allows.
func checkText(body []byte) error {
	for i := 0; i < len(body); {
		r, size := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && size <= 1 {
			return fmt.Errorf("message body is not valid UTF-8 at byte %d; Azure Storage queues hold text (base64-encode binary bodies)", i)
		}
		if !(r == '\t' || r == '\n' || r == '\r' || 0x20 <= r && r <= 0xD7FF || 0xE000 <= r && r <= 0xFFFD || r >= 0x10000) {
			return fmt.Errorf("message body holds the character %U at byte %d, which Azure Storage queue messages cannot carry (base64-encode binary bodies)", r, i)
		}
		i += size
	}
	return nil
}

// Enqueue adds a message, creating the queue if it does not exist. The
// body must be text Azure can carry (see checkText): the trigger's base64
// encoding, when it applies one, happens before.
func (p *Provider) Enqueue(ctx context.Context, queue string, body []byte, visibilityDelay, ttl time.Duration) (storage.Message, error) {
	svc, err := p.queueService()
	if err != nil {
		return storage.Message{}, err
	}
	if err := storage.CheckQueueName(queue); err != nil {
		return storage.Message{}, err
	}
	return p.enqueue(ctx, svc.NewQueueClient(queue), queue, body, visibilityDelay, ttl)
}

func (p *Provider) enqueue(ctx context.Context, q *azqueue.QueueClient, queue string, body []byte, visibilityDelay, ttl time.Duration) (storage.Message, error) {
	if len(body) > storage.MaxMessageSize {
		return storage.Message{}, fmt.Errorf("azstorage: enqueue on %s: message of %d bytes is over Azure's %d: %w",
			queue, len(body), storage.MaxMessageSize, storage.ErrTooLarge)
	}
	if err := checkText(body); err != nil {
		return storage.Message{}, fmt.Errorf("azstorage: enqueue on %s: %w", queue, err)
	}
	opts := &azqueue.EnqueueMessageOptions{VisibilityTimeout: to.Ptr(seconds(visibilityDelay))}
	switch {
	case ttl == 0:
		opts.TimeToLive = to.Ptr(seconds(storage.DefaultMessageTTL))
	case ttl < 0:
		opts.TimeToLive = to.Ptr(int32(-1))
	default:
		opts.TimeToLive = to.Ptr(seconds(ttl))
	}
	resp, err := q.EnqueueMessage(ctx, string(body), opts)
	if code, _, _ := azureCode(err); code == "QueueNotFound" {
		if err := createQueue(ctx, q, queue); err != nil {
			return storage.Message{}, err
		}
		resp, err = q.EnqueueMessage(ctx, string(body), opts)
	}
	if err != nil {
		return storage.Message{}, wrap(err, "enqueue on %s", queue)
	}
	if len(resp.Messages) != 1 || resp.Messages[0] == nil {
		return storage.Message{}, fmt.Errorf("azstorage: enqueue on %s: Azure Storage answered with %d messages, want 1", queue, len(resp.Messages))
	}
	m := resp.Messages[0]
	return storage.Message{
		ID:              deref(m.MessageID),
		PopReceipt:      deref(m.PopReceipt),
		Body:            body,
		InsertionTime:   when(m.InsertionTime),
		ExpirationTime:  expiry(m.ExpirationTime),
		NextVisibleTime: when(m.TimeNextVisible),
	}, nil
}

// Receive takes up to max visible messages, in calls of at most 32.
// Visibility is rounded up to whole seconds, at least one. Azure does not
// promise first-in first-out order.
func (p *Provider) Receive(ctx context.Context, queue string, limit int, visibility time.Duration) ([]storage.Message, error) {
	svc, err := p.queueService()
	if err != nil {
		return nil, err
	}
	if err := storage.CheckQueueName(queue); err != nil {
		return nil, err
	}
	q := svc.NewQueueClient(queue)
	vis := max(seconds(visibility), 1)
	var out []storage.Message
	for len(out) < limit {
		n := min(limit-len(out), maxPerCall)
		resp, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(n)), VisibilityTimeout: &vis})
		if err != nil {
			if len(out) > 0 {
				return out, nil // the messages taken are invisible now: hand them out
			}
			return nil, wrap(err, "receive from %s", queue)
		}
		for _, m := range resp.Messages {
			if m == nil {
				continue
			}
			msg := storage.Message{
				ID:              deref(m.MessageID),
				PopReceipt:      deref(m.PopReceipt),
				Body:            []byte(deref(m.MessageText)),
				DequeueCount:    deref(m.DequeueCount),
				InsertionTime:   when(m.InsertionTime),
				ExpirationTime:  expiry(m.ExpirationTime),
				NextVisibleTime: when(m.TimeNextVisible),
			}
			p.held.put(queue, msg)
			out = append(out, msg)
		}
		if len(resp.Messages) < n {
			break
		}
	}
	return out, nil
}

// Peek returns up to max visible messages without changing them; Azure
// peeks at most 32.
func (p *Provider) Peek(ctx context.Context, queue string, max int) ([]storage.Message, error) {
	svc, err := p.queueService()
	if err != nil {
		return nil, err
	}
	if err := storage.CheckQueueName(queue); err != nil {
		return nil, err
	}
	if max <= 0 {
		return nil, nil
	}
	resp, err := svc.NewQueueClient(queue).PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(min(max, maxPerCall)))})
	if err != nil {
		return nil, wrap(err, "peek at %s", queue)
	}
	var out []storage.Message
	for _, m := range resp.Messages {
		if m == nil {
			continue
		}
		out = append(out, storage.Message{
			ID:             deref(m.MessageID),
			Body:           []byte(deref(m.MessageText)),
			DequeueCount:   deref(m.DequeueCount),
			InsertionTime:  when(m.InsertionTime),
			ExpirationTime: expiry(m.ExpirationTime),
		})
	}
	return out, nil
}

// Delete removes a received message.
func (p *Provider) Delete(ctx context.Context, queue, id, popReceipt string) error {
	svc, err := p.queueService()
	if err != nil {
		return err
	}
	if err := checkReceipt(queue, id, popReceipt); err != nil {
		return err
	}
	return p.delete(ctx, svc.NewQueueClient(queue), queue, id, popReceipt)
}

func (p *Provider) delete(ctx context.Context, q *azqueue.QueueClient, queue, id, popReceipt string) error {
	_, err := q.DeleteMessage(ctx, id, popReceipt, nil)
	if err != nil {
		err = wrapMessage(err, "delete message %s from %s", id, queue)
		if errors.Is(err, storage.ErrNotFound) {
			p.held.remove(queue, id)
		}
		return err
	}
	p.held.remove(queue, id)
	return nil
}

// checkReceipt checks the arguments naming a received message.
func checkReceipt(queue, id, popReceipt string) error {
	if err := storage.CheckQueueName(queue); err != nil {
		return err
	}
	if id == "" {
		return fmt.Errorf("azstorage: message in %s: empty message ID: %w", queue, storage.ErrNotFound)
	}
	if popReceipt == "" {
		return fmt.Errorf("azstorage: message %s in %s: empty pop receipt: %w", id, queue, storage.ErrPopReceiptMismatch)
	}
	return nil
}

// wrapMessage is wrap for calls naming a message: Azure answers a message
// ID or pop receipt it cannot parse as a bad query parameter, which for a
// caller means no such message or not its receipt.
func wrapMessage(err error, format string, args ...any) error {
	code, status, ok := azureCode(err)
	if ok && status == 400 && (code == "InvalidQueryParameterValue" || code == "OutOfRangeQueryParameterValue") {
		what := fmt.Sprintf(format, args...)
		return fmt.Errorf("azstorage: %s: Azure Storage answered %s (HTTP 400) for the pop receipt: %w", what, code, storage.ErrPopReceiptMismatch)
	}
	return wrap(err, format, args...)
}

// notHeld is the error for a message whose body this Provider does not
// have.
func notHeld(op, queue, id string) error {
	return fmt.Errorf("azstorage: %s message %s in %s: not a message this provider received (Azure cannot read back an invisible message's body): %w",
		op, id, queue, storage.ErrNotFound)
}

// UpdateVisibility makes a received message visible again after visibility
// (rounded up to whole seconds). It needs the message's body, which Azure's
// Update Message rewrites, so it works on messages this Provider received.
func (p *Provider) UpdateVisibility(ctx context.Context, queue, id, popReceipt string, visibility time.Duration) (storage.Message, error) {
	svc, err := p.queueService()
	if err != nil {
		return storage.Message{}, err
	}
	if err := checkReceipt(queue, id, popReceipt); err != nil {
		return storage.Message{}, err
	}
	m, ok := p.held.get(queue, id)
	if !ok {
		return storage.Message{}, notHeld("update the visibility of", queue, id)
	}
	resp, err := svc.NewQueueClient(queue).UpdateMessage(ctx, id, popReceipt, string(m.Body),
		&azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(seconds(visibility))})
	if err != nil {
		err = wrapMessage(err, "update the visibility of message %s in %s", id, queue)
		if errors.Is(err, storage.ErrNotFound) {
			p.held.remove(queue, id)
		}
		return storage.Message{}, err
	}
	m.PopReceipt = deref(resp.PopReceipt)
	m.NextVisibleTime = when(resp.TimeNextVisible)
	p.held.put(queue, m)
	return m, nil
}

// Move puts a received message's body on another queue (created if
// missing) and deletes it from this one. Azure has no transaction over two
// queues, so Move takes three steps: it enqueues the body on the target,
// invisible for 30 seconds; deletes the source message with popReceipt
// (and, if that fails, deletes the copy and returns the error); then makes
// the copy visible. If Move is cut short after the enqueue, the copy may
// show up in 30 seconds next to the source message: a consumer may see the
// message twice, never lose it. Like UpdateVisibility it needs the body,
// so it works on messages this Provider received.
func (p *Provider) Move(ctx context.Context, queue, id, popReceipt, to string) (storage.Message, error) {
	svc, err := p.queueService()
	if err != nil {
		return storage.Message{}, err
	}
	if err := checkReceipt(queue, id, popReceipt); err != nil {
		return storage.Message{}, err
	}
	if err := storage.CheckQueueName(to); err != nil {
		return storage.Message{}, err
	}
	m, ok := p.held.get(queue, id)
	if !ok {
		return storage.Message{}, notHeld("move", queue, id)
	}
	target := svc.NewQueueClient(to)
	moved, err := p.enqueue(ctx, target, to, m.Body, moveHide, 0)
	if err != nil {
		return storage.Message{}, fmt.Errorf("azstorage: move message %s from %s to %s: %w", id, queue, to, err)
	}
	if err := p.delete(ctx, svc.NewQueueClient(queue), queue, id, popReceipt); err != nil {
		// Take the copy back, even if ctx is done, so that only one stays.
		if _, derr := target.DeleteMessage(context.WithoutCancel(ctx), moved.ID, moved.PopReceipt, nil); derr != nil {
			return storage.Message{}, fmt.Errorf("%w (and the copy %s on %s could not be removed: %v)", err, moved.ID, to, derr)
		}
		return storage.Message{}, err
	}
	resp, err := target.UpdateMessage(ctx, moved.ID, moved.PopReceipt, string(m.Body), &azqueue.UpdateMessageOptions{VisibilityTimeout: to32(0)})
	if err == nil {
		moved.PopReceipt = deref(resp.PopReceipt)
		moved.NextVisibleTime = when(resp.TimeNextVisible)
	}
	// Otherwise the copy becomes visible when its 30 seconds run out: the
	// move is done either way.
	return moved, nil
}

// Clear deletes every message of the queue.
func (p *Provider) Clear(ctx context.Context, queue string) error {
	svc, err := p.queueService()
	if err != nil {
		return err
	}
	if err := storage.CheckQueueName(queue); err != nil {
		return err
	}
	p.held.removeQueue(queue)
	if _, err := svc.NewQueueClient(queue).ClearMessages(ctx, nil); err != nil {
		return wrap(err, "clear %s", queue)
	}
	return nil
}

// WatchQueue returns a nil channel: Azure Storage cannot notify, and the
// queue trigger polls.
func (p *Provider) WatchQueue(queue string) (<-chan struct{}, func()) {
	return nil, func() {}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func when(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// expiry is a message's expiration time, the zero time for a message that
// never expires (Azure says 31 December 9999).
func expiry(t *time.Time) time.Time {
	if t == nil || t.Year() >= 9999 {
		return time.Time{}
	}
	return t.UTC()
}

func to32(v int32) *int32 { return &v }
