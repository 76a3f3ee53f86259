package memory

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Fifty clients ask for a 10 MiB response each and never read it: funcd's
// RSS must stay under 200 MiB in forwarding mode, where responses stream,
// and every connection must be dropped by the minimum response data rate.
// In the JSON protocol the handler's reply is buffered whole (the protocol
// needs it parsed), so memory is bounded by the host's buffer budget
// instead: the run reports it.
func TestNeverReaders(t *testing.T) {
	if !*readers {
		t.Skip("run with -never-readers")
	}
	const (
		clients    = 50
		respBytes  = 10 << 20
		goalMiB    = 200
		dropWithin = 8 * time.Minute
	)
	dir := t.TempDir()
	funcdBin := build(t, dir, "funcd", "github.com/funcd/funcd/cmd/funcd")
	handlerBin := build(t, dir, "handler", "github.com/funcd/funcd/bench/memory/handler")
	for _, mode := range []struct {
		name    string
		forward bool
	}{{"forward", true}, {"json", false}} {
		t.Run(mode.name, func(t *testing.T) {
			app := writeApp(t, filepath.Join(dir, mode.name), handlerBin, mode.forward)
			url, pid := start(t, funcdBin, app)
			addr := strings.TrimPrefix(url, "http://")
			_, portText, _ := net.SplitHostPort(addr)
			port, _ := strconv.Atoi(portText)
			idle := vmRSS(t, pid)

			conns := make([]net.Conn, clients)
			for i := range conns {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if _, err := io.WriteString(c, "GET /api/ten HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
				conns[i] = c
			}

			// Watch funcd's memory and its established client connections
			// until the rate rule has closed them all.
			began := time.Now()
			peak, open := 0, clients
			for open > 0 {
				if time.Since(began) > dropWithin {
					t.Fatalf("%d of %d never-reading clients still connected after %v", open, clients, dropWithin)
				}
				time.Sleep(250 * time.Millisecond)
				peak = max(peak, vmRSS(t, pid))
				open = established(t, port)
			}
			dropped := time.Since(began)

			// Each client now finds its response cut short: funcd closed
			// the connection before the 10 MiB were sent.
			short := 0
			for _, c := range conns {
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				n, err := io.Copy(io.Discard, c)
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Errorf("a client's connection is still open after the drop (read %d bytes)", n)
					continue
				}
				if n < respBytes {
					short++
				}
			}
			t.Logf("%s: %d clients never reading a %d MiB response: funcd RSS idle %.1f MiB, peak %.1f MiB (goal < %d MiB in forwarding mode); all dropped after %v; %d of %d responses cut short",
				mode.name, clients, respBytes>>20, mib(idle), mib(peak), goalMiB, dropped.Round(time.Second), short, clients)
			if mode.forward && mib(peak) >= goalMiB {
				t.Errorf("peak RSS %.1f MiB, goal < %d MiB", mib(peak), goalMiB)
			}
			if short != clients {
				t.Errorf("%d of %d responses were sent whole to clients that never read", clients-short, clients)
			}
		})
	}
}

func mib(n int) float64 { return float64(n) / (1 << 20) }

// vmRSS returns a process's resident set size, in bytes.
func vmRSS(t *testing.T, pid int) int {
	t.Helper()
	return procStatus(t, pid, "VmRSS:")
}

// established counts the established TCP connections whose local port is
// port (the server's side of its clients' connections), from /proc/net/tcp.
func established(t *testing.T, port int) int {
	t.Helper()
	n := 0
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "01" { // 01: ESTABLISHED
				continue
			}
			_, local, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseInt(local, 16, 32); err == nil && int(p) == port {
				n++
			}
		}
		f.Close()
	}
	return n
}

// procStatus returns a kB field of /proc/<pid>/status, in bytes.
func procStatus(t *testing.T, pid int, field string) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
