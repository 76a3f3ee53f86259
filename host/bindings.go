package host

import (
	"github.com/funcd/funcd/binding"
)

// This file is the one place that names the binding packages and store
// backends funcd is built with: the host looks Kinds up by type in the
// Registry DefaultKinds makes, and opens its store with the backends below.

// DefaultKinds returns the trigger and binding types funcd runs besides
// HTTP.
func DefaultKinds() []binding.Kind {
	return []binding.Kind{}
}

// defaultBackends returns the store backends funcd is built with.
func defaultBackends() backends {
	return backends{}
}
