package route

import "strings"

// isDateTime approximates DateTime.TryParse(v, CultureInfo.InvariantCulture,
// DateTimeStyles.None) with the forms that appear in URLs: a date, a time of
// day, or both, as listed on Parse. .NET accepts more (month names, AM/PM,
// RFC 1123); funcd rejects those.
func isDateTime(v string) bool {
	c := cursor{s: strings.TrimSpace(v)}
	if c.date() {
		if c.done() {
			return true
		}
		if !c.accept('T') && c.skip(isSpace) == 0 {
			return false
		}
	}
	return c.timeOfDay() && c.zone() && c.done()
}

func isSpace(c byte) bool { return c == ' ' }

// date consumes a valid date in one of the forms yyyy-M-d, yyyy/M/d,
// yyyy.M.d and M/d/yyyy, or nothing.
func (c *cursor) date() bool {
	start := c.i
	if y, m, d, ok := c.yearFirstDate(); ok && validDate(y, m, d) {
		return true
	}
	c.i = start
	if y, m, d, ok := c.monthFirstDate(); ok && validDate(y, m, d) {
		return true
	}
	c.i = start
	return false
}

func (c *cursor) yearFirstDate() (y, m, d int, ok bool) {
	y, ok1 := c.number(4, 4)
	sep := c.peek()
	if !ok1 || !c.acceptAny("-/.") {
		return 0, 0, 0, false
	}
	m, ok2 := c.number(1, 2)
	ok3 := c.accept(sep)
	d, ok4 := c.number(1, 2)
	return y, m, d, ok2 && ok3 && ok4
}

func (c *cursor) monthFirstDate() (y, m, d int, ok bool) {
	m, ok1 := c.number(1, 2)
	ok2 := c.accept('/')
	d, ok3 := c.number(1, 2)
	ok4 := c.accept('/')
	y, ok5 := c.number(4, 4)
	return y, m, d, ok1 && ok2 && ok3 && ok4 && ok5
}

func validDate(y, m, d int) bool {
	return 1 <= y && 1 <= m && m <= 12 && 1 <= d && d <= daysIn(y, m)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// timeOfDay consumes H:mm, H:mm:ss or H:mm:ss.fraction.
func (c *cursor) timeOfDay() bool {
	h, ok := c.number(1, 2)
	if !ok || h > 23 || !c.accept(':') {
		return false
	}
	if m, ok := c.number(2, 2); !ok || m > 59 {
		return false
	}
	if !c.accept(':') {
		return true
	}
	if s, ok := c.number(2, 2); !ok || s > 59 {
		return false
	}
	if c.accept('.') {
		return c.skip(isDigit) > 0
	}
	return true
}

// zone consumes an optional "Z" or offset: +hh, +hh:mm or +hhmm (or '-').
func (c *cursor) zone() bool {
	if c.accept('Z') {
		return true
	}
	if !c.acceptAny("+-") {
		return true
	}
	if h, ok := c.number(2, 2); !ok || h > 14 {
		return false
	}
	if c.done() {
		return true
	}
	c.accept(':')
	m, ok := c.number(2, 2)
	return ok && m <= 59
}
