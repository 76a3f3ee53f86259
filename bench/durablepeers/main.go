// Command durablepeers runs the workloads of bench/cmd/durablebench on
// systems other than funcd, for comparison, in a module of its own so that
// funcd's module does not carry their dependencies:
//
//   - durabletask: durabletask-go (the Durable Task Framework in Go) with
//     its SQLite backend, in-process, a database file in -dir;
//   - temporal: the Temporal Go SDK (client and worker in this process)
//     against a Temporal development server, started from the Temporal CLI
//     named by -temporal (`temporal server start-dev`, in-memory).
//
// Both run the same workflows as funcd's apps: Chain5 (five no-op
// activities one after the other, each adding 1) and FanOut (n no-op
// activities doubling 1..n, summed).
//
// It reads commands from its standard input, one a line, and answers each
// with one JSON line {"ns": N} or {"error": "..."} on its standard output:
//
//	ready 0 0                 runs one Chain5 (the first answer: up)
//	latency RUNS ROUND        median ns of RUNS Chain5 run one after the other
//	throughput N ROUND        ns from starting N Chain5 at once to the last done
//	fanout N ROUND            ns of one FanOut over N activities
//
// Logs go to standard error.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// system is a peer that runs the two workflows.
type system interface {
	// start starts a workflow with an id and an integer input.
	start(ctx context.Context, workflow, id string, input int) error
	// result returns the workflow's integer result once it is done; done
	// is false while it runs.
	result(ctx context.Context, id string) (out int, done bool, err error)
	close()
}

const (
	latencyWarmup = 3
	starters      = 16
	chainLength   = 5
)

func main() {
	name := flag.String("system", "", "durabletask or temporal")
	dir := flag.String("dir", "", "folder for the system's files")
	cli := flag.String("temporal", "", "the Temporal CLI (temporal)")
	flag.Parse()
	if *dir != "" {
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			fatal(err)
		}
	}
	ctx := context.Background()
	var sys system
	var err error
	switch *name {
	case "durabletask":
		sys, err = newDurableTask(ctx, *dir)
	case "temporal":
		sys, err = newTemporal(ctx, *dir, *cli)
	default:
		err = fmt.Errorf("-system %q: want durabletask or temporal", *name)
	}
	if err != nil {
		fatal(err)
	}
	defer sys.close()
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) != 3 {
			_ = out.Encode(map[string]string{"error": "bad command " + in.Text()})
			continue
		}
		n, _ := strconv.Atoi(f[1])
		round, _ := strconv.Atoi(f[2])
		d, err := runCommand(ctx, sys, f[0], n, round)
		if err != nil {
			_ = out.Encode(map[string]string{"error": err.Error()})
			continue
		}
		_ = out.Encode(map[string]int64{"ns": int64(d)})
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "durablepeers:", err)
	os.Exit(1)
}

func runCommand(ctx context.Context, sys system, cmd string, n, round int) (time.Duration, error) {
	prefix := fmt.Sprintf("r%d-%s-", round, cmd)
	switch cmd {
	case "ready":
		if err := sys.start(ctx, "Chain5", prefix+"0", 0); err != nil {
			return 0, err
		}
		return 0, wait(ctx, sys, prefix+"0", chainLength, time.Millisecond)
	case "latency":
		var lat []time.Duration
		for i := range latencyWarmup + n {
			id := prefix + strconv.Itoa(i)
			start := time.Now()
			if err := sys.start(ctx, "Chain5", id, 0); err != nil {
				return 0, err
			}
			if err := wait(ctx, sys, id, chainLength, 500*time.Microsecond); err != nil {
				return 0, err
			}
			if i >= latencyWarmup {
				lat = append(lat, time.Since(start))
			}
		}
		slices.Sort(lat)
		if len(lat)%2 == 1 {
			return lat[len(lat)/2], nil
		}
		return (lat[len(lat)/2-1] + lat[len(lat)/2]) / 2, nil
	case "throughput":
		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for range starters {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					if err := sys.start(ctx, "Chain5", prefix+strconv.Itoa(i), 0); err != nil {
						mu.Lock()
						firstErr = cmp(firstErr, err)
						mu.Unlock()
						return
					}
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			return 0, firstErr
		}
		for i := range n {
			if err := wait(ctx, sys, prefix+strconv.Itoa(i), chainLength, 5*time.Millisecond); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	case "fanout":
		start := time.Now()
		id := prefix + "fan"
		if err := sys.start(ctx, "FanOut", id, n); err != nil {
			return 0, err
		}
		if err := wait(ctx, sys, id, n*(n+1), time.Millisecond); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	return 0, errors.New("unknown command " + cmd)
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// waiter is a system whose client can wait for a workflow's result
// without polling (Temporal's long poll).
type waiter interface {
	wait(ctx context.Context, id string) (int, error)
}

// wait waits for the workflow's result, polling unless the system can
// wait, and checks it.
func wait(ctx context.Context, sys system, id string, want int, every time.Duration) error {
	if w, ok := sys.(waiter); ok {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		out, err := w.wait(ctx, id)
		if err != nil {
			return fmt.Errorf("workflow %s: %w", id, err)
		}
		if out != want {
			return fmt.Errorf("workflow %s returned %d, want %d", id, out, want)
		}
		return nil
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		out, done, err := sys.result(ctx, id)
		if err != nil {
			return fmt.Errorf("workflow %s: %w", id, err)
		}
		if done {
			if out != want {
				return fmt.Errorf("workflow %s returned %d, want %d", id, out, want)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("workflow %s not done in 5 minutes", id)
		}
		time.Sleep(every)
	}
}
