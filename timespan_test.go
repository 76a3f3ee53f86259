package funcd

import (
	"testing"
	"time"
)

func TestTimeSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute:                  "00:05:00",
		200 * time.Millisecond:           "00:00:00.2000000",
		25*time.Hour + 90*time.Second:    "1.01:01:30",
		-time.Second:                     "-00:00:01",
		time.Hour + 1500*time.Nanosecond: "01:00:00.0000015",
	} {
		if got := TimeSpan(d); got != want {
			t.Errorf("TimeSpan(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestTimeoutError(t *testing.T) {
	err := TimeoutError(3*time.Second, "slow", "abc", nil)
	want := "Timeout value of 00:00:03 exceeded by function 'Functions.slow' (Id: 'abc'). Initiating cancellation."
	if err.Error() != want || ErrorCode(err) != ETIMEOUT {
		t.Errorf("got %q (%s), want %q", err, ErrorCode(err), want)
	}
}
