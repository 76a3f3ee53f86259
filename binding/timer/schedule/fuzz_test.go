package schedule

import (
	"testing"
	"time"
)

var fuzzZones = []string{"UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Auckland"}

// checkMonotonic follows a schedule from now for a few occurrences in
// every fuzz zone: each must come after the one before.
func checkMonotonic(t *testing.T, s *Schedule, now time.Time) {
	if d, ok := s.Interval(); ok && d <= 0 {
		return // fires again at once, as the real host does
	}
	for _, z := range fuzzZones {
		loc := mustLoad(t, z)
		cur := now
		for range 4 {
			next, ok := s.Next(cur, loc)
			if !ok {
				break
			}
			if !next.After(cur) {
				t.Fatalf("%q in %s: Next(%v) = %v, not later", s.Expr(), z, cur, next)
			}
			cur = next
		}
	}
}

func FuzzNCRONTAB(f *testing.F) {
	for _, seed := range []string{
		"0 */5 * * * *", "*/15 * * * *", "0 30 9 * * Mon-Fri", "0 0 0 1 jan,JUL *", "5/20 * * * * *",
		"0-10/5 * * * * *", "0 0 0 * * 5-1", "0 0 0 29 2 *", "0 0 0 30 2 *", "0 0 0 13 * Fri",
		"0 30 1 * * *", "0 0,30 1-2 * * *", "*/-3 * * * * *", "0 0 0 * * T", "1/2147483647 * * * * *",
		"0 0 0 * * 7", "0 0 9 * * 99999999999", "* * * * * *", " 0  0 12 * * 6\t",
	} {
		f.Add(seed, int64(1730610000)) // 2024-11-03 01:00 in New York, before the change
	}
	f.Fuzz(func(t *testing.T, expr string, unix int64) {
		now := time.Unix(unix%(1<<34), 0) // within a few centuries of 1970
		s, err := Parse(expr)
		if err != nil {
			return
		}
		_ = s.String()
		_ = s.SubMinute()
		_ = s.IsInterval()
		checkMonotonic(t, s, now)
	})
}

func FuzzTimeSpan(f *testing.F) {
	for _, seed := range []string{
		"00:05:00", "24:00:00", "1.02:03:04.5", "1:02:03:04.5", "-00:01", "00:01:.5", "5", "10675199",
		"00:00:00.00000005", "00:00:00.12345678", " 1:2 ", "1:", "+1", "999999999999", "0.0:0:0.0",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ticks, ok := ParseTimeSpan(in)
		if !ok {
			return
		}
		// What parses formats back to the same span.
		back, ok := ParseTimeSpan(formatTicks(ticks))
		if !ok || back != ticks {
			t.Fatalf("%q = %d ticks, formatted %q, parsed back %d, %v", in, ticks, formatTicks(ticks), back, ok)
		}
		if s, err := Parse(in); err == nil {
			checkMonotonic(t, s, time.Unix(1730610000, 0))
		}
	})
}
