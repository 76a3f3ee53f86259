// Package durable is Durable Functions for funcd's Go SDK: orchestrator,
// activity and entity functions, and the client that starts and manages
// orchestrations. It speaks the host's out-of-process JSON protocol, the
// one the JavaScript durable-functions SDK speaks, and registers its
// functions through package sdk:
//
//	app := sdk.FunctionApp()
//
//	app.Orchestration("hello", func(ctx *durable.OrchestrationContext) (any, error) {
//		var cities []string
//		if err := ctx.GetInput(&cities); err != nil {
//			return nil, err
//		}
//		tasks := make([]durable.Task, len(cities))
//		for i, c := range cities {
//			tasks[i] = ctx.CallActivity("greet", durable.WithInput(c))
//		}
//		var greetings []string
//		err := durable.WhenAll(tasks...).Await(&greetings)
//		return greetings, err
//	})
//
//	app.Activity("greet", func(ctx context.Context, city string) (string, error) {
//		return "Hello, " + city + "!", nil
//	})
//
//	app.HTTP("start", func(w http.ResponseWriter, r *http.Request) {
//		client, err := durable.GetClient(r.Context())
//		if err != nil {
//			http.Error(w, err.Error(), http.StatusInternalServerError)
//			return
//		}
//		id, err := client.StartNew(r.Context(), "hello", durable.WithInput([]string{"Tokyo", "Lima"}))
//		if err != nil {
//			http.Error(w, err.Error(), http.StatusBadGateway)
//			return
//		}
//		client.CreateCheckStatusResponse(w, r, id)
//	}).DurableClient("client")
//
// # Orchestrators and replay
//
// An orchestrator does not run once: the host runs it again from the start
// every time something it waits for happens (an episode), with the history
// of what already happened. Calls that schedule work (CallActivity,
// CreateTimer, CallSubOrchestrator, CallEntity, SignalEntity,
// WaitForExternalEvent, ContinueAsNew) record an action; the host runs the
// new ones. Task.Await returns at once when the history has the task's
// result; when it does not, the episode ends there: the orchestrator's
// goroutine exits through runtime.Goexit (deferred calls run, recover does
// not stop it) and the state goes back to the host.
//
// # Critical sections
//
// ctx.Lock(ids...) locks entities for the orchestration and returns once
// all are locked; until Release (or the end of the execution) the
// entities run only this orchestration's operations, so a read-modify-write
// across several entities sees no other writer:
//
//	lock, err := ctx.Lock(from, to)
//	if err != nil {
//		return nil, err
//	}
//	defer lock.Release()
//
// Inside a section an orchestration calls only the entities it locked,
// signals none of them and opens no other section; a call that breaks
// these rules fails with ErrLockingRules. Critical sections need replay
// schema V4, which funcd offers.
//
// Tasks are numbered in the order they are created, and the host matches
// results to tasks by number, so an orchestrator must be deterministic:
// given the same history it must create the same tasks in the same order.
// In an orchestrator:
//
//   - use ctx.CurrentUTCDateTime, never time.Now, time.Since or timers of
//     package time; ctx.CreateTimer for waiting;
//   - use ctx.NewGUID, never random numbers or random UUIDs;
//   - do no I/O (files, network, databases, environment variables that may
//     change): put it in activities;
//   - start no goroutines and use no channels or select: WhenAll and
//     WhenAny are the only concurrency, and only the orchestrator's
//     goroutine may call the context and Await;
//   - do not range over a map to decide what to schedule (Go's map order
//     is random): sort the keys first;
//   - do not let global mutable state or ctx.Context() (its deadline and
//     cancellation) steer the orchestration;
//   - changing the code while instances run changes their replay: version
//     orchestrators (WithVersion) instead.
//
// Logging is fine; ctx.IsReplaying says when a line would repeat.
//
// # Values on the wire
//
// Inputs, outputs, results and states are JSON (encoding/json; a
// json.RawMessage goes as it is). An activity receives the JSON text of
// its input: string inputs are encoded twice on the wire, as the
// JavaScript SDK does, so that the host hands the activity the text of
// the value. Await decodes a result into the value it is given.
//
// The orchestrator's state goes back as schema version 3 (actions in one
// list). Each task's action is listed in creation order, WhenAll and
// WhenAny add none: funcd's host schedules every action with no record in
// history. Retries (WithRetryPolicy) and timers longer than the host's
// maximum are run by this package with plain timers and attempts, each an
// action of its own, so that the numbering never depends on the host
// adding tasks. A failed orchestrator fails its invocation with the state
// after the $OutOfProcData$ label.
//
// # Entities and clients
//
// An Entity runs one operation per call with an EntityContext: operation
// name and input, GetState/SetState/DeleteState, Return, SignalEntity. A
// failed operation's state changes and signals are rolled back.
//
// A function with a durableClient input binding (sdk.Function's
// DurableClient) gets a Client with GetClient. It calls the host's
// Durable Functions HTTP API (the binding's local rpcBaseUrl): StartNew,
// GetStatus, GetStatusBy, RaiseEvent, Terminate, Suspend, Resume, Rewind,
// Restart, Purge, PurgeBy, SignalEntity, ReadEntityState, and writes the
// check-status response (CreateCheckStatusResponse,
// WaitForCompletionOrCreateCheckStatusResponse).
package durable
