package appconfig

import (
	"strings"
	"testing"
)

func TestSuggestBindingType(t *testing.T) {
	tests := []struct{ typ, want string }{
		{"httpTriger", "httpTrigger"},  // a letter missing
		{"httpTrigerr", "httpTrigger"}, // one wrong
		{"htpTrigger", "httpTrigger"},
		{"HTTPTRIGER", "httpTrigger"},  // case does not count
		{"httpTirgger", "httpTrigger"}, // two letters swapped
		{"timerTriggr", "timerTrigger"},
		{"blobtriger", "blobTrigger"},
		{"queueTrigge", "queueTrigger"},
		{"cosmosDbTriger", "cosmosDBTrigger"},
		{"servicebusTrigger2", "serviceBusTrigger"},
		{"orchestrationTrigge", "orchestrationTrigger"},
		{"htp", "http"},
		{"https", "http"},
		{"blb", "blob"},
		// Known types, in any case, are not misspelt.
		{"httpTrigger", ""},
		{"HttpTrigger", ""},
		{"eventHub", ""},
		// Too far from anything.
		{"", ""},
		{"x", ""},
		{"foo", ""},
		{"myCustomBinding", ""},
		{"notABindingAtAll", ""},
		{"httpTriggerWithExtras", ""},
	}
	for _, tt := range tests {
		if got := SuggestBindingType(tt.typ); got != tt.want {
			t.Errorf("SuggestBindingType(%q) = %q, want %q", tt.typ, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"abc", "abc", 0},
		{"abc", "abd", 1},
		{"abc", "acb", 1}, // a swap counts once
		{"abc", "ab", 1},
		{"abc", "xabc", 1},
		{"kitten", "sitting", 3},
		{"ca", "abc", 3}, // optimal string alignment: no edits of a swapped pair
		{"héllo", "hello", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestBindingTypesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range BindingTypes {
		k := strings.ToLower(typ)
		if seen[k] {
			t.Errorf("%q is listed twice", typ)
		}
		seen[k] = true
	}
}
