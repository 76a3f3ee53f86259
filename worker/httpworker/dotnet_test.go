package httpworker

import (
	"math"
	"testing"
)

func TestDotnetDouble(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{1.5, "1.5"},
		{2, "2"},
		{0.0001, "0.0001"},
		{0.00001, "1E-05"},
		{1e14, "100000000000000"},
		{1e15, "1E+15"},
		{123456789012345680000, "1.2345678901234568E+20"},
		{1e300, "1E+300"},
		{-2.5e-7, "-2.5E-07"},
		{math.Copysign(0, -1), "-0"},
		{math.Inf(1), "Infinity"},
	}
	for _, tt := range tests {
		if got := dotnetDouble(tt.f); got != tt.want {
			t.Errorf("dotnetDouble(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestAppendNumber(t *testing.T) {
	for lit, want := range map[string]string{"1": "1", "-0": "0", "1.0": "1.0", "1.50": "1.5", "1e3": "1000.0", "1e20": "1E+20",
		"123456789012345678901234567890": "123456789012345678901234567890"} {
		if got := string(appendNumber(nil, lit)); got != want {
			t.Errorf("appendNumber(%s) = %s, want %s", lit, got, want)
		}
	}
}

func TestAppendString(t *testing.T) {
	got := string(appendString(nil, "a\"b\\c\n\t\x01\x7f<>&é\u2028\u0085\xff/"))
	want := `"a\"b\\c\n\t\u0001` + "\x7f" + `<>&é\u2028\u0085` + "\ufffd" + `/"`
	if got != want {
		t.Errorf("appendString = %s, want %s", got, want)
	}
}

func TestIndentedJSON(t *testing.T) {
	v, err := parseJSON([]byte(`{"a":[],"b":{},"c":[1,{"d":"x"}],"a":true}`))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": true,\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"d\": \"x\"\n    }\n  ]\n}"
	if got := string(appendJSON(nil, v, true, 0)); got != want {
		t.Errorf("indented =\n%s\nwant\n%s", got, want)
	}
	if got := string(appendJSON(nil, v, false, 0)); got != `{"a":true,"b":{},"c":[1,{"d":"x"}]}` {
		t.Errorf("compact = %s", got)
	}
	for _, bad := range []string{``, `{`, `{} {}`, `[1,]`, `nul`} {
		if _, err := parseJSON([]byte(bad)); err == nil {
			t.Errorf("parseJSON(%q) succeeded", bad)
		}
	}
}

func TestWithUTF8Charset(t *testing.T) {
	tests := map[string]string{
		"text/plain":                           "text/plain; charset=utf-8",
		"application/json":                     "application/json; charset=utf-8",
		"text/html; charset=UTF-8":             "text/html; charset=UTF-8",
		"text/html; charset=iso-8859-1":        "text/html; charset=utf-8",
		"text/html;charset=latin1; q=1":        "text/html;charset=utf-8; q=1",
		`text/html; a=b; charset="iso-8859-1"`: `text/html; a=b; charset=utf-8`,
		"weird":                                "weird; charset=utf-8",
	}
	for in, want := range tests {
		if got := withUTF8Charset(in); got != want {
			t.Errorf("withUTF8Charset(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDotnetInt32(t *testing.T) {
	for s, want := range map[string]int{" 201 ": 201, "+5": 5, "-3": -3} {
		if got, ok := parseDotnetInt32(s); !ok || got != want {
			t.Errorf("parseDotnetInt32(%q) = %d, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "2.0", "1e2", "99999999999", "0x10", "+-1"} {
		if _, ok := parseDotnetInt32(s); ok {
			t.Errorf("parseDotnetInt32(%q) succeeded", s)
		}
	}
}

func TestDotnetBase64(t *testing.T) {
	if b, ok := dotnetBase64("ab cd\n"); !ok || string(b) != "i\xb7\x1d" {
		t.Errorf("dotnetBase64 = %q, %v", b, ok)
	}
	for _, s := range []string{"abc", "hello world", "a,bc"} {
		if _, ok := dotnetBase64(s); ok {
			t.Errorf("dotnetBase64(%q) succeeded", s)
		}
	}
}
