package host

import (
	"os"
	"time"

	"github.com/funcd/funcd"
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
	ID              string
	State           State
	Version         string
	Errors          []string
	ProcessUptime   time.Duration
	ComputerName    string
	ExtensionBundle *funcd.ExtensionBundle
}

// Status returns the host's current status.
func (h *Host) Status() Status {
	h.mu.Lock()
	st := Status{
		State:         h.state,
		Version:       Version,
		Errors:        append([]string(nil), h.errs...),
		ProcessUptime: h.clock.Now().Sub(h.started),
	}
	g := h.current
	h.mu.Unlock()
	st.ID = h.ID()
	st.ComputerName, _ = os.Hostname()
	if g != nil {
		st.ExtensionBundle = g.App.Host.ExtensionBundle
	}
	return st
}
