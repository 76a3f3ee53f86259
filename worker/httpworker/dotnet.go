package httpworker

// This file reproduces the few behaviours of .NET and Json.NET that reach a
// custom handler's client byte for byte: how JSON strings are escaped, how
// numbers print, how JToken.ToString() indents, and what Object.ToString()
// gives for a deserialized value.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jkind is the kind of a jvalue.
type jkind uint8

const (
	jnull jkind = iota
	jbool
	jnumber
	jstring
	jarray
	jobject
)

// jvalue is a parsed JSON value that keeps object members in document order,
// as Json.NET's JObject and ExpandoObject do.
type jvalue struct {
	kind jkind
	b    bool
	s    string // a string, or a number's literal
	arr  []jvalue
	obj  []jmember
}

type jmember struct {
	name string
	val  jvalue
}

// get returns the first member whose name equals name ignoring case.
func (v *jvalue) get(name string) (jvalue, bool) {
	for _, m := range v.obj {
		if strings.EqualFold(m.name, name) {
			return m.val, true
		}
	}
	return jvalue{}, false
}

// parseJSON parses exactly one JSON value. A repeated member name keeps its
// first position and its last value, as Json.NET does.
func parseJSON(data []byte) (jvalue, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v) // for the syntax error's message
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return jvalue{}, err
	}
	p := jparser{data: data}
	return p.value(), nil
}

// jparser reads JSON that json.Valid accepted.
type jparser struct {
	data []byte
	i    int
}

func (p *jparser) skipSpace() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) value() jvalue {
	p.skipSpace()
	switch p.data[p.i] {
	case '{':
		return p.object()
	case '[':
		return p.array()
	case '"':
		return jvalue{kind: jstring, s: p.str()}
	case 't':
		p.i += 4
		return jvalue{kind: jbool, b: true}
	case 'f':
		p.i += 5
		return jvalue{kind: jbool}
	case 'n':
		p.i += 4
		return jvalue{}
	}
	start := p.i
	for p.i < len(p.data) && strings.IndexByte("+-0123456789.eE", p.data[p.i]) >= 0 {
		p.i++
	}
	return jvalue{kind: jnumber, s: string(p.data[start:p.i])}
}

func (p *jparser) object() jvalue {
	v := jvalue{kind: jobject}
	p.i++ // {
	for {
		p.skipSpace()
		switch p.data[p.i] {
		case '}':
			p.i++
			return v
		case ',':
			p.i++
			p.skipSpace()
		}
		name := p.str()
		p.skipSpace()
		p.i++ // :
		v.set(name, p.value())
	}
}

func (p *jparser) array() jvalue {
	v := jvalue{kind: jarray}
	p.i++ // [
	for {
		p.skipSpace()
		switch p.data[p.i] {
		case ']':
			p.i++
			return v
		case ',':
			p.i++
		}
		v.arr = append(v.arr, p.value())
	}
}

// str reads a string token; p.i is at its opening quote.
func (p *jparser) str() string {
	start := p.i
	p.i++
	escaped := false
	for p.data[p.i] != '"' {
		if p.data[p.i] == '\\' {
			escaped = true
			p.i++
		}
		p.i++
	}
	p.i++
	tok := p.data[start:p.i]
	if !escaped {
		return string(tok[1 : len(tok)-1])
	}
	var s string
	_ = json.Unmarshal(tok, &s)
	return s
}

// skipValue moves past the value at p.i without decoding it.
func (p *jparser) skipValue() {
	switch p.data[p.i] {
	case '"':
		p.skipString()
	case '{', '[':
		depth := 0
		for {
			switch p.data[p.i] {
			case '"':
				p.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			p.i++
			if depth == 0 {
				return
			}
		}
	default: // a number, true, false or null
		for p.i < len(p.data) && strings.IndexByte(",}] \t\r\n", p.data[p.i]) < 0 {
			p.i++
		}
	}
}

// skipString moves past the string token at p.i.
func (p *jparser) skipString() {
	p.i++
	for p.data[p.i] != '"' {
		if p.data[p.i] == '\\' {
			p.i++
		}
		p.i++
	}
	p.i++
}

// set replaces the value of the member called name, or appends one.
func (v *jvalue) set(name string, val jvalue) {
	for i := range v.obj {
		if v.obj[i].name == name {
			v.obj[i].val = val
			return
		}
	}
	v.obj = append(v.obj, jmember{name, val})
}

// isFloat reports whether a number literal reads as a double in Json.NET (as
// opposed to a long or a BigInteger).
func isFloat(lit string) bool { return strings.ContainsAny(lit, ".eE") }

// dotnetInteger returns an integer literal as .NET prints the number.
func dotnetInteger(lit string) string {
	if lit == "-0" {
		return "0"
	}
	return lit
}

// dotnetDouble formats f as .NET's Double.ToString() does: the shortest
// round-trip digits, in fixed notation when the decimal exponent is between
// -5 and 15 (exclusive), otherwise as "1.5E+20" or "1E-05".
func dotnetDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	case f == 0 && math.Signbit(f):
		return "-0"
	case f == 0:
		return "0"
	}
	sci := strconv.FormatFloat(f, 'e', -1, 64)
	i := strings.IndexByte(sci, 'e')
	exp, _ := strconv.Atoi(sci[i+1:])
	if exp > -5 && exp < 15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	sign := "+"
	if exp < 0 {
		sign, exp = "-", -exp
	}
	digits := strconv.Itoa(exp)
	if len(digits) < 2 {
		digits = "0" + digits
	}
	return sci[:i] + "E" + sign + digits
}

