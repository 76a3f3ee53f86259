package worker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSupervisorRestartsForever: without MaxErrors a crashing process is
// restarted again and again, the backoff doubling from DefaultBackoff up to
// DefaultMaxBackoff and staying there; Wait, and WaitRestart for a sooner
// restart, fail at once while the Supervisor waits, and Health tells the
// story.
func TestSupervisorRestartsForever(t *testing.T) {
	h := newHarness(t, exiting(3), nil)
	h.start()
	want := []time.Duration{
		time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, time.Minute, time.Minute, time.Minute,
	}
	for i, d := range want {
		h.waitLaunches(int32(i + 1))
		waitPhase(t, h.sup, PhaseDown)

		_, err := h.sup.Wait(t.Context())
		var down *DownError
		if !errors.As(err, &down) {
			t.Fatalf("Wait while down = %v, want a *DownError", err)
		}
		if down.Failures != i+1 || !down.Retry.Equal(h.clock.Now().Add(d)) {
			t.Errorf("failure %d: DownError = %+v, want %d failures and a retry in %v", i+1, down, i+1, d)
		}
		var exit *ExitError
		if !errors.As(err, &exit) || exit.Code != 3 {
			t.Errorf("DownError does not wrap the exit: %v", err)
		}
		// A wait for a restart sooner than this one fails at once too.
		if _, err := h.sup.WaitRestart(t.Context(), d-time.Millisecond); !errors.As(err, &down) {
			t.Fatalf("WaitRestart(%v) while down for %v = %v, want a *DownError", d-time.Millisecond, d, err)
		}
		hs := h.sup.Health()
		if hs.Failures != i+1 || hs.Restarts != i || !strings.Contains(hs.LastFailure, "exited with code 3") ||
			!hs.NextStart.Equal(h.clock.Now().Add(d)) || hs.Pid != 0 {
			t.Errorf("failure %d: Health = %+v", i+1, hs)
		}
		h.backoff(d)
	}
	select {
	case err := <-h.fatal:
		t.Fatalf("gave up without MaxErrors: %v", err)
	default:
	}
}

// TestSupervisorBackoffResets: the backoff grows while processes fail soon
// after they start, and goes back to DefaultBackoff once a process has
// served for ResetAfter before failing.
func TestSupervisorBackoffResets(t *testing.T) {
	h := newHarness(t, func(int) Spec { return helperSpec("sleep", 0) }, nil)
	h.start()
	crash := func(after time.Duration) {
		t.Helper()
		waitPhase(t, h.sup, PhaseReady)
		p, err := h.sup.Wait(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if hs := h.sup.Health(); hs.Phase != PhaseReady || hs.Pid != p.Pid() {
			t.Fatalf("Health of a ready process = %+v", hs)
		}
		h.clock.Advance(after)
		_ = p.Kill()
		waitDone(t, p)
	}
	crash(0)
	h.backoff(time.Second)
	crash(DefaultResetAfter - time.Second) // not long enough
	h.backoff(2 * time.Second)
	crash(0)
	h.backoff(4 * time.Second)

	waitPhase(t, h.sup, PhaseReady)
	p, err := h.sup.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(DefaultResetAfter)
	if hs := h.sup.Health(); hs.Failures != 0 || hs.Restarts != 3 || hs.LastFailure == "" {
		t.Errorf("Health after a stable run = %+v, want no failures in a row, 3 restarts and the last failure", hs)
	}
	_ = p.Kill()
	waitDone(t, p)
	h.backoff(time.Second)
	h.waitLaunches(5)
}

// TestSupervisorBackoffCap: Backoff and MaxBackoff are honoured.
func TestSupervisorBackoffCap(t *testing.T) {
	h := newHarness(t, exiting(1), nil, func(c *Config) {
		c.Backoff = 3 * time.Second
		c.MaxBackoff = 10 * time.Second
	})
	h.start()
	for i, d := range []time.Duration{3 * time.Second, 6 * time.Second, 10 * time.Second, 10 * time.Second} {
		h.waitLaunches(int32(i + 1))
		h.backoff(d)
	}
}

// TestSupervisorWaitDuringStart: callers that arrive while a replacement
// process starts wait for it rather than failing.
func TestSupervisorWaitDuringStart(t *testing.T) {
	release := make(chan struct{})
	ready := func(ctx context.Context, p *Process) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	h := newHarness(t, func(int) Spec { return helperSpec("sleep", 0) }, ready)
	h.start()
	waitPhase(t, h.sup, PhaseStarting)
	got := make(chan error, 1)
	go func() {
		_, err := h.sup.Wait(t.Context())
		got <- err
	}()
	close(release)
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("Wait = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return once the process was ready")
	}
}

func waitPhase(t *testing.T, sup *Supervisor, want Phase) {
	t.Helper()
	eventually(t, func() bool { return sup.Health().Phase == want }, "phase = %s, want %s", sup.Health().Phase, want)
}
