package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"

	"github.com/funcd/funcd/durable"
)

// maxCachedHistories bounds the histories a Store keeps in memory.
const maxCachedHistories = 4096

// historyCache keeps the histories of the instances that ran recently, so
// that an instance's next work item reads only the events added since,
// not its whole history again. An entry is trusted only as far as the
// database agrees: the read of the new rows starts at the cached last
// event, and a row there that differs from the cached one (the history
// was reset or purged, here or by another process on the same database)
// or is missing sends the read back to the whole history.
//
// An entry this Store's own commits made (exact) is the database's
// history itself as long as no other connection commits: a write
// transaction that hands work off reads such a history from the cache
// alone. Each batch first checks PRAGMA data_version and clears the cache
// when another process wrote (Store.noticeOthers); a batch that writes a
// history marks its entry inexact first (writing) and makes it exact
// again once committed (Store.afterCommit); a read, which may see
// uncommitted writes or another snapshot, leaves no exact entry behind.
type historyCache struct {
	mu sync.Mutex
	m  map[historyKey]*cachedHistory
}

type historyKey struct{ hub, instance string }

type cachedHistory struct {
	events []durable.Event // never modified once cached: replaced whole
	last   []byte          // the stored form of the last event
	exact  bool            // written by this Store's commits (see above)
	// inst is the instance's row as an exact entry's commit left it (nil:
	// not known); never modified once cached.
	inst *durable.Instance
}

func (c *historyCache) get(hub, id string) *cachedHistory {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[historyKey{hub, id}]
}

func (c *historyCache) put(hub, id string, h *cachedHistory) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[historyKey]*cachedHistory{}
	}
	k := historyKey{hub, id}
	if _, ok := c.m[k]; !ok && len(c.m) >= maxCachedHistories {
		for old := range c.m { // evict one, any
			delete(c.m, old)
			break
		}
	}
	c.m[k] = h
}

// writing marks an instance's history as changed by the running batch:
// until that commits, its entry is not what the transaction sees.
func (c *historyCache) writing(hub, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := historyKey{hub, id}
	if h := c.m[k]; h != nil && h.exact {
		c.m[k] = &cachedHistory{events: h.events, last: h.last, inst: h.inst}
	}
}

// clear forgets every history.
func (c *historyCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

func (c *historyCache) drop(hub, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, historyKey{hub, id})
}

// committed records what a committed work item wrote: the events from seq
// on, with their stored form, and the instance's row (nil: not known). A
// history of exactly seq events cached grows by them, and seq 0 starts a
// new one; otherwise, or with no history at all, the entry is dropped.
// The events are kept as a read would return them (durable.AsStored).
func (c *historyCache) committed(hub, id string, seq int, written []durable.Event, stored [][]byte, inst *durable.Instance) {
	h := c.get(hub, id)
	if seq > 0 && (h == nil || len(h.events) != seq) || seq+len(written) == 0 {
		c.drop(hub, id)
		return
	}
	if len(written) == 0 {
		c.put(hub, id, &cachedHistory{events: h.events, last: h.last, exact: true, inst: inst})
		return
	}
	grown := make([]durable.Event, 0, seq+len(written))
	if seq > 0 {
		grown = append(grown, h.events...)
	}
	for _, ev := range written {
		grown = append(grown, durable.AsStored(ev))
	}
	c.put(hub, id, &cachedHistory{events: grown, last: stored[len(stored)-1], exact: true, inst: inst})
}

// readHistoryCached reads an instance's history in tx, reading from the
// database only the rows the cache does not hold, and returns a slice the
// caller may change. With inWrite (tx is a batch's), an exact entry is
// not read again.
func (s *Store) readHistoryCached(ctx context.Context, tx *sql.Tx, rs *workReads, hub, id string, inWrite bool) ([]durable.Event, error) {
	h := s.histories.get(hub, id)
	if inWrite && h != nil && h.exact {
		return slices.Clone(h.events), nil
	}
	if h != nil && len(h.events) > 0 {
		events, last, ok, err := s.readHistoryAfter(ctx, tx, rs, hub, id, h)
		if err != nil {
			return nil, err
		}
		if ok {
			if len(events) > len(h.events) {
				s.histories.put(hub, id, &cachedHistory{events: slices.Clip(events), last: last})
			}
			return slices.Clone(events), nil
		}
	}
	events, last, err := s.readEventsRaw(ctx, tx, rs, hub, id)
	if err != nil {
		return nil, err
	}
	if len(events) > 0 {
		s.histories.put(hub, id, &cachedHistory{events: slices.Clone(events), last: last})
	} else {
		s.histories.drop(hub, id)
	}
	return events, nil
}

// readHistoryAfter reads the rows from the cached last event on; ok is
// false when the database's row there is not the cached one.
func (s *Store) readHistoryAfter(ctx context.Context, tx *sql.Tx, rs *workReads, hub, id string, h *cachedHistory) ([]durable.Event, []byte, bool, error) {
	n := len(h.events)
	rows, err := tx.StmtContext(ctx, rs.historyFrom).QueryContext(ctx, hub, id, n-1)
	if err != nil {
		return nil, nil, false, sqlErr("read the history of "+id, err)
	}
	defer rows.Close()
	events := h.events
	last := h.last
	first := true
	for rows.Next() {
		var seq int
		var b []byte
		if err := rows.Scan(&seq, &b); err != nil {
			return nil, nil, false, sqlErr("read the history of "+id, err)
		}
		if first {
			first = false
			if seq != n-1 || !bytes.Equal(b, h.last) {
				return nil, nil, false, nil
			}
			events = slices.Clip(events) // appends copy: the cached slice stays as it is
			continue
		}
		if seq != len(events) {
			return nil, nil, false, nil
		}
		ev, err := durable.DecodeStoredEvent(b)
		if err != nil {
			return nil, nil, false, fmt.Errorf("history of %s, event %d: %w", id, seq, err)
		}
		events = append(events, ev)
		last = b
	}
	if err := rows.Err(); err != nil {
		return nil, nil, false, sqlErr("read the history of "+id, err)
	}
	if first {
		return nil, nil, false, nil // the history is shorter than the cache's
	}
	return events, last, true, nil
}
