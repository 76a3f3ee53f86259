package worker

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the worker program: with helperEnv set it runs
// the named helper instead of the tests.
const helperEnv = "WORKER_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		runHelper(mode)
		return
	}
	os.Exit(m.Run())
}

func runHelper(mode string) {
	code, _ := strconv.Atoi(os.Getenv("WORKER_TEST_EXIT"))
	switch mode {
	case "lines":
		fmt.Println("out1")
		fmt.Println()
		fmt.Print("out2\r\n")
		fmt.Fprintln(os.Stderr, "err1")
		fmt.Fprintln(os.Stderr, "a WARNing here")
		fmt.Fprintln(os.Stderr, strings.Repeat("x", MaxLineBytes+100))
		fmt.Fprint(os.Stderr, "last without newline")
		os.Exit(code)
	case "sleep":
		fmt.Println("ready")
		blockForever()
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		blockForever()
	case "child", "orphan":
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), helperEnv+"=sleep")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("child %d\n", child.Process.Pid)
		if mode == "orphan" {
			os.Exit(1)
		}
		blockForever()
	case "host":
		// A host: it starts a worker, then waits to be killed. It reports
		// the worker once the worker is ready, so that the worker has
		// nothing left to write to its host's pipes when the host dies.
		ready := make(chan struct{}, 1)
		w, err := Start(helperSpec("sleep", 0), func(_ *Process, _ Stream, line string) {
			if line == "ready" {
				ready <- struct{}{}
			}
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		<-ready
		fmt.Printf("child %d\n", w.Pid())
		blockForever()
	default:
		fmt.Fprintln(os.Stderr, "bad mode", mode)
		os.Exit(code)
	}
}

// blockForever blocks until a signal ends the process. A bare select {}
// would not do: with every goroutine blocked and no timer pending, the
// runtime aborts with "all goroutines are asleep - deadlock!" (exit code 2)
// right after "ready" (built without the race detector, at least), and the
// process the test means to stop or keep running is already gone. A pending
// timer keeps the runtime from reporting a deadlock.
func blockForever() {
	for {
		time.Sleep(time.Hour)
	}
}

// helperSpec describes the test binary running a helper mode. In a binary
// built with -race, a process exiting with code 0 lingers a second
// (atexit_sleep_ms) to catch races at exit; helpers skip that.
func helperSpec(mode string, exitCode int) Spec {
	return Spec{
		Path: os.Args[0],
		Env: append(os.Environ(), helperEnv+"="+mode, "WORKER_TEST_EXIT="+strconv.Itoa(exitCode),
			"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")),
	}
}

// collector records output lines.
type collector struct {
	mu    sync.Mutex
	lines []string
	seen  chan string
}

func newCollector() *collector { return &collector{seen: make(chan string, 100)} }

func (c *collector) output(_ *Process, s Stream, line string) {
	c.mu.Lock()
	c.lines = append(c.lines, s.String()+": "+line)
	c.mu.Unlock()
	select {
	case c.seen <- line:
	default:
	}
}

func (c *collector) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// waitLine waits for a line with the prefix and returns it.
func (c *collector) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l := <-c.seen:
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line starting with %q; got %q", prefix, c.all())
		}
	}
}

// gone reports whether pid no longer runs (absent, or a zombie waiting for
// whoever adopted it).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return os.IsNotExist(err)
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	eventually(t, func() bool { return gone(pid) }, "process %d still runs", pid)
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitDone waits for p to exit.
func waitDone(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("process %d did not exit", p.Pid())
	}
}

// checkGoroutines fails the test if goroutines started after base are left.
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	eventually(t, func() bool { return runtime.NumGoroutine() <= base }, "goroutines leaked: %d > %d", runtime.NumGoroutine(), base)
}

func childPid(t *testing.T, line string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimPrefix(line, "child "))
	if err != nil {
		t.Fatalf("bad child line %q", line)
	}
	return pid
}
