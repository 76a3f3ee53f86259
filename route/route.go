package route

import (
	"slices"
	"strings"
)

// Template is a parsed route template. It is immutable: Match may be called
// from many goroutines at once.
type Template struct {
	text     string
	segments []segment
	params   []param
	names    []string
	// minSegments is how many path segments a request needs: every segment
	// after them may be left out (optional, default or catch-all).
	minSegments int
}

// segmentKind says how a template segment matches a path segment.
type segmentKind uint8

const (
	literalSegment  segmentKind = iota // one literal part
	paramSegment                       // one parameter that is not a catch-all
	catchAllSegment                    // one catch-all parameter
	complexSegment                     // several parts
)

type segment struct {
	kind  segmentKind
	parts []part
	// optionalLast is set for a complex segment ending in ".{name?}".
	optionalLast bool
}

// part is a literal or a parameter within a segment.
type part struct {
	literal string // the text to match, when param < 0
	param   int    // index into Template.params, or -1
}

func (p part) isParam() bool { return p.param >= 0 }

type param struct {
	name        string
	optional    bool
	catchAll    bool
	keepSlashes bool // written {**name}: "%2F" stays encoded in the value
	hasDefault  bool
	def         string
	policies    []string // constraint texts as written, e.g. "min(1)"
	constraints []constraint
}

// Parse parses a route template such as "api/products/{category:alpha}/{id:int?}".
// A leading "/" or "~/" is allowed and ignored; a trailing "/" is ignored.
// The empty template matches only the root path. The package documentation
// lists the constraints.
//
// Errors are *Error values with ASP.NET Core's messages. Syntax errors are
// reported before constraint errors, as ASP.NET Core parses the whole
// template before it resolves constraints.
func Parse(template string) (*Template, error) {
	t, err := parse(template)
	if err != nil {
		err.Template = template
		return nil, err
	}
	return t, nil
}

func parse(template string) (*Template, *Error) {
	body, err := trimTemplatePrefix(template)
	if err != nil {
		return nil, err
	}
	p := parser{src: body}
	segments, err := p.parseSegments()
	if err != nil {
		return nil, err
	}
	if err := resolveConstraints(p.params, template); err != nil {
		return nil, err
	}
	t := &Template{
		text:     canonicalText(body),
		segments: segments,
		params:   p.params,
	}
	for _, prm := range p.params {
		t.names = append(t.names, prm.name)
	}
	t.minSegments = requiredSegments(segments, p.params)
	return t, nil
}

// trimTemplatePrefix removes the "~/" or "/" a template may start with.
func trimTemplatePrefix(template string) (string, *Error) {
	switch {
	case strings.HasPrefix(template, "~/"):
		return template[2:], nil
	case strings.HasPrefix(template, "/"):
		return template[1:], nil
	case strings.HasPrefix(template, "~"):
		return "", newError(msgInvalidTilde)
	}
	return template, nil
}

// canonicalText is what String returns for a parsed template body: without
// its trailing "/", and with a "/" put back in front of a leading "~" so
// that the text parses to the same template again.
func canonicalText(body string) string {
	text := strings.TrimSuffix(body, "/")
	if strings.HasPrefix(text, "~") {
		return "/" + text
	}
	return text
}

// requiredSegments returns the number of leading segments a path must
// supply: one past the last segment that cannot be left out.
func requiredSegments(segments []segment, params []param) int {
	for i := len(segments) - 1; i >= 0; i-- {
		if !omittable(segments[i], params) {
			return i + 1
		}
	}
	return 0
}

// omittable reports whether a trailing segment may be missing from a path.
func omittable(s segment, params []param) bool {
	switch s.kind {
	case catchAllSegment:
		return true
	case paramSegment:
		p := params[s.parts[0].param]
		return p.optional || p.hasDefault
	}
	return false
}

// String returns the template as given to Parse without its leading "/" or
// "~/" and trailing "/" ("/" stays in front of a leading "~" literal).
// Parse(t.String()) yields an equivalent template.
func (t *Template) String() string { return t.text }

// Params returns the parameter names in order of appearance, as written
// (without "*", "?", constraints or defaults). The slice is the caller's.
func (t *Template) Params() []string { return slices.Clone(t.names) }

// Match matches an escaped URL path (r.URL.EscapedPath(), e.g.
// "/api/products/a%20b/5"), with or without its leading "/".
//
// On a match it returns the route values: every parameter of the template is
// a key; the value is nil for an optional parameter the path did not supply
// and has no default, and for an empty catch-all without a default.
// Values are percent-decoded as the package documentation describes. The
// map and its strings belong to the caller.
func (t *Template) Match(escapedPath string) (map[string]*string, bool) {
	path := strings.TrimPrefix(escapedPath, "/")
	if !t.fits(path) {
		return nil, false
	}
	// Values stay on the stack until they are known to match, for
	// templates with up to len(buf) parameters.
	var buf [8]value
	var vals []value
	if len(t.params) <= len(buf) {
		vals = buf[:len(t.params)]
	} else {
		vals = make([]value, len(t.params))
	}
	if !t.capture(path, vals) || !t.satisfied(vals) {
		return nil, false
	}
	return t.valueMap(vals), true
}
