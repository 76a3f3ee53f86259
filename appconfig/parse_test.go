package appconfig

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseJSONPositions(t *testing.T) {
	src := "// comment\n{\r\n  'a': [1, true,],\n  b: \"é\\u00e9\\ud83d\\ude00\", \"c\": null,\n}"
	root, err := parseJSON([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if root.pos != (pos{2, 1}) {
		t.Errorf("root at %v", root.pos)
	}
	a := root.get("a")
	if a == nil || a.keyPos != (pos{3, 3}) || a.value.pos != (pos{3, 8}) || len(a.value.items) != 2 {
		t.Fatalf("a = %+v", a)
	}
	if got := a.value.items[1].pos; got != (pos{3, 12}) {
		t.Errorf("a[1] at %v", got)
	}
	b := root.get("b")
	if b == nil || b.value.text != "éé😀" || b.value.pos != (pos{4, 6}) {
		t.Errorf("b = %+v", b)
	}
	// Columns count characters, not bytes: "c" comes after a string with
	// multi-byte characters.
	if c := root.get("c"); c == nil || c.keyPos != (pos{4, 29}) || c.value.kind != kindNull {
		t.Errorf("c = %+v", c)
	}
}

func TestParseJSONErrors(t *testing.T) {
	tests := []struct {
		src  string
		at   pos
		want string
	}{
		{"", pos{1, 1}, "Unexpected end when reading JSON."},
		{"{", pos{1, 2}, "Unexpected end when reading JSON."},
		{"{\"a\" 1}", pos{1, 6}, "Invalid character after parsing property name. Expected ':' but got: 1."},
		{"{\"a\": 1 \"b\": 2}", pos{1, 9}, "After parsing a value an unexpected character was encountered: \"."},
		{"{\"a\": }", pos{1, 7}, "Unexpected character encountered while parsing value: }."},
		{"{} x", pos{1, 4}, "Additional text encountered after finished reading JSON content: x."},
		{"{\"a\": \"x}", pos{1, 10}, "Unterminated string. Expected delimiter: \"."},
		{"{\"a\": \"\\q\"}", pos{1, 8}, "Bad JSON escape sequence: \\q."},
		{"{\"a\": 01}", pos{1, 7}, "Input string '01' is not a valid number."},
		{"{\"a\": tru}", pos{1, 7}, "Unexpected character encountered while parsing value: t."},
		{"{/x}", pos{1, 3}, "Error parsing comment. Expected: *, got x."},
		{"{/* open", pos{1, 9}, "Unexpected end while parsing comment."},
		{"{-: 1}", pos{1, 2}, "Invalid property identifier character: -."},
		{"{\"a\": [1,,2]}", pos{1, 10}, "Unexpected character encountered while parsing value: ,."},
		{strings.Repeat("[", 65), pos{1, 65}, "The reader's MaxDepth of 64 has been exceeded."},
	}
	for _, tt := range tests {
		_, err := parseJSON([]byte(tt.src))
		if err == nil {
			t.Errorf("%q: no error", tt.src)
			continue
		}
		if err.pos != tt.at || err.msg != tt.want {
			t.Errorf("%q: error %q at %v, want %q at %v", tt.src, err.msg, err.pos, tt.want, tt.at)
		}
	}
}

func TestDotnetString(t *testing.T) {
	tests := map[string]string{
		`true`: "True", `false`: "False", `null`: "", `"x"`: "x",
		`5`: "5", `-0`: "0", `2.0`: "2", `1.5`: "1.5", `1e3`: "1000", `1e20`: "1E+20", `1.5e-7`: "1.5E-07",
		`123456789012345678901234567890`: "123456789012345678901234567890",
	}
	for src, want := range tests {
		n, err := parseJSON([]byte(src))
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := n.dotnetString(); got != want {
			t.Errorf("%s: %q, want %q", src, got, want)
		}
	}
}

func TestRawJSONNormalizes(t *testing.T) {
	src := []byte("{'a': [1, 2,], /* c */ b: \"x\",}")
	n, err := parseJSON(src)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawJSON(src, n)
	if !json.Valid(raw) || string(raw) != `{"a":[1,2],"b":"x"}` {
		t.Errorf("rawJSON = %s", raw)
	}
}

func TestParseTimeSpan(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"00:05:00", 5 * time.Minute, true},
		{" 01:02:03 ", time.Hour + 2*time.Minute + 3*time.Second, true},
		{"1:2:3", time.Hour + 2*time.Minute + 3*time.Second, true},
		{"10:30", 10*time.Hour + 30*time.Minute, true},
		{"2", 48 * time.Hour, true},
		{"-1", -24 * time.Hour, true},
		{"1.02:00:00", 26 * time.Hour, true},
		{"1:02:00:00", 26 * time.Hour, true},
		{"00:00:00.25", 250 * time.Millisecond, true},
		{"00:00:01.1234567", time.Second + 123456700*time.Nanosecond, true},
		{"0023:0059:0059", 23*time.Hour + 59*time.Minute + 59*time.Second, true},
		{"24:00:00", 0, false},
		{"00:60:00", 0, false},
		{"00:00:00.12345678", 0, false},
		{"10.", 0, false},
		{"10.12", 0, false},
		{":10", 0, false},
		{"5 minutes", 0, false},
		{"", 0, false},
		{"10675199.02:48:05.4775807", time.Duration(1<<63 - 1), true},
		{"10675199.23:00:00", 0, false},
	}
	for _, tt := range tests {
		ts, ok := parseTimeSpan(tt.in)
		if ok != tt.ok || (ok && ts.duration() != tt.want) {
			t.Errorf("parseTimeSpan(%q) = %v, %t; want %v, %t", tt.in, ts.duration(), ok, tt.want, tt.ok)
		}
	}
}

