package blob

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
)

func blobBinding(name string, dir funcd.Direction, path string) *funcd.Binding {
	return &funcd.Binding{Name: name, Type: BlobType, Direction: dir,
		Properties: map[string]any{"type": BlobType, "name": name, "path": path, "direction": string(dir)}}
}

func TestInputAndOutputWithExpressions(t *testing.T) {
	h := newHarness(t, true)
	env := h.env("o1", nil)
	fn := &funcd.Function{Name: "Copy"}
	data := binding.Data{"name": []byte(`"dir/a"`), "queueTrigger": []byte(`{"id": 7}`)}
	kind := Blob()
	ctx := context.Background()

	out := blobBinding("out", funcd.Out, "out/{name}-{queueTrigger.id}-{DateTime:yyyy}.txt")
	if err := kind.Validate(fn, out, env); err != nil {
		t.Fatal(err)
	}
	if err := kind.Write(ctx, env, fn, out, data, funcd.StringValue("héllo")); err != nil {
		t.Fatal(err)
	}
	in := blobBinding("in", funcd.In, "out/{name}-{queueTrigger.id}-2024.txt")
	v, err := kind.Read(ctx, env, fn, in, data)
	if err != nil || v.Kind != funcd.ValueString || string(v.Data) != "héllo" {
		t.Fatalf("Read = %+v, %v", v, err)
	}
	missing := blobBinding("in", funcd.In, "out/{name}-nothing")
	if v, err := kind.Read(ctx, env, fn, missing, data); err != nil || !v.IsNone() {
		t.Fatalf("Read of a missing blob = %+v, %v", v, err)
	}
	guid := blobBinding("g", funcd.Out, "out/{rand-guid}")
	if err := kind.Write(ctx, env, fn, guid, data, funcd.BytesValue([]byte{1})); err != nil {
		t.Fatal(err)
	}
	page, _, _ := h.store.ListBlobs(ctx, "out", "", "", 10)
	names := map[int]string{}
	for _, p := range page {
		names[len(p.Name)] = p.Name
	}
	if len(page) != 2 || names[16] != "dir/a-7-2024.txt" || names[36] == "" {
		t.Errorf("blobs written: %+v", page)
	}
	unbound := blobBinding("in", funcd.In, "out/{nope}")
	if _, err := kind.Read(ctx, env, fn, unbound, data); err == nil ||
		!strings.Contains(err.Error(), "No value for named parameter 'nope'.") {
		t.Errorf("unbound name: %v", err)
	}
	if _, err := kind.Read(ctx, env, fn, blobBinding("in", funcd.In, "{queueTrigger.id}/x"), data); err == nil ||
		!strings.Contains(err.Error(), "Invalid container name: 7") {
		t.Errorf("a path whose container is bound badly: %v", err)
	}
}

func TestValidate(t *testing.T) {
	h := newHarness(t, true)
	env := h.env("o1", nil)
	fn := &funcd.Function{Name: "F"}
	for _, tc := range []struct {
		b    *funcd.Binding
		want string
	}{
		{blobBinding("t", funcd.In, ""), "path: The 'path' property is required."},
		{trig("/x"), "Paths must be in the format 'container/blob'."},
		{trig("c/"), "Paths must be in the format 'container/blob'."},
		{trig("{c}/x"), "Container paths cannot contain {resolve} tokens."},
		{trig("Samples/{name}"), "Invalid container name: Samples"},
		{trig("samples/{name"), "Missing closing bracket at position 9."},
		{trig("samples/{a.b}"), "Capture expressions can't include dot operators"},
		{trig("samples/x."), "has an invalid suffix"},
		{trigWith("samples/{name}", "source", "Webhook"), "Invalid source 'Webhook'."},
		{blobBinding("b", funcd.InOut, "c/x"), "direction must be 'in' or 'out'"},
		{blobBinding("b", funcd.In, "ab/x"), "Invalid container name: ab"},
		{blobBinding("b", funcd.Out, "x"), "Blob identifiers must be in the format 'container/blob'."},
	} {
		kind := Blob()
		if tc.b.Type == TriggerType {
			kind = Trigger()
		}
		err := kind.Validate(fn, tc.b, env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.b.Properties, err, tc.want)
		}
	}
	for _, b := range []*funcd.Binding{trig("samples"), trig("samples/{name}.{ext}"), trigWith("samples/{n}", "source", "eventgrid"),
		blobBinding("b", funcd.Out, "{c}/{name}"), blobBinding("b", funcd.In, "samples/fixed.txt")} {
		kind := Blob()
		if b.Type == TriggerType {
			kind = Trigger()
		}
		if err := kind.Validate(fn, b, env); err != nil {
			t.Errorf("%v: %v", b.Properties, err)
		}
	}
}

func trig(path string) *funcd.Binding { return trigWith(path, "", "") }

func trigWith(path, k, v string) *funcd.Binding {
	b := triggerFn("F", path).Bindings[0]
	if k != "" {
		b.Properties[k] = v
	}
	return &b
}

func TestNamesNeverEscapeTheStore(t *testing.T) {
	h := newHarness(t, true)
	env := h.env("o1", nil)
	fn := &funcd.Function{Name: "Esc"}
	ctx := context.Background()
	for _, name := range []string{"../../escape", "a/../../../escape", "..", "%2e%2e/%2e%2e/escape", "/abs/escape", `..\..\escape`, "x/./../y"} {
		out := blobBinding("out", funcd.Out, "out/{n}")
		data := binding.Data{"n": []byte(`"` + strings.ReplaceAll(name, `\`, `\\`) + `"`)}
		_ = Blob().Write(ctx, env, fn, out, data, funcd.StringValue("x")) // refused or stored inside
	}
	entries, err := os.ReadDir(h.root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "store" {
			t.Errorf("%s appeared beside the store's folder", e.Name())
		}
	}
	_ = filepath.WalkDir(filepath.Dir(h.root), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), "escape") && !strings.HasPrefix(p, filepath.Join(h.root, "store")) {
			t.Errorf("%s written outside the store", p)
		}
		return nil
	})
}
