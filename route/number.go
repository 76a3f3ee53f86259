package route

import (
	"strconv"
	"strings"
	"unicode"
)

// The number checks follow .NET's number parsing with the invariant culture:
// white space is ' ' and '\t' through '\r', the signs are '+' and '-', the
// decimal point is '.', the group separator ',' (allowed anywhere in the
// integer part after its first digit), and trailing NUL characters are
// ignored.

// parseInteger parses s as int.Parse or long.Parse (bits 32 or 64) do with
// NumberStyles.Integer: optional white space around an optionally signed
// run of decimal digits.
func parseInteger(s string, bits int) (int64, bool) {
	s = trimNumberSpace(strings.TrimRight(s, "\x00"))
	digits := s
	if digits != "" && (digits[0] == '+' || digits[0] == '-') {
		digits = digits[1:]
	}
	if digits == "" || !allDigits(digits) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, bits)
	return n, err == nil
}

// numberStyle is what a .NET NumberStyles value allows besides white space
// around the number and a leading sign, which all the styles used here allow.
type numberStyle struct {
	exponent     bool // "1e5", "2.5E-3"
	trailingSign bool // "5-"
}

var (
	// styleDecimal is NumberStyles.Number, which the decimal constraint uses.
	styleDecimal = numberStyle{trailingSign: true}
	// styleFloat is NumberStyles.Float | NumberStyles.AllowThousands, which
	// the double and float constraints use.
	styleFloat = numberStyle{exponent: true}
)

// scanNumber reports whether s is a number in style st, with a decimal point
// and group separators allowed, and returns its integer part as written
// (group separators included).
func scanNumber(s string, st numberStyle) (intPart string, ok bool) {
	c := cursor{s: strings.TrimRight(s, "\x00")}
	c.skip(isNumberSpace)
	signed := c.acceptAny("+-")
	start := c.i
	intDigits := 0
	for c.i < len(c.s) {
		if isDigit(c.s[c.i]) {
			intDigits++
		} else if c.s[c.i] != ',' || intDigits == 0 {
			break
		}
		c.i++
	}
	intPart = c.s[start:c.i]
	fracDigits := 0
	if c.accept('.') {
		fracDigits = c.skip(isDigit)
	}
	if intDigits+fracDigits == 0 {
		return "", false
	}
	if st.exponent {
		c.exponent()
	}
	c.skip(isNumberSpace)
	if st.trailingSign && !signed && c.acceptAny("+-") {
		c.skip(isNumberSpace)
	}
	return intPart, c.i == len(c.s)
}

// maxDecimal is the integer part of .NET's decimal.MaxValue.
const maxDecimal = "79228162514264337593543950335"

// isDecimal reports whether decimal.TryParse accepts v with
// NumberStyles.Number: a number in range without an exponent. Digits beyond
// a decimal's precision are rounded, not rejected.
func isDecimal(v string) bool {
	intPart, ok := scanNumber(v, styleDecimal)
	if !ok {
		return false
	}
	digits := strings.TrimLeft(strings.ReplaceAll(intPart, ",", ""), "0")
	if len(digits) != len(maxDecimal) {
		return len(digits) < len(maxDecimal)
	}
	return digits <= maxDecimal
}

// isFloat reports whether double.TryParse (or float.TryParse) accepts v with
// NumberStyles.Float | NumberStyles.AllowThousands. Since .NET Core 3.0 a
// number too large for the type parses as infinity, so only the syntax
// matters; the NaN and infinity symbols are accepted too.
func isFloat(v string) bool {
	if _, ok := scanNumber(v, styleFloat); ok {
		return true
	}
	return isFloatSymbol(strings.TrimSpace(v))
}

// isFloatSymbol reports whether s is one of the invariant culture's symbols
// for infinity and NaN, optionally signed, ignoring case.
func isFloatSymbol(s string) bool {
	switch {
	case equalFold(s, "Infinity"), equalFold(s, "-Infinity"), equalFold(s, "NaN"):
		return true
	case strings.HasPrefix(s, "+"):
		return equalFold(s[1:], "Infinity") || equalFold(s[1:], "NaN")
	case strings.HasPrefix(s, "-"):
		return equalFold(s[1:], "NaN")
	}
	return false
}

// isBool reports whether bool.TryParse accepts v: "true" or "false" in any
// case, with white space and NUL characters around it.
func isBool(v string) bool {
	v = strings.TrimFunc(v, func(r rune) bool { return unicode.IsSpace(r) || r == 0 })
	return equalFold(v, "true") || equalFold(v, "false")
}

// utf16Len is the length of s as .NET counts it: in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isNumberSpace(c byte) bool { return c == ' ' || '\t' <= c && c <= '\r' }

func trimNumberSpace(s string) string {
	for s != "" && isNumberSpace(s[0]) {
		s = s[1:]
	}
	for s != "" && isNumberSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// cursor reads a string byte by byte for the small parsers of this package.
type cursor struct {
	s string
	i int
}

func (c *cursor) done() bool { return c.i == len(c.s) }

func (c *cursor) peek() byte {
	if c.done() {
		return 0
	}
	return c.s[c.i]
}

// accept consumes b if it is next.
func (c *cursor) accept(b byte) bool {
	if c.done() || c.s[c.i] != b {
		return false
	}
	c.i++
	return true
}

// acceptAny consumes the next byte if it is one of set (ASCII).
func (c *cursor) acceptAny(set string) bool {
	if c.done() || strings.IndexByte(set, c.s[c.i]) < 0 {
		return false
	}
	c.i++
	return true
}

// skip consumes bytes while keep accepts them and returns how many.
func (c *cursor) skip(keep func(byte) bool) int {
	start := c.i
	for !c.done() && keep(c.s[c.i]) {
		c.i++
	}
	return c.i - start
}

// number consumes between minDigits and maxDigits decimal digits (as many
// as there are, up to maxDigits) and returns their value.
func (c *cursor) number(minDigits, maxDigits int) (int, bool) {
	n, count := 0, 0
	for count < maxDigits && isDigit(c.peek()) {
		n = n*10 + int(c.s[c.i]-'0')
		c.i++
		count++
	}
	return n, count >= minDigits
}

// exponent consumes "e" or "E", an optional sign and digits, or nothing if
// they are not all there.
func (c *cursor) exponent() {
	save := c.i
	if c.acceptAny("eE") {
		c.acceptAny("+-")
		if c.skip(isDigit) > 0 {
			return
		}
	}
	c.i = save
}
