package httpapi

import (
	"regexp"
	"testing"
)

func TestNewInvocationID(t *testing.T) {
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := newInvocationID()
		if !guid.MatchString(id) {
			t.Fatalf("%q is not a version 4 GUID", id)
		}
		if seen[id] {
			t.Fatalf("%q twice", id)
		}
		seen[id] = true
	}
}
