// Package host is the funcd runtime: it loads an app, indexes its functions,
// runs the worker that executes them, and invokes functions with the host's
// limits (function timeout) applied.
//
// # Lifecycle
//
//  1. New checks the configuration and starts nothing.
//  2. Start loads the app, starts its worker and indexes its functions; the
//     host is then Running. If the app cannot be loaded at all, Start returns
//     the error and the host is in the Error state.
//  3. Restart loads the app again into a new generation and swaps it in;
//     invocations already running finish on the old generation, whose worker
//     is shut down once they have.
//  4. Shutdown stops accepting invocations, waits for those in flight (bounded
//     by its context), and stops the worker. It is idempotent.
//
// Everything that serves HTTP lives in package httpapi; this package knows
// nothing of net/http.
package host
