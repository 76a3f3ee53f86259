package durable_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/funcd/funcd/sdk/durable"
)

func TestActivityShapes(t *testing.T) {
	type order struct {
		ID    string `json:"id"`
		Count int    `json:"count"`
	}
	ctx := context.Background()
	cases := []struct {
		name  string
		fn    any
		input string // the activity trigger's value
		want  string
	}{
		{"string in, string out", func(_ context.Context, s string) (string, error) { return "Hello " + s, nil }, `"Tokyo"`, `"Hello Tokyo"`},
		// A JavaScript caller's plain string, not JSON.
		{"raw string", func(_ context.Context, s string) (string, error) { return s, nil }, `plain text`, `"plain text"`},
		{"struct", func(_ context.Context, o order) (int, error) { return o.Count * 2, nil }, `{"id":"a","count":21}`, `42`},
		{"pointer", func(_ context.Context, o *order) (*order, error) { return o, nil }, `{"id":"b","count":1}`, `{"id":"b","count":1}`},
		{"no input", func(context.Context) (bool, error) { return true, nil }, ``, `true`},
		{"no output", func(context.Context, int) error { return nil }, `3`, `null`},
		{"null input", func(_ context.Context, o *order) (bool, error) { return o == nil, nil }, `null`, `true`},
	}
	for _, c := range cases {
		h, err := durable.NewActivity(c.fn)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		out, err := h(ctx, []byte(c.input))
		if err != nil || string(out) != c.want {
			t.Errorf("%s: %s, %v; want %s", c.name, out, err, c.want)
		}
	}
}

func TestActivityErrors(t *testing.T) {
	h, err := durable.NewActivity(func(context.Context, int) (int, error) { return 0, errors.New("card declined") })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h(context.Background(), []byte("1")); err == nil || err.Error() != "card declined" {
		t.Errorf("the activity's error: %v", err)
	}
	if _, err := h(context.Background(), []byte(`"one"`)); err == nil || !strings.Contains(err.Error(), "the activity's input") {
		t.Errorf("a bad input: %v", err)
	}
	for _, fn := range []any{nil, 3, func() error { return nil }, func(context.Context) int { return 0 },
		func(context.Context, int, int) error { return nil }, func(string) error { return nil }} {
		if _, err := durable.NewActivity(fn); err == nil {
			t.Errorf("NewActivity(%T) accepted it", fn)
		}
	}
}
