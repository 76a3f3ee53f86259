package bindexpr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// defaultDateTimeFormat is the real host's format for a DateTime in a
// binding expression (BindingDataPathHelper): ISO 8601 with dashes for
// colons, so the result is usable in blob names.
const defaultDateTimeFormat = "yyyy-MM-ddTHH-mm-ssK"

// errDateFormat is .NET's FormatException text for a bad date format.
var errDateFormat = errors.New("Input string was not in a correct format.") //lint:ignore ST1005 .NET's text

// standardFormats are .NET's one-letter DateTime formats with the
// invariant culture.
var standardFormats = map[byte]string{
	'd': "MM/dd/yyyy",
	'D': "dddd, dd MMMM yyyy",
	'f': "dddd, dd MMMM yyyy HH:mm",
	'F': "dddd, dd MMMM yyyy HH:mm:ss",
	'g': "MM/dd/yyyy HH:mm",
	'G': "MM/dd/yyyy HH:mm:ss",
	'm': "MMMM dd", 'M': "MMMM dd",
	'o': "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK", 'O': "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
	'r': "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'", 'R': "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
	's': "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
	't': "HH:mm",
	'T': "HH:mm:ss",
	'u': "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
	'U': "dddd, dd MMMM yyyy HH:mm:ss",
	'y': "yyyy MMMM", 'Y': "yyyy MMMM",
}

// formatDateTime prints t in UTC with a .NET date format string (standard
// one-letter or custom), as DateTime.ToString(format, InvariantCulture)
// does for a DateTime of kind Utc. A blank format is the default.
func formatDateTime(t time.Time, format string) (string, error) {
	t = t.UTC()
	if strings.TrimSpace(format) == "" {
		format = defaultDateTimeFormat
	}
	if len(format) == 1 {
		std, ok := standardFormats[format[0]]
		if !ok {
			return "", errDateFormat
		}
		format = std
	}
	return custom(t, format)
}

// custom prints t with a .NET custom date format.
func custom(t time.Time, format string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); {
		c := format[i]
		n := 1
		for i+n < len(format) && format[i+n] == c {
			n++
		}
		switch c {
		case 'g':
			b.WriteString("A.D.")
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			digits(&b, h, min(n, 2))
		case 'H':
			digits(&b, t.Hour(), min(n, 2))
		case 'm':
			digits(&b, t.Minute(), min(n, 2))
		case 's':
			digits(&b, t.Second(), min(n, 2))
		case 'f', 'F':
			if n > 7 {
				return "", errDateFormat
			}
			frac := fmt.Sprintf("%07d", t.Nanosecond()/100)[:n]
			if c == 'F' {
				frac = strings.TrimRight(frac, "0")
				if frac == "" && strings.HasSuffix(b.String(), ".") {
					s := b.String()
					b.Reset()
					b.WriteString(s[:len(s)-1])
				}
			}
			b.WriteString(frac)
		case 't':
			ampm := "AM"
			if t.Hour() >= 12 {
				ampm = "PM"
			}
			if n == 1 {
				ampm = ampm[:1]
			}
			b.WriteString(ampm)
		case 'd':
			switch {
			case n <= 2:
				digits(&b, t.Day(), n)
			case n == 3:
				b.WriteString(t.Weekday().String()[:3])
			default:
				b.WriteString(t.Weekday().String())
			}
		case 'M':
			switch {
			case n <= 2:
				digits(&b, int(t.Month()), n)
			case n == 3:
				b.WriteString(t.Month().String()[:3])
			default:
				b.WriteString(t.Month().String())
			}
		case 'y':
			if n <= 2 {
				digits(&b, t.Year()%100, n)
			} else {
				digits(&b, t.Year(), n)
			}
		case 'z':
			switch n {
			case 1:
				b.WriteString("+0")
			case 2:
				b.WriteString("+00")
			default:
				b.WriteString("+00:00")
			}
		case 'K':
			b.WriteString("Z")
			n = 1
		case ':', '/':
			b.WriteByte(c)
			n = 1
		case '\'', '"':
			end, lit, ok := quoted(format, i)
			if !ok {
				return "", errDateFormat
			}
			b.WriteString(lit)
			n = end - i
		case '%':
			if i+1 >= len(format) || format[i+1] == '%' {
				return "", errDateFormat
			}
			// %x is the custom specifier x alone.
			one, err := custom(t, format[i+1:i+2])
			if err != nil {
				return "", err
			}
			b.WriteString(one)
			n = 2
		case '\\':
			if i+1 >= len(format) {
				return "", errDateFormat
			}
			b.WriteByte(format[i+1])
			n = 2
		default:
			b.WriteByte(c)
			n = 1
		}
		i += n
	}
	return b.String(), nil
}

// digits writes v with at least n digits.
func digits(b *strings.Builder, v, n int) {
	fmt.Fprintf(b, "%0*d", n, v)
}

// quoted reads a quoted literal starting at format[i]; end is the index
// after the closing quote.
func quoted(format string, i int) (end int, lit string, ok bool) {
	q := format[i]
	var b strings.Builder
	for j := i + 1; j < len(format); j++ {
		switch format[j] {
		case q:
			return j + 1, b.String(), true
		case '\\':
			if j+1 >= len(format) {
				return 0, "", false
			}
			j++
			b.WriteByte(format[j])
		default:
			b.WriteByte(format[j])
		}
	}
	return 0, "", false
}
