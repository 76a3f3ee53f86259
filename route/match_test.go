package route

import (
	"maps"
	"net/url"
	"testing"
)

// vals builds a want map from name/value pairs; a nil value stands for a
// parameter without a value.
func vals(pairs ...any) map[string]*string {
	m := map[string]*string{}
	for i := 0; i < len(pairs); i += 2 {
		var v *string
		if s, ok := pairs[i+1].(string); ok {
			v = &s
		}
		m[pairs[i].(string)] = v
	}
	return m
}

func show(m map[string]*string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if v == nil {
			out[k] = "<nil>"
		} else {
			out[k] = *v
		}
	}
	return out
}

type matchTest struct {
	path string
	want map[string]*string // nil: no match
}

func TestMatch(t *testing.T) {
	tests := []struct {
		template string
		cases    []matchTest
	}{
		{"api/products/{category:alpha}/{id:int?}", []matchTest{
			{"/api/products/shoes/42", vals("category", "shoes", "id", "42")},
			{"/api/products/shoes", vals("category", "shoes", "id", nil)},
			{"/api/products/shoes/", vals("category", "shoes", "id", nil)},
			{"/API/Products/Shoes/42", vals("category", "Shoes", "id", "42")},
			{"api/products/shoes/42", vals("category", "shoes", "id", "42")},
			{"/%61pi/products/shoes", vals("category", "shoes", "id", nil)},
			{"/api/products/shoes/x", nil},
			{"/api/products/sh0es", nil},
			{"/api/products", nil},
			{"/api/products/shoes/42/more", nil},
			{"/api//products/shoes", nil},
			{"/api/products/shoes//", nil},
			{"/apis/products/shoes", nil},
		}},
		{"", []matchTest{
			{"/", vals()},
			{"", vals()},
			{"/x", nil},
			{"//", nil},
		}},
		{"items/{page=1}/{size:int=20}", []matchTest{
			{"/items", vals("page", "1", "size", "20")},
			{"/items/3", vals("page", "3", "size", "20")},
			{"/items/3/50", vals("page", "3", "size", "50")},
			{"/items/3/x", nil},
			{"/items/3/50/1", nil},
		}},
		// Defaults must satisfy the constraints too.
		{"{id:int=abc}", []matchTest{
			{"/", nil},
			{"/5", vals("id", "5")},
		}},
		{"{id=}", []matchTest{
			{"/", vals("id", "")},
		}},
		{"{a=x:y}", []matchTest{
			{"/", vals("a", "x:y")},
		}},
		// An optional parameter before a required segment cannot be left out.
		{"{a?}/b", []matchTest{
			{"/x/b", vals("a", "x")},
			{"/b", nil},
		}},
		{"{a?}/{b?}", []matchTest{
			{"/", vals("a", nil, "b", nil)},
			{"/1", vals("a", "1", "b", nil)},
			{"/1/2", vals("a", "1", "b", "2")},
		}},
		{"files/{*path}", []matchTest{
			{"/files", vals("path", nil)},
			{"/files/", vals("path", nil)},
			{"/files/a", vals("path", "a")},
			{"/Files/a/b/c", vals("path", "a/b/c")},
			{"/files/a/b/", vals("path", "a/b/")},
			{"/files/a//b", vals("path", "a//b")},
			{"/files/a%20b/c%2Fd", vals("path", "a b/c/d")},
			{"/files//a", nil},
			{"/file/a", nil},
		}},
		{"files/{**path}", []matchTest{
			{"/files/a%2Fb%2fc/d%20e", vals("path", "a%2Fb%2fc/d e")},
			{"/files", vals("path", nil)},
		}},
		{"{*all}", []matchTest{
			{"/", vals("all", nil)},
			{"/anything/at/all", vals("all", "anything/at/all")},
		}},
		{"files/{*path=index.html}", []matchTest{
			{"/files", vals("path", "index.html")},
			{"/files/a.txt", vals("path", "a.txt")},
		}},
		// A missing catch-all value fails constraints, except nonfile.
		{"files/{*path:int}", []matchTest{
			{"/files", nil},
			{"/files/5", vals("path", "5")},
		}},
		{"files/{*path:nonfile}", []matchTest{
			{"/files", vals("path", nil)},
			{"/files/dir/", vals("path", "dir/")},
			{"/files/dir/a.txt", nil},
		}},
		{"img/{name}.{ext}", []matchTest{
			{"/img/cat.png", vals("name", "cat", "ext", "png")},
			{"/img/cat.tar.gz", vals("name", "cat.tar", "ext", "gz")},
			{"/img/cat", nil},
			{"/img/.png", nil},
			{"/img/cat.", nil},
			{"/img", nil},
		}},
		{"{a}-{b}", []matchTest{
			{"/x-y-z", vals("a", "x-y", "b", "z")},
			{"/x-", nil},
			{"/-y", nil},
		}},
		{"v{major}.{minor}", []matchTest{
			{"/v1.2", vals("major", "1", "minor", "2")},
			{"/V1.2", vals("major", "1", "minor", "2")},
			{"/x1.2", nil},
			{"/v.2", nil},
		}},
		{"{a}bc", []matchTest{
			{"/abcbc", vals("a", "abc")},
			{"/bc", nil},
			{"/abcx", nil},
		}},
		{"pre{a}", []matchTest{
			{"/prefix", vals("a", "fix")},
			{"/PREfix", vals("a", "fix")},
			{"/pre", nil},
			{"/xprefix", nil},
		}},
		{"files/{name}.{ext?}", []matchTest{
			{"/files/a.b.c", vals("name", "a.b", "ext", "c")},
			{"/files/abc", vals("name", "abc", "ext", nil)},
			{"/files/.htaccess", vals("name", ".htaccess", "ext", nil)},
			{"/files/abc.", nil},
			{"/files", nil},
		}},
		// The retry without the optional parameter starts afresh: "b" keeps
		// no value from the failed first attempt.
		{"{a}-{c}.{b?}", []matchTest{
			{"/pq.r-x", vals("a", "pq.r", "c", "x", "b", nil)},
			{"/p-q.r", vals("a", "p", "c", "q", "b", "r")},
		}},
		// ASP.NET Core throws on this request; funcd does not match.
		{"{a}-{b}.{c}", []matchTest{
			{"/.x", nil},
			{"/a-b.c", vals("a", "a", "b", "b", "c", "c")},
		}},
		{"{n:int}.{ext:alpha}", []matchTest{
			{"/5.json", vals("n", "5", "ext", "json")},
			{"/x.json", nil},
			{"/5.js0n", nil},
		}},
		{"api/{name}", []matchTest{
			{"/api/a%20b", vals("name", "a b")},
			{"/api/a%2Fb", vals("name", "a/b")},
			{"/api/%zz", vals("name", "%zz")},
			{"/api/50%", vals("name", "50%")},
			{"/api/%4", vals("name", "%4")},
			{"/api/%C3%A9t%C3%A9", vals("name", "été")},
			{"/api/a+b", vals("name", "a+b")},
			{"/api/%2F", vals("name", "/")},
		}},
		{"{a}.{b}", []matchTest{
			{"/x%2Ey", vals("a", "x", "b", "y")},
		}},
		{"a{{b}}c/{x}", []matchTest{
			{"/a{b}c/1", vals("x", "1")},
			{"/a%7Bb%7Dc/1", vals("x", "1")},
			{"/a{{b}}c/1", nil},
		}},
		// Literals compare by simple uppercase mapping, as .NET's
		// OrdinalIgnoreCase does: the Kelvin sign is not a "k".
		{"café/{x}", []matchTest{
			{"/CAF%C3%89/1", vals("x", "1")},
			{"/cafe/1", nil},
		}},
		{"k/{x}", []matchTest{
			{"/K/1", vals("x", "1")},
			{"/%E2%84%AA/1", nil},
		}},
		{"{n:int:min(1):max(10)}", []matchTest{
			{"/1", vals("n", "1")},
			{"/10", vals("n", "10")},
			{"/0", nil},
			{"/11", nil},
		}},
		{"{x:regex(^a{{2}}$)}", []matchTest{
			{"/aa", vals("x", "aa")},
			{"/AA", vals("x", "AA")},
			{"/aaa", nil},
		}},
		{"{a:regex(x:y)}", []matchTest{
			{"/x:y", vals("a", "x:y")},
			{"/x-y", nil},
		}},
		{"{:x}", []matchTest{
			{"/v", vals(":x", "v")},
		}},
	}
	for _, tt := range tests {
		tmpl := mustParse(t, tt.template)
		for _, c := range tt.cases {
			got, ok := tmpl.Match(c.path)
			if ok != (c.want != nil) || ok && !maps.EqualFunc(got, c.want, equalValue) {
				t.Errorf("Parse(%q).Match(%q) = %v, %v; want %v, %v",
					tt.template, c.path, show(got), ok, show(c.want), c.want != nil)
			}
		}
	}
}

