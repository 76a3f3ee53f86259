package route

import "strings"

// Matching follows ASP.NET Core's RoutePatternMatcher: a first pass checks
// the path's shape and literal segments without allocating (most routes a
// request is tried against fail here), a second pass captures values, then
// defaults are filled in and constraints checked.

// value is a route value being captured; ok is false while it has none.
type value struct {
	s  string
	ok bool
}

// nextSegment splits the first segment off an escaped path that has no
// leading "/". A trailing "/" does not yield an empty segment of its own.
func nextSegment(rest string) (seg, after string, ok bool) {
	if rest == "" {
		return "", "", false
	}
	seg, after, _ = strings.Cut(rest, "/")
	return seg, after, true
}

// fits reports whether path has the template's shape: no empty segments,
// not too many or too few, and literal segments equal.
func (t *Template) fits(path string) bool {
	i := 0
	for rest := path; ; i++ {
		seg, after, ok := nextSegment(rest)
		if !ok {
			break
		}
		if seg == "" || i == len(t.segments) {
			return false
		}
		s := &t.segments[i]
		if s.kind == catchAllSegment {
			return true // it takes the rest, whatever it is
		}
		if s.kind == literalSegment && !equalFold(unescape(seg, false), s.parts[0].literal) {
			return false
		}
		rest = after
	}
	return i >= t.minSegments
}

// capture stores the values of a path that fits in vals, one per parameter:
// the parameters of the segments it supplies, then defaults. It fails only
// on a complex segment.
func (t *Template) capture(path string, vals []value) bool {
	rest := path
	for i := range t.segments {
		s := &t.segments[i]
		if s.kind == catchAllSegment {
			t.captureCatchAll(s, rest, vals)
			break
		}
		seg, after, ok := nextSegment(rest)
		if !ok {
			break // the remaining segments may be left out: fits said so
		}
		rest = after
		switch s.kind {
		case paramSegment:
			vals[s.parts[0].param] = value{s: unescape(seg, false), ok: true}
		case complexSegment:
			if !matchComplex(s, unescape(seg, false), vals) {
				return false
			}
		}
	}
	t.applyDefaults(vals)
	return true
}

// captureCatchAll gives a catch-all the rest of the path, trailing "/"
// included. An empty rest leaves it without a value.
func (t *Template) captureCatchAll(s *segment, rest string, vals []value) {
	if rest == "" {
		return
	}
	i := s.parts[0].param
	vals[i] = value{s: unescape(rest, t.params[i].keepSlashes), ok: true}
}

func (t *Template) applyDefaults(vals []value) {
	for i := range t.params {
		if !vals[i].ok && t.params[i].hasDefault {
			vals[i] = value{s: t.params[i].def, ok: true}
		}
	}
}

// satisfied reports whether the values pass every constraint. An optional
// parameter without a value passes.
func (t *Template) satisfied(vals []value) bool {
	for i := range t.params {
		p := &t.params[i]
		if !vals[i].ok && p.optional {
			continue
		}
		for _, c := range p.constraints {
			if !c.satisfiedBy(vals[i].s, vals[i].ok) {
				return false
			}
		}
	}
	return true
}

// valueMap copies the values into the map Match returns.
func (t *Template) valueMap(vals []value) map[string]*string {
	m := make(map[string]*string, len(t.params))
	strs := make([]string, len(vals))
	for i := range t.params {
		var v *string
		if vals[i].ok {
			strs[i] = vals[i].s
			v = &strs[i]
		}
		m[t.params[i].name] = v
	}
	return m
}

// matchComplex matches a decoded path segment against a complex segment,
// storing its parameters' values in vals. A segment ending in ".{x?}" is
// tried with x first, then without x and its ".".
func matchComplex(s *segment, text string, vals []value) bool {
	if matchParts(s.parts, text, vals) {
		return true
	}
	if !s.optionalLast {
		return false
	}
	clearParams(s.parts, vals)
	// The separator is always ".": the parser accepts nothing else there.
	if strings.HasSuffix(text, ".") {
		return false
	}
	return matchParts(s.parts[:len(s.parts)-2], text, vals)
}

// matchParts matches text against parts right to left: each literal is its
// last occurrence that leaves at least one character for the parameter to
// its right, and a parameter takes the text between its neighbours. A
// literal that is the last part must end the text.
func matchParts(parts []part, text string, vals []value) bool {
	end := len(text) // text[end:] is matched
	pending := -1    // a parameter waiting for the literal to its left
	for i := len(parts) - 1; i >= 0; i-- {
		pt := parts[i]
		if pt.isParam() {
			pending = pt.param
			continue
		}
		limit := end
		if pending >= 0 {
			limit--
		}
		if limit <= 0 {
			return false
		}
		start, stop := lastIndexFold(text, pt.literal, limit)
		if start < 0 || i == len(parts)-1 && stop != len(text) {
			return false
		}
		if pending >= 0 {
			vals[pending] = value{s: text[stop:end], ok: true}
			pending = -1
		}
		end = start
	}
	if pending < 0 {
		return end == 0 // the first part is a literal: it must start the text
	}
	if end == 0 {
		return false
	}
	vals[pending] = value{s: text[:end], ok: true}
	return true
}

// clearParams forgets values a failed attempt stored for parts' parameters.
func clearParams(parts []part, vals []value) {
	for _, pt := range parts {
		if pt.isParam() {
			vals[pt.param] = value{}
		}
	}
}

// unescape percent-decodes an escaped path or segment. With keepSlash,
// "%2F" and "%2f" stay as written. A '%' that does not start a valid escape
// stays as written.
func unescape(s string, keepSlash bool) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if c, ok := escapedByte(s, i); ok && !(keepSlash && c == '/') {
			b.WriteByte(c)
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// escapedByte decodes the escape "%XY" at s[i], if there is one.
func escapedByte(s string, i int) (byte, bool) {
	if s[i] != '%' || i+2 >= len(s) {
		return 0, false
	}
	hi, ok1 := unhex(s[i+1])
	lo, ok2 := unhex(s[i+2])
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
