// Package funcd is the vocabulary of the funcd host: a function app and its
// configuration, functions and their bindings, invocations and their results,
// and the typed errors every other package returns.
//
// The package does no I/O and imports only the standard library. Everything
// else (reading configuration, running workers, serving HTTP, storing state)
// lives in packages that import this one, never the reverse.
package funcd
