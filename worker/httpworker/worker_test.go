package httpworker

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/worker"
)

func TestEnvironmentAndArguments(t *testing.T) {
	e := newTestEnv(t, withHandler(func(ch *funcd.CustomHandler) {
		ch.Arguments = []string{"--port", "%FUNCTIONS_CUSTOMHANDLER_PORT%", "%NOT_SET%x", "100%"}
		ch.DefaultWorkerPath = "worker.js"
		ch.WorkerArguments = []string{"--id=%FUNCTIONS_CUSTOMHANDLER_WORKER_ID%"}
	})).start()
	res := e.mustInvoke(httpInvocation(returnFunction("env"), "GET", "/api/env", "", ""))
	var got map[string]any
	decodeJSON(t, res.ReturnValue.Data, &got)
	port := got["FUNCTIONS_CUSTOMHANDLER_PORT"].(string)
	id := got["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"].(string)
	if _, err := strconv.Atoi(port); err != nil || got["FUNCTIONS_HTTPWORKER_PORT"] != port {
		t.Errorf("ports = %v, %v", port, got["FUNCTIONS_HTTPWORKER_PORT"])
	}
	if len(id) != 36 || got["FUNCTIONS_HTTPWORKER_ID"] != id {
		t.Errorf("worker ids = %v, %v", id, got["FUNCTIONS_HTTPWORKER_ID"])
	}
	root := e.app.Root
	for k, want := range map[string]string{"FUNCTIONS_APP_ROOT_PATH": root, "AzureWebJobsScriptRoot": root, "MY_SETTING": "from settings", "cwd": root} {
		if got[k] != want {
			t.Errorf("%s = %v, want %q", k, got[k], want)
		}
	}
	wantArgs := []any{"--port", port, "x", "100%", "worker.js", "--id=" + id}
	if args, _ := got["args"].([]any); len(args) != len(wantArgs) {
		t.Errorf("args = %q, want %q", got["args"], wantArgs)
	} else {
		for i := range args {
			if args[i] != wantArgs[i] {
				t.Errorf("args = %q, want %q", got["args"], wantArgs)
				break
			}
		}
	}
}

func TestMissingExecutable(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		e := newTestEnv(t, withHandler(func(ch *funcd.CustomHandler) {
			ch.DefaultExecutablePath = "bin/no-such-handler"
			ch.Legacy = legacy
		}))
		err := e.w.Start(t.Context())
		var ce *funcd.ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("Start = %v, want a *funcd.ConfigError", err)
		}
		field := "customHandler.description.defaultExecutablePath"
		if legacy {
			field = "httpWorker.description.defaultExecutablePath"
		}
		if ce.File != "host.json" || ce.Field != field || !strings.Contains(ce.Msg, "bin/no-such-handler") || ce.Hint == "" {
			t.Errorf("error = %+v", ce)
		}
	}

	dir := t.TempDir()
	notExec := filepath.Join(dir, "handler")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, withHandler(func(ch *funcd.CustomHandler) { ch.DefaultExecutablePath = notExec }))
	if err := e.w.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "not executable") {
		t.Errorf("Start = %v, want a not-executable error", err)
	}
}

func TestRelativeExecutableUnderRoot(t *testing.T) {
	e := newTestEnv(t)
	link := filepath.Join(e.app.Root, "handler")
	if err := os.Symlink(handlerBin, link); err != nil {
		t.Fatal(err)
	}
	e.app.Host.CustomHandler.DefaultExecutablePath = "handler"
	e.start()
	if e.w.exe != link {
		t.Errorf("exe = %q, want %q", e.w.exe, link)
	}
	e.mustInvoke(httpInvocation(httpFunction("bench", ""), "GET", "/api/bench", "", ""))
}

func TestInvocationsWaitForReadiness(t *testing.T) {
	e := newTestEnv(t, withSetting("HANDLER_START_DELAY", "300ms")).start()
	if e.w.sup.Current() != nil {
		t.Fatal("ready before the handler listens")
	}
	res := e.mustInvoke(httpInvocation(httpFunction("bench", ""), "GET", "/api/bench", "", ""))
	if string(res.HTTP.Body) != "hello" {
		t.Errorf("body = %q", res.HTTP.Body)
	}
	e.logs.waitFor(t, "saying the worker is ready", msgIs("Worker process started and initialized."))
}

