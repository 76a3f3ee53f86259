package doctor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/host"
)

// knownBindings reports the binding types funcd runs.
var knownBindings = host.KnownBindings

// commonBindings are binding types of the Functions extensions that users
// write most, in the order doctor lists the ones funcd runs.
var commonBindings = []string{
	"httpTrigger", "http", "timerTrigger", "queueTrigger", "queue", "blobTrigger", "blob",
	"serviceBusTrigger", "serviceBus", "eventHubTrigger", "eventHub", "cosmosDBTrigger", "cosmosDB",
	"eventGridTrigger", "eventGrid", "table", "orchestrationTrigger", "activityTrigger", "entityTrigger",
	"durableClient", "mcpToolTrigger",
}

// supportedNote names the binding types funcd runs.
func supportedNote() string {
	supported := slices.DeleteFunc(slices.Clone(commonBindings), func(t string) bool { return !knownBindings(t) })
	return fmt.Sprintf("funcd runs only these binding types for now: %s; check the spelling, or run this function on the Azure Functions host",
		strings.Join(supported, ", "))
}

// isUnknownTypeError reports appconfig's error for binding types that are
// not registered.
func isUnknownTypeError(e *funcd.ConfigError) bool {
	return strings.HasPrefix(e.Msg, "The binding type(s) '")
}

// checkBindingTypes reports the bindings whose type funcd does not run,
// unless an error of the function already names them (appconfig stops at
// the first stage of checks that fails, so it may not have got that far).
// It returns whether there were any.
func (c *checker) checkBindingTypes(fn *funcd.Function) bool {
	found := false
	for i, b := range fn.Bindings {
		if b.Type == "" || knownBindings(b.Type) {
			continue
		}
		found = true
		if slices.ContainsFunc(fn.Errors, func(e *funcd.ConfigError) bool {
			return isUnknownTypeError(e) && strings.Contains(strings.ToLower(e.Msg), strings.ToLower(b.Type))
		}) {
			continue
		}
		line, col := position(c.functionRaw(fn), "bindings")
		c.add(Finding{Severity: Error, Function: fn.Name, File: fn.ConfigFile, Line: line, Column: col,
			Field:   fmt.Sprintf("bindings[%d].type", i),
			Problem: fmt.Sprintf("funcd does not run %q bindings yet", b.Type),
			Fix:     supportedNote()})
	}
	return found
}
