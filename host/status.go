package host

import (
	"fmt"
	"os"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker"
)

// State is the host's lifecycle state, named as the real host names it in
// /admin/host/status.
type State int

// Host states.
const (
	StateDefault State = iota
	StateStarting
	StateInitialized
	StateRunning
	StateError
	StateStopping
	StateStopped
	StateOffline
)

var stateNames = [...]string{"Default", "Starting", "Initialized", "Running", "Error", "Stopping", "Stopped", "Offline"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "Unknown"
}

// Status is the host's status as /admin/host/status reports it.
type Status struct {
	ID      string
	State   State
	Version string
	// Errors are the host's errors, then, while the worker is not serving
	// after a failure, what happened to it.
	Errors          []string
	ProcessUptime   time.Duration
	ComputerName    string
	ExtensionBundle *funcd.ExtensionBundle
	// Worker is the current generation's worker process, when its worker
	// runs one (nil for an app with no functions to run).
	Worker *worker.Health
	// ShuttingDown is set once Shutdown has begun.
	ShuttingDown bool
}

// WorkerServing reports whether the status's worker, if any, can take
// invocations.
func (st *Status) WorkerServing() bool {
	return st.Worker == nil || st.Worker.Phase == worker.PhaseReady
}

// Status returns the host's current status.
func (h *Host) Status() Status {
	h.mu.Lock()
	st := Status{
		State:         h.state,
		Version:       Version,
		Errors:        append([]string(nil), h.errs...),
		ProcessUptime: h.clock.Now().Sub(h.started),
		ShuttingDown:  h.stopped,
	}
	g := h.current
	h.mu.Unlock()
	st.ID = h.ID()
	st.ComputerName, _ = os.Hostname()
	if g != nil {
		st.ExtensionBundle = g.App.Host.ExtensionBundle
		if wh, ok := g.worker.(WorkerHealth); ok {
			hw := wh.Health()
			st.Worker = &hw
			if msg := workerError(hw); msg != "" {
				st.Errors = append(st.Errors, msg)
			}
		}
	}
	return st
}

// workerError describes a worker that is not serving because it failed, or
// returns "".
func workerError(hw worker.Health) string {
	switch {
	case hw.Phase == worker.PhaseDown:
		return fmt.Sprintf("The custom handler is down after %d failure(s) in a row and restarts at %s. Last failure: %s",
			hw.Failures, hw.NextStart.UTC().Format(time.RFC3339), hw.LastFailure)
	case hw.Phase == worker.PhaseStarting && hw.Failures > 0:
		return fmt.Sprintf("The custom handler is restarting after %d failure(s) in a row. Last failure: %s", hw.Failures, hw.LastFailure)
	}
	return ""
}
