package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
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

// process is a server the benchmark started: Azurite or funcd (which
// starts its own handler). Each runs in a process group of its
// own, so that stopping it also stops whatever it started in that group;
// funcd's handler, which funcd puts in a group of its own, is adopted.
type process struct {
	name    string
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

// processes is the set of processes the benchmark started. stopAll stops
// every one of them; main defers it and calls it on signals, so nothing
// outlives the benchmark.
type processes struct {
	mu    sync.Mutex
	procs []*process
}

// start runs bin with args in dir, its output going to logPath. The process
// gets its own process group, and is killed by the kernel if the benchmark
// itself dies.
func (ps *processes) start(name, dir, logPath string, env []string, bin string, args ...string) (*process, error) {
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
	p := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
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

// stopAll stops every process started, in reverse order.
func (ps *processes) stopAll() {
	ps.mu.Lock()
	procs := ps.procs
	ps.procs = nil
	ps.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
}

// pid returns the process id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// adopt records a process that p started, so that stop kills it if p's
// shutdown left it behind.
func (p *process) adopt(pid int, exe string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spawned = append(p.spawned, spawned{pid, exe})
}

// stop asks the process to shut down (SIGTERM) and waits for it a few
// seconds, then kills its whole process group and any adopted process that
// the shutdown left behind.
func (p *process) stop() {
	pgid := p.pid() // Setpgid: the group id is the leader's pid
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

// logTail returns the last lines of the process's output, for error
// messages.
func (p *process) logTail() string {
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

// waitReady polls GET scheme://addr/ until it answers with any status, the
// process exits, or the timeout passes. tlsConfig is the client's for https.
func (p *process) waitReady(ctx context.Context, scheme, addr string, tlsConfig *tls.Config, timeout time.Duration) error {
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
			return fmt.Errorf("%s exited before it answered (%v); its output:\n%s", p.name, p.waitErr, p.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer GET / on %s within %v: %v; its output:\n%s", p.name, addr, timeout, err, p.logTail())
		}
	}
}

// freeAddr returns a loopback address with a port that is free now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
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

// findChild waits up to timeout for a child of pid whose executable is exe,
// and returns its id and its executable's resolved path.
func findChild(pid int, exe string, timeout time.Duration) (int, string, error) {
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
			return 0, "", errors.New("no handler process found among funcd's children")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cpuOf returns the CPU time used so far by the given processes together.
func cpuOf(pids ...int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		if st, err := readStat(pid); err == nil {
			total += st.cpu
		}
	}
	return total
}