func TestInitializationTimeout(t *testing.T) {
	e := newTestEnv(t, withSetting("HANDLER_MODE", "never"), withHandler(func(ch *funcd.CustomHandler) {
		ch.InitializationTimeout = 100 * time.Millisecond
	}), withExit()).start()
	err := e.waitFatal()
	checkFatal(t, err)
	rec := e.logs.waitFor(t, "about the timeout", func(r logRecord) bool {
		return strings.HasPrefix(r.attrs["err"], "Initializing HttpWorker timed out.")
	})
	if rec.level != slog.LevelError {
		t.Errorf("timeout logged at %v", rec.level)
	}
	_, err = e.invoke(httpInvocation(httpFunction("bench", ""), "GET", "/", "", ""))
	if errorCode(err) != funcd.EUNAVAILABLE || !strings.Contains(err.Error(), "Exceeded http worker restart retry count") {
		t.Errorf("Invoke after giving up = %v", err)
	}
}

func checkFatal(t *testing.T, err error) {
	t.Helper()
	var limit *worker.RestartLimitError
	if errorCode(err) != funcd.EUNAVAILABLE || !errors.As(err, &limit) {
		t.Fatalf("fatal error = %#v, want EUNAVAILABLE wrapping a *worker.RestartLimitError", err)
	}
	msg := err.Error()
	for _, want := range []string{"Exceeded http worker restart retry count. Shutting down Functions Host", handlerBin,
		"customHandler.description.defaultExecutablePath", "FUNCTIONS_CUSTOMHANDLER_PORT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("fatal message %q\nlacks %q", msg, want)
		}
	}
}

func TestRestartLimit(t *testing.T) {
	e := newTestEnv(t, withSetting("HANDLER_MODE", "exit"), withExit()).start()
	err := e.waitFatal()
	checkFatal(t, err)
	if !strings.Contains(err.Error(), "exited with code 1 (0x1): handler failed to start") {
		t.Errorf("fatal message %q does not quote the exit", err)
	}
	e.logs.waitFor(t, "with the handler's stderr", func(r logRecord) bool {
		return r.msg == "handler failed to start" && r.level == slog.LevelError && r.attrs["worker"] != ""
	})
}

// TestRestartsForever: without ExitOnFailure a handler that keeps exiting
// is restarted again and again; between restarts invocations fail at once
// with EUNAVAILABLE, and Health counts the restarts.
func TestRestartsForever(t *testing.T) {
	e := newTestEnv(t, withSetting("HANDLER_MODE", "exit"), func(_ *funcd.App, c *Config) {
		c.RestartBackoff = time.Hour // the first restart comes when the test says
		c.Clock = clocktest.New(time.Now())
	})
	clk := e.w.clock.(*clocktest.Fake)
	e.start()
	for restarts := 0; restarts < 4; restarts++ {
		eventually(t, func() bool {
			h := e.w.Health()
			return h.Phase == worker.PhaseDown && h.Restarts == restarts
		}, "the handler is not down")
		h := e.w.Health()
		if h.Restarts != restarts || h.Failures != restarts+1 || !strings.Contains(h.LastFailure, "exited with code 1") {
			t.Fatalf("Health after %d restarts = %+v", restarts, h)
		}
		_, err := e.invoke(httpInvocation(httpFunction("bench", ""), "GET", "/api/bench", "", ""))
		var down *worker.DownError
		if errorCode(err) != funcd.EUNAVAILABLE || !errors.As(err, &down) || !strings.Contains(err.Error(), "is restarting") {
			t.Fatalf("Invoke while down = %v, want EUNAVAILABLE at once", err)
		}
		clk.Advance(h.NextStart.Sub(clk.Now()))
	}
	select {
	case err := <-e.fatal:
		t.Fatalf("gave up without ExitOnFailure: %v", err)
	default:
	}
}

func TestCrashRestartsTheHandler(t *testing.T) {
	e := newTestEnv(t).start()
	pid := e.pid()
	_, err := e.invoke(httpInvocation(httpFunction("crash", ""), "GET", "/api/crash", "", ""))
	if errorCode(err) != funcd.EINTERNAL {
		t.Fatalf("crashing invocation = %v, want EINTERNAL", err)
	}
	// A request sent before the exit is noticed may still reach the dying
	// handler (the host has the same race); wait for the replacement.
	eventually(t, func() bool {
		p := e.w.sup.Current()
		return p != nil && p.Pid() != pid
	}, "the handler was not restarted")
	res := e.mustInvoke(httpInvocation(httpFunction("bench", ""), "GET", "/api/bench", "", ""))
	if string(res.HTTP.Body) != "hello" {
		t.Errorf("after the restart: %q", res.HTTP.Body)
	}
	e.logs.waitFor(t, "about the exit", func(r logRecord) bool {
		return strings.HasPrefix(r.msg, "Language Worker Process exited. Pid="+strconv.Itoa(pid))
	})
}

