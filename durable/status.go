package durable

import (
	"fmt"
	"strings"
)

// Status is an instance's runtime status, numbered as the framework's
// OrchestrationStatus.
type Status int

// The runtime statuses.
const (
	Running        Status = 0
	Completed      Status = 1
	ContinuedAsNew Status = 2
	Failed         Status = 3
	Canceled       Status = 4
	Terminated     Status = 5
	Pending        Status = 6
	Suspended      Status = 7
)

var statusNames = [...]string{"Running", "Completed", "ContinuedAsNew", "Failed", "Canceled", "Terminated", "Pending", "Suspended"}

// String returns the status's name, as the management API writes it.
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// ParseStatus reads a status name, case-insensitively.
func ParseStatus(name string) (Status, error) {
	for i, n := range statusNames {
		if strings.EqualFold(n, strings.TrimSpace(name)) {
			return Status(i), nil
		}
	}
	return 0, fmt.Errorf("unknown runtime status %q (expected one of %s)", name, strings.Join(statusNames[:], ", "))
}

// Terminal reports whether an instance in this status has finished: it
// runs no more and takes no more events.
func (s Status) Terminal() bool {
	switch s {
	case Completed, Failed, Canceled, Terminated:
		return true
	}
	return false
}