// numberString is Object.ToString() of a Json.NET number.
func numberString(lit string) string {
	if !isFloat(lit) {
		return dotnetInteger(lit)
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return lit
	}
	return dotnetDouble(f)
}

// appendNumber appends a number as Json.NET writes it: a double always shows
// a decimal point or an exponent ("1.0", "1E+20").
func appendNumber(dst []byte, lit string) []byte {
	if !isFloat(lit) {
		return append(dst, dotnetInteger(lit)...)
	}
	s := numberString(lit)
	dst = append(dst, s...)
	if !strings.ContainsAny(s, ".EN") && !strings.HasSuffix(s, "Infinity") {
		dst = append(dst, ".0"...)
	}
	return dst
}

// boolString is Boolean.ToString().
func boolString(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string escaped as Json.NET escapes it by
// default: quotes, backslashes, control characters (\u00XX in lower-case hex
// unless a short escape exists) and U+0085, U+2028, U+2029; everything else,
// "<", ">", "&" and non-ASCII included, as is. Invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			dst = appendEscape(dst, rune(c))
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u0085' || r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			if r == utf8.RuneError {
				dst = append(dst, "\ufffd"...)
			} else {
				dst = appendEscape(dst, r)
			}
			start = i + size
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendEscape(dst []byte, r rune) []byte {
	switch r {
	case '"':
		return append(dst, `\"`...)
	case '\\':
		return append(dst, `\\`...)
	case '\b':
		return append(dst, `\b`...)
	case '\t':
		return append(dst, `\t`...)
	case '\n':
		return append(dst, `\n`...)
	case '\f':
		return append(dst, `\f`...)
	case '\r':
		return append(dst, `\r`...)
	}
	return append(dst, '\\', 'u',
		hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// appendJSON appends v as Json.NET writes it: compact, or indented with two
// spaces and "\n" (JToken.ToString() on Linux).
func appendJSON(dst []byte, v jvalue, indent bool, depth int) []byte {
	switch v.kind {
	case jnull:
		return append(dst, "null"...)
	case jbool:
		return strconv.AppendBool(dst, v.b)
	case jnumber:
		return appendNumber(dst, v.s)
	case jstring:
		return appendString(dst, v.s)
	case jarray:
		if len(v.arr) == 0 {
			return append(dst, "[]"...)
		}
		dst = append(dst, '[')
		for i, e := range v.arr {
			dst = appendSeparator(dst, i, indent, depth+1)
			dst = appendJSON(dst, e, indent, depth+1)
		}
		dst = appendNewline(dst, indent, depth)
		return append(dst, ']')
	}
	if len(v.obj) == 0 {
		return append(dst, "{}"...)
	}
	dst = append(dst, '{')
	for i, m := range v.obj {
		dst = appendSeparator(dst, i, indent, depth+1)
		dst = appendString(dst, m.name)
		dst = append(dst, ':')
		if indent {
			dst = append(dst, ' ')
		}
		dst = appendJSON(dst, m.val, indent, depth+1)
	}
	dst = appendNewline(dst, indent, depth)
	return append(dst, '}')
}

func appendSeparator(dst []byte, i int, indent bool, depth int) []byte {
	if i > 0 {
		dst = append(dst, ',')
	}
	return appendNewline(dst, indent, depth)
}

func appendNewline(dst []byte, indent bool, depth int) []byte {
	if !indent {
		return dst
	}
	dst = append(dst, '\n')
	for range depth {
		dst = append(dst, ' ', ' ')
	}
	return dst
}

// tokenString is Object.ToString() of a value Json.NET deserialized into an
// object-typed property: primitives print as .NET prints them, objects and
// arrays (JObject, JArray) as indented JSON. ok is false for null.
func tokenString(v jvalue) (s string, ok bool) {
	switch v.kind {
	case jobject, jarray:
		return string(appendJSON(nil, v, true, 0)), true
	}
	return scalarString(v)
}

// expandoString is Object.ToString() of a value read by Json.NET's
// ExpandoObjectConverter, where objects are ExpandoObjects and arrays are
// List<object>. ok is false for null.
func expandoString(v jvalue) (s string, ok bool) {
	switch v.kind {
	case jobject:
		return "System.Dynamic.ExpandoObject", true
	case jarray:
		return "System.Collections.Generic.List`1[System.Object]", true
	}
	return scalarString(v)
}

func scalarString(v jvalue) (string, bool) {
	switch v.kind {
	case jbool:
		return boolString(v.b), true
	case jnumber:
		return numberString(v.s), true
	case jstring:
		return v.s, true
	}
	return "", false
}

// parseDotnetInt32 parses s as Int32.TryParse with NumberStyles.Integer does:
// optional surrounding white space, an optional sign, decimal digits.
func parseDotnetInt32(s string) (int, bool) {
	s = strings.Trim(s, " \t\n\v\f\r")
	n, err := strconv.ParseInt(s, 10, 32)
	return int(n), err == nil
}

// dotnetBase64 decodes s as Convert.FromBase64String does (white space is
// ignored), reporting whether it is valid base64.
func dotnetBase64(s string) ([]byte, bool) {
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, s)
	}
	if len(s)%4 != 0 {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}
