package schedule

import (
	"errors"
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustParse(t testing.TB, expr string) *Schedule {
	t.Helper()
	s, err := Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	return s
}

func TestParseTimeSpan(t *testing.T) {
	const sec = 10_000_000
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"00:05:00", 5 * 60 * sec, true},
		{"  00:00:30 ", 30 * sec, true},
		{"01:30", 90 * 60 * sec, true},
		{"5", 5 * 86400 * sec, true},
		{"1.02:03:04", (86400 + 2*3600 + 3*60 + 4) * sec, true},
		{"1:02:03:04", (86400 + 2*3600 + 3*60 + 4) * sec, true},
		{"1.02:03", (86400 + 2*3600 + 3*60) * sec, true},
		{"24:00:00", 24 * 86400 * sec, true}, // d:h:m once the hours exceed 23
		{"30:10:00", (30*86400 + 10*3600) * sec, true},
		{"23:59:59", (23*3600 + 59*60 + 59) * sec, true},
		{"00:00:01.5", 15 * sec / 10, true},
		{"00:00:00.05", 500_000, true},
		{"00:00:00.0000001", 1, true},
		{"00:00:00.00000005", 1, true}, // rounded half away from zero
		{"00:01:.5", 60*sec + 5*sec/10, true},
		{"1.00:00:00.25", 86400*sec + 25*sec/100, true},
		{"1:00:00:00.25", 86400*sec + 25*sec/100, true},
		{"-00:01:00", -60 * sec, true},
		{"-1", -86400 * sec, true},
		{"10675199", 10675199 * 86400 * sec, true},
		{"10675200", 0, false},
		{"00:00:00.12345678", 0, false},
		{"24:60:00", 0, false},
		{"23:59:60", 0, false},
		{"00:60", 0, false},
		{"24:00", 0, false},
		{"", 0, false},
		{"   ", 0, false},
		{"1:", 0, false},
		{":1", 0, false},
		{"+00:01:00", 0, false},
		{"- 00:01:00", 0, false},
		{"00 : 01", 0, false},
		{"1.2.3", 0, false},
		{"1:2:3:4:5:6", 0, false},
		{"abc", 0, false},
		{"999999999", 0, false},
		{"0 */5 * * * *", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseTimeSpan(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseTimeSpan(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseCron(t *testing.T) {
	tests := []struct {
		expr, normal string
	}{
		{"0 */5 * * * *", "0 0,5,10,15,20,25,30,35,40,45,50,55 * * * *"},
		{"*/15 * * * *", "0,15,30,45 * * * *"},
		{"0 30 9 * * 1-5", "0 30 9 * * 1-5"},
		{"0 30 9 * * Mon-Fri", "0 30 9 * * 1-5"},
		{"0 0 0 1 jan,JUL *", "0 0 0 1 1,7 *"},
		{"0 0 0 * * sunday,Sat", "0 0 0 * * 0,6"},
		{"0 0 0 * * T", "0 0 0 * * 2"},           // a prefix of a name: the first name it begins
		{"0 0 0 * Ju *", "0 0 0 * 6 *"},          // June before July
		{"0 0 0 * * 5-1", "0 0 0 * * 1-5"},       // a reversed range is swapped
		{"0 0 0 * * 0-6", "0 0 0 * * *"},         // every value prints as *
		{"5/20 * * * * *", "5,25,45 * * * * *"},  // a/n runs to the maximum
		{"0-10/5 * * * * *", "0,5,10 * * * * *"}, // a-b/n
		{"*/1 * * * * *", "* * * * * *"},
		{"*/0 * * * * *", "* * * * * *"},
		{"*/-3 * * * * *", "* * * * * *"},
		{"0,1,2 * * * * *", "0-2 * * * * *"},
		{"  0   0  12 * *  * ", "0 0 12 * * *"},
		{"0 0 12 * * 6\t", "0 0 12 * * 6"}, // int.Parse allows trailing white space
	}
	for _, tt := range tests {
		s := mustParse(t, tt.expr)
		if s.Cron() == nil {
			t.Errorf("Parse(%q) is not a cron schedule", tt.expr)
			continue
		}
		if got := s.Cron().String(); got != tt.normal {
			t.Errorf("Parse(%q) = %q; want %q", tt.expr, got, tt.normal)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, expr := range []string{
		"", "*", "* * * *", "* * * * * * *",
		"0 0 0 * * 7", "60 * * * * *", "0 60 * * * *", "0 0 24 * * *", "0 0 0 0 * *", "0 0 0 32 * *",
		"0 0 0 * 13 *", "0 0 0 * 0 *", "0 0 0 * * Mo-Fx", "0 0 0 * Janu4ry *", "0 0 9 * * -1",
		"0 0 0 * * 1,", "0 0 0 * * ,1", "0 0 0 * * 1,,2", "/5 * * * * *", "*/x * * * * *",
		"0 0 0 * * 1-2-3", "0 0 0 * Jan-Foo *", "1/2147483647 * * * * *", "0 0 9 * * 99999999999",
		"0\t0 0 * * *", "every day", "24:60:00",
	} {
		_, err := Parse(expr)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v; want a *ParseError", expr, err)
			continue
		}
		want := "The schedule expression '" + expr + "' was not recognized as a valid cron expression or timespan string."
		if err.Error() != want {
			t.Errorf("Parse(%q) error = %q; want %q", expr, err, want)
		}
	}
}

func TestScheduleKinds(t *testing.T) {
	tests := []struct {
		expr                              string
		cron, interval, subMinute, adjust bool
		str                               string
	}{
		{"0 */5 * * * *", true, true, false, true, "Cron: '0 0,5,10,15,20,25,30,35,40,45,50,55 * * * *'"},
		{"0 30 1 * * *", true, false, false, true, "Cron: '0 30 1 * * *'"},
		{"0 */30 1 * * *", true, false, false, true, "Cron: '0 0,30 1 * * *'"}, // normal form has no * - or /
		{"0 0,30 1-2 * * *", true, true, false, true, "Cron: '0 0,30 1-2 * * *'"},
		{"*/10 * * * * *", true, true, true, true, "Cron: '0,10,20,30,40,50 * * * * *'"},
		{"0 * * * * *", true, true, false, true, "Cron: '0 * * * * *'"},
		{"* 0 * * * *", true, true, false, true, "Cron: '* 0 * * * *'"},
		{"* * * * *", true, true, false, true, "Cron: '* * * * *'"},
		{"30 9 * * *", true, false, false, true, "Cron: '30 9 * * *'"},
		{"00:05:00", false, true, false, false, "Constant: 00:05:00"},
		{"00:00:30", false, true, true, false, "Constant: 00:00:30"},
		{"1.00:00:00.5", false, true, false, false, "Constant: 1.00:00:00.5000000"},
	}
	for _, tt := range tests {
		s := mustParse(t, tt.expr)
		if (s.Cron() != nil) != tt.cron || s.IsInterval() != tt.interval || s.SubMinute() != tt.subMinute ||
			s.AdjustForDST() != tt.adjust || s.String() != tt.str {
			t.Errorf("%q: cron %v interval %v subMinute %v adjust %v %q; want %v %v %v %v %q", tt.expr,
				s.Cron() != nil, s.IsInterval(), s.SubMinute(), s.AdjustForDST(), s.String(),
				tt.cron, tt.interval, tt.subMinute, tt.adjust, tt.str)
		}
	}
}

func TestNextUTC(t *testing.T) {
	base := time.Date(2024, 1, 31, 10, 0, 0, 500_000_000, time.UTC) // a Wednesday
	tests := []struct {
		expr string
		want time.Time
	}{
		{"* * * * * *", time.Date(2024, 1, 31, 10, 0, 1, 0, time.UTC)},
		{"0 */5 * * * *", time.Date(2024, 1, 31, 10, 5, 0, 0, time.UTC)},
		{"*/5 * * * *", time.Date(2024, 1, 31, 10, 5, 0, 0, time.UTC)},
		{"0 0 10 * * *", time.Date(2024, 2, 1, 10, 0, 0, 0, time.UTC)},
		{"0 0 0 31 * *", time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)},
		{"0 0 0 29 2 *", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"0 0 0 13 * Fri", time.Date(2024, 9, 13, 0, 0, 0, 0, time.UTC)}, // both day and weekday must match
		{"0 0 9 * * Mon-Fri", time.Date(2024, 2, 1, 9, 0, 0, 0, time.UTC)},
		{"0 0 0 1 1 *", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"00:05:00", base.Add(5 * time.Minute)},
		{"24:00:00", base.Add(24 * 24 * time.Hour)},
	}
	for _, tt := range tests {
		got, ok := mustParse(t, tt.expr).Next(base, time.UTC)
		if !ok || !got.Equal(tt.want) {
			t.Errorf("%q: Next = %v, %v; want %v", tt.expr, got, ok, tt.want)
		}
	}
	if got, ok := mustParse(t, "0 0 0 30 2 *").Next(base, time.UTC); ok {
		t.Errorf("February 30th: Next = %v; want never", got)
	}
}

// The real host's own cases (TimerListenerTests), in Pacific time: DST ends
// at 2 AM on 2018-11-04 and begins at 2 AM on 2018-03-11.
func TestNextAcrossDST(t *testing.T) {
	la := mustLoad(t, "Pacific Standard Time")
	pdt, pst := time.FixedZone("PDT", -7*3600), time.FixedZone("PST", -8*3600)
	at := func(d, h, m int, z *time.Location) time.Time { return time.Date(2018, 11, d, h, m, 0, 0, z) }
	tests := []struct {
		now  time.Time
		expr string
		want time.Duration
	}{
		{at(4, 1, 31, pdt), "0 30 * * * *", 59 * time.Minute},
		{at(4, 1, 59, pdt), "0 * * * * *", time.Minute},
		{at(4, 1, 30, pdt), "0 * * * * *", time.Minute},
		{at(4, 1, 45, pdt), "0 0,30 1-2 * * *", 15 * time.Minute},
		{at(4, 1, 45, pst), "0 0,30 1-3 * * *", 15 * time.Minute},
		{at(4, 1, 30, pdt), "0 * 1-3 * * *", time.Minute},
		{at(4, 0, 59, pdt), "0 * * * * *", time.Minute},
		{at(4, 1, 31, pst), "0 30 * * * *", 59 * time.Minute},
		{at(2, 18, 0, pdt), "0 0 18 * * 5", 169 * time.Hour},
		{at(4, 1, 30, pdt), "0 30 1 * * *", 25 * time.Hour},
		{at(4, 0, 30, pdt), "0 30 1 * * *", time.Hour},
		{at(4, 1, 29, pdt), "0 30 1 * * *", time.Minute},
		{at(4, 1, 29, pst), "0 30 1 * * *", 24*time.Hour + time.Minute},
		{at(4, 1, 31, pdt), "0 30 1 * * *", 24*time.Hour + 59*time.Minute},
		// Entering DST: a week is 167 hours by the wall clock, 7 days by a constant interval.
		{time.Date(2018, 3, 9, 18, 0, 0, 0, pst), "0 0 18 * * 5", 167 * time.Hour},
		{time.Date(2018, 3, 9, 18, 0, 0, 0, pst), "7", 7 * 24 * time.Hour},
		// A skipped wall-clock time fires that much later.
		{time.Date(2018, 3, 11, 1, 59, 0, 0, pst), "0 59 * * * *", time.Hour},
		{time.Date(2018, 3, 11, 1, 59, 0, 0, pst), "00:05:00", 5 * time.Minute},
	}
	for _, tt := range tests {
		next, ok := mustParse(t, tt.expr).Next(tt.now, la)
		if got := next.Sub(tt.now); !ok || got != tt.want {
			t.Errorf("%q from %v: next %v, after %v; want after %v", tt.expr, tt.now, next.In(la), got, tt.want)
		}
	}
}

// Occurrences across New York's changes in 2024 (March 10 and November 3).
func TestOccurrencesNewYork(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	run := func(expr string, from time.Time, n int) []string {
		s := mustParse(t, expr)
		var out []string
		now := from
		for range n {
			next, ok := s.Next(now, ny)
			if !ok || !next.After(now) {
				t.Fatalf("%q: Next(%v) = %v, %v", expr, now, next, ok)
			}
			out = append(out, next.In(ny).Format("01-02 15:04 -07"))
			now = next
		}
		return out
	}
	check := func(name string, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: got %v; want %v", name, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: got %v; want %v", name, got, want)
				return
			}
		}
	}
	spring := time.Date(2024, 3, 9, 12, 0, 0, 0, ny)
	check("daily 02:30, spring", run("0 30 2 * * *", spring, 3),
		"03-10 03:30 -04", "03-11 02:30 -04", "03-12 02:30 -04")
	check("every 30 min, spring", run("0 */30 * * * *", time.Date(2024, 3, 10, 1, 0, 0, 0, ny), 3),
		"03-10 01:30 -05", "03-10 03:00 -04", "03-10 03:30 -04")
	fall := time.Date(2024, 11, 2, 12, 0, 0, 0, ny)
	check("daily 01:30, fall", run("0 30 1 * * *", fall, 3),
		"11-03 01:30 -04", "11-04 01:30 -05", "11-05 01:30 -05")
	check("every 30 min, fall", run("0 */30 * * * *", time.Date(2024, 11, 3, 0, 45, 0, 0, ny), 6),
		"11-03 01:00 -04", "11-03 01:30 -04", "11-03 01:00 -05", "11-03 01:30 -05", "11-03 02:00 -05", "11-03 02:30 -05")
	check("every 20 min constant, fall", run("00:20:00", time.Date(2024, 11, 3, 0, 50, 0, 0, ny), 6),
		"11-03 01:10 -04", "11-03 01:30 -04", "11-03 01:50 -04", "11-03 01:10 -05", "11-03 01:30 -05", "11-03 01:50 -05")
}

func TestLoadLocation(t *testing.T) {
	for name, want := range map[string]string{
		"":                        "UTC",
		"UTC":                     "UTC",
		"Etc/UTC":                 "Etc/UTC",
		"Europe/Berlin":           "Europe/Berlin",
		":Europe/Berlin":          "Europe/Berlin",
		"W. Europe Standard Time": "Europe/Berlin",
		"pacific standard time":   "America/Los_Angeles",
		"GMT Standard Time":       "Europe/London",
		"Tokyo Standard Time":     "Asia/Tokyo",
	} {
		loc, err := LoadLocation(name)
		if err != nil || loc.String() != want {
			t.Errorf("LoadLocation(%q) = %v, %v; want %s", name, loc, err, want)
		}
	}
	if _, err := LoadLocation("Mars/Olympus_Mons"); err == nil {
		t.Error("LoadLocation(Mars/Olympus_Mons) succeeded")
	}
}
