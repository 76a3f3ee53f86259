package httpworker

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// queryParam is one query parameter with all its values.
type queryParam struct {
	key    string
	values []string
}

// parseQuery parses a raw query string as ASP.NET Core does: pairs split on
// "&", "+" read as a space, percent escapes decoded (left as they are when
// they do not decode to UTF-8), keys compared without case (the first
// spelling is kept), values of a repeated key collected in order. A pair
// without "=" has an empty value; empty pairs are skipped.
func parseQuery(raw string) []queryParam {
	var params []queryParam
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = unescapeQuery(k), unescapeQuery(v)
		if i := indexParam(params, k); i >= 0 {
			params[i].values = append(params[i].values, v)
			continue
		}
		params = append(params, queryParam{key: k, values: []string{v}})
	}
	return params
}

func indexParam(params []queryParam, key string) int {
	for i, p := range params {
		if strings.EqualFold(p.key, key) {
			return i
		}
	}
	return -1
}

// unescapeQuery is Uri.UnescapeDataString after replacing "+" with " ".
func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	s = strings.ReplaceAll(s, "+", " ")
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	if !utf8.Valid(b) {
		return s
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// appendQuery appends the parameters as QueryHelpers.AddQueryString writes
// them: key=value pairs joined with "&", a repeated key's values joined with
// ",", both escaped as UrlEncoder.Default escapes.
func appendQuery(dst []byte, params []queryParam) []byte {
	for i, p := range params {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = appendURLEncoded(dst, p.key)
		dst = append(dst, '=')
		for j, v := range p.values {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendURLEncoded(dst, v)
		}
	}
	return dst
}

// urlSafe marks the ASCII characters UrlEncoder.Default leaves alone:
// letters, digits and !$()*,-.;@_~.
var urlSafe = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!$()*,-.;@_~" {
		t[c] = true
	}
	return t
}()

const upperHex = "0123456789ABCDEF"

func appendURLEncoded(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf && urlSafe[c] {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xf])
	}
	return dst
}

func base64Append(dst, src []byte) []byte {
	return base64.StdEncoding.AppendEncode(dst, src)
}
