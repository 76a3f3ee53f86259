package storage

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckNames(t *testing.T) {
	good := []string{"abc", "a-b", "a1-2b-c3", "000", strings.Repeat("a", 63)}
	bad := []string{"", "ab", "-ab", "ab-", "a--b", "Abc", "a_b", "a.b", "a b", "ab\x00", strings.Repeat("a", 64), "caf\u00e9"}
	for _, n := range good {
		if err := CheckQueueName(n); err != nil {
			t.Errorf("CheckQueueName(%q) = %v", n, err)
		}
		if err := CheckContainerName(n); err != nil {
			t.Errorf("CheckContainerName(%q) = %v", n, err)
		}
	}
	for _, n := range bad {
		if err := CheckQueueName(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("CheckQueueName(%q) = %v, want ErrInvalidName", n, err)
		}
		if err := CheckContainerName(n); !errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), "container") {
			t.Errorf("CheckContainerName(%q) = %v, want ErrInvalidName naming a container", n, err)
		}
	}
	for _, n := range []string{"x", "../x", `a\b`, " ", strings.Repeat("\u00e9", MaxBlobNameLength)} {
		if err := CheckBlobName(n); err != nil {
			t.Errorf("CheckBlobName(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"", "\xff", strings.Repeat("x", MaxBlobNameLength+1)} {
		if err := CheckBlobName(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("CheckBlobName(%.10q) = %v, want ErrInvalidName", n, err)
		}
	}
}

// validName is Azure's rule for queue and container names written another
// way, to check checkName against.
var validName = regexp.MustCompile(`^[a-z0-9](?:-?[a-z0-9])*$`)

func FuzzCheckNames(f *testing.F) {
	for _, s := range []string{"abc", "a-b-c", "a--b", "-ab", "ab-", "AB", "a", strings.Repeat("z", 64), "../x", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		want := validName.MatchString(name) && len(name) >= 3 && len(name) <= 63
		if got := CheckQueueName(name) == nil; got != want {
			t.Errorf("CheckQueueName(%q) valid = %v, want %v", name, got, want)
		}
		wantBlob := name != "" && utf8.ValidString(name) && utf8.RuneCountInString(name) <= MaxBlobNameLength
		if got := CheckBlobName(name) == nil; got != wantBlob {
			t.Errorf("CheckBlobName(%q) valid = %v, want %v", name, got, wantBlob)
		}
	})
}
