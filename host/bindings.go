package host

import (
	"log/slog"

	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/binding/blob"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/sqlite"
	"github.com/funcd/funcd/storage"
)

// This file is the one place that names the binding packages and store
// backends funcd is built with: the host looks Kinds up by type in the
// Registry DefaultKinds makes, and opens its store with defaultBackends.

// DefaultKinds returns the trigger and binding types funcd runs besides
// HTTP.
func DefaultKinds() []binding.Kind {
	return []binding.Kind{
		blob.Trigger(),
	}
}

// defaultBackends returns the store backends funcd is built with.
func defaultBackends() backends {
	return backends{
		sqlite: func(dir string, clk clock.Clock, log *slog.Logger) (storage.Store, error) {
			return sqlite.Open(dir, sqlite.Options{Clock: clk, Logger: log})
		},
	}
}
