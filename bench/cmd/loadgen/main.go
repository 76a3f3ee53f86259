// Command loadgen drives one HTTP server with the benchmark's load generator
// (bench/internal/loadgen) and prints its throughput and latencies. It is
// for profiling a server that is already running, such as `funcd start`
// under perf:
//
//	bin/funcd start --script-root <app> --port 7071 --no-auth &
//	go run ./bench/cmd/loadgen -addr 127.0.0.1:7071 -duration 20s &
//	perf record -g -p <funcd pid> -- sleep 10
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/funcd/funcd/bench/internal/loadgen"
)

func main() {
	var cfg loadgen.Config
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:7071", "host:port of the server")
	flag.StringVar(&cfg.Path, "path", "/api/hello", "request path")
	flag.IntVar(&cfg.Conns, "c", 32, "keep-alive connections")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to send requests (0: until -n)")
	flag.Uint64Var(&cfg.Requests, "n", 0, "how many requests to send (0: until -duration)")
	flag.StringVar(&cfg.WantBody, "body", "Hello, World", "the body every response must have (\"\": any)")
	procs := flag.Int("procs", 1, "GOMAXPROCS of the load generator")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	q := res.Latency.Quantile
	fmt.Printf("%d requests in %v: %.0f req/s; p50 %v p90 %v p99 %v max %v; %d failed; load generator CPU %.0f%% of a core (GOMAXPROCS=%d)\n",
		res.Requests, res.Elapsed.Round(time.Millisecond), res.RPS(), q(0.5), q(0.9), q(0.99), q(1),
		res.Errors, 100*res.ClientCPU.Seconds()/res.Elapsed.Seconds(), *procs)
	if res.Errors > 0 {
		fmt.Fprintln(os.Stderr, "loadgen: first failure:", res.FirstErr)
		os.Exit(1)
	}
}
