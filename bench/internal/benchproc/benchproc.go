// Package benchproc starts, watches and stops the servers a benchmark
// measures, and reads their CPU time and memory from /proc.
package benchproc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A Process is a server the benchmark started (a handler, a proxy, funcd,
// Azurite). Each runs in a process group of its
// own, so that stopping it also stops whatever it started in that group;
// funcd's handler, which funcd puts in a group of its own, is adopted.
type Process struct {
	Name    string
	cmd     *exec.Cmd
	logPath string        // stdout and stderr of the process
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed

	mu      sync.Mutex
	spawned []spawned // processes it started in process groups of their own
}

// spawned is a process that a benchmarked process started, such as funcd's
// handler (which funcd runs in a process group of its own).
type spawned struct {
	pid int
	exe string // its executable, so that a reused pid is left alone
}

// A Set is the set of processes the benchmark started. StopAll stops
// every one of them; main defers it and calls it on signals, so nothing
// outlives the benchmark.
type Set struct {
	mu    sync.Mutex
	procs []*Process
}

// Start runs bin with args in dir, its output going to logPath. The process
// gets its own process group, and is killed by the kernel if the benchmark
// itself dies.
func (ps *Set) Start(name, dir, logPath string, env []string, bin string, args ...string) (*Process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Process{Name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	ps.procs = append(ps.procs, p)
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// StartCmd is Start for a command the caller prepared (with pipes to its
// standard input or output): its standard error goes to logPath, and it
// gets a process group of its own, killed if the benchmark dies.
func (ps *Set) StartCmd(name string, cmd *exec.Cmd, logPath string) (*Process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Process{Name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	ps.procs = append(ps.procs, p)
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// StopAll stops every process started, in reverse order.
func (ps *Set) StopAll() {
	ps.mu.Lock()
	procs := ps.procs
	ps.procs = nil
	ps.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop()
	}
}

// PID returns the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Adopt records a process that p started, so that stop kills it if p's
// shutdown left it behind.
func (p *Process) Adopt(pid int, exe string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spawned = append(p.spawned, spawned{pid, exe})
}

// Stop asks the process to shut down (SIGTERM) and waits for it a few
// seconds, then kills its whole process group and any adopted process that
// the shutdown left behind.
func (p *Process) Stop() {
	pgid := p.PID() // Setpgid: the group id is the leader's pid
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.exited
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.spawned {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", s.pid)); err == nil && exe == s.exe {
			_ = syscall.Kill(s.pid, syscall.SIGKILL)
		}
	}
}

// LogTail returns the last lines of the process's output, for error
// messages.
func (p *Process) LogTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// WaitReady polls GET scheme://addr/ until it answers with any status, the
// process exits, or the timeout passes. tlsConfig is the client's for https.
func (p *Process) WaitReady(ctx context.Context, scheme, addr string, tlsConfig *tls.Config, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+"/", nil)
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it answered (%v); its output:\n%s", p.Name, p.waitErr, p.LogTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer GET / on %s within %v: %v; its output:\n%s", p.Name, addr, timeout, err, p.LogTail())
		}
	}
}

// FreeAddr returns a loopback address with a port that is free now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Memory is a process's resident memory, from /proc/<pid>/status.
type Memory struct {
	RSSKB int64 // VmRSS: resident now
	HWMKB int64 // VmHWM: peak resident
}

// MiB returns a size in kB as MiB.
func MiB(kB int64) float64 { return float64(kB) / 1024 }

// ReadMemory reads VmRSS and VmHWM of a process.
func ReadMemory(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	defer f.Close()
	var m Memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kB, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			m.RSSKB = kB
		case "VmHWM":
			m.HWMKB = kB
		}
	}
	if m.RSSKB == 0 {
		return m, fmt.Errorf("no VmRSS for process %d", pid)
	}
	return m, sc.Err()
}

// clockTicks is USER_HZ, the unit of CPU times in /proc/<pid>/stat; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procStat is the part of /proc/<pid>/stat the benchmark uses.
type procStat struct {
	ppid int
	cpu  time.Duration // utime + stime
}

// readStat parses /proc/<pid>/stat.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	ppid, _ := strconv.Atoi(f[1])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return procStat{ppid: ppid, cpu: time.Duration(utime+stime) * time.Second / clockTicks}, nil
}

// children returns the ids of the processes whose parent is pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(child); err == nil && st.ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// FindChild waits up to timeout for a child of pid whose executable is exe,
// and returns its id and its executable's resolved path.
func FindChild(pid int, exe string, timeout time.Duration) (int, string, error) {
	want, _ := filepath.EvalSymlinks(exe)
	deadline := time.Now().Add(timeout)
	for {
		for _, c := range children(pid) {
			got, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", c))
			if err == nil && (got == want || got == exe) {
				return c, got, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, "", fmt.Errorf("no child of process %d runs %s", pid, exe)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// CPUOf returns the CPU time used so far by the given processes together.
func CPUOf(pids ...int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		if st, err := readStat(pid); err == nil {
			total += st.cpu
		}
	}
	return total
}

// Exited is closed when the process has exited; Err then says how.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err returns the process's exit error once Exited is closed.
func (p *Process) Err() error { return p.waitErr }
