package queue

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/binding/bindexpr"
	"github.com/funcd/funcd/storage"
)

// Trigger returns the "queueTrigger" binding kind.
func Trigger() binding.Kind {
	return binding.Kind{Type: "queueTrigger", Validate: validateTrigger, Listen: listen}
}

// Output returns the "queue" output binding kind.
func Output() binding.Kind {
	return binding.Kind{Type: "queue", Validate: validateOutput, Write: write}
}

func validateTrigger(fn *funcd.Function, b *funcd.Binding, env *binding.Env) error {
	if _, err := ParseOptions(env.Extensions["queues"], env.Development); err != nil {
		return err
	}
	if _, err := queueName(b, false); err != nil {
		return err
	}
	_, err := env.Connect(binding.StringProperty(b, "connection"))
	return err
}

func validateOutput(fn *funcd.Function, b *funcd.Binding, env *binding.Env) error {
	if _, err := ParseOptions(env.Extensions["queues"], env.Development); err != nil {
		return err
	}
	if _, err := queueName(b, true); err != nil {
		return err
	}
	_, err := env.Connect(binding.StringProperty(b, "connection"))
	return err
}

// queueName returns a binding's queue name, lower-cased and checked. An
// output's name may hold binding expressions, checked once resolved.
func queueName(b *funcd.Binding, expressions bool) (string, error) {
	name := binding.StringProperty(b, "queueName")
	if name == "" {
		return "", &funcd.ConfigError{Field: "queueName", Msg: "The queueName property is required.",
			Hint: `name the queue, as in "queueName": "orders"`}
	}
	if expressions && strings.Contains(name, "{") {
		return name, nil
	}
	name, err := NormalizeQueueName(name)
	if err != nil {
		return "", &funcd.ConfigError{Field: "queueName", Msg: err.Error(),
			Hint: "queue names are 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit"}
	}
	return name, nil
}

func listen(fn *funcd.Function, b *funcd.Binding, env *binding.Env, inv binding.Invoker) (binding.Listener, error) {
	opts, err := ParseOptions(env.Extensions["queues"], env.Development)
	if err != nil {
		return nil, err
	}
	name, err := queueName(b, false)
	if err != nil {
		return nil, err
	}
	prov, err := env.Connect(binding.StringProperty(b, "connection"))
	if err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("function", fn.Name)
	t := &trigger{fn: fn, b: b, inv: inv, encoding: opts.MessageEncoding, log: log}
	return NewProcessor(prov.Queues, name, ProcessorOptions{
		BatchSize:          opts.BatchSize,
		NewBatchThreshold:  opts.NewBatchThreshold,
		MaxDequeueCount:    opts.MaxDequeueCount,
		VisibilityTimeout:  opts.VisibilityTimeout,
		MaxPollingInterval: opts.MaxPollingInterval,
		Clock:              env.Clock,
		Logger:             log,
	}, t.handle), nil
}

// trigger turns received messages into invocations of one function.
type trigger struct {
	fn       *funcd.Function
	b        *funcd.Binding
	inv      binding.Invoker
	encoding string
	log      *slog.Logger
}

func (t *trigger) handle(ctx context.Context, m storage.Message) error {
	body, err := DecodeBody(m.Body, t.encoding)
	if err != nil {
		// The real host's client cannot decode the message: it is moved
		// to the poison queue as it is, without running the function.
		t.log.Warn(fmt.Sprintf("Message decoding has failed! Check MessageEncoding settings. MessageId=%s.", m.ID))
		return fmt.Errorf("message %s: %w: %w", m.ID, err, ErrPoison)
	}
	t.log.Info(fmt.Sprintf("Trigger Details: MessageId: %s, DequeueCount: %d, InsertedOn: %s",
		m.ID, m.DequeueCount, m.InsertionTime.Format("2006-01-02T15:04:05.000-07:00")))
	ev, err := Event(t.fn, t.b, m, body)
	if err != nil {
		t.log.Warn(err.Error())
		return err
	}
	return t.inv.Invoke(ctx, ev)
}

// DecodeBody returns a stored message's text: base64-decoded unless the
// encoding is EncodingNone. Like .NET's Convert.FromBase64String, the
// decoder skips spaces, tabs and line breaks.
func DecodeBody(stored []byte, encoding string) ([]byte, error) {
	if encoding == EncodingNone {
		return stored, nil
	}
	clean := bytes.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, stored)
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(out, clean)
	if err != nil {
		return nil, fmt.Errorf("message body is not base64: %w", err)
	}
	return out[:n], nil
}

// Event builds the trigger event of a message whose decoded body is body.
// The value is the text; a body that is not UTF-8 fails, as the real
// host's string conversion does, unless the binding's dataType is binary.
// QueueTrigger is in the binding data only when the body is UTF-8.
func Event(fn *funcd.Function, b *funcd.Binding, m storage.Message, body []byte) (binding.Event, error) {
	text := utf8.Valid(body)
	data := binding.Data{
		"DequeueCount":    jsonOf(m.DequeueCount),
		"ExpirationTime":  jsonOf(dateTimeOffset(m.ExpirationTime)),
		"Id":              jsonOf(m.ID),
		"InsertionTime":   jsonOf(dateTimeOffset(m.InsertionTime)),
		"NextVisibleTime": jsonOf(dateTimeOffset(m.NextVisibleTime)),
		"PopReceipt":      jsonOf(m.PopReceipt),
	}
	if text {
		data["QueueTrigger"] = jsonOf(string(body))
	}
	ev := binding.Event{Function: fn, Data: data}
	if q, err := queueName(b, false); err == nil {
		ev.Reason = "New queue message detected on '" + q + "'."
	}
	switch {
	case strings.EqualFold(b.DataType, "binary"):
		ev.Value = funcd.BytesValue(body)
	case text:
		ev.Value = funcd.StringValue(string(body))
	default:
		return ev, realError(fmt.Sprintf("Queue message's body cannot be converted to string because it contains non-UTF8 bytes, message id=%s", m.ID))
	}
	return ev, nil
}

