package keys

import (
	"encoding/base64"
	"strings"
	"testing"
)

// Published Marvin32 test vectors (the 64-bit result, hi<<32 | lo), as used
// by Microsoft.Security.Utilities' MarvinTests and taken from an
// independent implementation.
func TestMarvinVectors(t *testing.T) {
	const (
		seed0 = 0x004fb61a001bdbcc
		seed1 = 0x804fb61a001bdbcc
		seed2 = 0x804fb61a801bdbcc
	)
	tests := []struct {
		seed uint64
		data string
		want uint64
	}{
		{seed0, "", 0x30ed35c100cd3c7d},
		{seed0, "\xaf", 0x48e73fc77d75ddc1},
		{seed0, "\xe7\x0f", 0xb5f6e1fc485dbff8},
		{seed0, "\x37\xf4\x95", 0xf0b07c789b8cf7e8},
		{seed0, "\x86\x42\xdc\x59", 0x7008f2e87e9cf556},
		{seed0, "\x15\x3f\xb7\x98\x26", 0xe6c08c6da2afa997},
		{seed0, "\x09\x32\xe6\x24\x6c\x47", 0x6f04bf1a5ea24060},
		{seed0, "\xab\x42\x7e\xa8\xd1\x0f\xc7", 0xe11847e4f0678c41},
		{seed1, "", 0x10a9d5d3996fd65d},
		{seed1, "\xaf", 0x68201f91960ebf91},
		{seed1, "\xe7\x0f", 0x64b581631f6ab378},
		{seed1, "\x37\xf4\x95", 0xe1f2dfa6e5131408},
		{seed1, "\x86\x42\xdc\x59", 0x36289d9654fb49f6},
		{seed1, "\x15\x3f\xb7\x98\x26", 0x0a06114b13464dbd},
		{seed1, "\x09\x32\xe6\x24\x6c\x47", 0xd6dd5e40ad1bc2ed},
		{seed1, "\xab\x42\x7e\xa8\xd1\x0f\xc7", 0xe203987dba252fb3},
		{seed2, "\x00", 0xa37fb0da2ecae06c},
		{seed2, "\xff", 0xfecef370701ae054},
		{seed2, "\x00\xff", 0xa638e75700048880},
		{seed2, "\xff\x00", 0xbdfb46d969730e2a},
		{seed2, "\xff\x00\xff", 0x9d8577c0fe0d30bf},
		{seed2, "\x00\xff\x00", 0x4f9fbdde15099497},
		{seed2, "\x00\xff\x00\xff", 0x24eaa279d9a529ca},
		{seed2, "\xff\x00\xff\x00", 0xd3bec7726b057943},
		{seed2, "\xff\x00\xff\x00\xff", 0x920b62bbca3e0b72},
		{seed2, "\x00\xff\x00\xff\x00", 0x1d7ddf9dfdf3c1bf},
		{seed2, "\x00\xff\x00\xff\x00\xff", 0xec21276a17e821a5},
		{seed2, "\xff\x00\xff\x00\xff\x00", 0x6911a53ca8c12254},
		{seed2, "\xff\x00\xff\x00\xff\x00\xff", 0xfdfd187b1d3ce784},
		{seed2, "\x00\xff\x00\xff\x00\xff\x00", 0x71876f2efb1b0ee8},
	}
	for _, tt := range tests {
		if got := marvin(tt.seed, []byte(tt.data)); got != tt.want {
			t.Errorf("marvin(%#x, % x) = %#x, want %#x", tt.seed, tt.data, got, tt.want)
		}
		if got, want := marvin32(tt.seed, []byte(tt.data)), uint32(tt.want)^uint32(tt.want>>32); got != want {
			t.Errorf("marvin32(%#x, % x) = %#x, want %#x", tt.seed, tt.data, got, want)
		}
	}
}

func TestSeedsAreReversedASCII(t *testing.T) {
	// The host derives each seed from 8 ASCII bytes, reversed, read as a
	// little-endian integer: the same as reading them big-endian.
	for kind, text := range map[Kind]string{Master: "Master00", System: "System00", Function: "Functi00"} {
		var want uint64
		for i := range len(text) {
			want = want<<8 | uint64(text[i])
		}
		if seeds[kind] != want {
			t.Errorf("seed of %v = %#x, want %#x", kind, seeds[kind], want)
		}
	}
}

// A published Azure Functions key placeholder (Microsoft.Security.Utilities'
// secret masker tests recognize it as an Azure Functions key by its
// checksum): it checks out as a system key and nothing else.
func TestIsIdentifiablePublishedKey(t *testing.T) {
	const v = "ddddddddddddddddddddddddddddddddddddddddddddAzFu182vhA=="
	for kind, want := range map[Kind]bool{System: true, Function: false, Master: false} {
		if got := IsIdentifiable(kind, v); got != want {
			t.Errorf("IsIdentifiable(%v, %q) = %v, want %v", kind, v, got, want)
		}
	}
}

func TestGenerate(t *testing.T) {
	kinds := []Kind{Function, System, Master}
	for _, kind := range kinds {
		seen := map[string]bool{}
		for range 200 {
			v := Generate(kind)
			if seen[v] {
				t.Fatalf("Generate(%v) repeated %q", kind, v)
			}
			seen[v] = true
			if len(v) != 56 || !strings.HasSuffix(v, "==") || strings.ContainsAny(v, "+/") {
				t.Fatalf("Generate(%v) = %q: want 56 URL-safe base64 characters ending in ==", kind, v)
			}
			if v[44:48] != "AzFu" || !strings.ContainsRune("AQgw", rune(v[53])) {
				t.Fatalf("Generate(%v) = %q: want AzFu at 44 and [AQgw] at 53", kind, v)
			}
			if b, err := base64.URLEncoding.DecodeString(v); err != nil || len(b) != 40 {
				t.Fatalf("Generate(%v) = %q decodes to %d bytes, %v", kind, v, len(b), err)
			}
			for _, other := range kinds {
				if got := IsIdentifiable(other, v); got != (other == kind) {
					t.Fatalf("IsIdentifiable(%v, Generate(%v)) = %v", other, kind, got)
				}
			}
		}
	}
}

func TestIsIdentifiableRejects(t *testing.T) {
	v := Generate(Function)
	flip := func(i int) string {
		c := byte('A')
		if v[i] == 'A' {
			c = 'B'
		}
		return v[:i] + string(c) + v[i+1:]
	}
	tests := map[string]string{
		"empty":           "",
		"unpadded":        strings.TrimRight(v, "="),
		"random byte":     flip(3),
		"signature":       flip(45),
		"checksum":        flip(50),
		"standard base64": "+" + v[1:],
		"not base64":      v[:10] + "!" + v[11:],
		"lower signature": v[:44] + "azfu" + v[48:],
	}
	for name, value := range tests {
		if value != v && IsIdentifiable(Function, value) {
			t.Errorf("%s: IsIdentifiable(Function, %q) = true", name, value)
		}
	}
	if IsIdentifiable(Kind(0), v) {
		t.Error("IsIdentifiable(Kind(0), ...) = true")
	}
}

func TestGenerateInvalidKindPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Generate(Kind(0)) did not panic")
		}
	}()
	Generate(Kind(0))
}
