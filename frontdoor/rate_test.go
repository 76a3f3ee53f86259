package frontdoor

import (
	"testing"
	"time"
)

// The deadlines follow Kestrel's rule, with the banked time capped.
func TestPacer(t *testing.T) {
	rate := DataRate{BytesPerSecond: 1000, Grace: 5 * time.Second}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	steps := []struct {
		name string
		at   time.Duration // after t0
		n    int
		want time.Duration // deadline, after t0
	}{
		{"a small write gets the grace period", 0, 100, sec(5)},
		{"a larger one its time at the rate, after the previous deadline", 0, 8000, sec(5 + 8)},
		{"time not used carries over", sec(1), 3000, sec(13 + 3)},
		{"a write after the deadline starts afresh", sec(20), 100, sec(20 + 5)},
		{"a large write after it", sec(20), 32 << 10, sec(25 + 32.768)},
		{"banked time reaches the cap: grace + 64 KiB at the rate", sec(20), 32 << 10, sec(20 + 5 + 65.536)},
		{"the cap holds for write after write", sec(20), 32 << 10, sec(20 + 5 + 65.536)},
	}
	p := pacer{rate: rate}
	for _, s := range steps {
		if got := p.next(t0.Add(s.at), s.n).Sub(t0); got != s.want {
			t.Errorf("%s: deadline at %v, want %v", s.name, got, s.want)
		}
	}
}

// A deadline set from above wins when it is earlier, and zero means none.
func TestEarlier(t *testing.T) {
	a, b := time.Unix(100, 0), time.Unix(200, 0)
	for _, c := range []struct{ x, y, want time.Time }{
		{a, b, a}, {b, a, a}, {time.Time{}, b, b}, {a, time.Time{}, a}, {time.Time{}, time.Time{}, time.Time{}},
	} {
		if got := earlier(c.x, c.y); !got.Equal(c.want) {
			t.Errorf("earlier(%v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}
