package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec describes a process to start.
type Spec struct {
	// Path is the program. A name without a slash is looked up in PATH; a
	// relative path with a slash is relative to Dir.
	Path string
	// Args are the arguments, not including the program name.
	Args []string
	// Dir is the working directory; "" means the current one.
	Dir string
	// Env is the whole environment as KEY=VALUE; nil means the parent's.
	// When a key repeats, the last value wins.
	Env []string
	// Data is carried unchanged to Process.Spec for the caller's own
	// bookkeeping (a protocol's port, say); this package never reads it.
	Data any
}

// Stream names one of a process's output streams.
type Stream int

// The output streams.
const (
	Stdout Stream = 1
	Stderr Stream = 2
)

// String returns "stdout" or "stderr".
func (s Stream) String() string {
	if s == Stderr {
		return "stderr"
	}
	return "stdout"
}

// MaxLineBytes bounds one line of output. The rest of a longer line is
// dropped, and the delivered part ends with a note of how much was.
const MaxLineBytes = 64 << 10

// stderrTailLines is how many stderr lines an ExitError quotes, as the
// Functions host does.
const stderrTailLines = 3

// drainTimeout bounds the wait for output after the process group is gone,
// in case a process that escaped the group still holds the pipes.
const drainTimeout = 2 * time.Second

// OutputFunc receives one line of a process's output, without its line
// terminator; empty lines are skipped. Calls for one stream are sequential;
// calls for stdout and stderr may be concurrent. It must not block for long:
// a process that fills its pipe stalls until the line is consumed.
type OutputFunc func(p *Process, s Stream, line string)

// Process is a started worker process, the leader of its own process group.
// Its methods are safe for concurrent use.
type Process struct {
	spec Spec
	cmd  *exec.Cmd
	done chan struct{}

	sigMu  sync.Mutex
	reaped bool // the group may no longer be signalled; guarded by sigMu

	tailMu sync.Mutex
	tail   []string // last stderr lines; guarded by tailMu

	err *ExitError // set before done is closed
}

// Start starts the process described by spec in a new process group, with
// stdin from /dev/null and every output line passed to output (which may be
// nil). The process runs until it exits or is stopped; Done is closed once it
// has exited, every process left in its group has been killed, and its
// output has been delivered.
func Start(spec Spec, output OutputFunc) (*Process, error) {
	if output == nil {
		output = func(*Process, Stream, string) {}
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	cmd.SysProcAttr = procAttr()

	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", spec.Path, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(outR, outW)
		return nil, fmt.Errorf("cannot start %s: %w", spec.Path, err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	done := make(chan struct{})
	started := make(chan error)
	go func() {
		// The parent-death signal (Linux) is sent when the thread that
		// started the process exits, and the runtime ends the threads of
		// goroutines that exit locked to them: the starting thread stays
		// locked to this goroutine, which outlives the process.
		runtime.LockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			<-done
		}
		runtime.UnlockOSThread()
	}()
	err = <-started
	closeAll(outW, errW) // the child has its own copies
	if err != nil {
		closeAll(outR, errR)
		return nil, fmt.Errorf("cannot start %s: %w", spec.Path, err)
	}

	p := &Process{spec: spec, cmd: cmd, done: done}
	var readers sync.WaitGroup
	readers.Go(func() { readLines(outR, func(l string) { output(p, Stdout, l) }) })
	readers.Go(func() {
		readLines(errR, func(l string) {
			p.addTail(l)
			output(p, Stderr, l)
		})
	})
	go p.wait(&readers, outR, errR)
	return p, nil
}

// Spec returns the spec the process was started with.
func (p *Process) Spec() Spec { return p.spec }

// Pid returns the process id, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited and its output is delivered.
func (p *Process) Done() <-chan struct{} { return p.done }

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err returns nil while the process runs and an *ExitError (also for exit
// code 0) once Done is closed.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// ExitCode returns the exit code once Done is closed (128+signal for a
// process killed by a signal), or -1 while the process runs.
func (p *Process) ExitCode() int {
	select {
	case <-p.done:
		return p.err.Code
	default:
		return -1
	}
}

// Terminate asks every process of the group to stop (SIGTERM). It does
// nothing once the process has exited.
func (p *Process) Terminate() error { return p.signalGroup(syscall.SIGTERM) }

// Kill kills every process of the group (SIGKILL). It does nothing once the
// process has exited.
func (p *Process) Kill() error { return p.signalGroup(syscall.SIGKILL) }

// Stop terminates the group, waits until the process has exited or ctx is
// done, then kills what is left and waits for the exit. It returns ctx's
// error if the grace period (ctx) ran out, nil otherwise.
func (p *Process) Stop(ctx context.Context) error {
	if err := p.Terminate(); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	if err := p.Kill(); err != nil {
		return err
	}
	<-p.done
	return ctx.Err()
}

func (p *Process) signalGroup(sig syscall.Signal) error {
	p.sigMu.Lock()
	defer p.sigMu.Unlock()
	if p.reaped {
		return nil
	}
	err := syscall.Kill(-p.cmd.Process.Pid, sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("cannot signal process group %d: %w", p.cmd.Process.Pid, err)
	}
	return nil
}

// wait reaps the process, kills what is left of its group and waits for the
// output readers.
func (p *Process) wait(readers *sync.WaitGroup, outR, errR *os.File) {
	pid := p.cmd.Process.Pid
	waitExited(pid) // the exited leader still reserves the group id
	p.sigMu.Lock()
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	p.reaped = true
	p.sigMu.Unlock()
	_ = p.cmd.Wait()

	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	t := time.NewTimer(drainTimeout)
	select {
	case <-drained:
	case <-t.C:
		closeAll(outR, errR) // unblocks the readers
		<-drained
	}
	t.Stop()
	closeAll(outR, errR)

	p.err = p.exitError()
	close(p.done)
}

func (p *Process) exitError() *ExitError {
	e := &ExitError{Path: p.spec.Path, Pid: p.cmd.Process.Pid, Code: p.cmd.ProcessState.ExitCode()}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal()
		e.Code = 128 + int(e.Signal)
	}
	p.tailMu.Lock()
	e.Stderr = append([]string(nil), p.tail...)
	p.tailMu.Unlock()
	return e
}

func (p *Process) addTail(line string) {
	p.tailMu.Lock()
	defer p.tailMu.Unlock()
	if len(p.tail) == stderrTailLines {
		copy(p.tail, p.tail[1:])
		p.tail = p.tail[:stderrTailLines-1]
	}
	p.tail = append(p.tail, line)
}

// ExitError describes how a worker process ended.
type ExitError struct {
	Path string
	Pid  int
	// Code is the exit status, or 128+signal when a signal killed the
	// process (the convention the Functions host reports).
	Code int
	// Signal is the signal that killed the process, or 0.
	Signal syscall.Signal
	// Stderr holds the last lines (at most three) the process wrote to
	// stderr.
	Stderr []string
}

// Error reads like the Functions host's message: "<path> exited with code
// <n> (0x<hex>)", followed by the last stderr lines.
func (e *ExitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s exited with code %d (0x%X)", e.Path, e.Code, e.Code)
	if e.Signal != 0 {
		fmt.Fprintf(&b, " after signal %q", e.Signal.String())
	}
	if len(e.Stderr) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Stderr, ","))
	}
	return b.String()
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}
