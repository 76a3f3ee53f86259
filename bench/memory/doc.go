// Package memory measures the peak memory of a funcd process serving one
// large request, in the JSON protocol and in forwarding mode. Its test runs
// only when asked: go test ./bench/memory -memory -v (see bench/RESULTS.md).
package memory
