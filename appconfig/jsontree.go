package appconfig

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds a small JSON reader that keeps the position of every value.
// It accepts what Json.NET's JObject.Parse accepts in practice (the real host
// reads host.json and function.json with it): comments, trailing commas,
// single-quoted strings and unquoted property names, with Json.NET's default
// depth limit of 64.

// maxDepth is Json.NET's default JsonReader.MaxDepth.
const maxDepth = 64

// kind is the type of a JSON value.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindObject
	kindArray
)

func (k kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "object", "array"}[k]
}

// pos is a 1-based line and column (in characters).
type pos struct{ line, col int }

// node is one JSON value with its position.
type node struct {
	kind kind
	// text is the unescaped string, the number literal, or "true"/"false".
	text   string
	pos    pos
	fields []member // objects, in file order
	items  []*node  // arrays
}

// member is one property of an object.
type member struct {
	key    string
	keyPos pos
	value  *node
}

// get returns the value of the property named exactly key (the last one if
// the key repeats, as Json.NET keeps the last), or nil.
func (n *node) get(key string) *member {
	if n == nil || n.kind != kindObject {
		return nil
	}
	for i := len(n.fields) - 1; i >= 0; i-- {
		if n.fields[i].key == key {
			return &n.fields[i]
		}
	}
	return nil
}

// getFold looks key up as Json.NET's TryGetValue with OrdinalIgnoreCase
// does: an exact match first, then the first case-insensitive one.
func (n *node) getFold(key string) *member {
	if f := n.get(key); f != nil {
		return f
	}
	if n == nil || n.kind != kindObject {
		return nil
	}
	for i := range n.fields {
		if strings.EqualFold(n.fields[i].key, key) {
			return &n.fields[i]
		}
	}
	return nil
}

// dotnetString is the value as .NET's JValue.ToString(InvariantCulture)
// renders it, which is what configuration and Json.NET string conversion see:
// null is "", booleans are "True"/"False", numbers are normalised.
func (n *node) dotnetString() string {
	switch n.kind {
	case kindNull:
		return ""
	case kindBool:
		if n.text == "true" {
			return "True"
		}
		return "False"
	case kindNumber:
		return dotnetNumber(n.text)
	default:
		return n.text
	}
}

// scalar reports whether the node is a string, number, boolean or null.
func (n *node) scalar() bool { return n.kind != kindObject && n.kind != kindArray }

// dotnetNumber renders a JSON number literal the way Json.NET would after
// reading it (Int64 or Double) and .NET's invariant ToString.
func dotnetNumber(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
		return strings.TrimPrefix(lit, "+") // BigInteger keeps its digits
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) {
		return lit
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'G', -1, 64)
	// .NET writes at least two exponent digits: 1E+20, 1E-05.
	if i := strings.IndexAny(s, "E"); i >= 0 && len(s)-i == 3 {
		s = s[:i+2] + "0" + s[i+2:]
	}
	return s
}

// syntaxError is a JSON syntax error at a position.
type syntaxError struct {
	pos pos
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("%s (line %d, column %d)", e.msg, e.pos.line, e.pos.col)
}

// parseJSON reads one JSON value (and nothing after it but whitespace and
// comments).
func parseJSON(data []byte) (*node, *syntaxError) {
	p := &parser{src: data, line: 1, col: 1}
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		p.off = 3
	}
	n, err := p.parse()
	if err != nil {
		return nil, err
	}
	return n, nil
}

type parser struct {
	src       []byte
	off       int
	line, col int
	depth     int
}

func (p *parser) parse() (n *node, err *syntaxError) {
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	if p.eof() {
		return nil, p.errorf("Unexpected end when reading JSON.")
	}
	n, err = p.value()
	if err != nil {
		return nil, err
	}
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	if !p.eof() {
		return nil, p.errorf("Additional text encountered after finished reading JSON content: %s.", p.peekText())
	}
	return n, nil
}

func (p *parser) eof() bool { return p.off >= len(p.src) }

func (p *parser) here() pos { return pos{p.line, p.col} }

func (p *parser) errorf(format string, args ...any) *syntaxError {
	return &syntaxError{pos: p.here(), msg: fmt.Sprintf(format, args...)}
}

// peek returns the next character (utf8.RuneError for a bad byte).
func (p *parser) peek() rune {
	r, _ := utf8.DecodeRune(p.src[p.off:])
	return r
}

