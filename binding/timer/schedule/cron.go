package schedule

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// field is one of a cron expression's six fields.
type field int

const (
	second field = iota
	minute
	hour
	day
	month
	weekday
)

var fieldNames = [...]string{"Second", "Minute", "Hour", "Day", "Month", "DayOfWeek"}

func (f field) String() string { return fieldNames[f] }

// bounds are the values each field takes.
var bounds = [...]struct{ min, max int }{
	second:  {0, 59},
	minute:  {0, 59},
	hour:    {0, 23},
	day:     {1, 31},
	month:   {1, 12},
	weekday: {0, 6},
}

var (
	monthNames   = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	weekdayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// Cron is a parsed NCRONTAB expression, as NCrontab (the library the real
// host uses) reads it: six fields, {second} {minute} {hour} {day} {month}
// {day-of-week}, or five without the seconds (which are then 0).
//
// Each field is "*", a value, a range "a-b" (a reversed range is read
// backwards: "5-1" is "1-5"), any of those followed by a step "/n" ("a/n"
// runs from a to the field's maximum), or a comma-separated list of them.
// Months and days of the week may be written as names, or any prefix of a
// name, in any case ("Jan", "jul", "T" is Tuesday, the first name it
// begins); days of the week are 0-6 with 0 Sunday (7 is refused). A time
// matches when every field matches: the day of the month and the day of
// the week must both match, unlike Vixie cron's either-or.
type Cron struct {
	sets       [6]uint64 // bit v set when value v matches
	hasSeconds bool
}

// ParseCron parses a cron expression; fields are separated by spaces (not
// tabs). withSeconds says whether six fields are expected, or five.
func ParseCron(expr string, withSeconds bool) (*Cron, error) {
	tokens := strings.FieldsFunc(expr, func(r rune) bool { return r == ' ' })
	want := 5
	if withSeconds {
		want = 6
	}
	if len(tokens) != want {
		what := "5 components of a schedule in the sequence of minutes, hours, days, months, and days of week"
		if withSeconds {
			what = "6 components of a schedule in the sequence of seconds, minutes, hours, days, months, and days of week"
		}
		return nil, fmt.Errorf("'%s' is an invalid crontab expression. It must contain %s", expr, what)
	}
	c := &Cron{hasSeconds: withSeconds}
	first := second
	if !withSeconds {
		first = minute
		c.sets[second] = 1 // second 0
	}
	for i, tok := range tokens {
		f := first + field(i)
		set, err := parseField(f, tok)
		if err != nil {
			return nil, fmt.Errorf("'%s' is not a valid [%s] crontab field expression: %w", tok, f, err)
		}
		c.sets[f] = set
	}
	return c, nil
}

// parseField reads one field (a list, or one range with its step).
func parseField(f field, s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("a crontab field value cannot be empty")
	}
	if i := strings.IndexByte(s, ','); i > 0 {
		var set uint64
		for part := range strings.SplitSeq(s, ",") {
			v, err := parseField(f, part)
			if err != nil {
				return 0, err
			}
			set |= v
		}
		return set, nil
	}
	step, hasStep := 1, false
	if i := strings.IndexByte(s, '/'); i > 0 {
		n, err := parseInt(s[i+1:], true)
		if err != nil {
			return 0, err
		}
		step, hasStep, s = n, true, s[:i]
	}
	if s == "*" {
		return accumulate(f, -1, -1, step)
	}
	if i := strings.IndexByte(s, '-'); i > 0 {
		from, err := parseValue(f, s[:i])
		if err != nil {
			return 0, err
		}
		to, err := parseValue(f, s[i+1:])
		if err != nil {
			return 0, err
		}
		return accumulate(f, from, to, step)
	}
	v, err := parseValue(f, s)
	if err != nil {
		return 0, err
	}
	if hasStep {
		return accumulate(f, v, bounds[f].max, step)
	}
	return accumulate(f, v, v, 1)
}

