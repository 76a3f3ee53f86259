package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// Timings of the real host's queue listener (the storage extension's
// QueueListener and QueuePollingIntervals).
const (
	// receiveVisibility is how long a received message stays invisible
	// while its function runs; renewals extend it by as much again.
	receiveVisibility = 10 * time.Minute
	// minPollingInterval is the shortest backoff between empty receives.
	minPollingInterval = 100 * time.Millisecond
	// DefaultMaxPollingInterval caps the backoff of an empty queue.
	DefaultMaxPollingInterval = time.Minute
	// minRenewalInterval is the shortest wait between visibility renewals
	// after renewals fail.
	minRenewalInterval = time.Minute
)

// Defaults of the real host's QueuesOptions.
const (
	DefaultBatchSize       = 16
	MaxBatchSize           = 32
	DefaultMaxDequeueCount = 5
)

// poisonSuffix names a queue's poison queue.
const poisonSuffix = "-poison"

// ErrPoison, wrapped in a handler's error, moves the message to the poison
// queue at once whatever its dequeue count, as the real host does with a
// message whose body it cannot decode.
var ErrPoison = errors.New("message is poison")

// ProcessorOptions configure a Processor. Zero values take the real host's
// defaults, except NewBatchThreshold, where zero is a valid threshold and
// a negative value takes the default.
type ProcessorOptions struct {
	// BatchSize is how many messages one receive takes (1 to 32; 0 means
	// 16). NewBatchThreshold is how few messages must be in flight before
	// the next receive (negative: BatchSize/2); at most BatchSize +
	// NewBatchThreshold handlers run at once. MaxDequeueCount is how many
	// times a message is tried before it goes to the poison queue (0
	// means 5).
	BatchSize, NewBatchThreshold, MaxDequeueCount int
	// VisibilityTimeout is how long a failed message stays invisible
	// before it is tried again (0: at once).
	VisibilityTimeout time.Duration
	// MaxPollingInterval caps the backoff between receives of an empty
	// queue (0 means one minute; at least 100 ms).
	MaxPollingInterval time.Duration
	// PoisonQueue is where messages go after MaxDequeueCount tries. ""
	// means <queue>-poison, or no poison queue when the queue's name ends
	// in -poison or the poison queue's name would pass 63 characters.
	// Without a poison queue a failed message stays invisible until its
	// visibility timeout runs out, as in the real host.
	PoisonQueue string
	Clock       clock.Clock
	Logger      *slog.Logger
}

// MessageHandler processes one received message. A nil error deletes the
// message; an error makes it visible again after the VisibilityTimeout, or
// moves it to the poison queue once its DequeueCount reaches
// MaxDequeueCount (at once when the error wraps ErrPoison). ctx is
// cancelled when the processor is stopped and the Stop context ends first.
type MessageHandler func(ctx context.Context, m storage.Message) error

// Processor receives a queue's messages and hands each to a MessageHandler
// with the real host's semantics: batches, a bound on the messages in
// flight, randomized exponential backoff while the queue is empty or
// missing, visibility renewal while a handler runs, retries and poison
// messages. Delivery is at least once. It implements binding.Listener.
type Processor struct {
	q      storage.Queues
	queue  string
	poison string // "" when the queue has none
	opts   ProcessorOptions
	h      MessageHandler
	clk    clock.Clock
	log    *slog.Logger

	mu       sync.Mutex
	started  bool
	stopped  bool
	inflight int
	stopLoop context.CancelFunc // ends receiving
	loopDone chan struct{}
	finished chan struct{} // a handler finished (capacity 1)

	handlers   sync.WaitGroup
	handlerCtx context.Context
	abandon    context.CancelFunc // cancels the handlers still running
}

// NewProcessor returns a Processor of queue that calls h for each message.
func NewProcessor(q storage.Queues, queue string, opts ProcessorOptions, h MessageHandler) *Processor {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	opts.BatchSize = min(opts.BatchSize, MaxBatchSize)
	if opts.NewBatchThreshold < 0 {
		opts.NewBatchThreshold = opts.BatchSize / 2
	}
	if opts.MaxDequeueCount <= 0 {
		opts.MaxDequeueCount = DefaultMaxDequeueCount
	}
	if opts.MaxPollingInterval == 0 {
		opts.MaxPollingInterval = DefaultMaxPollingInterval
	}
	opts.MaxPollingInterval = max(opts.MaxPollingInterval, minPollingInterval)
	opts.VisibilityTimeout = max(opts.VisibilityTimeout, 0)
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	poison := opts.PoisonQueue
	if poison == "" {
		poison = PoisonQueueName(queue)
	}
	hctx, abandon := context.WithCancel(context.Background())
	return &Processor{
		q: q, queue: queue, poison: poison, opts: opts, h: h,
		clk: opts.Clock, log: opts.Logger.With("queue", queue),
		finished:   make(chan struct{}, 1),
		handlerCtx: hctx, abandon: abandon,
	}
}

