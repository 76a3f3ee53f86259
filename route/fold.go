package route

import (
	"unicode"
	"unicode/utf8"
)

// These helpers compare text the way .NET's StringComparison.OrdinalIgnoreCase
// does: character by character, after mapping each to its simple uppercase.
// Unlike strings.EqualFold they do not fold, say, the Kelvin sign into "k".

func upper(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - ('a' - 'A')
		}
		return r
	}
	return unicode.ToUpper(r)
}

// prefixFold reports whether s starts with prefix, ignoring case, and
// returns the length in bytes of the part of s that matched.
func prefixFold(s, prefix string) (int, bool) {
	i := 0
	for _, want := range prefix {
		if i == len(s) {
			return 0, false
		}
		got, size := utf8.DecodeRuneInString(s[i:])
		if got != want && upper(got) != upper(want) {
			return 0, false
		}
		i += size
	}
	return i, true
}

// equalFold reports whether a and b are equal, ignoring case.
func equalFold(a, b string) bool {
	n, ok := prefixFold(a, b)
	return ok && n == len(a)
}

// lastIndexFold finds the last occurrence of sub in s, ignoring case, that
// ends at or before limit. It returns the occurrence's start and end, or
// -1, -1.
func lastIndexFold(s, sub string, limit int) (start, end int) {
	for start = limit - 1; start >= 0; start-- {
		if !utf8.RuneStart(s[start]) {
			continue
		}
		if n, ok := prefixFold(s[start:], sub); ok && start+n <= limit {
			return start, start + n
		}
	}
	return -1, -1
}
