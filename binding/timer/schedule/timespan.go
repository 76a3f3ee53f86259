package schedule

import (
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
)

// .NET TimeSpan units and bounds, in ticks of 100 ns.
const (
	ticksPerMillisecond = 10_000
	maxDays             = 10675199
	maxFraction         = 9_999_999
	fractionDigits      = 7
	// maxToken is the largest number TimeSpan's tokenizer accepts (0xFFFFFFF).
	maxToken = 0x0FFFFFFF
)

// tsToken is a number of a TimeSpan string: its value and, for fractions,
// the count of its leading zeros.
type tsToken struct {
	num    int64
	zeroes int
}

// ParseTimeSpan converts s as .NET's TimeSpan.TryParse does with the
// invariant culture, and returns the span in ticks of 100 ns. The input,
// trimmed of white space, is a sequence of numbers and separators matched
// against these forms, each optionally preceded by "-":
//
//	d                 days
//	h:m               hours, minutes
//	h:m:s             when the hours are 0-23; else d:h:m ("24:00:00" is 24 days)
//	d.h:m             days, hours, minutes
//	h:m:.f
//	h:m:s.f
//	d.h:m:s  d:h:m:s
//	d.h:m:.f d:h:m:.f
//	d.h:m:s.f d:h:m:s.f
//
// Hours are 0-23, minutes and seconds 0-59, days at most 10675199, and a
// fraction of a second has up to seven digits (more are rounded when they
// start with zeros).
func ParseTimeSpan(s string) (ticks int64, ok bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if s == "" {
		return 0, false
	}
	var nums []tsToken
	var seps []string
	lastNum := false
	for i := 0; i < len(s); {
		if isDigit(s[i]) {
			if len(seps) == 0 {
				seps = append(seps, "")
			}
			j := i
			for j < len(s) && s[j] == '0' {
				j++
			}
			t := tsToken{zeroes: j - i}
			for ; j < len(s) && isDigit(s[j]); j++ {
				t.num = t.num*10 + int64(s[j]-'0')
				if t.num > maxToken {
					return 0, false
				}
			}
			nums = append(nums, t)
			i, lastNum = j, true
		} else {
			j := i
			for j < len(s) && !isDigit(s[j]) {
				j++
			}
			seps = append(seps, s[i:j])
			i, lastNum = j, false
		}
		if len(nums) > 5 || len(seps) > 6 || len(nums)+len(seps) > 11 {
			return 0, false
		}
	}
	if lastNum {
		seps = append(seps, "")
		if len(seps) > 6 {
			return 0, false
		}
	}
	if len(seps) != len(nums)+1 || seps[len(seps)-1] != "" {
		return 0, false
	}
	neg := false
	switch seps[0] {
	case "":
	case "-":
		neg = true
	default:
		return 0, false
	}
	mid := seps[1 : len(seps)-1]
	is := func(want ...string) bool { return slices.Equal(mid, want) }
	n, zero := nums, tsToken{}
	// The forms each count of numbers can take, in the order .NET tries
	// them; the first whose parts are in range wins.
	var tries [][5]tsToken // days, hours, minutes, seconds, fraction
	switch {
	case len(n) == 1:
		tries = append(tries, [5]tsToken{n[0], zero, zero, zero, zero})
	case len(n) == 2 && is(":"):
		tries = append(tries, [5]tsToken{zero, n[0], n[1], zero, zero})
	case len(n) == 3 && is(":", ":"):
		tries = append(tries, [5]tsToken{zero, n[0], n[1], n[2], zero}, [5]tsToken{n[0], n[1], n[2], zero, zero})
	case len(n) == 3 && is(".", ":"):
		tries = append(tries, [5]tsToken{n[0], n[1], n[2], zero, zero})
	case len(n) == 3 && is(":", ":."):
		tries = append(tries, [5]tsToken{zero, n[0], n[1], zero, n[2]})
	case len(n) == 4 && is(":", ":", "."):
		tries = append(tries, [5]tsToken{zero, n[0], n[1], n[2], n[3]})
	case len(n) == 4 && (is(".", ":", ":") || is(":", ":", ":")):
		tries = append(tries, [5]tsToken{n[0], n[1], n[2], n[3], zero})
	case len(n) == 4 && (is(".", ":", ":.") || is(":", ":", ":.")):
		tries = append(tries, [5]tsToken{n[0], n[1], n[2], zero, n[3]})
	case len(n) == 5 && (is(".", ":", ":", ".") || is(":", ":", ":", ".")):
		tries = append(tries, [5]tsToken{n[0], n[1], n[2], n[3], n[4]})
	}
	for _, t := range tries {
		if v, ok := timeToTicks(t); ok {
			if neg {
				v = -v
			}
			return v, true
		}
	}
	return 0, false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// timeToTicks checks each part against its bound and adds them up, as
// TimeSpan's parser does.
func timeToTicks(p [5]tsToken) (int64, bool) {
	days, hours, minutes, seconds := p[0].num, p[1].num, p[2].num, p[3].num
	if days > maxDays || hours > 23 || minutes > 59 || seconds > 59 {
		return 0, false
	}
	frac, ok := normalizeFraction(p[4])
	if !ok {
		return 0, false
	}
	ms := (days*86400 + hours*3600 + minutes*60 + seconds) * 1000
	if ms > math.MaxInt64/ticksPerMillisecond {
		return 0, false
	}
	return ms*ticksPerMillisecond + frac, true
}

// normalizeFraction turns the digits after the decimal point into ticks:
// ".5" is 5000000, ".0000001" is 1; more than seven digits are rounded
// half away from zero, and refused unless they begin with a zero.
func normalizeFraction(t tsToken) (int64, bool) {
	if t.num == 0 {
		return 0, true
	}
	if t.zeroes == 0 && t.num > maxFraction {
		return 0, false
	}
	digits := len(itoa(t.num)) + t.zeroes
	switch {
	case digits == fractionDigits:
		return t.num, true
	case digits < fractionDigits:
		return t.num * pow10(fractionDigits-digits), true
	}
	return int64(math.Round(float64(t.num) / math.Pow(10, float64(digits-fractionDigits)))), true
}

func pow10(n int) int64 {
	v := int64(1)
	for range n {
		v *= 10
	}
	return v
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// ticksToDuration converts ticks to a time.Duration, saturating at its
// bounds (a TimeSpan reaches 29,000 years, a Duration 292).
func ticksToDuration(ticks int64) time.Duration {
	switch {
	case ticks > math.MaxInt64/100:
		return math.MaxInt64
	case ticks < math.MinInt64/100:
		return math.MinInt64
	}
	return time.Duration(ticks) * 100
}