// PoisonQueueName returns the poison queue of a queue, "" when it has none:
// the queue's name ends in -poison, or the poison queue's name would be
// longer than 63 characters.
func PoisonQueueName(queue string) string {
	if len(queue) >= len(poisonSuffix) && queue[len(queue)-len(poisonSuffix):] == poisonSuffix {
		return ""
	}
	if len(queue)+len(poisonSuffix) > maxQueueName {
		return ""
	}
	return queue + poisonSuffix
}

// Start begins receiving. It returns at once; ctx is not kept.
func (p *Processor) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return fmt.Errorf("queue %q: processor already started", p.queue)
	}
	p.started = true
	loopCtx, cancel := context.WithCancel(context.Background())
	p.stopLoop = cancel
	p.loopDone = make(chan struct{})
	go p.loop(loopCtx)
	p.log.Debug("Storage queue listener started")
	return nil
}

// Stop stops receiving and waits for the handlers in flight until ctx is
// done; then it cancels their contexts and returns ctx's error. Messages
// whose handlers did not finish are left invisible, to be received again
// when their visibility timeout runs out.
func (p *Processor) Stop(ctx context.Context) error {
	p.mu.Lock()
	if !p.started || p.stopped {
		p.mu.Unlock()
		return nil
	}
	p.stopped = true
	p.mu.Unlock()

	p.stopLoop()
	<-p.loopDone
	done := make(chan struct{})
	go func() {
		p.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
		p.abandon()
		p.log.Debug("Storage queue listener stopped")
		return nil
	case <-ctx.Done():
		p.abandon()
		return fmt.Errorf("queue %q: handlers still running: %w", p.queue, ctx.Err())
	}
}

// loop receives batches until ctx ends.
func (p *Processor) loop(ctx context.Context) {
	defer close(p.loopDone)
	watch, stopWatch := p.q.WatchQueue(p.queue)
	defer stopWatch()
	backoff := newBackoff(minPollingInterval, p.opts.MaxPollingInterval)
	found := false // a message was found since the last backoff
	for ctx.Err() == nil {
		msgs, err := p.q.Receive(ctx, p.queue, p.opts.BatchSize, receiveVisibility)
		if err != nil && ctx.Err() != nil {
			return
		}
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				p.log.Debug("queue does not exist", "error", err)
			} else {
				p.log.Warn("receiving messages failed", "error", err)
			}
		}
		if len(msgs) == 0 {
			d := backoff.next(found)
			found = false
			if !p.sleep(ctx, d, watch) {
				return
			}
			continue
		}
		found = true
		for _, m := range msgs {
			p.dispatch(m)
		}
		if !p.waitForThreshold(ctx) {
			return
		}
	}
}

// sleep waits d, or until the queue signals a new message or ctx ends.
func (p *Processor) sleep(ctx context.Context, d time.Duration, watch <-chan struct{}) bool {
	t := p.clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
	case <-watch:
	case <-ctx.Done():
		return false
	}
	return true
}

// waitForThreshold waits until no more than NewBatchThreshold messages are
// in flight.
func (p *Processor) waitForThreshold(ctx context.Context) bool {
	for {
		p.mu.Lock()
		n := p.inflight
		p.mu.Unlock()
		if n <= p.opts.NewBatchThreshold {
			return true
		}
		select {
		case <-p.finished:
		case <-ctx.Done():
			return false
		}
	}
}

func (p *Processor) dispatch(m storage.Message) {
	p.mu.Lock()
	p.inflight++
	p.mu.Unlock()
	p.handlers.Add(1)
	go func() {
		defer func() {
			p.mu.Lock()
			p.inflight--
			p.mu.Unlock()
			select {
			case p.finished <- struct{}{}:
			default:
			}
			p.handlers.Done()
		}()
		p.process(m)
	}()
}