func equalValue(a, b *string) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

func TestMatchValuesAreTheCallers(t *testing.T) {
	tmpl := mustParse(t, "{a=x}")
	first, _ := tmpl.Match("/")
	*first["a"] = "changed"
	second, _ := tmpl.Match("/")
	if *second["a"] != "x" {
		t.Errorf("default changed to %q by a caller", *second["a"])
	}
}

// TestConstraints checks each constraint through a one-parameter template
// "{x:<constraint>}" against a path segment holding the value.
func TestConstraints(t *testing.T) {
	tests := []struct {
		constraint string
		accept     []string
		reject     []string
	}{
		{"int",
			[]string{"0", "-1", "+7", "007", "2147483647", "-2147483648", " 5 ", "5\x00"},
			[]string{"2147483648", "-2147483649", "1.0", "1,000", "abc", "0x10", "1e3", "- 5", "٣", "+-1"}},
		{"long",
			[]string{"9223372036854775807", "-9223372036854775808", "2147483648"},
			[]string{"9223372036854775808", "-9223372036854775809", "1.5"}},
		{"bool",
			[]string{"true", "FALSE", "True", " true ", "false\x00"},
			[]string{"yes", "1", "t", "truee"}},
		{"guid",
			[]string{
				"d3b07384-d9a0-4c9e-8f7e-5c1b2a3d4e5f",
				"D3B07384-D9A0-4C9E-8F7E-5C1B2A3D4E5F",
				"d3b07384d9a04c9e8f7e5c1b2a3d4e5f",
				"{d3b07384-d9a0-4c9e-8f7e-5c1b2a3d4e5f}",
				"(d3b07384-d9a0-4c9e-8f7e-5c1b2a3d4e5f)",
				" d3b07384-d9a0-4c9e-8f7e-5c1b2a3d4e5f ",
				"{0xd3b07384,0xd9a0,0x4c9e,{0x8f,0x7e,0x5c,0x1b,0x2a,0x3d,0x4e,0x5f}}",
				"{0x1, 0x2, 0x3, {0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}",
			},
			[]string{
				"d3b07384-d9a0-4c9e-8f7e-5c1b2a3d4e5",
				"g3b07384-d9a0-4c9e-8f7e-5c1b2a3d4e5f",
				"d3b07384d9a0-4c9e-8f7e-5c1b2a3d4e5f0",
				"{d3b07384-d9a0-4c9e-8f7e-5c1b2a3d4e5f)",
				"d3b07384d9a04c9e8f7e5c1b2a3d4e5",
				"{0x123456789,0x2,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}",
				"{0x1,0x2,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa}}",
			}},
		{"alpha",
			[]string{"abc", "ABCxyz", "abc\n"},
			[]string{"abc1", "é", "a-b", "a b", "\nabc"}},
		{"datetime",
			[]string{
				"2024-01-31", "2024-02-29", "2000-02-29", "2024/1/5", "2024.01.31", "01/31/2024", "1/5/2024",
				"2024-01-31T10:30", "2024-01-31T10:30:00", "2024-01-31T10:30:00Z", "2024-01-31 10:30:00",
				"2024-01-31T10:30:00.1234567+02:00", "2024-01-31T10:30:00-0530", "2024-01-31T10:30+02",
				"10:30", "23:59:59", " 2024-01-31 ",
			},
			[]string{
				"2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-01-32", "2024-04-31", "0000-01-01",
				"yesterday", "2024-01-31T25:00", "2024-01-31T", "20240131", "2024-01/31", "24:00",
				"2024-01-31T10:60", "2024-01-31T10:30:00.", "2024-01-31T10:30:00+15:00", "2024-01-31T10:30Zx",
			}},
		{"decimal",
			[]string{
				"1", "-1.5", "1,000.25", "5-", "5 -", ".5", "5.", " 12 ", "+3",
				"79228162514264337593543950335", "-79228162514264337593543950335", "00079228162514264337593543950335",
				"0.00000000000000000000000000000001",
			},
			[]string{"79228162514264337593543950336", "1e5", "1.2.3", "--1", "-5-", ",5", "abc", ".", "1.000,5", "NaN"}},
		{"double",
			[]string{"1e5", "1.5E-3", "-0.5", "1,000.5", "NaN", "-Infinity", "infinity", "+NaN", "1e400", "5.", ".5e1", " 2 "},
			[]string{"1e", "e5", "5-", "0x1p3", "abc", "1.5.", "Infinityx", "--1"}},
		{"float",
			[]string{"3.5", "3.5e38", "1e39", "-nan"},
			[]string{"3,5e", "one"}},
		{"min(10)",
			[]string{"10", "11", "9999999999"},
			[]string{"9", "-10", "abc", "10.5"}},
		{"min(-5)",
			[]string{"-5", "0"},
			[]string{"-6"}},
		{"max(10)",
			[]string{"10", "-5"},
			[]string{"11", "x"}},
		{"range(1, 5)",
			[]string{"1", "3", "5"},
			[]string{"0", "6", "x"}},
		{"length(3)",
			[]string{"abc", "é€x", "𝄞a"},
			[]string{"ab", "abcd", "𝄞ab"}},
		{"length(2,4)",
			[]string{"ab", "abcd"},
			[]string{"a", "abcde"}},
		{"minlength(2)",
			[]string{"ab", "abc"},
			[]string{"a"}},
		{"maxlength(2)",
			[]string{"a", "ab"},
			[]string{"abc"}},
		{"regex(^\\d{{3}}$)",
			[]string{"123"},
			[]string{"1234", "abc", "12"}},
		{"regex(abc)",
			[]string{"abc", "xxABCxx"},
			[]string{"ab", "a-b-c"}},
		{"regex(a,b)",
			[]string{"a,b"},
			[]string{"ab"}},
		{"required",
			[]string{"x", " "},
			nil},
		{"file",
			[]string{"a.txt", ".gitignore", "a.b.c", "dir/a.txt"},
			[]string{"abc", "a.", "a..", "dir.d/x", "dir/"}},
		{"nonfile",
			[]string{"abc", "a.", "dir.d/x"},
			[]string{"a.txt", ".gitignore"}},
	}
	for _, tt := range tests {
		template := "{x:" + tt.constraint + "}"
		tmpl := mustParse(t, template)
		for _, v := range tt.accept {
			if got, ok := tmpl.Match("/" + url.PathEscape(v)); !ok || *got["x"] != v {
				t.Errorf("%s rejects %q", template, v)
			}
		}
		for _, v := range tt.reject {
			if _, ok := tmpl.Match("/" + url.PathEscape(v)); ok {
				t.Errorf("%s accepts %q", template, v)
			}
		}
	}
}

