package grpcworker

import (
	"errors"
	"fmt"
	"time"
)

// ErrShutdown is returned once the Worker is shut down.
var ErrShutdown = errors.New("the language worker is shut down")

// ConnectError says that a launched worker did not open its stream in time.
type ConnectError struct {
	Path     string        // the executable
	Pid      int           // its process id
	WorkerID string        // the --functions-worker-id it was given
	Timeout  time.Duration // how long the host waited
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("language worker %s (pid %d, worker id %s) did not connect to the host within %v",
		e.Path, e.Pid, e.WorkerID, e.Timeout)
}

// StreamClosedError is how an invocation, or any request, fails when the
// worker's stream ends before the reply: the worker crashed or hung up.
// The Supervisor starts a new worker.
type StreamClosedError struct {
	Path string // the executable
	Pid  int    // its process id
	Err  error  // why the stream ended
}

func (e *StreamClosedError) Error() string {
	return fmt.Sprintf("language worker %s (pid %d) closed its stream: %v", e.Path, e.Pid, e.Err)
}

// Unwrap returns why the stream ended.
func (e *StreamClosedError) Unwrap() error { return e.Err }

// MessageTooLargeError is returned, and nothing is sent, when a message is
// over the gRPC message limit both sides were given.
type MessageTooLargeError struct {
	What  string // the message, "InvocationRequest" say
	Size  int    // its encoded size
	Limit int    // Config.MaxMessageBytes
}

func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("%s is %d bytes, over the language worker's gRPC message limit of %d bytes", e.What, e.Size, e.Limit)
}

// FailureError is a request the worker answered with a failed StatusResult.
type FailureError struct {
	What      string // the request, "WorkerInitRequest" say
	Message   string // the exception's message, or the result's text
	Stack     string // the exception's stack trace, if any
	Cancelled bool   // the status was Cancelled rather than Failure
}

func (e *FailureError) Error() string {
	verb := "failed"
	if e.Cancelled {
		verb = "was cancelled"
	}
	if e.Message == "" {
		return fmt.Sprintf("%s %s", e.What, verb)
	}
	return fmt.Sprintf("%s %s: %s", e.What, verb, e.Message)
}

// statusError returns nil for a successful result and a *FailureError
// otherwise. A missing result is a failure, as the protocol's zero status.
func statusError(what string, r *StatusResult) error {
	if r.GetStatus() == StatusSuccess {
		return nil
	}
	e := &FailureError{What: what, Message: r.GetException().GetMessage(), Stack: r.GetException().GetStackTrace(),
		Cancelled: r.GetStatus() == StatusCancelled}
	if e.Message == "" {
		e.Message = r.GetResult()
	}
	return e
}
