package worker

import (
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestOutputLinesAndExit(t *testing.T) {
	c := newCollector()
	p, err := Start(helperSpec("lines", 3), c.output)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, p)

	got := map[string]bool{}
	for _, l := range c.all() {
		got[l] = true
	}
	long := "stderr: " + strings.Repeat("x", MaxLineBytes) + " [line truncated: 100 more bytes]"
	for _, want := range []string{"stdout: out1", "stdout: out2", "stderr: err1", "stderr: a WARNing here", long, "stderr: last without newline"} {
		if !got[want] {
			t.Errorf("missing line %.80q", want)
		}
	}
	if n := len(c.all()); n != 6 {
		t.Errorf("got %d lines, want 6 (empty lines are skipped)", n)
	}

	if code := p.ExitCode(); code != 3 {
		t.Errorf("ExitCode = %d, want 3", code)
	}
	var exit *ExitError
	if !errors.As(p.Err(), &exit) {
		t.Fatalf("Err = %v, want *ExitError", p.Err())
	}
	msg := exit.Error()
	if !strings.HasPrefix(msg, p.Spec().Path+" exited with code 3 (0x3): a WARNing here,") ||
		!strings.HasSuffix(msg, ",last without newline") {
		t.Errorf("message = %.200q", msg)
	}
}

func TestLevel(t *testing.T) {
	tests := []struct {
		s    Stream
		line string
		want slog.Level
	}{
		{Stdout, "error: shown at info", slog.LevelInfo},
		{Stderr, "plain", slog.LevelError},
		{Stderr, "Warning: disk", slog.LevelWarn},
		{Stderr, "WARN x", slog.LevelWarn},
		{Stderr, "wa rn", slog.LevelError},
	}
	for _, tt := range tests {
		if got := Level(tt.s, tt.line); got != tt.want {
			t.Errorf("Level(%v, %q) = %v, want %v", tt.s, tt.line, got, tt.want)
		}
	}
}

func TestStopStopsTheGroup(t *testing.T) {
	c := newCollector()
	p, err := Start(helperSpec("child", 0), c.output)
	if err != nil {
		t.Fatal(err)
	}
	child := childPid(t, c.waitLine(t, "child "))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !gone(p.Pid()) {
		t.Errorf("leader %d runs after Stop", p.Pid())
	}
	waitGone(t, child)
	if code := p.ExitCode(); code != 128+15 {
		t.Errorf("ExitCode = %d, want 143 (SIGTERM)", code)
	}
}

func TestStopEscalatesToKill(t *testing.T) {
	c := newCollector()
	p, err := Start(helperSpec("ignoreterm", 0), c.output)
	if err != nil {
		t.Fatal(err)
	}
	c.waitLine(t, "ready")
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := p.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want the grace period's deadline", err)
	}
	if code := p.ExitCode(); code != 128+9 {
		t.Errorf("ExitCode = %d, want 137 (SIGKILL)", code)
	}
	if !strings.Contains(p.Err().Error(), `after signal "killed"`) {
		t.Errorf("Err = %v", p.Err())
	}
	// Signalling an exited process is a no-op.
	if err := p.Kill(); err != nil {
		t.Errorf("Kill after exit: %v", err)
	}
}

func TestLeaderExitKillsTheRestOfTheGroup(t *testing.T) {
	c := newCollector()
	p, err := Start(helperSpec("orphan", 0), c.output)
	if err != nil {
		t.Fatal(err)
	}
	child := childPid(t, c.waitLine(t, "child "))
	waitDone(t, p)
	if p.ExitCode() != 1 {
		t.Errorf("ExitCode = %d, want 1", p.ExitCode())
	}
	waitGone(t, child)
}

func TestStartMissingExecutable(t *testing.T) {
	_, err := Start(Spec{Path: "/nonexistent/handler"}, nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/handler") {
		t.Fatalf("err = %v, want one naming the path", err)
	}
	_, err = Start(Spec{Path: "no-such-program-" + strconv.Itoa(int(time.Now().UnixNano()))}, nil)
	if !errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("err = %v, want exec.ErrNotFound", err)
	}
}

func TestSpecDirAndEnv(t *testing.T) {
	dir := t.TempDir()
	c := newCollector()
	p, err := Start(Spec{Path: "/bin/sh", Args: []string{"-c", `pwd; echo "v=$FOO"`}, Dir: dir, Env: []string{"FOO=1", "FOO=2"}}, c.output)
	if err != nil {
		t.Skipf("no /bin/sh: %v", err)
	}
	waitDone(t, p)
	got := strings.Join(c.all(), "\n")
	if !strings.Contains(got, "stdout: "+dir) || !strings.Contains(got, "stdout: v=2") {
		t.Errorf("output = %q", got)
	}
}
