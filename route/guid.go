package route

import "strings"

// isGUID reports whether Guid.TryParse accepts v: white space around one of
// the formats
//
//	N  00000000000000000000000000000000
//	D  00000000-0000-0000-0000-000000000000
//	B  {00000000-0000-0000-0000-000000000000}
//	P  (00000000-0000-0000-0000-000000000000)
//	X  {0x00000000,0x0000,0x0000,{0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00}}
//
// with hexadecimal digits in either case. In X, each number may have fewer
// digits than shown and white space may appear anywhere.
func isGUID(v string) bool {
	v = strings.TrimSpace(v)
	switch {
	case len(v) == 32:
		return isHex(v)
	case len(v) == 36:
		return isDashedGUID(v)
	case len(v) == 38 && (v[0] == '{' && v[37] == '}' || v[0] == '(' && v[37] == ')'):
		return isDashedGUID(v[1:37])
	case strings.HasPrefix(v, "{"):
		return isHexGUID(v)
	}
	return false
}

// isDashedGUID checks the D format: hex groups of 8, 4, 4, 4 and 12.
func isDashedGUID(v string) bool {
	for i := 0; i < len(v); i++ {
		dash := i == 8 || i == 13 || i == 18 || i == 23
		if dash != (v[i] == '-') || !dash && !isHexDigit(v[i]) {
			return false
		}
	}
	return true
}

// isHexGUID checks the X format.
func isHexGUID(v string) bool {
	c := cursor{s: strings.Join(strings.Fields(v), "")}
	ok := c.accept('{') && c.hexNumber(8) && c.accept(',') && c.hexNumber(4) &&
		c.accept(',') && c.hexNumber(4) && c.accept(',') && c.accept('{')
	for i := 0; ok && i < 8; i++ {
		ok = c.hexNumber(2) && (i == 7 || c.accept(','))
	}
	return ok && c.accept('}') && c.accept('}') && c.done()
}

// hexNumber consumes "0x" followed by one to maxDigits hexadecimal digits.
func (c *cursor) hexNumber(maxDigits int) bool {
	if !c.accept('0') || !c.acceptAny("xX") {
		return false
	}
	n := c.skip(isHexDigit)
	return 0 < n && n <= maxDigits
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	_, ok := unhex(c)
	return ok
}
