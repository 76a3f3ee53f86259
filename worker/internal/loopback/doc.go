// Package loopback is the HTTP/1.1 client funcd uses to reach a worker's
// HTTP server on the loopback interface: a custom handler's port
// (worker/httpworker) and a language worker's HttpUri (worker/langworker).
// Its Transport does each exchange's I/O on the calling goroutine, over a
// pool of keep-alive connections, and never sends a request twice once any
// of it reached the server.
package loopback
