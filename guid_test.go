package funcd_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/funcd/funcd"
)

func TestGUIDs(t *testing.T) {
	b := [16]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	if got, want := funcd.FormatGUID(b), fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]); got != want {
		t.Errorf("FormatGUID = %s, want %s", got, want)
	}
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		g := funcd.NewGUID()
		if !v4.MatchString(g) {
			t.Fatalf("NewGUID = %q, not a version 4 GUID in the D format", g)
		}
		if seen[g] {
			t.Fatalf("NewGUID repeated %s", g)
		}
		seen[g] = true
	}
}

func BenchmarkNewGUID(b *testing.B) {
	for b.Loop() {
		_ = funcd.NewGUID()
	}
}