// parseValue reads a number, or for months and days of the week a name.
func parseValue(f field, s string) (int, error) {
	if s == "" {
		return 0, errors.New("a crontab field value cannot be empty")
	}
	if isDigit(s[0]) {
		return parseInt(s, false)
	}
	var names []string
	switch f {
	case month:
		names = monthNames
	case weekday:
		names = weekdayNames
	default:
		return 0, fmt.Errorf("'%s' is not a valid [%s] crontab field value. It must be a numeric value between %d and %d (all inclusive)",
			s, f, bounds[f].min, bounds[f].max)
	}
	for i, name := range names {
		if len(s) <= len(name) && strings.EqualFold(name[:len(s)], s) {
			return i + bounds[f].min, nil
		}
	}
	return 0, fmt.Errorf("'%s' is not a known value name. Use one of the following: %s", s, strings.Join(names, ", "))
}

// parseInt reads a 32-bit integer as .NET's int.Parse does: white space
// around it, and a sign when signed.
func parseInt(s string, signed bool) (int, error) {
	t := strings.TrimRight(s, "\t\n\v\f\r \x00")
	if signed {
		t = strings.TrimLeft(t, "\t\n\v\f\r ")
	}
	digits := t
	if signed && t != "" && (t[0] == '+' || t[0] == '-') {
		digits = t[1:]
	}
	if digits == "" || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, fmt.Errorf("'%s' is not a number", s)
	}
	n, err := strconv.ParseInt(t, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("'%s' is out of range", s)
	}
	return int(n), nil
}

// accumulate adds from..to by step to a field's set, as NCrontab does: -1
// for both ends is the whole field, a reversed range is swapped, and a
// step below 1 is 1.
func accumulate(f field, from, to, step int) (uint64, error) {
	lo, hi := bounds[f].min, bounds[f].max
	if from == to {
		if from < 0 {
			if step <= 1 {
				return span(lo, hi), nil
			}
			from, to = lo, hi
		} else if from < lo || from > hi {
			return 0, outOfRange(f, from)
		}
	} else {
		if from > to {
			from, to = to, from
		}
		if from < 0 {
			from = lo
		} else if from < lo {
			return 0, outOfRange(f, from)
		}
		if to < 0 {
			to = hi
		} else if to > hi {
			return 0, outOfRange(f, to)
		}
	}
	step = max(step, 1)
	var set uint64
	for i := from - lo; i <= to-lo; i += step {
		set |= 1 << (i + lo)
		if int64(i)+int64(step) > math.MaxInt32 {
			// NCrontab's index overflows here and it fails.
			return 0, fmt.Errorf("step %d overflows", step)
		}
	}
	return set, nil
}

func outOfRange(f field, v int) error {
	b := bounds[f]
	if v < b.min {
		return fmt.Errorf("%d is lower than the minimum allowable value for the [%s] field. Value must be between %d and %d (all inclusive)", v, f, b.min, b.max)
	}
	return fmt.Errorf("%d is higher than the maximum allowable value for the [%s] field. Value must be between %d and %d (all inclusive)", v, f, b.min, b.max)
}

// span is the set of lo..hi.
func span(lo, hi int) uint64 { return (1<<(hi+1) - 1) &^ (1<<lo - 1) }

// String is the expression in NCrontab's normal form, which the real host
// logs: each field as "*" or a list of values and ranges ("0,5,10" for
// "*/5"), numbers only.
func (c *Cron) String() string {
	parts := make([]string, 0, 6)
	for f := second; f <= weekday; f++ {
		if f == second && !c.hasSeconds {
			continue
		}
		parts = append(parts, c.formatField(f))
	}
	return strings.Join(parts, " ")
}

