package bindexpr

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/binding"
)

var (
	testNow  = time.Date(2024, 5, 6, 7, 8, 9, 123456700, time.UTC)
	testGUID = func() string { return "1b4e28ba-2fa1-41d2-883f-0016d3cca427" }
)

func mustParse(t *testing.T, s string) *Template {
	t.Helper()
	tpl, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return tpl
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"x/{", "Invalid template 'x/{'. Missing closing bracket at position 3."},
		{"x/}", "Invalid template 'x/}'. Missing opening bracket at position 3."},
		{"a{b{c}", "Invalid template 'a{b{c}'. Missing closing bracket at position 2."},
		{"{{a}", "Invalid template '{{a}'. Missing opening bracket at position 4."},
		{"c/{}", "Invalid template 'c/{}'. The parameter name at position 3 is empty."},
		{"c/{1a}", "Invalid template 'c/{1a}'. Invalid template expression '1a"},
		{"c/{a b}", "Invalid template 'c/{a b}'. Invalid template expression 'a b"},
		{"c/{my-name}", "Invalid template 'c/{my-name}'. The parameter name 'my-name' is invalid."},
		{"c/{a..b}", "Invalid template 'c/{a..b}'. Illegal expression 'a..b': a dotted part is empty."},
		{"é/{😀}", "Invalid template 'é/{😀}'. Invalid template expression '😀"},
		{"😀{", "Invalid template '😀{'. Missing closing bracket at position 3."},
	} {
		_, err := Parse(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
		var pe *ParseError
		if err != nil && !errors.As(err, &pe) {
			t.Errorf("Parse(%q): %T is not a *ParseError", tc.in, err)
		}
	}
}

