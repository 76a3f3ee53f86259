package host

import "context"

type detachKey struct{}

// WithDetach returns ctx carrying release, the end of a request's hold on
// its generation (and on its throttle slot). A handler that serves a
// long-lived stream, such as an MCP client's SSE session, calls Detach so
// that a restart or shutdown does not wait for the stream to end.
func WithDetach(ctx context.Context, release func()) context.Context {
	return context.WithValue(ctx, detachKey{}, release)
}

// Detach ends the hold of the request whose context ctx is on its
// generation, when the server gave it one with WithDetach. After it, the
// request must Acquire the generation again for each invocation it makes.
func Detach(ctx context.Context) {
	if release, ok := ctx.Value(detachKey{}).(func()); ok {
		release()
	}
}
