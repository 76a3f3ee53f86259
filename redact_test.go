package funcd

import (
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"http://h/api/f", "http://h/api/f"},
		{"http://h/api/f?name=Ada", "http://h/api/f?name=Ada"},
		{"http://h/api/f?code=s3cret", "http://h/api/f?code=REDACTED"},
		{"http://h/api/f?name=Ada&code=s3cret&x=1", "http://h/api/f?name=Ada&code=REDACTED&x=1"},
		{"http://h/api/f?CODE=a&Code=b", "http://h/api/f?CODE=REDACTED&Code=REDACTED"},
		{"http://h/api/f?%63ode=s3cret", "http://h/api/f?%63ode=REDACTED"}, // the host unescapes names
		{"http://h/api/f?code=s3cret#code=frag", "http://h/api/f?code=REDACTED#code=frag"},
		{"http://h/api/f?codex=1&xcode=2&code", "http://h/api/f?codex=1&xcode=2&code"},
		{"/api/f?code=", "/api/f?code=REDACTED"},
		{"?a=1&&code=k", "?a=1&&code=REDACTED"},
	}
	for _, c := range cases {
		if got := RedactURL(c.in); got != c.want {
			t.Errorf("RedactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRedactError(t *testing.T) {
	ue := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/api/f?code=s3cret", Err: io.ErrUnexpectedEOF}
	got := RedactError(ue)
	if strings.Contains(got.Error(), "s3cret") || !strings.Contains(got.Error(), "code=REDACTED") {
		t.Errorf("redacted error = %q", got)
	}
	if !errors.Is(got, io.ErrUnexpectedEOF) {
		t.Error("the redacted error no longer wraps its cause")
	}
	if ue.URL != "http://127.0.0.1:1/api/f?code=s3cret" {
		t.Error("RedactError changed the error it was given")
	}
	plain := errors.New("no url")
	if RedactError(plain) != plain {
		t.Error("an error without a URL should come back as it is")
	}
}

func TestRedactKeys(t *testing.T) {
	r := &HTTPRequest{
		RawQuery: "name=Ada&code=a%2Bb%2Fc&other=zzz",
		Header: map[string][]string{
			"X-Functions-Key": {"header-key-1"},
			"Authorization":   {"Bearer tok"},
			"X-Other":         {"Ada"},
			"Empty":           {""},
		},
	}
	in := `reply: {"q":"a+b/c","raw":"a%2Bb%2Fc","h":"header-key-1","auth":"Bearer tok","name":"Ada"}`
	got := r.RedactKeys(in)
	for _, secret := range []string{"a+b/c", "a%2Bb%2Fc", "header-key-1", "Bearer tok"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q survived: %s", secret, got)
		}
	}
	if !strings.Contains(got, `"name":"Ada"`) {
		t.Errorf("a value that is not a key was redacted: %s", got)
	}
	if (*HTTPRequest)(nil).RedactKeys("x") != "x" {
		t.Error("a nil request should redact nothing")
	}
}
