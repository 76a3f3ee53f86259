// Package schedule reads timer trigger schedules as the real Azure Functions
// host does, and computes their occurrences in a time zone.
//
// A schedule is an NCRONTAB expression (six fields with seconds, or five
// without) or, failing that, a .NET TimeSpan string, which fires at a
// constant interval. Occurrences of a cron schedule are computed on the
// zone's wall clock, with the real host's rules for daylight saving time
// (Microsoft.Azure.WebJobs.Extensions.Timers.CronSchedule):
//
//   - A wall-clock time that does not exist (skipped when clocks go
//     forward) is read with the offset from before the change, so it fires
//     that much later: a daily 02:30 in New York fires at 03:30 on the day
//     daylight saving time begins.
//   - When clocks go back, a "point-in-time" schedule (no "*", "-" or "/"
//     in its seconds, minutes and hours in normal form) fires once in the
//     repeated hour, at its first pass; an "interval" schedule keeps firing
//     through both passes.
//
// A constant interval is absolute time and ignores the zone.
package schedule

import (
	"fmt"
	"strings"
	"time"
)

// Schedule is a parsed timer schedule.
type Schedule struct {
	expr     string
	cron     *Cron         // nil for a constant interval
	interval time.Duration // for a constant interval
	ticks    int64         // the interval as a TimeSpan
}

// ParseError is a schedule the real host does not accept.
type ParseError struct {
	Expr string
	// Cron is why the expression is not a cron expression.
	Cron error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("The schedule expression '%s' was not recognized as a valid cron expression or timespan string.", e.Expr)
}

// Parse reads a schedule as TimerSchedule.Create does: as NCRONTAB with
// seconds unless the expression has exactly five space-separated fields;
// otherwise as a TimeSpan (ParseTimeSpan), which fires at that constant
// interval. An expression that is neither is a *ParseError.
func Parse(expr string) (*Schedule, error) {
	withSeconds := len(strings.FieldsFunc(expr, func(r rune) bool { return r == ' ' })) != 5
	c, cronErr := ParseCron(expr, withSeconds)
	if cronErr == nil {
		return &Schedule{expr: expr, cron: c}, nil
	}
	if ticks, ok := ParseTimeSpan(expr); ok {
		return &Schedule{expr: expr, interval: ticksToDuration(ticks), ticks: ticks}, nil
	}
	return nil, &ParseError{Expr: expr, Cron: cronErr}
}

// Expr is the expression as written.
func (s *Schedule) Expr() string { return s.expr }

// Cron is the cron expression, nil for a constant interval.
func (s *Schedule) Cron() *Cron { return s.cron }

// Interval is the constant interval; ok is false for a cron schedule.
func (s *Schedule) Interval() (d time.Duration, ok bool) { return s.interval, s.cron == nil }

// AdjustForDST is TimerSchedule.AdjustForDST, which the real host sends in
// TimerInfo: true for a cron schedule, false for a constant interval.
func (s *Schedule) AdjustForDST() bool { return s.cron != nil }

// IsInterval reports whether the schedule keeps firing through the
// repeated hour when daylight saving time ends: a constant interval, or a
// cron schedule whose seconds, minutes or hours repeat.
func (s *Schedule) IsInterval() bool { return s.cron == nil || s.cron.isInterval() }

// SubMinute reports whether the schedule fires more than once a minute, in
// which case the real host turns useMonitor off: a constant interval under
// a minute, or a cron schedule that restricts only its seconds and matches
// more than one of them.
func (s *Schedule) SubMinute() bool {
	if s.cron == nil {
		return s.interval < time.Minute
	}
	return s.cron.subMinute()
}

// String describes the schedule as the real host logs it: "Cron: '0 0,5
// * * * *'" (normal form) or "Constant: 00:05:00".
func (s *Schedule) String() string {
	if s.cron != nil {
		return fmt.Sprintf("Cron: '%s'", s.cron)
	}
	return "Constant: " + formatTicks(s.ticks)
}

