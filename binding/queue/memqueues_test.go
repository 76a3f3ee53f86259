package queue

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// memQueues is a small in-memory storage.Queues for the processor's tests.
type memQueues struct {
	clk      clock.Clock
	mu       sync.Mutex
	queues   map[string][]*storage.Message
	seq      int
	watchers map[string][]chan struct{}
}

func newMemQueues(clk clock.Clock) *memQueues {
	return &memQueues{clk: clk, queues: map[string][]*storage.Message{}, watchers: map[string][]chan struct{}{}}
}

func (q *memQueues) CreateQueue(_ context.Context, name string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.queues[name]; !ok {
		q.queues[name] = nil
	}
	return nil
}

func (q *memQueues) DeleteQueue(_ context.Context, name string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.queues[name]; !ok {
		return storage.ErrNotFound
	}
	delete(q.queues, name)
	return nil
}

func (q *memQueues) ListQueues(_ context.Context, prefix string) ([]storage.QueueInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []storage.QueueInfo
	for n, ms := range q.queues {
		if strings.HasPrefix(n, prefix) {
			out = append(out, storage.QueueInfo{Name: n, Messages: int64(len(ms))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (q *memQueues) Enqueue(_ context.Context, name string, body []byte, delay, ttl time.Duration) (storage.Message, error) {
	if len(body) > storage.MaxMessageSize {
		return storage.Message{}, storage.ErrTooLarge
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.addLocked(name, body, delay)
	return *m, nil
}

func (q *memQueues) addLocked(name string, body []byte, delay time.Duration) *storage.Message {
	now := q.clk.Now()
	q.seq++
	m := &storage.Message{
		ID: fmt.Sprintf("m%d", q.seq), Body: append([]byte(nil), body...),
		InsertionTime: now, ExpirationTime: now.Add(storage.DefaultMessageTTL), NextVisibleTime: now.Add(delay),
	}
	q.queues[name] = append(q.queues[name], m)
	if delay == 0 {
		q.notifyLocked(name)
	}
	return m
}

func (q *memQueues) notifyLocked(name string) {
	for _, ch := range q.watchers[name] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (q *memQueues) Receive(_ context.Context, name string, max int, vis time.Duration) ([]storage.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ms, ok := q.queues[name]
	if !ok {
		return nil, fmt.Errorf("queue %s: %w", name, storage.ErrNotFound)
	}
	now := q.clk.Now()
	var out []storage.Message
	for _, m := range ms {
		if len(out) == max {
			break
		}
		if m.NextVisibleTime.After(now) {
			continue
		}
		q.seq++
		m.DequeueCount++
		m.PopReceipt = fmt.Sprintf("r%d", q.seq)
		m.NextVisibleTime = now.Add(vis)
		out = append(out, *m)
	}
	return out, nil
}

func (q *memQueues) Peek(_ context.Context, name string, max int) ([]storage.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ms, ok := q.queues[name]
	if !ok {
		return nil, storage.ErrNotFound
	}
	now := q.clk.Now()
	var out []storage.Message
	for _, m := range ms {
		if len(out) < max && !m.NextVisibleTime.After(now) {
			c := *m
			c.PopReceipt = ""
			out = append(out, c)
		}
	}
	return out, nil
}

func (q *memQueues) findLocked(name, id, pop string) (int, error) {
	ms, ok := q.queues[name]
	if !ok {
		return 0, storage.ErrNotFound
	}
	for i, m := range ms {
		if m.ID == id {
			if m.PopReceipt != pop {
				return 0, storage.ErrPopReceiptMismatch
			}
			return i, nil
		}
	}
	return 0, storage.ErrNotFound
}

func (q *memQueues) Delete(_ context.Context, name, id, pop string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, err := q.findLocked(name, id, pop)
	if err != nil {
		return err
	}
	q.queues[name] = append(q.queues[name][:i:i], q.queues[name][i+1:]...)
	return nil
}

func (q *memQueues) UpdateVisibility(_ context.Context, name, id, pop string, vis time.Duration) (storage.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, err := q.findLocked(name, id, pop)
	if err != nil {
		return storage.Message{}, err
	}
	m := q.queues[name][i]
	q.seq++
	m.PopReceipt = fmt.Sprintf("r%d", q.seq)
	m.NextVisibleTime = q.clk.Now().Add(vis)
	if vis == 0 {
		q.notifyLocked(name)
	}
	return *m, nil
}

func (q *memQueues) Move(_ context.Context, name, id, pop, to string) (storage.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, err := q.findLocked(name, id, pop)
	if err != nil {
		return storage.Message{}, err
	}
	body := q.queues[name][i].Body
	q.queues[name] = append(q.queues[name][:i:i], q.queues[name][i+1:]...)
	return *q.addLocked(to, body, 0), nil
}

func (q *memQueues) Clear(_ context.Context, name string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queues[name] = nil
	return nil
}

func (q *memQueues) WatchQueue(name string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	q.mu.Lock()
	q.watchers[name] = append(q.watchers[name], ch)
	q.mu.Unlock()
	return ch, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		ws := q.watchers[name]
		for i, w := range ws {
			if w == ch {
				q.watchers[name] = append(ws[:i:i], ws[i+1:]...)
				break
			}
		}
	}
}
