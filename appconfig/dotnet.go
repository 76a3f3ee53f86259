package appconfig

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file converts configuration strings the way .NET's type converters
// do, so that a value the real host rejects is rejected here too.

// .NET type names used in binder messages.
const (
	typeInt32            = "System.Int32"
	typeBoolean          = "System.Boolean"
	typeTimeSpan         = "System.TimeSpan"
	typeNullableTimeSpan = "System.Nullable`1[System.TimeSpan]"
)

// parseInt32 converts as Int32Converter does: surrounding whitespace, an
// optional sign, or a 0x hexadecimal prefix.
func parseInt32(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		v, err := strconv.ParseUint(s[2:], 16, 32)
		if err != nil {
			return 0, false
		}
		return int(int32(uint32(v))), true
	}
	s = strings.TrimPrefix(s, "+")
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return int(v), true
}

// parseBool converts as bool.Parse does: "true" or "false" in any case.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.Trim(s, " \t\r\n\x00")) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// Bounds of a .NET TimeSpan, in ticks of 100ns.
const (
	ticksPerSecond = 10_000_000
	ticksPerMinute = 60 * ticksPerSecond
	ticksPerHour   = 60 * ticksPerMinute
	ticksPerDay    = 24 * ticksPerHour
	maxTimeSpanDay = 10675199
)

// timeSpan is a .NET TimeSpan in ticks.
type timeSpan int64

// parseTimeSpan converts as TimeSpan.Parse with the invariant culture does:
// "[-]d", "[-][d.]hh:mm[:ss[.fffffff]]" or "[-]d:hh:mm:ss[.fffffff]", with
// hours 0-23, minutes and seconds 0-59.
func parseTimeSpan(s string) (timeSpan, bool) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var days, h, m, sec, frac int64
	parts := strings.Split(s, ":")
	var ok bool
	switch len(parts) {
	case 1:
		days, ok = timeSpanNumber(parts[0], maxTimeSpanDay)
		if !ok {
			return 0, false
		}
	case 2, 3, 4:
		first := parts[0]
		if len(parts) == 4 {
			if days, ok = timeSpanNumber(first, maxTimeSpanDay); !ok {
				return 0, false
			}
			parts = parts[1:]
		} else if d, hh, found := strings.Cut(first, "."); found {
			if days, ok = timeSpanNumber(d, maxTimeSpanDay); !ok {
				return 0, false
			}
			parts[0] = hh
		}
		if h, ok = timeSpanNumber(parts[0], 23); !ok {
			return 0, false
		}
		last := parts[len(parts)-1]
		if len(parts) == 3 {
			var f string
			last, f, _ = strings.Cut(last, ".")
			if frac, ok = timeSpanFraction(f); !ok {
				return 0, false
			}
		}
		if len(parts) == 2 {
			m, ok = timeSpanNumber(last, 59)
		} else {
			if m, ok = timeSpanNumber(parts[1], 59); ok {
				sec, ok = timeSpanNumber(last, 59)
			}
		}
		if !ok {
			return 0, false
		}
	default:
		return 0, false
	}
	ticks := days * ticksPerDay
	rest := h*ticksPerHour + m*ticksPerMinute + sec*ticksPerSecond + frac
	if rest > math.MaxInt64-ticks {
		return 0, false // beyond TimeSpan.MaxValue
	}
	ticks += rest
	if neg {
		ticks = -ticks
	}
	return timeSpan(ticks), true
}

func timeSpanNumber(s string, maxValue int64) (int64, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v <= maxValue
}

// timeSpanFraction reads up to seven digits of a second as ticks; "" is 0.
func timeSpanFraction(s string) (int64, bool) {
	if s == "" {
		return 0, true
	}
	if len(s) > 7 {
		return 0, false
	}
	v, ok := timeSpanNumber(s, math.MaxInt64)
	for range 7 - len(s) {
		v *= 10
	}
	return v, ok
}

// String formats the span as .NET's "c" format does: [-][d.]hh:mm:ss[.fffffff].
func (t timeSpan) String() string {
	ticks := int64(t)
	sign := ""
	if ticks < 0 {
		sign = "-"
		ticks = -ticks
	}
	days := ticks / ticksPerDay
	rest := ticks % ticksPerDay
	s := fmt.Sprintf("%02d:%02d:%02d", rest/ticksPerHour, rest%ticksPerHour/ticksPerMinute, rest%ticksPerMinute/ticksPerSecond)
	if days > 0 {
		s = strconv.FormatInt(days, 10) + "." + s
	}
	if f := rest % ticksPerSecond; f != 0 {
		s += fmt.Sprintf(".%07d", f)
	}
	return sign + s
}

// duration converts to a time.Duration, saturating at its bounds.
func (t timeSpan) duration() time.Duration {
	if int64(t) > math.MaxInt64/100 {
		return time.Duration(math.MaxInt64)
	}
	if int64(t) < math.MinInt64/100 {
		return time.Duration(math.MinInt64)
	}
	return time.Duration(t) * 100
}

// formatDuration renders a duration in TimeSpan "c" form.
func formatDuration(d time.Duration) string {
	return timeSpan(d / 100).String()
}
