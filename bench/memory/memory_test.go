package memory

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	run      = flag.Bool("memory", false, "run the memory benchmark (slow: it builds funcd and sends 100 MB bodies)")
	readers  = flag.Bool("never-readers", false, "run the never-reading clients benchmark (about 6 minutes a mode: it waits for the minimum response rate to drop them)")
	bodySize = flag.Int("memory-body", 100<<20, "request body size in bytes")
)

// A 100 MB JSON body of escaped quotes, one request at a time: peak RSS of
// the funcd process (VmHWM) against the body size, in the JSON protocol
// (goal: under 3 ×) and in forwarding mode (goal: under 1.5 ×).
func TestPeakMemory(t *testing.T) {
	if !*run {
		t.Skip("run with -memory")
	}
	dir := t.TempDir()
	funcdBin := build(t, dir, "funcd", "github.com/funcd/funcd/cmd/funcd")
	handlerBin := build(t, dir, "handler", "github.com/funcd/funcd/bench/memory/handler")
	// {"a":"\"\"\"...","b":1}: a string of escaped quotes, the worst case
	// for re-encoding.
	n := *bodySize
	var body bytes.Buffer
	body.Grow(n)
	body.WriteString(`{"a":"`)
	for body.Len() < n-10 {
		body.WriteString(`\"`)
	}
	body.WriteString(`","b":1}`)
	for _, mode := range []struct {
		name    string
		forward bool
		goal    float64
	}{{"json", false, 3}, {"forward", true, 1.5}} {
		t.Run(mode.name, func(t *testing.T) {
			app := writeApp(t, filepath.Join(dir, mode.name), handlerBin, mode.forward)
			url, pid := start(t, funcdBin, app)
			before := vmHWM(t, pid)
			res, err := http.Post(url+"/api/big", "application/json", bytes.NewReader(body.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", res.StatusCode, got)
			}
			peak := vmHWM(t, pid)
			ratio := float64(peak) / float64(body.Len())
			t.Logf("%s: body %.1f MB, peak RSS %.1f MB (idle %.1f MB), %.2f × the body (goal < %.1f ×)",
				mode.name, mb(body.Len()), mb(peak), mb(before), ratio, mode.goal)
			if ratio >= mode.goal {
				t.Errorf("peak RSS %.2f × the body, goal < %.1f ×", ratio, mode.goal)
			}
		})
	}
}

func mb(n int) float64 { return float64(n) / 1e6 }

func build(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("building %s: %v", pkg, err)
	}
	return out
}

func writeApp(t *testing.T, dir, handler string, forward bool) string {
	t.Helper()
	for _, fn := range []string{"big", "ten"} {
		if err := os.MkdirAll(filepath.Join(dir, fn), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hostJSON := fmt.Sprintf(`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":%q},"enableForwardingHttpRequest":%t}}`, handler, forward)
	function := `{"bindings":[{"authLevel":"anonymous","type":"httpTrigger","direction":"in","name":"req","methods":[%q]},{"type":"http","direction":"out","name":"res"}]}`
	for name, text := range map[string]string{
		"host.json":         hostJSON,
		"big/function.json": fmt.Sprintf(function, "post"),
		"ten/function.json": fmt.Sprintf(function, "get"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// start runs funcd start on a free port and waits until it serves.
func start(t *testing.T, bin, app string) (url string, pid int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "start", "--port", strconv.Itoa(port), "--state-dir", t.TempDir())
	cmd.Dir = app
	cmd.Env = append(os.Environ(), "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT=1073741824")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cancel()
			<-done
		}
		cancel()
	})
	url = "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(url + "/admin/host/ping")
		if err == nil {
			res.Body.Close()
			return url, cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("funcd did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// vmHWM returns the peak resident set size of a process, in bytes.
func vmHWM(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
