// Package scaffold writes new function apps and new functions, as `funcd
// init` and `funcd new` do, following what Azure Functions Core Tools' `func
// init` and `func new` write for custom handlers.
//
// [Init] creates an app: host.json with a customHandler section,
// local.settings.json, .gitignore and .funcignore, and a Go custom handler
// (handler/main.go and handler/go.mod) that builds into the executable
// host.json names. [New] adds a function: its folder with a function.json
// and, in an app that Init created, a file in handler/ that registers the
// function's code, so that the handler keeps building. Neither overwrites a
// file that exists.
//
// The templates are embedded in the binary.
package scaffold
