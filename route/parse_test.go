package route

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		template string
		text     string
		params   []string
	}{
		{"", "", nil},
		{"/", "", nil},
		{"~/", "", nil},
		{"api/items", "api/items", nil},
		{"/api/items/", "api/items", nil},
		{"~/api/items", "api/items", nil},
		{"api/products/{category:alpha}/{id:int?}", "api/products/{category:alpha}/{id:int?}", []string{"category", "id"}},
		{"{a}.{b}/{c=1}", "{a}.{b}/{c=1}", []string{"a", "b", "c"}},
		{"files/{*path}", "files/{*path}", []string{"path"}},
		{"files/{**path}", "files/{**path}", []string{"path"}},
		{"a{{b}}c/{x}", "a{{b}}c/{x}", []string{"x"}},
		{"{n:int:min(1):max(10)}", "{n:int:min(1):max(10)}", []string{"n"}},
		{"{x:regex(^a{{2}}$)}", "{x:regex(^a{{2}}$)}", []string{"x"}},
		// ':' and '=' as the first character belong to the name.
		{"{:x}", "{:x}", []string{":x"}},
		{"{=x}", "{=x}", []string{"=x"}},
		// A leading "/" is dropped, so a leading '~' literal gets it back.
		{"/~/x", "/~/x", nil},
		{"/~x/{y}", "/~x/{y}", []string{"y"}},
	}
	for _, tt := range tests {
		tmpl, err := Parse(tt.template)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.template, err)
			continue
		}
		if got := tmpl.String(); got != tt.text {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.template, got, tt.text)
		}
		if got := tmpl.Params(); !slices.Equal(got, tt.params) {
			t.Errorf("Parse(%q).Params() = %q, want %q", tt.template, got, tt.params)
		}
	}
}

func TestParamsIsACopy(t *testing.T) {
	tmpl := mustParse(t, "{a}/{b}")
	tmpl.Params()[0] = "changed"
	if got := tmpl.Params(); got[0] != "a" {
		t.Errorf("Params()[0] = %q after the caller changed its copy", got[0])
	}
}