// TestEmptyValues covers values no path segment can carry: the empty string.
func TestEmptyValues(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) bool
		want bool
	}{
		{"alpha", isAlpha, true},
		{"required", isNonEmpty, false},
		{"file", isFileName, false},
		{"nonfile", isNotFileName, true},
		{"int", isInt32, false},
		{"decimal", isDecimal, false},
		{"double", isFloat, false},
		{"guid", isGUID, false},
		{"bool", isBool, false},
		{"datetime", isDateTime, false},
	}
	for _, tt := range tests {
		if got := tt.fn(""); got != tt.want {
			t.Errorf("%s(\"\") = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct {
		in        string
		keepSlash bool
		want      string
	}{
		{"plain", false, "plain"},
		{"a%20b", false, "a b"},
		{"a%2Fb%2fc", false, "a/b/c"},
		{"a%2Fb%2fc%20d", true, "a%2Fb%2fc d"},
		{"%", false, "%"},
		{"%4", false, "%4"},
		{"%4g%41", false, "%4gA"},
		{"%%41", false, "%A"},
		{"%ff", false, "\xff"},
	}
	for _, tt := range tests {
		if got := unescape(tt.in, tt.keepSlash); got != tt.want {
			t.Errorf("unescape(%q, %v) = %q, want %q", tt.in, tt.keepSlash, got, tt.want)
		}
	}
}
