package postgres

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Watch keys, which are also NOTIFY payloads: a kind prefix and a name.
func queueKey(queue string) string         { return "queue:" + queue }
func containerKey(container string) string { return "blob:" + container }

// Reconnection backoff of the listener. It is real time, not the store's
// clock: it paces retries against a server, it is not a semantic time.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// notifier multiplexes the store's watches over one listening connection.
type notifier struct {
	channel string
	cfg     *pgx.ConnConfig
	log     *slog.Logger

	mu      sync.Mutex
	watches map[string]map[chan struct{}]struct{} // by key; guarded by mu
	// listening is closed once the first LISTEN is in place; tests wait on
	// it before counting on notifications from other stores.
	listening chan struct{}
	once      sync.Once
}

func newNotifier(channel string, cfg *pgx.ConnConfig, log *slog.Logger) *notifier {
	return &notifier{
		channel:   channel,
		cfg:       cfg,
		log:       log,
		watches:   map[string]map[chan struct{}]struct{}{},
		listening: make(chan struct{}),
	}
}

// add registers a watch of key.
func (n *notifier) add(key string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	set := n.watches[key]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		n.watches[key] = set
	}
	set[ch] = struct{}{}
	n.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			delete(set, ch)
			if len(set) == 0 {
				delete(n.watches, key)
			}
		})
	}
}

// signal wakes every watch of key without blocking.
func (n *notifier) signal(key string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.watches[key] {
		poke(ch)
	}
}

// signalAll wakes every watch: after a reconnect, notifications may have
// been missed.
func (n *notifier) signalAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, set := range n.watches {
		for ch := range set {
			poke(ch)
		}
	}
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// run listens until ctx is done, reconnecting with backoff when the
// connection fails.
func (n *notifier) run(ctx context.Context) {
	backoff := minBackoff
	for ctx.Err() == nil {
		err := n.listen(ctx, func() { backoff = minBackoff })
		if ctx.Err() != nil {
			return
		}
		n.log.Warn("postgres: listener connection lost; reconnecting", "err", err, "after", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen connects, LISTENs, wakes every watch, then dispatches notifications
// until the connection fails or ctx is done. connected runs once LISTEN is
// in place.
func (n *notifier) listen(ctx context.Context, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, n.cfg)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{n.channel}.Sanitize()); err != nil {
		return err
	}
	connected()
	n.once.Do(func() { close(n.listening) })
	n.signalAll()
	for {
		note, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		n.signal(note.Payload)
	}
}
