//go:build funcdclock

package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
)

func TestProcessClockOffset(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == clockOffsetEnv {
				return v
			}
			return ""
		}
	}
	var stderr bytes.Buffer
	clk, err := processClock(&globals{getenv: env(""), stderr: &stderr})
	if err != nil || clk != (clock.Real{}) || stderr.Len() > 0 {
		t.Errorf("unset: %v, %v, warning %q; want the system clock and no warning", clk, err, stderr.String())
	}

	if _, err := processClock(&globals{getenv: env("soon"), stderr: &stderr}); err == nil || !strings.Contains(err.Error(), `FUNCD_CLOCK_OFFSET="soon"`) {
		t.Errorf("FUNCD_CLOCK_OFFSET=soon: err %v, want one naming the value", err)
	}

	clk, err = processClock(&globals{getenv: env("11m"), stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "WARNING") {
		t.Errorf("no warning on stderr: %q", stderr.String())
	}
	if ahead := time.Until(clk.Now()); ahead < 11*time.Minute-time.Second || ahead > 11*time.Minute+time.Second {
		t.Errorf("Now is %v ahead, want 11m", ahead)
	}
	if got := <-clk.After(time.Millisecond); time.Until(got) < 10*time.Minute {
		t.Errorf("After sent %v, not the clock's time", got)
	}

	tm := clk.NewTimer(time.Millisecond)
	if got := <-tm.C(); time.Until(got) < 10*time.Minute {
		t.Errorf("the timer sent %v, not the clock's time", got)
	}
	if tm.Stop() {
		t.Error("Stop of a fired and received timer reports it pending")
	}
	// Fired, not received: Stop reports it pending and nothing is sent.
	tm.Reset(time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if !tm.Stop() {
		t.Error("Stop of a fired, unreceived timer reports it done")
	}
	select {
	case v := <-tm.C():
		t.Errorf("a stopped timer sent %v", v)
	case <-time.After(20 * time.Millisecond):
	}
	// Reset of a long timer to a short one fires once, on the short one.
	tm.Reset(time.Hour)
	tm.Reset(time.Millisecond)
	select {
	case <-tm.C():
	case <-time.After(5 * time.Second):
		t.Error("a timer reset to 1ms did not fire")
	}
}