// Next returns the first occurrence after now in loc; ok is false when the
// schedule never fires again (a cron expression with no match before the
// year 10000). The result is later than now, unless the schedule is a
// constant interval of zero or less, which the real host accepts and
// which fires again at once.
func (s *Schedule) Next(now time.Time, loc *time.Location) (next time.Time, ok bool) {
	if s.cron == nil {
		next = now.Add(s.interval)
		if s.interval > 0 && next.Before(now) { // overflowed
			return time.Time{}, false
		}
		return next, true
	}
	return s.nextCron(now, loc)
}

func (s *Schedule) nextCron(now time.Time, loc *time.Location) (time.Time, bool) {
	nowWall := wall(now, loc)
	nextWall, ok := s.cron.NextWall(nowWall)
	if !ok {
		return time.Time{}, false
	}
	next := resolve(nextWall, loc)
	nowAmbiguous, nextAmbiguous := ambiguous(nowWall, loc), ambiguous(nextWall, loc)
	if !nowAmbiguous && !nextAmbiguous {
		return next, true
	}
	_, offNow := now.In(loc).Zone()
	_, offNext := next.In(loc).Zone()
	shift := time.Duration(offNext-offNow) * time.Second
	interval := s.cron.isInterval()
	switch {
	case !interval && nextAmbiguous && offNext != offNow:
		// Now is before the clocks went back and next falls in the
		// repeated hour: take its first pass.
		return next.Add(shift), true
	case !interval && nextAmbiguous:
		// The clocks went back already: the first pass of the repeated
		// hour is over, so this point in time has fired; skip past it.
		w := nextWall
		for ambiguous(w, loc) {
			if w, ok = s.cron.NextWall(w); !ok {
				return time.Time{}, false
			}
		}
		return resolve(w, loc), true
	case interval && offNext != offNow:
		// Crossing the change: keep to the elapsed time.
		return next.Add(shift), true
	}
	return next, true
}

// wall is t's wall-clock reading in loc as a time in UTC, so that cron
// arithmetic works on civil fields alone.
func wall(t time.Time, loc *time.Location) time.Time {
	y, mo, d := t.In(loc).Date()
	h, mi, s := t.In(loc).Clock()
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

// instants returns the instants whose reading in loc is the civil time w
// (a time in UTC): none when w falls in a gap, two when it is repeated.
func instants(w time.Time, loc *time.Location) []time.Time {
	var out []time.Time
	seen := map[int]bool{}
	for _, probe := range []time.Time{w.Add(-30 * time.Hour), w, w.Add(30 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		t := w.Add(-time.Duration(off) * time.Second)
		if _, o := t.In(loc).Zone(); o == off {
			out = append(out, t)
		}
	}
	return out
}

func ambiguous(w time.Time, loc *time.Location) bool { return len(instants(w, loc)) > 1 }

// resolve reads the civil time w in loc as .NET reads a local DateTime: a
// repeated time is standard time (its later pass), and a skipped time
// takes the offset from before the gap.
func resolve(w time.Time, loc *time.Location) time.Time {
	ts := instants(w, loc)
	switch len(ts) {
	case 0:
		_, before := w.Add(-30 * time.Hour).In(loc).Zone()
		return w.Add(-time.Duration(before) * time.Second).In(loc)
	case 1:
		return ts[0].In(loc)
	}
	best := ts[0]
	for _, t := range ts[1:] {
		if !t.In(loc).IsDST() && best.In(loc).IsDST() || t.In(loc).IsDST() == best.In(loc).IsDST() && t.After(best) {
			best = t
		}
	}
	return best.In(loc)
}

// formatTicks renders a TimeSpan as .NET's "c" format: [-][d.]hh:mm:ss[.fffffff].
func formatTicks(ticks int64) string {
	sign := ""
	u := uint64(ticks)
	if ticks < 0 {
		sign, u = "-", uint64(-ticks)
	}
	const perSecond, perDay = 10_000_000, 86400 * 10_000_000
	days, rest := u/perDay, u%perDay
	out := sign
	if days > 0 {
		out += fmt.Sprintf("%d.", days)
	}
	out += fmt.Sprintf("%02d:%02d:%02d", rest/(3600*perSecond), rest/(60*perSecond)%60, rest/perSecond%60)
	if f := rest % perSecond; f != 0 {
		out += fmt.Sprintf(".%07d", f)
	}
	return out
}
