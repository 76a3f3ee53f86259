package durable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// ActivityHandler runs an activity: input is the activity trigger's value
// (the JSON text of the input the orchestrator passed), the result the
// JSON of the activity's return value.
type ActivityHandler func(ctx context.Context, input []byte) (json.RawMessage, error)

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

// NewActivity adapts an activity function to an ActivityHandler. fn is a
// func(context.Context[, In]) ([Out, ]error): In is decoded from the
// input's JSON (a string also accepts input that is not JSON, as it is),
// Out is encoded to JSON. The worker calls it for App.Activity.
func NewActivity(fn any) (ActivityHandler, error) {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return nil, fmt.Errorf("an activity is a func(context.Context[, In]) ([Out, ]error), not %T", fn)
	}
	t := v.Type()
	if t.NumIn() < 1 || t.NumIn() > 2 || t.In(0) != contextType || t.IsVariadic() ||
		t.NumOut() < 1 || t.NumOut() > 2 || t.Out(t.NumOut()-1) != errorType {
		return nil, fmt.Errorf("an activity is a func(context.Context[, In]) ([Out, ]error), not %s", t)
	}
	var in reflect.Type
	if t.NumIn() == 2 {
		in = t.In(1)
	}
	hasOut := t.NumOut() == 2
	return func(ctx context.Context, input []byte) (json.RawMessage, error) {
		args := []reflect.Value{reflect.ValueOf(ctx)}
		if in != nil {
			p := reflect.New(in)
			if len(input) > 0 {
				if err := json.Unmarshal(input, p.Interface()); err != nil {
					if in.Kind() != reflect.String || json.Valid(input) {
						return nil, fmt.Errorf("durable: the activity's input: %w", err)
					}
					p.Elem().SetString(string(input))
				}
			}
			args = append(args, p.Elem())
		}
		out := v.Call(args)
		if err, _ := out[len(out)-1].Interface().(error); err != nil {
			return nil, err
		}
		if !hasOut {
			return json.RawMessage("null"), nil
		}
		b, err := encodeValue(out[0].Interface())
		if err != nil {
			return nil, fmt.Errorf("durable: the activity's result: %w", err)
		}
		return b, nil
	}, nil
}

// errNoClient is returned by GetClient outside a function with a
// durableClient binding.
var errNoClient = errors.New("durable: the invocation has no durableClient input binding (add one with Function.DurableClient)")
