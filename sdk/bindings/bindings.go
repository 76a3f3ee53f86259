// Package bindings holds the payload types that the Go SDK's trigger
// handlers receive: TimerInfo for a timer, QueueMessage for a storage
// queue message, Blob for a storage blob. Their JSON field names are the
// ones the Functions host sends.
package bindings

import "time"

// TimerInfo is a timer trigger's payload.
type TimerInfo struct {
	Schedule       Schedule       `json:"Schedule"`
	ScheduleStatus ScheduleStatus `json:"ScheduleStatus"`
	// IsPastDue says that the occurrence runs late (the host was down at
	// its time, say).
	IsPastDue bool `json:"IsPastDue"`
}

// Schedule describes the timer's schedule.
type Schedule struct {
	AdjustForDST bool `json:"AdjustForDST"`
}

// ScheduleStatus is the timer's last and next occurrences, when the host
// keeps them.
type ScheduleStatus struct {
	Last        time.Time `json:"Last"`
	Next        time.Time `json:"Next"`
	LastUpdated time.Time `json:"LastUpdated"`
}

// QueueMessage is a storage queue message with its metadata.
type QueueMessage struct {
	ID              string    `json:"Id"`
	DequeueCount    int64     `json:"DequeueCount"`
	InsertionTime   time.Time `json:"InsertionTime"`
	ExpirationTime  time.Time `json:"ExpirationTime"`
	NextVisibleTime time.Time `json:"NextVisibleTime"`
	PopReceipt      string    `json:"PopReceipt"`
	// Body is the message's content as the host delivered it.
	Body []byte `json:"-"`
}

// Blob is a blob trigger's payload: the blob's content and what the host
// says about it.
type Blob struct {
	// Name is the blob's path as the trigger matched it, container/name.
	Name string
	// URI is the blob's address, when the host sends it.
	URI string
	// Metadata is the blob's user metadata.
	Metadata map[string]string
	// Content is the blob's bytes.
	Content []byte
}
