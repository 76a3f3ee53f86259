package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/funcd/funcd/durable"
	sdkdurable "github.com/funcd/funcd/sdk/durable"
	"github.com/funcd/funcd/sqlite"

	_ "modernc.org/sqlite" // the driver package sqlite uses
)

// The yardsticks say how far the goals are from what the parts below the
// worker can do on this machine.
//
// The engine alone: funcd's durable engine on the embedded store, with
// the orchestrations replayed in-process by the Go SDK's own replay code
// (sdk/durable.RunOrchestrator) and the activities run in-process: the
// whole of funcd's Durable Functions but the worker process and its hop.
// No figure with a worker can beat it.

// engineTarget is the engine alone.
type engineTarget struct {
	funcdTarget
	e *durable.Engine
}

func (b *bench) startEngine(ctx context.Context) (*engineTarget, error) {
	store, err := sqlite.Open(filepath.Join(b.tmp, "engine-store"), sqlite.Options{})
	if err != nil {
		return nil, err
	}
	e := durable.New(store, durable.Options{})
	e.SetFunctions(durable.Functions{Orchestrators: []string{"Chain5", "FanOut"}, Activities: []string{"Inc", "Double"}}, inProcess{})
	if err := e.Start(ctx); err != nil {
		_ = store.Close()
		return nil, err
	}
	t := &engineTarget{funcdTarget: funcdTarget{b: b, label: "yardstick: engine alone, sqlite, in-process Go SDK replay", c: e.Client(""), store: store}, e: e}
	if _, err := t.run(ctx, latency, -1); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func (t *engineTarget) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = t.e.Stop(ctx)
	_ = t.store.Close()
}

// inProcess runs the benchmark's functions in this process.
type inProcess struct{}

func (inProcess) Orchestrate(ctx context.Context, name string, payload []byte) ([]byte, error) {
	fn := map[string]sdkdurable.Orchestrator{"Chain5": sdkChain5, "FanOut": sdkFanOut}[name]
	if fn == nil {
		return nil, fmt.Errorf("no orchestrator %s", name)
	}
	return sdkdurable.RunOrchestrator(ctx, payload, fn)
}

func (inProcess) Activity(_ context.Context, name, _, input string) (string, error) {
	n, err := strconv.Atoi(input)
	if err != nil {
		return "", &durable.FunctionError{Message: fmt.Sprintf("%s: input %q is not a number", name, input)}
	}
	switch name {
	case "Inc":
		return strconv.Itoa(n + 1), nil
	case "Double":
		return strconv.Itoa(2 * n), nil
	}
	return "", &durable.FunctionError{Message: "no activity " + name}
}

func (inProcess) Entity(context.Context, string, []byte) ([]byte, error) {
	return nil, errors.New("no entities")
}

// sdkChain5 and sdkFanOut are e2e/testdata/durablego's Chain5 and FanOut.
func sdkChain5(ctx *sdkdurable.OrchestrationContext) (any, error) {
	var n int
	if err := ctx.GetInput(&n); err != nil {
		return nil, err
	}
	for range chainLength {
		if err := ctx.CallActivity("Inc", sdkdurable.WithInput(n)).Await(&n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func sdkFanOut(ctx *sdkdurable.OrchestrationContext) (any, error) {
	var n int
	if err := ctx.GetInput(&n); err != nil {
		return nil, err
	}
	tasks := make([]sdkdurable.Task, n)
	for i := range n {
		tasks[i] = ctx.CallActivity("Double", sdkdurable.WithInput(i+1))
	}
	var results []int
	if err := sdkdurable.WhenAll(tasks...).Await(&results); err != nil {
		return nil, err
	}
	sum := 0
	for _, r := range results {
		sum += r
	}
	return sum, nil
}

// writesPerChain is the write transactions of one Chain5 on the embedded
// store: its start, then for each of its 6 episodes and 5 activities a
// lock and a completion.
const writesPerChain = 1 + 2*6 + 2*5

// commitRate measures the raw commit rate of SQLite as the embedded store
// runs it (modernc.org/sqlite, WAL, synchronous=NORMAL): n transactions of
// one small insert each, one after the other and then from 16 goroutines
// (each still its own transaction: SQLite has one writer), and returns the
// transactions a second and the CPU per transaction.
func commitRate(dir string, n int) (serial, parallel float64, cpuPer time.Duration, err error) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "yardstick.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, 0, 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, hub TEXT, v BLOB)`); err != nil {
		return 0, 0, 0, err
	}
	ins, err := db.Prepare(`INSERT INTO t (hub, v) VALUES (?, ?)`)
	if err != nil {
		return 0, 0, 0, err
	}
	defer ins.Close()
	payload := make([]byte, 200)
	one := func() error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Stmt(ins).Exec("hub", payload); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}
	cpu0 := selfCPU()
	start := time.Now()
	for range n {
		if err := one(); err != nil {
			return 0, 0, 0, err
		}
	}
	serial = float64(n) / time.Since(start).Seconds()
	cpuPer = (selfCPU() - cpu0) / time.Duration(n)
	start = time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := g; i < n; i += 16 {
				if err := one(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, 0, err
	}
	parallel = float64(n) / time.Since(start).Seconds()
	return serial, parallel, cpuPer, nil
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