func (c *Cron) formatField(f field) string {
	b := bounds[f]
	set := c.sets[f]
	if set == span(b.min, b.max) {
		return "*"
	}
	var out []string
	for v := b.min; v <= b.max; {
		if set&(1<<v) == 0 {
			v++
			continue
		}
		end := v
		for end+1 <= b.max && set&(1<<(end+1)) != 0 {
			end++
		}
		if end == v {
			out = append(out, strconv.Itoa(v))
		} else {
			out = append(out, strconv.Itoa(v)+"-"+strconv.Itoa(end))
		}
		v = end + 1
	}
	return strings.Join(out, ",")
}

// isInterval is the real host's test for an "interval" schedule (one that
// keeps running through the repeated hour when daylight saving time ends):
// the seconds, minutes or hours field (minutes or hours without seconds)
// in normal form has "*", "-" or "/".
func (c *Cron) isInterval() bool {
	parts := strings.Fields(c.String())
	n := 2
	if c.hasSeconds {
		n = 3
	}
	for _, p := range parts[:n] {
		if strings.ContainsAny(p, "*-/") {
			return true
		}
	}
	return false
}

// subMinute reports whether the schedule fires more than once a minute:
// every field but the seconds is "*" and the seconds match more than one
// value. The real host counts the occurrences in the minute after the
// current time; with a current time that is not a whole second that count
// is the number of seconds matched, which this uses so the answer does not
// depend on the time.
func (c *Cron) subMinute() bool {
	if !c.hasSeconds {
		return false
	}
	for f := minute; f <= weekday; f++ {
		if c.sets[f] != span(bounds[f].min, bounds[f].max) {
			return false
		}
	}
	return bits.OnesCount64(c.sets[second]) > 1
}

// maxYear is the last year .NET's calendar supports; a schedule with no
// occurrence up to then never fires.
const maxYear = 9999

// NextWall returns the first wall-clock time after base (ignoring its
// fraction of a second) that matches, reading base's fields as a civil
// time in its own location and returning a time in that location. ok is
// false when none comes before the year 10000.
func (c *Cron) NextWall(base time.Time) (next time.Time, ok bool) {
	y, mo, d := base.Date()
	h, mi, s := base.Clock()
	loc := base.Location()
	// The first candidate on base's date is the next second.
	tod, okTod := c.nextTimeOfDay(h, mi, s+1)
	for year := y; year <= maxYear; year++ {
		for m := time.January; m <= time.December; m++ {
			if year == y && m < mo || c.sets[month]&(1<<m) == 0 {
				continue
			}
			days := daysIn(year, m)
			for dd := 1; dd <= days; dd++ {
				if year == y && m == mo && dd < d || c.sets[day]&(1<<dd) == 0 {
					continue
				}
				date := time.Date(year, m, dd, 0, 0, 0, 0, time.UTC)
				if c.sets[weekday]&(1<<date.Weekday()) == 0 {
					continue
				}
				if year == y && m == mo && dd == d {
					if !okTod {
						continue
					}
					return time.Date(year, m, dd, tod[0], tod[1], tod[2], 0, loc), true
				}
				return time.Date(year, m, dd, c.first(hour), c.first(minute), c.first(second), 0, loc), true
			}
		}
	}
	return time.Time{}, false
}

// nextTimeOfDay is the first matching time of day at or after h:m:s (s may
// be 60), on the same day.
func (c *Cron) nextTimeOfDay(h, m, s int) ([3]int, bool) {
	for ; h <= 23; h, m, s = h+1, 0, 0 {
		if c.sets[hour]&(1<<h) == 0 {
			continue
		}
		for ; m <= 59; m, s = m+1, 0 {
			if c.sets[minute]&(1<<m) == 0 {
				continue
			}
			if s <= 59 {
				if rest := c.sets[second] >> s; rest != 0 {
					return [3]int{h, m, s + bits.TrailingZeros64(rest)}, true
				}
			}
		}
	}
	return [3]int{}, false
}

func (c *Cron) first(f field) int { return bits.TrailingZeros64(c.sets[f]) }

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