func TestTimeoutRestartsTheHandler(t *testing.T) {
	e := newTestEnv(t, withTimeout(200*time.Millisecond)).start()
	pid := e.pid()
	inv := httpInvocation(httpFunction("sleep", ""), "GET", "/api/sleep", "", "")
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := e.w.Invoke(ctx, inv)
	want := "Timeout value of 00:00:00.2000000 exceeded by function 'Functions.sleep' (Id: '" + inv.ID + "'). Initiating cancellation."
	if errorCode(err) != funcd.ETIMEOUT || err.Error() != want {
		t.Fatalf("Invoke = %v (%s), want ETIMEOUT %q", err, errorCode(err), want)
	}
	eventually(t, func() bool {
		p := e.w.sup.Current()
		return p != nil && p.Pid() != pid
	}, "the handler was not restarted after the timeout")
	e.mustInvoke(httpInvocation(httpFunction("bench", ""), "GET", "/api/bench", "", ""))
	e.logs.waitFor(t, "about the restart", msgIs("A function timeout has occurred. Restarting worker process executing invocationId '"+inv.ID+"'."))
	if e.w.sup.Err() != nil {
		t.Errorf("a timeout counted as a failure: %v", e.w.sup.Err())
	}
}

func TestOutputLogs(t *testing.T) {
	e := newTestEnv(t).start()
	inv := httpInvocation(httpFunction("logwait", ""), "GET", "/api/logwait", "", "")
	done := make(chan *funcd.Result)
	go func() {
		res, _ := e.invoke(inv)
		done <- res
	}()
	withInvocation := func(msg string, level slog.Level) {
		t.Helper()
		e.logs.waitFor(t, msg, func(r logRecord) bool {
			return r.msg == msg && r.level == level && r.attrs["invocation_id"] == inv.ID &&
				r.attrs["function"] == "logwait" && len(r.attrs["worker"]) == 36
		})
	}
	replyLog := func(msg string) {
		t.Helper()
		e.logs.waitFor(t, msg, func(r logRecord) bool {
			return r.msg == msg && r.level == slog.LevelInfo && r.attrs["invocation_id"] == inv.ID && r.attrs["function"] == "logwait"
		})
	}
	withInvocation("hello from stdout", slog.LevelInfo)
	withInvocation("oops on stderr", slog.LevelError)
	withInvocation("a Warning on stderr", slog.LevelWarn)
	get(t, e.handlerURL()+"/release")
	res := <-done
	if res == nil || len(res.Logs) != 1 || res.Logs[0] != "from the reply" {
		t.Fatalf("result = %+v", res)
	}
	replyLog("from the reply")

	// Output while no invocation runs carries only the worker id.
	rec := e.logs.waitFor(t, "the listening line", func(r logRecord) bool { return strings.HasPrefix(r.msg, "handler listening on") })
	if _, ok := rec.attrs["invocation_id"]; ok || rec.attrs["worker"] == "" {
		t.Errorf("startup line attrs = %v", rec.attrs)
	}
}

func TestConcurrentInvocations(t *testing.T) {
	e := newTestEnv(t).start()
	bench := httpFunction("bench", "")
	echo := httpFunction("echo", "")
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			for j := range 20 {
				fn := bench
				if (i+j)%3 == 0 {
					fn = echo
				}
				if _, err := e.invoke(httpInvocation(fn, "POST", "/api/x", "", `{"i":1}`)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestShutdownKillsTheProcessGroup(t *testing.T) {
	e := newTestEnv(t, withSetting("HANDLER_MODE", "child")).start()
	res := e.mustInvoke(httpInvocation(returnFunction("pids"), "GET", "/api/pids", "", ""))
	var pids struct{ Pid, Child int }
	decodeJSON(t, res.ReturnValue.Data, &pids)
	if pids.Pid == 0 || pids.Child == 0 {
		t.Fatalf("pids = %+v", pids)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := e.w.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, pid := range []int{pids.Pid, pids.Child} {
		eventually(t, func() bool { return gone(pid) }, "process %d survived Shutdown", pid)
	}
	if err := e.w.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	_, err := e.invoke(httpInvocation(httpFunction("bench", ""), "GET", "/", "", ""))
	if errorCode(err) != funcd.EUNAVAILABLE {
		t.Errorf("Invoke after Shutdown = %v", err)
	}
}

func TestShutdownBeforeStart(t *testing.T) {
	e := newTestEnv(t)
	if err := e.w.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := e.w.Start(t.Context()); err == nil {
		t.Error("Start after Shutdown succeeded")
	}
}

func TestInvokeBeforeReadyHonoursTheContext(t *testing.T) {
	e := newTestEnv(t, withSetting("HANDLER_MODE", "never")).start()
	inv := httpInvocation(httpFunction("bench", ""), "GET", "/", "", "")
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := e.w.Invoke(ctx, inv)
	if errorCode(err) != funcd.ETIMEOUT || !strings.Contains(err.Error(), "exceeded by function 'Functions.bench'") {
		t.Errorf("Invoke = %v, want ETIMEOUT", err)
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
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
