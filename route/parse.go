package route

import "strings"

// parser reads a template body (the template without its leading "/" or
// "~/") the way ASP.NET Core's RoutePatternParser does, reporting the first
// problem it meets in ASP.NET Core's words.
type parser struct {
	src    string
	pos    int
	params []param
}

// parseSegments parses the whole body. A "/" at the very end is ignored.
func (p *parser) parseSegments() ([]segment, *Error) {
	var segments []segment
	for p.pos < len(p.src) {
		if p.src[p.pos] == '/' {
			return nil, newError(msgConsecutiveSeparators)
		}
		s, err := p.parseSegment()
		if err != nil {
			return nil, err
		}
		segments = append(segments, s)
		p.pos++ // past the '/' that ended the segment, if any
	}
	if err := checkCatchAllsLast(segments); err != nil {
		return nil, err
	}
	return segments, nil
}

// parseSegment parses the parts up to the next '/' or the end.
func (p *parser) parseSegment() (segment, *Error) {
	var parts []part
	for p.pos < len(p.src) && p.src[p.pos] != '/' {
		var (
			pt  part
			err *Error
		)
		if p.atParameter() {
			pt, err = p.parseParameter()
		} else {
			pt, err = p.parseLiteral()
		}
		if err != nil {
			return segment{}, err
		}
		parts = append(parts, pt)
	}
	if err := p.checkSegment(parts); err != nil {
		return segment{}, err
	}
	return p.newSegment(parts), nil
}

// atParameter reports whether a parameter starts at the current position:
// a '{' that is not the first of an escaped "{{". A '{' at the very end is
// left to parseLiteral, which reports it.
func (p *parser) atParameter() bool {
	return p.src[p.pos] == '{' && p.pos+1 < len(p.src) && p.src[p.pos+1] != '{'
}

// parseLiteral reads literal text up to a '/', a parameter or the end.
func (p *parser) parseLiteral() (part, *Error) {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '/' {
			break
		}
		if c == '{' || c == '}' {
			if p.pos+1 < len(p.src) && p.src[p.pos+1] == c {
				p.pos += 2 // an escaped brace
				continue
			}
			if c == '{' && p.pos+1 < len(p.src) {
				break // a parameter starts here
			}
			return part{}, newError(msgMismatchedParameter)
		}
		p.pos++
	}
	text := unescapeBraces(p.src[start:p.pos])
	if strings.Contains(text, "?") {
		return part{}, newError(fmtInvalidLiteral, text)
	}
	return part{literal: text, param: -1}, nil
}

// parseParameter reads a parameter, from its '{' to its '}'.
func (p *parser) parseParameter() (part, *Error) {
	start := p.pos
	end, err := p.parameterEnd()
	if err != nil {
		return part{}, err
	}
	p.pos = end
	raw := p.src[start:end]
	if raw == "{}" {
		return part{}, newError(fmtInvalidParameterName, "")
	}
	inner := unescapeBraces(raw[1 : len(raw)-1])
	if strings.HasPrefix(inner, "*") && strings.HasSuffix(inner, "?") {
		return part{}, newError(msgCatchAllCannotBeOptional)
	}
	prm := parseParameterText(inner)
	if prm.optional && prm.hasDefault {
		return part{}, newError(msgOptionalCannotHaveDefault)
	}
	if prm.name == "" || strings.ContainsAny(prm.name, "/{}?*") {
		return part{}, newError(fmtInvalidParameterName, prm.name)
	}
	if p.hasParam(prm.name) {
		return part{}, newError(fmtRepeatedParameter, prm.name)
	}
	p.params = append(p.params, prm)
	return part{param: len(p.params) - 1}, nil
}

// parameterEnd returns the index just past the '}' that closes the parameter
// starting at the current position. Inside a parameter, braces are written
// doubled; a single '}' closes it.
func (p *parser) parameterEnd() (int, *Error) {
	i := p.pos + 1
	for i < len(p.src) {
		switch p.src[i] {
		case '{':
			if i+1 == len(p.src) {
				return 0, newError(msgMismatchedParameter)
			}
			if p.src[i+1] != '{' {
				return 0, newError(msgUnescapedBrace)
			}
			i += 2
		case '}':
			if i+1 < len(p.src) && p.src[i+1] == '}' {
				i += 2
				continue
			}
			return i + 1, nil
		default:
			i++
		}
	}
	return 0, newError(msgMismatchedParameter)
}

// hasParam reports whether a parameter is already named name, ignoring case.
func (p *parser) hasParam(name string) bool {
	for _, prm := range p.params {
		if equalFold(prm.name, name) {
			return true
		}
	}
	return false
}

// checkSegment applies ASP.NET Core's rules for segments of several parts.
func (p *parser) checkSegment(parts []part) *Error {
	if len(parts) < 2 {
		return nil
	}
	for _, pt := range parts {
		if pt.isParam() && p.params[pt.param].catchAll {
			return newError(msgCatchAllInMultiSegment)
		}
	}
	for i, pt := range parts {
		if !pt.isParam() || !p.params[pt.param].optional {
			continue
		}
		name := p.params[pt.param].name
		if i < len(parts)-1 {
			return newError(fmtOptionalNotLast, p.describeParts(parts), name, p.describeParts(parts[i+1:i+2]))
		}
		if prev := parts[i-1]; prev.isParam() || prev.literal != "." {
			return newError(fmtOptionalPrecededBy, p.describeParts(parts), name, p.describeParts(parts[i-1:i]))
		}
	}
	for i := 1; i < len(parts); i++ {
		if parts[i].isParam() && parts[i-1].isParam() {
			return newError(msgConsecutiveParameters)
		}
	}
	return nil
}

// checkCatchAllsLast reports a catch-all anywhere but in the last segment.
// (Within a segment, a catch-all can only be alone: checkSegment saw to it.)
func checkCatchAllsLast(segments []segment) *Error {
	for _, s := range segments[:max(len(segments)-1, 0)] {
		if s.kind == catchAllSegment {
			return newError(msgCatchAllMustBeLast)
		}
	}
	return nil
}

func (p *parser) newSegment(parts []part) segment {
	s := segment{parts: parts, kind: complexSegment}
	switch {
	case len(parts) > 1:
		last := parts[len(parts)-1]
		s.optionalLast = last.isParam() && p.params[last.param].optional
	case !parts[0].isParam():
		s.kind = literalSegment
	case p.params[parts[0].param].catchAll:
		s.kind = catchAllSegment
	default:
		s.kind = paramSegment
	}
	return s
}

// describeParts writes parts the way ASP.NET Core's error messages show them.
func (p *parser) describeParts(parts []part) string {
	var b strings.Builder
	for _, pt := range parts {
		if pt.isParam() {
			b.WriteString(p.params[pt.param].describe())
		} else {
			b.WriteString(pt.literal)
		}
	}
	return b.String()
}

// describe writes a parameter the way ASP.NET Core's error messages show it.
func (prm *param) describe() string {
	var b strings.Builder
	b.WriteByte('{')
	if prm.catchAll {
		b.WriteByte('*')
		if prm.keepSlashes {
			b.WriteByte('*')
		}
	}
	b.WriteString(prm.name)
	for _, c := range prm.policies {
		b.WriteString(":" + c)
	}
	if prm.hasDefault {
		b.WriteString("=" + prm.def)
	}
	if prm.optional {
		b.WriteByte('?')
	}
	b.WriteByte('}')
	return b.String()
}

// unescapeBraces turns the doubled braces of template text into single ones.
func unescapeBraces(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "}}", "}"), "{{", "{")
}
