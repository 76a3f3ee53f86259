package bindexpr

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/funcd/funcd/binding"
)

var fuzzSeeds = []string{
	"samples/{name}.{ext}", "out/{name}-{rand-guid}", "{DateTime}", "{sys.UtcNow}", "{{x}}/{y}",
	"x/{", "}", "{}", "{a..b}", "{data.id}", "{rand-guid:N}", "{DateTime:yyyy'}", "c/{n}{m}", "é{ü}😀",
	"{a:b:c}", "{%d}", "\xff{a}",
}

// FuzzParse: Parse never panics; a template that parses binds or fails
// cleanly, and one that can capture matches its own binding.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := Parse(s)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("Parse(%q): %T", s, err)
			}
			return
		}
		if tpl.String() != s {
			t.Fatalf("String() = %q, want %q", tpl.String(), s)
		}
		d := binding.Data{}
		for _, n := range tpl.ParameterNames() {
			d[n] = json.RawMessage(`{"a":"x"}`)
		}
		_, _ = tpl.Bind(d, testNow, testGUID)
		_, _ = tpl.Bind(nil, testNow, testGUID)
		_ = tpl.CheckCapture()
	})
}

// FuzzMatch: Match never panics, and for a template without adjacent
// captures, binding the captures gives back the path.
func FuzzMatch(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "samples/a.b.c")
	}
	f.Add("c/{a}/{b}.{c}", "c/x/y/z.w.v")
	f.Add("c/{a}", "c/ab\n")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		tpl, err := Parse(pattern)
		if err != nil {
			return
		}
		caps, ok := tpl.Match(path)
		if !ok {
			return
		}
		if adjacentCaptures(tpl) || duplicateCaptures(tpl) {
			return
		}
		d := binding.Data{}
		for k, v := range caps {
			raw, _ := json.Marshal(v)
			d[k] = raw
		}
		got, err := tpl.Bind(d, testNow, testGUID)
		if err != nil {
			t.Fatalf("Bind(Match(%q)) on %q: %v", path, pattern, err)
		}
		// .NET's $ lets a final newline go unmatched.
		if got != path && got+"\n" != path {
			t.Fatalf("%q: Bind(Match(%q)) = %q", pattern, path, got)
		}
	})
}

func adjacentCaptures(t *Template) bool {
	for i := 1; i < len(t.tokens); i++ {
		if t.tokens[i].expr != nil && t.tokens[i-1].expr != nil {
			return true
		}
	}
	return false
}

// duplicateCaptures: a name captured twice keeps one of its captures, so
// binding cannot reproduce the path. Names compare case-insensitively, as
// binding data is looked up.
func duplicateCaptures(t *Template) bool {
	seen := map[string]bool{}
	for _, n := range t.ParameterNames() {
		k := strings.ToLower(n)
		if seen[k] {
			return true
		}
		seen[k] = true
	}
	return false
}
