package postgres

import (
	"context"
	"sync"
)

// maxGroup bounds how many calls one grouped statement carries.
const maxGroup = 256

// group runs concurrent calls of one kind (enqueues, deletes) as one
// statement: while one group's statement runs, the calls that arrive wait,
// and the first of them then runs them all at once. A lone call runs at
// once, so grouping adds no latency; under load, many calls share one round
// trip and one commit. Each call gets its own result, and is done (durable,
// where the statement is) when do returns.
type group[Req, Res any] struct {
	// exec runs reqs as one statement and returns one result per request,
	// in order, or an error that fails them all.
	exec func(ctx context.Context, reqs []Req) ([]Res, error)

	mu      sync.Mutex
	pending []*groupCall[Req, Res] // guarded by mu
	leading bool                   // a call is running a group; guarded by mu
}

type groupCall[Req, Res any] struct {
	ctx  context.Context
	req  Req
	res  Res
	err  error
	done chan struct{} // closed when the call's group ran
	lead chan struct{} // closed when the call is to run the next group
}

// do runs req in a group and returns its result.
func (g *group[Req, Res]) do(ctx context.Context, req Req) (Res, error) {
	c := &groupCall[Req, Res]{ctx: ctx, req: req, done: make(chan struct{}), lead: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	if g.leading {
		g.mu.Unlock()
		// Wait regardless of ctx: leadership may be handed to this call,
		// and a group takes no longer than one statement.
		select {
		case <-c.done:
			return c.res, c.err
		case <-c.lead:
		}
		g.mu.Lock()
	}
	// c is pending[0]: it arrived when no group was running, or was handed
	// the lead as the oldest waiting call.
	g.leading = true
	n := min(len(g.pending), maxGroup)
	batch := g.pending[:n:n]
	g.pending = append([]*groupCall[Req, Res](nil), g.pending[n:]...)
	g.mu.Unlock()

	g.run(ctx, batch)

	g.mu.Lock()
	if len(g.pending) > 0 {
		close(g.pending[0].lead)
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	return c.res, c.err
}

// run executes one group and hands each call its result.
func (g *group[Req, Res]) run(ctx context.Context, batch []*groupCall[Req, Res]) {
	defer func() {
		for _, c := range batch {
			close(c.done)
		}
	}()
	live := batch[:0:0]
	reqs := make([]Req, 0, len(batch))
	for _, c := range batch {
		if c.err = c.ctx.Err(); c.err == nil {
			live = append(live, c)
			reqs = append(reqs, c.req)
		}
	}
	if len(live) == 0 {
		return
	}
	// The group serves other callers too: the leader's cancellation must
	// not fail their calls.
	res, err := g.exec(context.WithoutCancel(ctx), reqs)
	for i, c := range live {
		if err != nil {
			c.err = err
		} else {
			c.res = res[i]
		}
	}
}