func TestTimeSpanString(t *testing.T) {
	tests := map[timeSpan]string{
		0:                                    "00:00:00",
		timeSpan(90 * ticksPerSecond):        "00:01:30",
		timeSpan(ticksPerDay + ticksPerHour): "1.01:00:00",
		-timeSpan(ticksPerDay):               "-1.00:00:00",
		timeSpan(ticksPerSecond / 2):         "00:00:00.5000000",
		maxFunctionTimeout:                   "10675199.02:48:05.4775807",
	}
	for ts, want := range tests {
		if got := ts.String(); got != want {
			t.Errorf("%d: %q, want %q", int64(ts), got, want)
		}
	}
}

func TestValidVersionRange(t *testing.T) {
	for s, want := range map[string]bool{
		"[4.*, 5.0.0)": true, "[3.3.0, 4.0.0)": true, "4.0.0": true, "4.*": true, "[4.0.0]": true, "(,5.0.0)": true,
		"latest": false, "": false, "[4.*]": false, "[,]": false, "[4.0.0, 5.0.0": false, "1.2.3.4.5": false,
	} {
		if got := validVersionRange(s); got != want {
			t.Errorf("validVersionRange(%q) = %t", s, got)
		}
	}
}

func TestResolveAppSettings(t *testing.T) {
	lookup := newSettingLookup(map[string]string{"A": "1", "Section__Key": "v", "EMPTY": ""}).get
	tests := []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"%A%", "1", ""},
		{"x-%a%-%section:key%-%EMPTY%", "x-1-v-", ""},
		{"%MISSING%", "", "'%MISSING%' does not resolve to a value."},
		{"%%", "", "'%%' does not resolve to a value."},
		{"100%", "", "The '%' at position 3 does not have a closing '%'"},
		{"é😀%x", "", "The '%' at position 3 does not have a closing '%'"},
	}
	for _, tt := range tests {
		got, err := resolveAppSettings(tt.in, lookup)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%q: %q, %v; want %q", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || err.msg != tt.err):
			t.Errorf("%q: error %v, want %q", tt.in, err, tt.err)
		}
	}
}

func TestExpandEnv(t *testing.T) {
	l := &loader{opts: Options{Env: map[string]string{"A": "1", "port": "80"}}}
	tests := map[string]string{
		"%A%":       "1",
		"%a%":       "%a%", // case-sensitive, as on Linux
		"x%B%y%A%z": "x%B%y1z",
		"%%A%":      "%1",
		"100%":      "100%",
		"%port%%A%": "801",
	}
	for in, want := range tests {
		if got := l.expandEnv(in); got != want {
			t.Errorf("expandEnv(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBelowMinimumBundle(t *testing.T) {
	tests := []struct {
		version string
		below   bool
	}{
		{"[1.*, 2.0.0)", true},
		{"[2.*, 3.0.0)", false},
		{"[2.0.0, 2.6.1)", true},
		{"[2.0.0, 2.6.1]", false},
		{"[2.0.0, 2.6.1-beta]", true},
		{"[2.0.0, 2.6.2)", false},
		{"(, 2.6)", true},
		{"[1.8.1]", true},
		{"[2.6.1]", false},
		{"[3.*, 4.0.0)", false},
		{"[4.*, 5.0.0)", false},
		{"[1.0.0, )", false},
		{"1.*", false},   // 1.0.0 or later: the newest bundle
		{"2.0.0", false}, // 2.0.0 or later
		{" [1.*, 2.0.0) ", true},
	}
	for _, tt := range tests {
		if !validVersionRange(tt.version) {
			t.Fatalf("%q is not a valid range", tt.version)
		}
		if got := belowMinimumBundle(tt.version); got != tt.below {
			t.Errorf("belowMinimumBundle(%q) = %v, want %v", tt.version, got, tt.below)
		}
	}
}
