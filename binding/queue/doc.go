// Package queue implements the queue trigger ("queueTrigger") and the queue
// output binding ("queue") with the semantics of the real host's Azure
// Storage queues extension (v5), over any storage.Queues: funcd's embedded
// or shared store, or Azure Storage itself.
//
// Processor is the trigger's listener, independent of function apps so that
// other triggers built on queues (the blob trigger's internal queue) reuse
// it: it receives batches with a ten-minute visibility timeout, bounds the
// messages in flight, backs off while the queue is empty or missing and
// wakes when a message is enqueued, renews the visibility of messages whose
// handlers run long, and deletes, releases or poisons each message by its
// handler's outcome. Delivery is at least once.
package queue