func TestParseParameterParts(t *testing.T) {
	tests := []struct {
		text       string
		name       string
		policies   []string
		def        string
		hasDefault bool
		optional   bool
		catchAll   bool
	}{
		{"id", "id", nil, "", false, false, false},
		{"id?", "id", nil, "", false, true, false},
		{"id:int?", "id", []string{"int"}, "", false, true, false},
		{"id=5", "id", nil, "5", true, false, false},
		{"id=", "id", nil, "", true, false, false},
		{"id:int=5", "id", []string{"int"}, "5", true, false, false},
		{"a=x:y", "a", nil, "x:y", true, false, false},
		{"n:int:min(1)", "n", []string{"int", "min(1)"}, "", false, false, false},
		{"n::int", "n", []string{"int"}, "", false, false, false},
		{"r:regex(a:b)", "r", []string{"regex(a:b)"}, "", false, false, false},
		{"r:regex(a:b):int", "r", []string{"regex(a:b)", "int"}, "", false, false, false},
		{"r:regex(a=b)=c", "r", []string{"regex(a=b)"}, "c", true, false, false},
		{"r:regex(a)b):int", "r", []string{"regex(a)b)", "int"}, "", false, false, false},
		{"r:regex(a:b", "r", []string{"regex(a", "b"}, "", false, false, false},
		{"r:regex(a=b", "r", []string{"regex(a"}, "b", true, false, false},
		{"*path", "path", nil, "", false, false, true},
		{"**path:nonfile", "path", []string{"nonfile"}, "", false, false, true},
		// ASP.NET Core scans constraints from the name's last character,
		// which turns a trailing '(' into a constraint of its own.
		{"a(:int", "a(", []string{"(", "int"}, "", false, false, false},
	}
	for _, tt := range tests {
		p := parseParameterText(tt.text)
		if p.name != tt.name || !slices.Equal(p.policies, tt.policies) || p.def != tt.def ||
			p.hasDefault != tt.hasDefault || p.optional != tt.optional || p.catchAll != tt.catchAll {
			t.Errorf("parseParameterText(%q) = name %q policies %q default %q/%v optional %v catch-all %v",
				tt.text, p.name, p.policies, p.def, p.hasDefault, p.optional, p.catchAll)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const (
		consecutive = "The route template separator character '/' cannot appear consecutively. It must be separated by either a parameter or a literal value."
		mismatched  = "There is an incomplete parameter in the route template. Check that each '{' character has a matching '}' character."
		invalidName = "The route parameter name '%s' is invalid. Route parameter names must be non-empty and cannot contain these characters: '{', '}', '/'. The '?' character marks a parameter as optional, and can occur only at the end of the parameter. The '*' character marks a parameter as catch-all, and can occur only at the start of the parameter."
	)
	tests := []struct {
		template string
		message  string
	}{
		{"api//x", consecutive},
		{"//x", consecutive},
		{"api//", consecutive},
		{"~x", "The route template cannot start with a '~' character unless followed by a '/'."},
		{"{a", mismatched},
		{"a{", mismatched},
		{"a}", mismatched},
		{"a}b", mismatched},
		{"{a}}", mismatched},
		{"{a:regex(^\\d{3}$)}", "In a route parameter, '{' and '}' must be escaped with '{{' and '}}'."},
		{"{a:regex(^\\d{", mismatched},
		{"{}", fmt.Sprintf(invalidName, "")},
		{"{?}", fmt.Sprintf(invalidName, "")},
		{"{*}", fmt.Sprintf(invalidName, "")},
		{"{a*b}", fmt.Sprintf(invalidName, "a*b")},
		{"{***a}", fmt.Sprintf(invalidName, "*a")},
		{"{a?b}", fmt.Sprintf(invalidName, "a?b")},
		{"{a{{b}}}", fmt.Sprintf(invalidName, "a{b}")},
		{"{*a?}", "A catch-all parameter cannot be marked optional."},
		{"{a=1?}", "An optional parameter cannot have default value."},
		{"{a}/{A}", "The route parameter name 'A' appears more than one time in the route template."},
		{"{id}/x/{ID:int}", "The route parameter name 'ID' appears more than one time in the route template."},
		{"a?b", "The literal section 'a?b' is invalid. Literal sections cannot contain the '?' character."},
		{"{a}?", "The literal section '?' is invalid. Literal sections cannot contain the '?' character."},
		{"{*a}/b", "A catch-all parameter can only appear as the last segment of the route template."},
		{"a/{**rest}/{b}", "A catch-all parameter can only appear as the last segment of the route template."},
		{"a{*b}", "A path segment that contains more than one section, such as a literal section or a parameter, cannot contain a catch-all parameter."},
		{"{a}{b}", "A path segment cannot contain two consecutive parameters. They must be separated by a '/' or by a literal string."},
		{"{a}-{b?}", "In the segment '{a}-{b?}', the optional parameter 'b' is preceded by an invalid segment '-'. Only a period (.) can precede an optional parameter."},
		{"{a:int}{b:alpha?}", "In the segment '{a:int}{b:alpha?}', the optional parameter 'b' is preceded by an invalid segment '{a:int}'. Only a period (.) can precede an optional parameter."},
		{"{a?}.{b}", "An optional parameter must be at the end of the segment. In the segment '{a?}.{b}', optional parameter 'a' is followed by '.'."},
		{"{a:foo}", "The constraint entry 'a' - 'foo' on the route '{a:foo}' could not be resolved by the constraint resolver of type 'DefaultInlineConstraintResolver'."},
		{"/api/{id:int }", "The constraint entry 'id' - 'int ' on the route '/api/{id:int }' could not be resolved by the constraint resolver of type 'DefaultInlineConstraintResolver'."},
		{"{a:regex(x}", "The constraint entry 'a' - 'regex(x' on the route '{a:regex(x}' could not be resolved by the constraint resolver of type 'DefaultInlineConstraintResolver'."},
		{"{a(:int}", "The constraint entry 'a(' - '(' on the route '{a(:int}' could not be resolved by the constraint resolver of type 'DefaultInlineConstraintResolver'."},
		{"{a:int()}", "Could not find a constructor for constraint type 'IntRouteConstraint' with the following number of parameters: 1."},
		{"{a:alpha(1,2)}", "Could not find a constructor for constraint type 'AlphaRouteConstraint' with the following number of parameters: 2."},
		{"{a:length}", "Could not find a constructor for constraint type 'LengthRouteConstraint' with the following number of parameters: 0."},
		{"{a:length(1,2,3)}", "Could not find a constructor for constraint type 'LengthRouteConstraint' with the following number of parameters: 3."},
		{"{a:range(1)}", "Could not find a constructor for constraint type 'RangeRouteConstraint' with the following number of parameters: 1."},
		{"{a:min}", "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.MinRouteConstraint'."},
		{"{a:max(x)}", "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.MaxRouteConstraint'."},
		{"{a:min(1,2)}", "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.MinRouteConstraint'."},
		{"{a:min(9223372036854775808)}", "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.MinRouteConstraint'."},
		{"{a:minlength(-1)}", "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.MinLengthRouteConstraint'."},
		{"{a:maxlength(2147483648)}", "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.MaxLengthRouteConstraint'."},
		{"{a:length(5,1)}", "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.LengthRouteConstraint'."},
		{"{a:length()}", "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.LengthRouteConstraint'."},
		{"{a:range(5,1)}", "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.RangeRouteConstraint'."},
		{"{a:regex}", "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.RegexInlineRouteConstraint'."},
		{"{a:regex((?=x))}", "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.RegexInlineRouteConstraint'."},
		// Syntax errors come before constraint errors.
		{"{a:foo}/{b", mismatched},
		// The first bad constraint, in order, is reported.
		{"{a:int:foo:bar}/{b:baz}", "The constraint entry 'a' - 'foo' on the route '{a:int:foo:bar}/{b:baz}' could not be resolved by the constraint resolver of type 'DefaultInlineConstraintResolver'."},
	}
	for _, tt := range tests {
		tmpl, err := Parse(tt.template)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want error %q", tt.template, tmpl, tt.message)
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) error %T is not a *route.Error", tt.template, err)
			continue
		}
		if e.Message != tt.message {
			t.Errorf("Parse(%q) message\n got %q\nwant %q", tt.template, e.Message, tt.message)
		}
		if e.Template != tt.template {
			t.Errorf("Parse(%q) error has Template %q", tt.template, e.Template)
		}
	}
}

func TestErrorCause(t *testing.T) {
	_, err := Parse("{a:regex((?=x))}")
	var syntaxErr *syntax.Error
	if !errors.As(err, &syntaxErr) {
		t.Fatalf("Parse error %v does not wrap the regexp error", err)
	}
	want := "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.RegexInlineRouteConstraint'. (" + syntaxErr.Error() + ")"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}

	_, err = Parse("{a:foo}")
	if errors.Unwrap(err) != nil {
		t.Errorf("an unresolved constraint has cause %v, want none", errors.Unwrap(err))
	}
	if err.Error() != err.(*Error).Message {
		t.Errorf("Error() = %q differs from Message without a cause", err.Error())
	}
}

func TestConstraintNamesIgnoreCase(t *testing.T) {
	for _, template := range []string{"{a:INT}", "{a:Int}", "{a:MinLength(2)}", "{a:REGEX(x)}", "{a:NonFile}"} {
		if _, err := Parse(template); err != nil {
			t.Errorf("Parse(%q): %v", template, err)
		}
	}
}

func mustParse(t testing.TB, template string) *Template {
	t.Helper()
	tmpl, err := Parse(template)
	if err != nil {
		t.Fatalf("Parse(%q): %v", template, err)
	}
	return tmpl
}
