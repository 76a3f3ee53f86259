// Package worker runs worker processes: it starts a program in its own
// process group, turns its output into log lines, notices when it exits,
// stops it (SIGTERM to the group, then SIGKILL), and keeps one running with a
// Supervisor that restarts it with backoff, forever or, when asked, until
// the Azure Functions host's limit.
//
// The package knows no protocol. A protocol package (httpworker, say) gives
// the Supervisor a Prepare hook that describes the next process and a Ready
// hook that says when a started process serves.
//
// Unix only: process groups are how a stop reaches a handler's children
// (a "go run" wrapper and the program it built, for example).
package worker
