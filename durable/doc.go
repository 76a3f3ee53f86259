// Package durable is funcd's Durable Functions engine: orchestrations,
// activities, durable timers, external events, sub-orchestrations and
// entities, with the semantics of the Durable Task Framework the real
// Functions host runs, and the logic of the management API.
//
// Workers speak one protocol to the engine, the out-of-process JSON protocol
// of the JavaScript and Python Durable SDKs: an orchestrator function gets
// its instance's history (in the Durable Task Framework's JSON shape, see
// Event) and returns every action it has issued since the execution began
// (OrchestratorState). The engine replays those actions against the history:
// actions it has recorded are matched by sequence number, new ones become
// history and work (activity tasks, timers, messages), and an action that
// does not match its recorded counterpart fails the instance with a
// nondeterminism error.
//
// State lives in a Backend (the embedded SQLite store, or PostgreSQL shared
// by several funcd processes): instances, their history, their inboxes of
// messages and the activity task queue. Every change an episode makes is
// committed in one transaction before the work that caused it is
// acknowledged, so a process that dies mid-way loses nothing: its locks
// expire and another process (or the same one, restarted) takes the work
// again.
//
// The package imports no database driver and no net/http: the host
// supplies the Backend and runs the functions (Executor).
package durable
