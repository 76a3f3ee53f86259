// Package queue implements the queueTrigger trigger and its queue processor.
package queue
