package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/binding/bindexpr"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// Blob returns the Kind of the "blob" type, which serves both directions:
// an input binding (direction "in") reads a blob, an output binding
// (direction "out") writes one. The path may use the trigger's binding
// data and the built-in expressions: "out/{name}-{rand-guid}.txt".
func Blob() binding.Kind {
	return binding.Kind{
		Type: BlobType,
		Validate: func(fn *funcd.Function, b *funcd.Binding, env *binding.Env) error {
			if b.Direction != funcd.In && b.Direction != funcd.Out {
				return configError("direction", fmt.Sprintf("A blob binding's direction must be 'in' or 'out', not '%s'.", b.Direction),
					"funcd does not support 'inout' blob bindings, which need the .NET storage SDK types.")
			}
			if _, err := parseConfig(b, false); err != nil {
				return err
			}
			_, err := env.Connect(binding.StringProperty(b, "connection"))
			return err
		},
		Read:  read,
		Write: write,
	}
}

// resolve evaluates a binding's path against the trigger's data and
// splits it into a container and a blob name.
func resolve(env *binding.Env, fn *funcd.Function, b *funcd.Binding, data binding.Data) (*config, *binding.Provider, string, string, error) {
	cfg, err := parseConfig(b, false)
	if err != nil {
		return nil, nil, "", "", err
	}
	clk := env.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	p, err := cfg.tpl.BindSys(data, sysFor(clk, fn))
	if err != nil {
		return nil, nil, "", "", fmt.Errorf("blob binding '%s': path '%s': %w", b.Name, cfg.path, err)
	}
	container, name, err := splitPath(p)
	if err != nil {
		return nil, nil, "", "", fmt.Errorf("blob binding '%s': %w", b.Name, err)
	}
	prov, err := env.Connect(cfg.connection)
	if err != nil {
		return nil, nil, "", "", err
	}
	return cfg, prov, container, name, nil
}

// read is the input binding: the blob's content, or no value when the
// blob does not exist (the real host binds null).
func read(ctx context.Context, env *binding.Env, fn *funcd.Function, b *funcd.Binding, data binding.Data) (funcd.Value, error) {
	cfg, prov, container, name, err := resolve(env, fn, b, data)
	if err != nil {
		return funcd.Value{}, err
	}
	rc, _, err := prov.Blobs.OpenBlob(ctx, container, name)
	if errors.Is(err, storage.ErrNotFound) {
		return funcd.Value{}, nil
	}
	if err != nil {
		return funcd.Value{}, fmt.Errorf("blob binding '%s': open %s/%s: %w", b.Name, container, name, err)
	}
	defer rc.Close()
	content, err := io.ReadAll(rc)
	if err != nil {
		return funcd.Value{}, fmt.Errorf("blob binding '%s': read %s/%s: %w", b.Name, container, name, err)
	}
	if cfg.binary {
		return funcd.BytesValue(content), nil
	}
	return funcd.StringValue(string(content)), nil
}

// write is the output binding: it puts the value (bytes as they are, a
// string as UTF-8, JSON as its text) at the resolved path. No value writes
// nothing.
func write(ctx context.Context, env *binding.Env, fn *funcd.Function, b *funcd.Binding, data binding.Data, v funcd.Value) error {
	if v.IsNone() {
		return nil
	}
	_, prov, container, name, err := resolve(env, fn, b, data)
	if err != nil {
		return err
	}
	if _, err := prov.Blobs.PutBlob(ctx, container, name, bytes.NewReader(v.Data), storage.PutBlobOptions{}); err != nil {
		return fmt.Errorf("blob binding '%s': write %s/%s: %w", b.Name, container, name, err)
	}
	return nil
}

// sysFor is what {sys.*}, {DateTime} and {rand-guid} resolve to.
func sysFor(clk clock.Clock, fn *funcd.Function) bindexpr.Sys {
	return bindexpr.Sys{Now: clk.Now(), MethodName: fn.Name}
}