func TestParseAccepts(t *testing.T) {
	for _, in := range []string{
		"", "container", "samples/{name}.{ext}", "out/{name}-{rand-guid}", "{DateTime}",
		"{sys.UtcNow}", "{data.a-b.c}", "{rand-guid:N}", "{DateTime:yyyy/MM}", "{_x}", "{café}",
		"{{literal}}", "{name:}", "{datetimeX}",
	} {
		if _, err := Parse(in); err != nil {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
}

func TestEscapes(t *testing.T) {
	tpl := mustParse(t, "{p1}-p2/{{2014}}/{d3}/{{{n}}}")
	got, err := tpl.Bind(data(t, map[string]any{"p1": "container", "d3": "path/to", "n": "x"}), testNow, testGUID)
	if err != nil || got != "container-p2/{2014}/path/to/{x}" {
		t.Fatalf("Bind = %q, %v", got, err)
	}
	if names := tpl.ParameterNames(); strings.Join(names, ",") != "p1,d3,n" {
		t.Errorf("ParameterNames = %v", names)
	}
	caps, ok := tpl.Match("a-p2/{2014}/b/c/{z}")
	if !ok || caps["p1"] != "a" || caps["d3"] != "b/c" || caps["n"] != "z" {
		t.Errorf("Match = %v, %v", caps, ok)
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          map[string]string // nil: no match
	}{
		{"input/{name}.csv", "input/a.b.csv", map[string]string{"name": "a.b"}},
		{"input/{name}.{ext}", "input/a.b.c", map[string]string{"name": "a.b", "ext": "c"}},
		{"input/foo/{name}.{ext}", "input/foo/skip/bar.txt", map[string]string{"name": "skip/bar", "ext": "txt"}},
		{"input/{name}/{ext}", "input/foo/txt", map[string]string{"name": "foo", "ext": "txt"}},
		{"input/{name}.{ext}-/{other}", "input/foo.bar.txt-/asd-/ijij",
			map[string]string{"name": "foo.bar", "ext": "txt-/asd", "other": "ijij"}},
		{"input/{name}.-/", "input/foo.bar.-/txt", nil},
		{"samples/{name}", "samples/", map[string]string{"name": ""}},
		{"samples/{name}", "Samples/x", nil}, // case-sensitive
		{"samples/{name}", "samples/a\nb", nil},
		{"samples/{name}", "samples/ab\n", map[string]string{"name": "ab"}}, // .NET's $
		{"samples/{name}/{name}", "samples/a/b", map[string]string{"name": "b"}},
		{"samples/x.txt", "samples/x.txt", map[string]string{}},
		{"samples/x.txt", "samples/xatxt", nil},
		{"a+b/{n}", "a+b/1", map[string]string{"n": "1"}},
		{"c/{café}", "c/1", map[string]string{"café": "1"}},
		{"c/{DateTime}", "c/1", map[string]string{"DateTime": "1"}},
		{"c/{n:yyyy}", "c/1", map[string]string{"n": "1"}},
	} {
		tpl := mustParse(t, tc.pattern)
		got, ok := tpl.Match(tc.path)
		if ok != (tc.want != nil) || (ok && !maps.Equal(got, tc.want)) {
			t.Errorf("%q.Match(%q) = %v, %v; want %v", tc.pattern, tc.path, got, ok, tc.want)
		}
	}
}

func TestCheckCapture(t *testing.T) {
	for pattern, want := range map[string]string{
		"c/{a.b}":        "Capture expressions can't include dot operators",
		"c/{rand-guid}":  "the parameter 'rand-guid' cannot be captured",
		"c/{DateTime:y}": "the parameter 'DateTime:y' cannot be captured",
		"c/{name}":       "",
	} {
		err := mustParse(t, pattern).CheckCapture()
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%q.CheckCapture() = %v, want %q", pattern, err, want)
		}
		if want != "" {
			if _, ok := mustParse(t, pattern).Match("c/x"); ok {
				t.Errorf("%q matched though it cannot capture", pattern)
			}
		}
	}
}

func data(t *testing.T, m map[string]any) binding.Data {
	t.Helper()
	d := binding.Data{}
	for k, v := range m {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		d[k] = raw
	}
	return d
}

func TestBind(t *testing.T) {
	d := data(t, map[string]any{
		"name":      "file.1",
		"Count":     4,
		"big":       1e20,
		"half":      1.5,
		"flag":      true,
		"nothing":   nil,
		"obj":       map[string]any{"Prop": "bar", "x-header": "h", "inner": map[string]any{"c": 123}, "null": nil},
		"arr":       []int{1},
		"DateTime":  "mine",
		"sys":       map[string]any{"MethodName": "Fn1"},
		"BlobTrig":  "c/x",
		"withSlash": "a/b",
	})
	for _, tc := range []struct{ in, want string }{
		{"out/{name}", "out/file.1"},
		{"out/{NAME}", "out/file.1"},
		{"{count}-{big}-{half}-{flag}", "4-1E+20-1.5-True"},
		{"a{nothing}b{obj}c{arr}d", "abcd"},
		{"{obj.prop}/{obj.x-header}/{obj.inner.c}/{obj.null}", "bar/h/123/"},
		{"{DateTime}", "mine"}, // binding data before the built-in
		{"{datetime:yyyy}", "2024"},
		{"{rand-guid}", "1b4e28ba-2fa1-41d2-883f-0016d3cca427"},
		{"{rand-guid:N}", "1b4e28ba2fa141d2883f0016d3cca427"},
		{"{rand-guidX}", "1b4e28ba-2fa1-41d2-883f-0016d3cca427"},
		{"{rand-guid:B}", "{1b4e28ba-2fa1-41d2-883f-0016d3cca427}"},
		{"{sys.UtcNow}", "2024-05-06T07-08-09Z"},
		{"{sys.utcnow:yyyyMMdd}", "20240506"},
		{"{sys.RandGuid:P}", "(1b4e28ba-2fa1-41d2-883f-0016d3cca427)"},
		{"{sys.MethodName}", "Fn1"},
		{"{withSlash}", "a/b"},
	} {
		got, err := mustParse(t, tc.in).Bind(d, testNow, testGUID)
		if err != nil || got != tc.want {
			t.Errorf("Bind(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"out/{missing}", "No value for named parameter 'missing'."},
		{"{obj.missing}", "Error while accessing 'missing': property doesn't exist."},
		{"{name.x}", "Error while accessing 'x': property doesn't exist."},
		{"{rand-guid:Q}", `Format string can be only "D"`},
		{"{sys.UtcNow:Q}", "Input string was not in a correct format."},
	} {
		_, err := mustParse(t, tc.in).Bind(d, testNow, testGUID)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Bind(%q) error = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestBindDateTimeDefault(t *testing.T) {
	got, err := mustParse(t, "logs/{DateTime}").Bind(nil, testNow.In(time.FixedZone("x", 3600)), testGUID)
	if err != nil || got != "logs/2024-05-06T07-08-09Z" {
		t.Fatalf("Bind = %q, %v", got, err)
	}
}

func TestBindSysMethodName(t *testing.T) {
	tpl := mustParse(t, "{sys.MethodName}")
	got, err := tpl.BindSys(nil, Sys{Now: testNow, MethodName: "Resize"})
	if err != nil || got != "Resize" {
		t.Fatalf("BindSys = %q, %v", got, err)
	}
	if _, err := tpl.Bind(nil, testNow, testGUID); err == nil ||
		err.Error() != "No value for named parameter 'sys'." {
		t.Fatalf("Bind without a method name: %v", err)
	}
}

func TestNewGUID(t *testing.T) {
	a, b := NewGUID(), NewGUID()
	if a == b || len(a) != 36 || a[14] != '4' {
		t.Fatalf("NewGUID: %q %q", a, b)
	}
	got, err := mustParse(t, "{rand-guid}").Bind(nil, testNow, nil)
	if err != nil || len(got) != 36 {
		t.Fatalf("Bind with the default GUIDs = %q, %v", got, err)
	}
}

func TestFormatDateTime(t *testing.T) {
	for format, want := range map[string]string{
		"":                        "2024-05-06T07-08-09Z",
		"  ":                      "2024-05-06T07-08-09Z",
		"yyyy/MM/dd":              "2024/05/06",
		"yy-M-d H:m:s":            "24-5-6 7:8:9",
		"hh tt t":                 "07 AM A",
		"fff FFFFFFF fffffff":     "123 1234567 1234567",
		"ss.FFF":                  "09.123",
		"ddd dddd MMM MMMM":       "Mon Monday May May",
		"'lit'\"q\"\\y%d":         "litqy6",
		"zzz zz z K":              "+00:00 +00 +0 Z",
		"o":                       "2024-05-06T07:08:09.1234567Z",
		"s":                       "2024-05-06T07:08:09",
		"u":                       "2024-05-06 07:08:09Z",
		"R":                       "Mon, 06 May 2024 07:08:09 GMT",
		"d":                       "05/06/2024",
		"yyyyy gg":                "02024 A.D.",
		"é":                       "é",
		"HH:mm:ss.F":              "07:08:09.1",
		"%%":                      "!",
		"'open":                   "!",
		"ffffffff":                "!",
		"q":                       "!",
		"yyyy'\\'":                "!",
		"\\":                      "!",
		"dd\\":                    "!",
		"%":                       "!",
		"'a\\'b'":                 "a'b",
		"HH 'h' mm 'm' ss.FFFFFF": "07 h 08 m 09.123456",
	} {
		got, err := formatDateTime(testNow, format)
		if want == "!" {
			if err == nil {
				t.Errorf("formatDateTime(%q) = %q, want an error", format, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("formatDateTime(%q) = %q, %v; want %q", format, got, err, want)
		}
	}
	whole := time.Date(2024, 5, 6, 13, 0, 0, 0, time.UTC)
	if got, _ := formatDateTime(whole, "HH:mm:ss.FFF hh"); got != "13:00:00 01" {
		t.Errorf("trailing F on a whole second: %q", got)
	}
}
