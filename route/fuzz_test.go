package route

import (
	"errors"
	"maps"
	"slices"
	"testing"
)

func FuzzParse(f *testing.F) {
	seeds := []struct{ template, path string }{
		{"", "/"},
		{"api/products/{category:alpha}/{id:int?}", "/api/products/shoes/42"},
		{"~/api/{id:int=5}/", "/api"},
		{"files/{*path}", "/files/a%2Fb//c/"},
		{"files/{**path:nonfile}", "/files/a%2fb.txt"},
		{"img/{name}.{ext?}", "/img/.htaccess"},
		{"{a}-{c}.{b?}", "/pq.r-x"},
		{"v{major:int}.{minor:range(0,99)}", "/V1.%32"},
		{"{x:regex(^a{{2}}$)}", "/AA"},
		{"{x:regex(a:b):minlength(2)=a:b}", "/"},
		{"{d:datetime}/{g:guid}", "/2024-01-31T10:30:00Z/{0x1,0x2,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}"},
		{"{n:decimal}/{f:double}/{b:bool}/{l:long}", "/1,000.5-/1e400/%20true/-9223372036854775808"},
		{"a{{b}}c/{x:length(1,3)}", "/a%7Bb%7Dc/%F0%9D%84%9E"},
		{"{a(:int}", "/1"},
		{"{:x}/{=y}", "/1/2"},
		{"/~/x/{*y=z}", "/~/x"},
		{"{a}{b}", "/ab"},
		{"{a:regex(^\\d{3}$)}", "/123"},
		{"café/{x:file}", "/CAF%C3%89/a.b"},
		{"{a?}/{b?}", "//"},
	}
	for _, s := range seeds {
		f.Add(s.template, s.path)
	}
	f.Fuzz(func(t *testing.T, template, path string) {
		tmpl, err := Parse(template)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" || e.Template != template {
				t.Fatalf("Parse(%q) returned a bad error %#v", template, err)
			}
			return
		}
		again, err := Parse(tmpl.String())
		if err != nil {
			t.Fatalf("Parse(%q) fails on its own String() %q: %v", template, tmpl.String(), err)
		}
		if again.String() != tmpl.String() || !slices.Equal(again.Params(), tmpl.Params()) {
			t.Fatalf("Parse(%q) does not round-trip: %q %q, then %q %q",
				template, tmpl.String(), tmpl.Params(), again.String(), again.Params())
		}
		for _, p := range []string{path, "/" + path, "/" + tmpl.String()} {
			got, ok := tmpl.Match(p)
			checkValues(t, tmpl, p, got, ok)
			got2, ok2 := again.Match(p)
			if ok != ok2 || !maps.EqualFunc(got, got2, equalValue) {
				t.Fatalf("Parse(%q) and its round trip match %q differently: %v %v, %v %v",
					template, p, show(got), ok, show(got2), ok2)
			}
		}
	})
}

// checkValues checks Match's contract: on a match, exactly the template's
// parameters are keys; otherwise there are no values.
func checkValues(t *testing.T, tmpl *Template, path string, got map[string]*string, ok bool) {
	t.Helper()
	if !ok {
		if got != nil {
			t.Fatalf("Parse(%q).Match(%q) failed but returned values %v", tmpl, path, show(got))
		}
		return
	}
	params := tmpl.Params()
	if len(got) != len(params) {
		t.Fatalf("Parse(%q).Match(%q) = %v, want keys %q", tmpl, path, show(got), params)
	}
	for _, name := range params {
		if _, found := got[name]; !found {
			t.Fatalf("Parse(%q).Match(%q) = %v lacks %q", tmpl, path, show(got), name)
		}
	}
}