// maxDateTimeOffset is .NET's DateTimeOffset.MaxValue, the real host's
// ExpirationTime of a message that never expires.
var maxDateTimeOffset = time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)

// dateTimeOffset formats a time as Json.NET writes a DateTimeOffset: ISO
// 8601 with up to seven fraction digits and a numeric offset.
func dateTimeOffset(t time.Time) string {
	if t.IsZero() {
		t = maxDateTimeOffset
	}
	return t.Format("2006-01-02T15:04:05.9999999-07:00")
}

func jsonOf(v any) json.RawMessage {
	raw, _ := json.Marshal(v) // strings, numbers: cannot fail
	return raw
}

// write enqueues an output binding's value after the function succeeded.
func write(ctx context.Context, env *binding.Env, fn *funcd.Function, b *funcd.Binding, data binding.Data, v funcd.Value) error {
	opts, err := ParseOptions(env.Extensions["queues"], env.Development)
	if err != nil {
		return err
	}
	msgs, err := Messages(v)
	if err != nil {
		return fmt.Errorf("function %s, binding %s: %w", fn.Name, b.Name, err)
	}
	if len(msgs) == 0 {
		return nil
	}
	name, err := queueName(b, true)
	if err != nil {
		return fmt.Errorf("function %s, binding %s: %w", fn.Name, b.Name, err)
	}
	if strings.Contains(name, "{") {
		resolved, err := resolve(name, data, env, fn)
		if err != nil {
			return fmt.Errorf("function %s, binding %s: queueName %q: %w", fn.Name, b.Name, name, err)
		}
		if name, err = NormalizeQueueName(resolved); err != nil {
			return fmt.Errorf("function %s, binding %s: %w", fn.Name, b.Name, err)
		}
	}
	prov, err := env.Connect(binding.StringProperty(b, "connection"))
	if err != nil {
		return err
	}
	for i, m := range msgs {
		if opts.MessageEncoding != EncodingNone {
			m = []byte(base64.StdEncoding.EncodeToString(m))
		}
		if len(m) > storage.MaxMessageSize {
			return fmt.Errorf("function %s, binding %s: message %d is %d bytes as stored, over the queue limit of %d bytes (64 KiB): %w",
				fn.Name, b.Name, i+1, len(m), storage.MaxMessageSize, storage.ErrTooLarge)
		}
		if _, err := prov.Queues.Enqueue(ctx, name, m, 0, 0); err != nil {
			return fmt.Errorf("function %s, binding %s: enqueue to %s: %w", fn.Name, b.Name, name, err)
		}
	}
	return nil
}

// Messages splits an output value into message texts as the real host's
// collector does: a JSON array is one message per element (strings as
// their text, anything else as JSON text), and so is a string holding a
// JSON array; any other string, object or bytes is one message.
func Messages(v funcd.Value) ([][]byte, error) {
	switch v.Kind {
	case funcd.ValueNone:
		return nil, nil
	case funcd.ValueBytes:
		return [][]byte{v.Data}, nil
	case funcd.ValueString:
		if elems, ok := jsonArray(v.Data); ok {
			return elems, nil
		}
		return [][]byte{v.Data}, nil
	case funcd.ValueJSON:
		trimmed := bytes.TrimSpace(v.Data)
		if bytes.Equal(trimmed, []byte("null")) {
			return nil, nil
		}
		if elems, ok := jsonArray(trimmed); ok {
			return elems, nil
		}
		var s string
		if json.Unmarshal(trimmed, &s) == nil {
			if elems, ok := jsonArray([]byte(s)); ok {
				return elems, nil
			}
			return [][]byte{[]byte(s)}, nil
		}
		return [][]byte{trimmed}, nil
	}
	return nil, fmt.Errorf("unknown value kind %d", v.Kind)
}

// jsonArray returns the elements of a JSON array as message texts.
func jsonArray(raw []byte) ([][]byte, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, false
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		return nil, false
	}
	out := make([][]byte, 0, len(elems))
	for _, e := range elems {
		var s string
		if json.Unmarshal(e, &s) == nil {
			out = append(out, []byte(s))
			continue
		}
		out = append(out, []byte(e))
	}
	return out, true
}

// resolve binds an output's queue name template against the trigger's
// data and the built-in expressions ({rand-guid}, {DateTime}, {sys.*}).
func resolve(template string, data binding.Data, env *binding.Env, fn *funcd.Function) (string, error) {
	t, err := bindexpr.Parse(template)
	if err != nil {
		return "", err
	}
	return t.BindSys(data, bindexpr.Sys{Now: env.Clock.Now(), MethodName: fn.Name})
}