// peekText is the next character, printable, for messages.
func (p *parser) peekText() string {
	r := p.peek()
	if r == utf8.RuneError || !unicode.IsPrint(r) {
		return fmt.Sprintf("%U", r)
	}
	return string(r)
}

// next consumes one character and keeps the line and column.
func (p *parser) next() rune {
	r, size := utf8.DecodeRune(p.src[p.off:])
	p.off += size
	switch {
	case r == '\n':
		p.line++
		p.col = 1
	case r == '\r':
		// A lone CR ends a line; CRLF counts once (at the LF).
		if p.off < len(p.src) && p.src[p.off] == '\n' {
			p.col++
		} else {
			p.line++
			p.col = 1
		}
	default:
		p.col++
	}
	return r
}

// skipSpace skips whitespace and comments.
func (p *parser) skipSpace() *syntaxError {
	for !p.eof() {
		switch c := p.src[p.off]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			p.next()
		case c == '/':
			if err := p.comment(); err != nil {
				return err
			}
		default:
			if r := p.peek(); r == 0xA0 || r == 0xFEFF || unicode.Is(unicode.Zs, r) {
				p.next()
				continue
			}
			return nil
		}
	}
	return nil
}

func (p *parser) comment() *syntaxError {
	p.next() // '/'
	if p.eof() {
		return p.errorf("Unexpected end while parsing comment.")
	}
	switch p.peek() {
	case '/':
		for !p.eof() && p.src[p.off] != '\n' && p.src[p.off] != '\r' {
			p.next()
		}
		return nil
	case '*':
		p.next()
		for !p.eof() {
			if p.next() == '*' && !p.eof() && p.src[p.off] == '/' {
				p.next()
				return nil
			}
		}
		return p.errorf("Unexpected end while parsing comment.")
	default:
		return p.errorf("Error parsing comment. Expected: *, got %s.", p.peekText())
	}
}

func (p *parser) value() (*node, *syntaxError) {
	start := p.here()
	switch c := p.peek(); {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"' || c == '\'':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &node{kind: kindString, text: s, pos: start}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't' || c == 'f' || c == 'n':
		return p.literal()
	default:
		return nil, p.errorf("Unexpected character encountered while parsing value: %s.", p.peekText())
	}
}

func (p *parser) enter() *syntaxError {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf("The reader's MaxDepth of %d has been exceeded.", maxDepth)
	}
	return nil
}

func (p *parser) object() (*node, *syntaxError) {
	n := &node{kind: kindObject, pos: p.here()}
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.next() // '{'
	for {
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.eof() {
			return nil, p.errorf("Unexpected end when reading JSON.")
		}
		if p.peek() == '}' {
			p.next()
			p.depth--
			return n, nil
		}
		f, err := p.member()
		if err != nil {
			return nil, err
		}
		n.fields = append(n.fields, f)
		if err := p.afterValue('}'); err != nil {
			return nil, err
		}
	}
}

// member reads `key: value`.
func (p *parser) member() (member, *syntaxError) {
	keyPos := p.here()
	key, err := p.propertyName()
	if err != nil {
		return member{}, err
	}
	if err := p.skipSpace(); err != nil {
		return member{}, err
	}
	if p.eof() {
		return member{}, p.errorf("Unexpected end when reading JSON.")
	}
	if p.peek() != ':' {
		return member{}, p.errorf("Invalid character after parsing property name. Expected ':' but got: %s.", p.peekText())
	}
	p.next()
	if err := p.skipSpace(); err != nil {
		return member{}, err
	}
	if p.eof() {
		return member{}, p.errorf("Unexpected end when reading JSON.")
	}
	v, err := p.value()
	if err != nil {
		return member{}, err
	}
	return member{key: key, keyPos: keyPos, value: v}, nil
}

// propertyName reads a quoted name, or an unquoted identifier as Json.NET
// allows.
func (p *parser) propertyName() (string, *syntaxError) {
	if c := p.peek(); c == '"' || c == '\'' {
		return p.str()
	}
	start := p.off
	for !p.eof() {
		r := p.peek()
		if r != '_' && r != '$' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		p.next()
	}
	if p.off == start {
		return "", p.errorf("Invalid property identifier character: %s.", p.peekText())
	}
	return string(p.src[start:p.off]), nil
}

