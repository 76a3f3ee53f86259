package bindexpr

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// matcher is a template compiled for Match: the real host's capture regex,
// "^" + each literal escaped + "(?<name>.*)" per expression + "$".
type matcher struct {
	re *regexp.Regexp
	// names[i] is the parameter of the regexp's group i+1.
	names []string
	err   error
}

// CheckCapture reports whether the template can be used to match paths
// (a trigger path): each expression must be a plain name, which becomes a
// capture. A dotted expression ({data.id}) is the real host's error
// "Capture expressions can't include dot operators"; a name that cannot
// name a .NET regex group ({rand-guid}, {DateTime:yyyy}) is refused too.
func (t *Template) CheckCapture() error {
	return t.matcher().err
}

func (t *Template) matcher() *matcher {
	t.once.Do(func() { t.m = t.compile() })
	return t.m
}

func (t *Template) compile() *matcher {
	var b strings.Builder
	var names []string
	b.WriteString(`^`)
	for _, tk := range t.tokens {
		if tk.expr == nil {
			b.WriteString(regexp.QuoteMeta(tk.literal))
			continue
		}
		if len(tk.expr.parts) != 1 {
			return &matcher{err: fmt.Errorf("invalid template '%s': Capture expressions can't include dot operators", t.pattern)}
		}
		name := tk.expr.parts[0]
		if !isGroupName(name) {
			return &matcher{err: fmt.Errorf("invalid template '%s': the parameter '%s' cannot be captured from a path", t.pattern, name)}
		}
		names = append(names, name)
		// . does not match a newline, as in .NET.
		b.WriteString(`(.*)`)
	}
	// .NET's $ also matches before a final newline.
	b.WriteString(`\n?$`)
	return &matcher{re: regexp.MustCompile(b.String()), names: names}
}

// isGroupName reports whether s can name a .NET regex group: word
// characters, not starting with a digit.
func isGroupName(s string) bool {
	for i, r := range s {
		word := unicode.In(r, unicode.L, unicode.Mn, unicode.Nd, unicode.Pc)
		if !word || (i == 0 && unicode.IsDigit(r)) {
			return false
		}
	}
	return s != ""
}

// Match matches a path against the template, as the real host's
// BindingTemplateSource does, and returns the captures by parameter name.
// Matching is case-sensitive; each capture is greedy (".*", any characters
// but a newline), so for "{name}.{ext}" on "a.b.c" name is "a.b" and ext
// is "c" (the last dot). A name captured twice keeps its last capture. It
// returns false when the path does not match or the template cannot
// capture (see CheckCapture).
func (t *Template) Match(path string) (map[string]string, bool) {
	m := t.matcher()
	if m.err != nil || !utf8.ValidString(path) {
		return nil, false
	}
	sub := m.re.FindStringSubmatch(path)
	if sub == nil {
		return nil, false
	}
	caps := make(map[string]string, len(m.names))
	for i, name := range m.names {
		caps[name] = sub[i+1]
	}
	return caps, true
}
