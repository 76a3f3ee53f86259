// Package profile runs funcd's host in-process under the HTTP benchmark's
// load, so that Go's profilers see funcd's side of a request. The benchmarks
// only run when asked for, with -bench; for a CPU profile of funcd's JSON
// mode, from the module root:
//
//	go test ./bench/profile -run '^$' -bench 'Hello/json' -benchtime 200000x -cpuprofile /tmp/cpu.out
//	go tool pprof -top -cum /tmp/cpu.out
//
// The host (packages host, httpapi, worker/httpworker behind hosttest, with
// logs written at Info level to a file as `funcd start` writes them to
// stderr) and the load generator share the test process; the custom handler
// (bench/handler) is a process of its own, as under funcd. Profiles
// therefore show the load generator too, under loadgen.(*client).run; funcd's
// share is under httpapi.(*Server).ServeHTTP and the worker's transport.
package profile