// afterValue expects a comma or the closing bracket after a member or item.
// A comma followed by the closing bracket (a trailing comma) is accepted.
func (p *parser) afterValue(closing byte) *syntaxError {
	if err := p.skipSpace(); err != nil {
		return err
	}
	if p.eof() {
		return p.errorf("Unexpected end when reading JSON.")
	}
	switch c := p.src[p.off]; c {
	case ',':
		p.next()
		return nil
	case closing:
		return nil
	default:
		return p.errorf("After parsing a value an unexpected character was encountered: %s.", p.peekText())
	}
}

func (p *parser) array() (*node, *syntaxError) {
	n := &node{kind: kindArray, pos: p.here()}
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.next() // '['
	for {
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.eof() {
			return nil, p.errorf("Unexpected end when reading JSON.")
		}
		if p.peek() == ']' {
			p.next()
			p.depth--
			return n, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.items = append(n.items, v)
		if err := p.afterValue(']'); err != nil {
			return nil, err
		}
	}
}

// str reads a string in double or single quotes.
func (p *parser) str() (string, *syntaxError) {
	quote := p.next()
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.errorf("Unterminated string. Expected delimiter: %c.", quote)
		}
		at := p.here()
		r := p.next()
		switch r {
		case quote:
			return b.String(), nil
		case '\\':
			if err := p.escape(&b, at); err != nil {
				return "", err
			}
		default:
			b.WriteRune(r) // a bad byte becomes U+FFFD, as .NET's decoder does
		}
	}
}

func (p *parser) escape(b *strings.Builder, at pos) *syntaxError {
	if p.eof() {
		return p.errorf("Unterminated string. Expected delimiter: \".")
	}
	r := p.next()
	switch r {
	case '"', '\'', '\\', '/':
		b.WriteRune(r)
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		r1, err := p.hex4(at)
		if err != nil {
			return err
		}
		if utf16IsHigh(r1) && p.off+1 < len(p.src) && p.src[p.off] == '\\' && p.src[p.off+1] == 'u' {
			save, line, col := p.off, p.line, p.col
			p.next()
			p.next()
			r2, err := p.hex4(at)
			if err == nil && utf16IsLow(r2) {
				b.WriteRune(0x10000 + (r1-0xD800)<<10 + (r2 - 0xDC00))
				return nil
			}
			p.off, p.line, p.col = save, line, col
		}
		b.WriteRune(r1) // a lone surrogate becomes U+FFFD
	default:
		return &syntaxError{pos: at, msg: fmt.Sprintf("Bad JSON escape sequence: \\%c.", r)}
	}
	return nil
}

func utf16IsHigh(r rune) bool { return r >= 0xD800 && r < 0xDC00 }
func utf16IsLow(r rune) bool  { return r >= 0xDC00 && r < 0xE000 }

func (p *parser) hex4(at pos) (rune, *syntaxError) {
	if p.off+4 > len(p.src) {
		return 0, &syntaxError{pos: at, msg: "Unexpected end while parsing Unicode escape sequence."}
	}
	v, err := strconv.ParseUint(string(p.src[p.off:p.off+4]), 16, 32)
	if err != nil {
		return 0, &syntaxError{pos: at, msg: fmt.Sprintf("Invalid Unicode escape sequence: \\u%s.", p.src[p.off:p.off+4])}
	}
	for range 4 {
		p.next()
	}
	return rune(v), nil
}

func (p *parser) number() (*node, *syntaxError) {
	start, at := p.off, p.here()
	for !p.eof() {
		c := p.src[p.off]
		if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			break
		}
		p.next()
	}
	lit := string(p.src[start:p.off])
	if !validNumber(lit) {
		return nil, &syntaxError{pos: at, msg: fmt.Sprintf("Input string '%s' is not a valid number.", lit)}
	}
	return &node{kind: kindNumber, text: lit, pos: at}, nil
}

// validNumber checks the JSON number grammar.
func validNumber(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if n := digits(); n == 0 || (n > 1 && s[i-n] == '0') {
		return false // no digits, or a leading zero
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

func (p *parser) literal() (*node, *syntaxError) {
	at := p.here()
	for _, lit := range []string{"true", "false", "null"} {
		if strings.HasPrefix(string(p.src[p.off:min(p.off+len(lit), len(p.src))]), lit) {
			for range len(lit) {
				p.next()
			}
			if lit == "null" {
				return &node{kind: kindNull, pos: at}, nil
			}
			return &node{kind: kindBool, text: lit, pos: at}, nil
		}
	}
	return nil, p.errorf("Unexpected character encountered while parsing value: %s.", p.peekText())
}
