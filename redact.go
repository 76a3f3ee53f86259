package funcd

import (
	"errors"
	"net/url"
	"strings"
)

// Redacted is what a key is replaced with in text that goes to logs.
const Redacted = "REDACTED"

// KeyQueryParam is the query parameter that carries a function key.
const KeyQueryParam = "code"

// IsKeyHeader reports whether a request header carries a key or another
// credential that must not reach logs: x-functions-key (the Functions key
// header), Authorization and Proxy-Authorization. Names compare without case.
func IsKeyHeader(name string) bool {
	return strings.EqualFold(name, "x-functions-key") ||
		strings.EqualFold(name, "authorization") ||
		strings.EqualFold(name, "proxy-authorization")
}

// RedactURL returns raw with the value of every code query parameter
// replaced by [Redacted]. The parameter's name compares without case and
// after unescaping, as the real host reads it; the rest of raw is kept as
// it is. A URL without such a parameter is returned unchanged.
func RedactURL(raw string) string {
	q := strings.IndexByte(raw, '?')
	if q < 0 {
		return raw
	}
	end := len(raw)
	if f := strings.IndexByte(raw[q:], '#'); f >= 0 {
		end = q + f
	}
	query := raw[q+1 : end]
	found := false
	for pair := range strings.SplitSeq(query, "&") {
		if name, _, ok := strings.Cut(pair, "="); ok && isKeyParam(name) {
			found = true
			break
		}
	}
	if !found {
		return raw
	}
	var b strings.Builder
	b.Grow(len(raw))
	b.WriteString(raw[:q+1])
	first := true
	for pair := range strings.SplitSeq(query, "&") {
		if !first {
			b.WriteByte('&')
		}
		first = false
		if name, _, ok := strings.Cut(pair, "="); ok && isKeyParam(name) {
			b.WriteString(name)
			b.WriteString("=" + Redacted)
			continue
		}
		b.WriteString(pair)
	}
	b.WriteString(raw[end:])
	return b.String()
}

// isKeyParam reports whether a raw query parameter name is code.
func isKeyParam(name string) bool {
	if strings.EqualFold(name, KeyQueryParam) {
		return true
	}
	if !strings.ContainsAny(name, "%+") {
		return false
	}
	n, err := url.QueryUnescape(name)
	return err == nil && strings.EqualFold(n, KeyQueryParam)
}

// RedactError returns err with the URL of a *url.Error (which its message
// quotes, query and all) passed through [RedactURL]: a copy of the
// *url.Error when err is one, otherwise err itself. The copy wraps the same
// underlying error, so errors.Is and errors.As see through it as before.
func RedactError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) || ue != err {
		return err
	}
	c := *ue
	c.URL = RedactURL(ue.URL)
	return &c
}

// RedactKeys returns s with every key r presented replaced by [Redacted]:
// the values of its code query parameters and of its key headers
// ([IsKeyHeader]). Use it on text that may quote the request, such as a
// handler's reply in an error message, before it is logged.
func (r *HTTPRequest) RedactKeys(s string) string {
	if r == nil {
		return s
	}
	for name, vs := range r.Header {
		if !IsKeyHeader(name) {
			continue
		}
		for _, v := range vs {
			s = replaceSecret(s, v)
		}
	}
	for pair := range strings.SplitSeq(r.RawQuery, "&") {
		name, v, ok := strings.Cut(pair, "=")
		if !ok || !isKeyParam(name) {
			continue
		}
		s = replaceSecret(s, v)
		if u, err := url.QueryUnescape(v); err == nil {
			s = replaceSecret(s, u)
		}
	}
	return s
}

// replaceSecret replaces every occurrence of secret in s; an empty secret
// replaces nothing.
func replaceSecret(s, secret string) string {
	if secret == "" || secret == Redacted {
		return s
	}
	return strings.ReplaceAll(s, secret, Redacted)
}
