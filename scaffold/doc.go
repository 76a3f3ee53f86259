// Package scaffold writes new function apps and new functions, as `funcd
// init` and `funcd new` do, following what Azure Functions Core Tools' `func
// init` and `func new` write for custom handlers.
//
// [Init] creates an app. A custom handler app gets host.json with a
// customHandler section,
// local.settings.json, .gitignore and .funcignore, and a Go custom handler
// (handler/main.go and handler/go.mod) that builds into the executable
// host.json names. [New] adds a function: its folder with a function.json
// and, in an app that Init created, a file in handler/ that registers the
// function's code, so that the handler keeps building. Neither overwrites a
// file that exists.
//
// A Go SDK app ([InitGo], runtime "go") gets host.json, local.settings.json
// with FUNCTIONS_WORKER_RUNTIME=golang, go.mod requiring github.com/funcd/funcd
// and main.go with one HTTP function; New adds <name>_function.go files that
// register functions on its App (HTTP, timer, queue and blob templates).
//
// The templates are embedded in the binary.
package scaffold
