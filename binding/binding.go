// Package binding is the contract between the host and the packages that
// implement triggers and bindings (binding/queue, binding/blob,
// binding/timer): a Kind per function.json type, the Env the host gives
// them, the Listener a trigger runs, and the Invoker it hands events to.
//
// A binding package never imports the host: the host imports it, looks its
// Kind up by type, validates bindings with it when the app loads, starts a
// Listener per trigger when a generation starts, and calls Read and Write
// around each invocation.
package binding

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// Data is a trigger's binding data: the names a function's other bindings
// can use in expressions ({name}, {queueTrigger}, {Id}) and that workers
// receive as trigger metadata. Values are JSON: strings as JSON strings,
// numbers as numbers, dates as ISO 8601 strings. Keys ending in "Trigger"
// (QueueTrigger, BlobTrigger) are used in expressions but not sent to
// custom handlers, as the real host does.
type Data map[string]json.RawMessage

// Event is one firing of a trigger.
type Event struct {
	Function *funcd.Function
	// Value is the trigger binding's value.
	Value funcd.Value
	// Data is the trigger's binding data.
	Data Data
	// Reason is why the function runs, as the real host logs it in
	// "Executing 'Functions.<Name>' (Reason='...')": "New queue message
	// detected on 'orders'.". Empty: the host's reason for its own calls.
	Reason string
}

// Invoker runs an event through the host's pipeline: input bindings, the
// worker, output bindings, and the function's retry policy. A nil error
// means the function succeeded and its outputs are written; an error means
// it failed after its retries, and the listener applies its own failure
// handling (a queue message becomes visible again or goes to poison).
type Invoker interface {
	Invoke(ctx context.Context, ev Event) error
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, ev Event) error

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, ev Event) error { return f(ctx, ev) }

// Listener watches one trigger's source for one function.
type Listener interface {
	// Start begins listening and returns once the listener runs; an error
	// means it could not start (the function is then in error).
	Start(ctx context.Context) error
	// Stop stops taking new events and waits until the events in flight
	// end or ctx is done. Work that did not finish is left to be retried
	// (a message's visibility timeout, a receipt's lease).
	Stop(ctx context.Context) error
}

// Provider is where a binding's connection setting points: funcd's own store
// (embedded SQLite or shared PostgreSQL) or an Azure Storage account
// (Azurite included).
type Provider struct {
	// Name says which, for logs and diagnostics: "embedded", "postgres",
	// "azurite" or "azure".
	Name   string
	Queues storage.Queues
	Blobs  storage.Blobs
	// Feed is the blob change feed; nil for Azure Storage, whose blob
	// triggers scan containers instead.
	Feed storage.BlobFeed
}

// Env is what the host gives binding packages.
type Env struct {
	// HostID is the host id (lower case, at most 32 characters); leases,
	// receipts and timer status are named with it as the real host names
	// its blobs.
	HostID string
	// Owner identifies this host process among those sharing a store, for
	// leases and receipts.
	Owner string
	// Settings are the app settings (local.settings.json Values over the
	// environment).
	Settings map[string]string
	// Store is funcd's own store: schedule status, leases and checkpoints
	// live here whatever provider a binding uses, and blob receipts unless
	// the blobs' store keeps them (an Azure Storage account does).
	Store storage.Store
	// Connect resolves a binding's connection setting name ("" means
	// AzureWebJobsStorage) to its provider. Its errors are
	// *funcd.ConfigError naming the setting.
	Connect func(connection string) (*Provider, error)
	// Extensions holds host.json "extensions" sections by lower-case name
	// ("queues", "blobs"); absent sections are missing.
	Extensions map[string]json.RawMessage
	// ListenerLockPeriod is how long the lease of a singleton listener
	// (the timer trigger's) lasts unless renewed: host.json
	// singleton.listenerLockPeriod, validated when the app loaded. Zero
	// means funcd.DefaultListenerLockPeriod.
	ListenerLockPeriod time.Duration
	// Development is true when AZURE_FUNCTIONS_ENVIRONMENT is Development
	// (funcd start sets it, as Core Tools does).
	Development bool
	Clock       clock.Clock
	Logger      *slog.Logger
}

// Kind implements one function.json binding type.
type Kind struct {
	// Type is the function.json "type" ("queueTrigger", "queue").
	Type string
	// Validate checks a binding of this type when the app loads: its
	// properties, its connection, its path pattern or schedule. Errors are
	// *funcd.ConfigError with the field and a hint; the host adds the file
	// and line. It must not do I/O: funcd doctor runs it with an Env whose
	// Connect resolves the setting but opens nothing (the Provider's
	// Queues and Blobs are nil) and whose Store is nil.
	Validate func(fn *funcd.Function, b *funcd.Binding, env *Env) error
	// Manual, when set, makes the event of an invocation through the admin
	// API (POST /admin/functions/{name} {"input": ...}) from its input, as
	// the trigger binding binds a string: a blob trigger reads the blob the
	// input names. Nil: the input is the trigger's string value, with
	// binding data {"<Type>": input} (QueueTrigger for a queueTrigger).
	Manual func(ctx context.Context, env *Env, fn *funcd.Function, b *funcd.Binding, input string) (Event, error)
	// Listen starts watching a trigger's source (triggers only).
	Listen func(fn *funcd.Function, b *funcd.Binding, env *Env, inv Invoker) (Listener, error)
	// Read produces an input binding's value for an invocation whose
	// trigger produced data (inputs only).
	Read func(ctx context.Context, env *Env, fn *funcd.Function, b *funcd.Binding, data Data) (funcd.Value, error)
	// Write delivers an output binding's value after the function
	// succeeded (outputs only). A JSON array for a collection output
	// (queue) is one item per element.
	Write func(ctx context.Context, env *Env, fn *funcd.Function, b *funcd.Binding, data Data, v funcd.Value) error
}

// Property looks a binding property up case-insensitively, as function.json
// properties are read; ok is false when it is absent.
func Property(b *funcd.Binding, name string) (v any, ok bool) {
	for k, v := range b.Properties {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// StringProperty returns a string property, "" when it is absent or not a
// string.
func StringProperty(b *funcd.Binding, name string) string {
	v, _ := Property(b, name)
	s, _ := v.(string)
	return s
}
