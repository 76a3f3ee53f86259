package host

import (
	"context"
	"log/slog"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/azstorage"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/binding/blob"
	"github.com/funcd/funcd/binding/mcptrigger"
	"github.com/funcd/funcd/binding/queue"
	"github.com/funcd/funcd/binding/timer"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/postgres"
	"github.com/funcd/funcd/sqlite"
	"github.com/funcd/funcd/storage"
)

// This file is the one place that names the binding packages and store
// backends funcd is built with: the host looks Kinds up by type in the
// Registry DefaultKinds makes, and opens its store with defaultBackends.

// DefaultKinds returns the trigger and binding types funcd runs besides
// HTTP.
func DefaultKinds() []binding.Kind {
	t := timer.Trigger()
	t.Manual = func(ctx context.Context, env *binding.Env, fn *funcd.Function, b *funcd.Binding, _ string) (binding.Event, error) {
		return timer.AdminEvent(ctx, env, fn, b)
	}
	kinds := append([]binding.Kind{
		blob.Trigger(),
		blob.Blob(),
		queue.Trigger(),
		queue.Output(),
		t,
		// The host's own triggers that nothing here fires: a
		// manualTrigger function runs only through the admin API, and a
		// warmupTrigger one when the platform adds an instance to a
		// scale-out (the host's /admin/warmup, which answers 400 outside
		// Premium and App Service plans), so here through the admin API
		// too. Both are indexed and listed, as the host lists them.
		{Type: "manualTrigger"},
		{Type: "warmupTrigger", Manual: warmupEvent},
	}, durableKinds(nil)...)
	return append(kinds, mcptrigger.Kinds()...)
}

// warmupEvent is a warmup function's invocation: its trigger value is
// the WarmupContext, an object without properties; the input is ignored.
func warmupEvent(context.Context, *binding.Env, *funcd.Function, *funcd.Binding, string) (binding.Event, error) {
	return binding.Event{Value: funcd.JSONValue([]byte("{}")), Reason: invokeReason}, nil
}

// defaultBackends returns the store backends funcd is built with.
func defaultBackends() backends {
	return backends{
		sqlite: func(dir string, clk clock.Clock, log *slog.Logger) (storage.Store, error) {
			return sqlite.Open(dir, sqlite.Options{Clock: clk, Logger: log})
		},
		postgres: func(ctx context.Context, conn string, clk clock.Clock, log *slog.Logger) (storage.Store, error) {
			return postgres.Open(ctx, conn, postgres.Options{Clock: clk, Logger: log})
		},
		azure: func(conn string, _ clock.Clock, _ *slog.Logger) (*binding.Provider, error) {
			acct, err := azstorage.ParseConnectionString(conn)
			if err != nil {
				return nil, err
			}
			p, err := azstorage.Open(acct, azstorage.Options{})
			if err != nil {
				return nil, err
			}
			name := "azure"
			if acct.Development {
				name = "azurite"
			}
			return &binding.Provider{Name: name, Queues: p, Blobs: p}, nil
		},
		azurite: func(ctx context.Context) (bool, string) {
			acct := azstorage.DevelopmentAccount()
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			return azstorage.AzuriteRunning(ctx, acct), acct.BlobEndpoint + " and " + acct.QueueEndpoint
		},
	}
}