// process runs one message through the handler and settles it.
func (p *Processor) process(m storage.Message) {
	log := p.log.With("messageId", m.ID, "dequeueCount", m.DequeueCount)
	// The settling calls are not cancelled by Stop: a handler that
	// finished has its outcome recorded, as the real host does.
	settle := context.WithoutCancel(p.handlerCtx)
	if m.DequeueCount > int64(p.opts.MaxDequeueCount) {
		p.movePoison(settle, log, &m)
		return
	}

	r := &renewal{p: p, msg: m, stop: make(chan struct{}), done: make(chan struct{})}
	go r.run(log)
	err := p.h(p.handlerCtx, m)
	close(r.stop)
	<-r.done
	m = r.message()

	if p.handlerCtx.Err() != nil {
		// Abandoned by Stop: the message stays invisible until its
		// visibility timeout runs out and is then received again.
		log.Debug("message abandoned at shutdown")
		return
	}
	switch {
	case err == nil:
		p.delete(settle, log, m)
	case errors.Is(err, ErrPoison):
		p.movePoison(settle, log, &m)
	case p.poison == "":
		// Without a poison queue the real host leaves a failed message
		// invisible, to avoid a fast endless loop.
	case m.DequeueCount >= int64(p.opts.MaxDequeueCount):
		p.movePoison(settle, log, &m)
	default:
		p.release(settle, log, m)
	}
}

func (p *Processor) delete(ctx context.Context, log *slog.Logger, m storage.Message) {
	err := p.q.Delete(ctx, p.queue, m.ID, m.PopReceipt)
	switch {
	case err == nil:
	case errors.Is(err, storage.ErrPopReceiptMismatch):
		log.Debug(fmt.Sprintf("Unable to delete queue message '%s' because the PopReceipt did not match. This could indicate that the function has modified the message and may be expected.", m.ID))
	case errors.Is(err, storage.ErrNotFound):
		log.Debug(fmt.Sprintf("Unable to delete queue message '%s' because either the message or the queue '%s' was not found.", m.ID, p.queue))
	default:
		log.Error("deleting the message failed", "error", err)
	}
}

func (p *Processor) release(ctx context.Context, log *slog.Logger, m storage.Message) {
	_, err := p.q.UpdateVisibility(ctx, p.queue, m.ID, m.PopReceipt, p.opts.VisibilityTimeout)
	switch {
	case err == nil:
	case errors.Is(err, storage.ErrPopReceiptMismatch), errors.Is(err, storage.ErrNotFound):
		log.Debug("message taken or gone before it could be released", "error", err)
	default:
		log.Error("releasing the message failed", "error", err)
	}
}

// movePoison moves the message to the poison queue; without one it leaves
// the message invisible.
func (p *Processor) movePoison(ctx context.Context, log *slog.Logger, m *storage.Message) {
	if p.poison == "" {
		return
	}
	log.Warn(fmt.Sprintf("Message has reached MaxDequeueCount of %d. Moving message to queue '%s'.", p.opts.MaxDequeueCount, p.poison))
	_, err := p.q.Move(ctx, p.queue, m.ID, m.PopReceipt, p.poison)
	switch {
	case err == nil:
	case errors.Is(err, storage.ErrPopReceiptMismatch), errors.Is(err, storage.ErrNotFound):
		log.Debug("message taken or gone before it could be moved", "error", err)
	default:
		log.Error("moving the message to the poison queue failed", "error", err)
	}
}

// renewal keeps a message invisible while its handler runs: the real host
// renews at half the visibility timeout (every five minutes), and after a
// failed renewal retries at half the previous interval, no sooner than a
// minute. It stops when the message is gone or taken.
type renewal struct {
	p          *Processor
	mu         sync.Mutex
	msg        storage.Message
	stop, done chan struct{}
}

func (r *renewal) message() storage.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msg
}

func (r *renewal) run(log *slog.Logger) {
	defer close(r.done)
	normal := receiveVisibility / 2
	interval := normal
	t := r.p.clk.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C():
		}
		m := r.message()
		updated, err := r.p.q.UpdateVisibility(r.p.handlerCtx, r.p.queue, m.ID, m.PopReceipt, receiveVisibility)
		switch {
		case err == nil:
			r.mu.Lock()
			r.msg.PopReceipt = updated.PopReceipt
			r.msg.NextVisibleTime = updated.NextVisibleTime
			r.mu.Unlock()
			interval = normal
		case errors.Is(err, storage.ErrPopReceiptMismatch), errors.Is(err, storage.ErrNotFound):
			log.Debug("message taken or gone; visibility no longer renewed", "error", err)
			return
		case r.p.handlerCtx.Err() != nil:
			return
		default:
			log.Warn("renewing the message's visibility failed", "error", err)
			interval = max(interval/2, minRenewalInterval)
		}
		t.Reset(interval)
	}
}
