// Package bindexpr parses and evaluates binding expressions, the {name}
// templates in function.json paths and names: "samples/{name}.{ext}",
// "out/{name}-{rand-guid}", "logs/{DateTime:yyyy}/{sys.UtcNow}".
//
// It follows the WebJobs SDK's BindingTemplateParser, BindingTemplateToken,
// BindingTemplateSource and BindingParameterResolver: the same grammar, the
// same error texts, the same greedy captures, the same built-in names and
// .NET formats. %SETTING% references are not handled here: appconfig expands
// them when it reads function.json.
package bindexpr

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Template is a parsed binding expression template.
type Template struct {
	pattern string
	tokens  []token

	once sync.Once // compiles m on the first Match
	m    *matcher
}

// token is a literal run or one {expression}.
type token struct {
	literal string
	expr    *expr
}

// expr is one {expression}: a dotted path into binding data ("name",
// "data.id", "sys.UtcNow"), optionally a built-in, optionally a format.
type expr struct {
	// parts is the expression split at dots. For a built-in, parts[0]
	// keeps any ":format" suffix, as the real host keeps it.
	parts   []string
	format  string
	builtin builtin
}

// builtin is a name the host resolves when binding data lacks it.
type builtin uint8

const (
	noBuiltin builtin = iota
	// randGUID is {rand-guid}, a new GUID (alias of sys.RandGuid).
	randGUID
	// dateTime is {DateTime}, the current UTC time.
	dateTime
)

var builtinNames = [...]string{randGUID: "rand-guid", dateTime: "datetime"}

// ParseError is a template that does not parse. Its text is the real
// host's: "Invalid template 'x/{'. Missing closing bracket at position 3."
type ParseError struct {
	Template string
	// Pos is the 1-based position (in UTF-16 code units, as .NET counts)
	// of the offending brace or parameter; 0 when the error has none.
	Pos int
	// Msg is the sentence after "Invalid template '...'. ".
	Msg string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("Invalid template '%s'. %s", e.Template, e.Msg)
}

// Parse parses a template. Literal text is anything but braces; {{ and }}
// are literal braces; {expr} is an expression: an identifier (a letter or
// _, then letters, digits, _, combining marks, '.' and '-') with an
// optional ":format", where the first dotted part may not contain '-'
// unless the expression is a built-in ({rand-guid}, {DateTime}, each
// matched by prefix and case-insensitively, as the real host does).
func Parse(template string) (*Template, error) {
	if !utf8.ValidString(template) {
		return nil, &ParseError{Template: template, Msg: "The template is not valid UTF-8."}
	}
	t := &Template{pattern: template}
	for i := 0; i < len(template); {
		c := template[i]
		switch {
		case (c == '{' || c == '}') && i+1 < len(template) && template[i+1] == c:
			t.addLiteral(string(c))
			i += 2
		case c == '{':
			end := strings.IndexAny(template[i+1:], "{}")
			if end < 0 || template[i+1+end] != '}' {
				return nil, &ParseError{Template: template, Pos: pos(template, i),
					Msg: fmt.Sprintf("Missing closing bracket at position %d.", pos(template, i))}
			}
			body := template[i+1 : i+1+end]
			if body == "" {
				return nil, &ParseError{Template: template, Pos: pos(template, i),
					Msg: fmt.Sprintf("The parameter name at position %d is empty.", pos(template, i))}
			}
			e, msg := parseExpr(body)
			if msg != "" {
				return nil, &ParseError{Template: template, Pos: pos(template, i), Msg: msg}
			}
			t.tokens = append(t.tokens, token{expr: e})
			i += end + 2
		case c == '}':
			return nil, &ParseError{Template: template, Pos: pos(template, i),
				Msg: fmt.Sprintf("Missing opening bracket at position %d.", pos(template, i))}
		default:
			end := strings.IndexAny(template[i:], "{}")
			if end < 0 {
				end = len(template) - i
			}
			t.addLiteral(template[i : i+end])
			i += end
		}
	}
	return t, nil
}

// pos converts a byte offset to the 1-based UTF-16 position .NET reports.
func pos(s string, byteOff int) int {
	n := 0
	for _, r := range s[:byteOff] {
		n += utf16Len(r)
	}
	return n + 1
}

func utf16Len(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}

func (t *Template) addLiteral(s string) {
	if n := len(t.tokens); n > 0 && t.tokens[n-1].expr == nil {
		t.tokens[n-1].literal += s
		return
	}
	t.tokens = append(t.tokens, token{literal: s})
}

// parseExpr checks one expression as BindingTemplateToken.NewExpression
// does; msg is the error sentence, "" when the expression is valid.
func parseExpr(s string) (e *expr, msg string) {
	e = &expr{builtin: builtinOf(s)}
	name := s
	if e.builtin == noBuiltin {
		if i := strings.IndexByte(s, ':'); i > 0 {
			name, e.format = s[:i], s[i+1:]
		}
	}
	if e.builtin == noBuiltin && !isIdentifier(name) {
		// The real text lacks the closing quote.
		return nil, fmt.Sprintf("Invalid template expression '%s", name)
	}
	e.parts = strings.Split(name, ".")
	if e.builtin == noBuiltin && strings.Contains(e.parts[0], "-") {
		return nil, fmt.Sprintf("The parameter name '%s' is invalid.", e.parts[0])
	}
	for _, p := range e.parts {
		if strings.TrimSpace(p) == "" {
			return nil, fmt.Sprintf("Illegal expression '%s': a dotted part is empty.", s)
		}
	}
	return e, ""
}

// builtinOf returns the built-in an expression names: the real host matches
// built-ins by prefix, case-insensitively, so "{DateTime:yyyy}" and even
// "{datetimeX}" are {DateTime}.
func builtinOf(s string) builtin {
	for b, name := range builtinNames {
		if name != "" && len(s) >= len(name) && strings.EqualFold(s[:len(name)], name) {
			return builtin(b)
		}
	}
	return noBuiltin
}

// isIdentifier reports whether s is a letter or '_' followed by letters,
// decimal digits, connector punctuation, combining marks, format
// characters, '.' and '-': the real host's identifier rule. A character
// outside the Basic Multilingual Plane is two UTF-16 surrogates in .NET,
// which the rule refuses.
func isIdentifier(s string) bool {
	for i, r := range s {
		if r > 0xFFFF {
			return false
		}
		letter := unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Lm, unicode.Lo, unicode.Nl)
		if i == 0 {
			if !letter && r != '_' {
				return false
			}
			continue
		}
		if !letter && r != '.' && r != '-' &&
			!unicode.In(r, unicode.Nd, unicode.Pc, unicode.Mn, unicode.Mc, unicode.Cf) {
			return false
		}
	}
	return s != ""
}

// String returns the template as written.
func (t *Template) String() string { return t.pattern }

// ParameterNames returns the first dotted part of each expression, in
// order, as the real host's ParameterNames does ("data" for {data.id}).
func (t *Template) ParameterNames() []string {
	var names []string
	for _, tk := range t.tokens {
		if tk.expr != nil {
			names = append(names, tk.expr.parts[0])
		}
	}
	return names
}

// HasParameters reports whether the template has any expression.
func (t *Template) HasParameters() bool {
	for _, tk := range t.tokens {
		if tk.expr != nil {
			return true
		}
	}
	return false
}
