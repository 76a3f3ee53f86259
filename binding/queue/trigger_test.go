package queue

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/storage"
)

func (f *fixture) env(extensions string) *binding.Env {
	env := &binding.Env{
		Clock: f.clk, Logger: slog.New(f.log),
		Connect: func(conn string) (*binding.Provider, error) {
			if conn == "Missing" {
				return nil, &funcd.ConfigError{Field: "connection", Msg: "setting Missing is not set"}
			}
			return &binding.Provider{Name: "embedded", Queues: f.q}, nil
		},
	}
	if extensions != "" {
		env.Extensions = map[string]json.RawMessage{"queues": json.RawMessage(extensions)}
	}
	return env
}

func queueBinding(typ, queue string) *funcd.Binding {
	return &funcd.Binding{Name: "msg", Type: typ, Properties: map[string]any{"queueName": queue}}
}

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(nil, false)
	if err != nil || o.BatchSize != 16 || o.MaxDequeueCount != 5 || o.MaxPollingInterval != time.Minute ||
		o.VisibilityTimeout != 0 || o.MessageEncoding != "base64" || o.NewBatchThreshold != defaultNewBatchThreshold(16) {
		t.Fatalf("defaults %+v %v", o, err)
	}
	if o, _ := ParseOptions(nil, true); o.MaxPollingInterval != 2*time.Second {
		t.Errorf("development polling %v", o.MaxPollingInterval)
	}
	o, err = ParseOptions(json.RawMessage(`{"BatchSize": "8", "newBatchThreshold": 0, "maxPollingInterval": "00:00:05",
		"visibilityTimeout": "00:00:30", "maxDequeueCount": 2, "messageEncoding": "None"}`), true)
	if err != nil || o.BatchSize != 8 || o.NewBatchThreshold != 0 || o.MaxPollingInterval != 5*time.Second ||
		o.VisibilityTimeout != 30*time.Second || o.MaxDequeueCount != 2 || o.MessageEncoding != "none" {
		t.Fatalf("parsed %+v %v", o, err)
	}
	for in, want := range map[string]string{
		`{"batchSize": 33}`:                   "host.json: extensions.queues.batchSize: must be from 1 to 32, not 33",
		`{"maxDequeueCount": 0}`:              "host.json: extensions.queues.maxDequeueCount: MaxDequeueCount must not be less than 1.",
		`{"maxPollingInterval": "00:00:00"}`:  "host.json: extensions.queues.maxPollingInterval: MaxPollingInterval must not be less than 00:00:00.1000000.",
		`{"visibilityTimeout": "30 seconds"}`: `host.json: extensions.queues.visibilityTimeout: "30 seconds" is not a TimeSpan`,
		`{"messageEncoding": "utf8"}`:         `host.json: extensions.queues.messageEncoding: must be "base64" or "none", not "utf8"`,
		`[1]`:                                 "host.json: extensions.queues: extensions.queues must be an object",
	} {
		_, err := ParseOptions(json.RawMessage(in), false)
		var ce *funcd.ConfigError
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v\nwant %s", in, err, want)
		}
	}
}

func TestParseTimeSpan(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"00:00:02": 2 * time.Second, "00:01": time.Minute, "1": 24 * time.Hour, "1.02:03:04": 26*time.Hour + 3*time.Minute + 4*time.Second,
		"00:00:00.5": 500 * time.Millisecond, "00:00:00.1000000": 100 * time.Millisecond, "-00:00:01": -time.Second,
		"1:00:00:00": 24 * time.Hour,
	} {
		if got, ok := ParseTimeSpan(in); !ok || got != want {
			t.Errorf("ParseTimeSpan(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "24:00:00", "00:60", "00:00:60", "1.", "x", "00:00:00.12345678", "1:2:3:4:5"} {
		if d, ok := ParseTimeSpan(in); ok {
			t.Errorf("ParseTimeSpan(%q) = %v, want an error", in, d)
		}
	}
}

func FuzzParseTimeSpan(f *testing.F) {
	for _, s := range []string{"00:00:02", "1.02:03:04.5", "-1", "10675199.02:48:05.4775807", "00:60", ":", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseTimeSpan(s)
		if ok && strings.HasPrefix(strings.TrimSpace(s), "-") != (d < 0) && d != 0 {
			t.Errorf("%q parsed to %v: sign lost", s, d)
		}
	})
}

func TestValidate(t *testing.T) {
	f := newFixture(t)
	fn := &funcd.Function{Name: "work"}
	for _, tc := range []struct {
		kind  binding.Kind
		queue string
		want  string
	}{
		{Trigger(), "", "queueName: The queueName property is required."},
		{Trigger(), "ab", `queueName: A queue name must be from 3 to 63 characters long - "ab"`},
		{Trigger(), "a--b", "queueName: A queue name cannot contain consecutive dash(-) characters."},
		{Trigger(), "-abc", `queueName: The dash (-) character may not be the first or last letter - "-abc"`},
		{Trigger(), "a_bc", `queueName: A queue name can contain only letters, numbers, and dash(-) characters - "a_bc"`},
		{Trigger(), "{name}", `queueName: A queue name can contain only letters`},
		{Trigger(), "Orders", ""}, // lower-cased, as the real host does
		{Output(), "out-{name}", ""},
		{Output(), "x", `queueName: A queue name must be from 3 to 63 characters long - "x"`},
	} {
		err := tc.kind.Validate(fn, queueBinding(tc.kind.Type, tc.queue), f.env(""))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)) {
			t.Errorf("%s %q: %v, want %q", tc.kind.Type, tc.queue, err, tc.want)
		}
	}
	b := queueBinding("queueTrigger", "orders")
	b.Properties["connection"] = "Missing"
	if err := Trigger().Validate(fn, b, f.env("")); err == nil || err.Error() != "connection: setting Missing is not set" {
		t.Errorf("connection error %v", err)
	}
	if err := Trigger().Validate(fn, queueBinding("queueTrigger", "orders"), f.env(`{"batchSize": 0}`)); err == nil ||
		!strings.Contains(err.Error(), "host.json") {
		t.Errorf("options error %v", err)
	}
}

// listenFor starts the trigger of function "work" and returns its events.
func (f *fixture) listenFor(b *funcd.Binding, extensions string, fail bool) <-chan binding.Event {
	f.t.Helper()
	events := make(chan binding.Event, 10)
	l, err := Trigger().Listen(&funcd.Function{Name: "work"}, b, f.env(extensions), binding.InvokerFunc(
		func(_ context.Context, ev binding.Event) error {
			events <- ev
			if fail {
				return errors.New("function failed")
			}
			return nil
		}))
	if err != nil {
		f.t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = l.Stop(context.Background()) })
	return events
}

func TestTriggerDecodesBase64AndFillsBindingData(t *testing.T) {
	f := newFixture(t)
	f.enqueue("orders", base64.StdEncoding.EncodeToString([]byte(`{"id":7}`)))
	ev := <-f.listenFor(queueBinding("queueTrigger", "Orders"), "", false)
	if ev.Value.Kind != funcd.ValueString || string(ev.Value.Data) != `{"id":7}` {
		t.Errorf("value %v %q", ev.Value.Kind, ev.Value.Data)
	}
	want := map[string]string{
		"QueueTrigger": `"{\"id\":7}"`, "DequeueCount": "1",
		"InsertionTime": `"2025-03-01T12:00:00+00:00"`, "ExpirationTime": `"2025-03-08T12:00:00+00:00"`,
		"NextVisibleTime": `"2025-03-01T12:10:00+00:00"`,
	}
	for k, v := range want {
		if string(ev.Data[k]) != v {
			t.Errorf("Data[%s] = %s, want %s", k, ev.Data[k], v)
		}
	}
	if len(ev.Data["Id"]) < 3 || len(ev.Data["PopReceipt"]) < 3 {
		t.Errorf("Id %s PopReceipt %s", ev.Data["Id"], ev.Data["PopReceipt"])
	}
	waitFor(t, "the message to be deleted", func() bool { return f.count("orders") == 0 })
	if !f.log.has("INFO Trigger Details: MessageId: " + strings.Trim(string(ev.Data["Id"]), `"`) +
		", DequeueCount: 1, InsertedOn: 2025-03-01T12:00:00.000+00:00") {
		t.Errorf("trigger details not logged: %q", f.log.recs)
	}
}

func TestTriggerEncodingNone(t *testing.T) {
	f := newFixture(t)
	f.enqueue("plain", "hello")
	ev := <-f.listenFor(queueBinding("queueTrigger", "plain"), `{"messageEncoding": "none"}`, false)
	if string(ev.Value.Data) != "hello" {
		t.Errorf("value %q", ev.Value.Data)
	}
}

func TestTriggerPoisonsBodyThatIsNotBase64(t *testing.T) {
	f := newFixture(t)
	f.enqueue("orders", "not base64!")
	events := f.listenFor(queueBinding("queueTrigger", "orders"), "", false)
	waitFor(t, "the poison message", func() bool { return len(f.peek("orders-poison")) == 1 })
	if p := f.peek("orders-poison"); string(p[0].Body) != "not base64!" {
		t.Errorf("poison body %q", p[0].Body)
	}
	select {
	case <-events:
		t.Error("function invoked with an undecodable message")
	default:
	}
	found := false
	for _, r := range f.log.recs {
		found = found || strings.HasPrefix(r, "WARN Message decoding has failed! Check MessageEncoding settings. MessageId=")
	}
	if !found {
		t.Errorf("decoding warning not logged: %q", f.log.recs)
	}
}

func TestTriggerBinaryAndNonUTF8(t *testing.T) {
	f := newFixture(t)
	raw := []byte{0xff, 0x00, 0xfe}
	f.enqueue("bin", base64.StdEncoding.EncodeToString(raw))
	b := queueBinding("queueTrigger", "bin")
	b.DataType = "binary"
	ev := <-f.listenFor(b, "", false)
	if ev.Value.Kind != funcd.ValueBytes || string(ev.Value.Data) != string(raw) {
		t.Errorf("value %v %x", ev.Value.Kind, ev.Value.Data)
	}
	if _, ok := ev.Data["QueueTrigger"]; ok {
		t.Error("QueueTrigger set for a body that is not UTF-8")
	}
	// As a string, the body fails the invocation (the real host's string
	// conversion throws) without reaching the function.
	if _, err := Event(&funcd.Function{}, queueBinding("queueTrigger", "bin"), storage.Message{ID: "m1"}, raw); err == nil ||
		err.Error() != "Queue message's body cannot be converted to string because it contains non-UTF8 bytes, message id=m1" {
		t.Errorf("non-UTF-8 string: %v", err)
	}
}

func TestTriggerFailedInvocationRetriesThenPoisons(t *testing.T) {
	f := newFixture(t)
	f.enqueue("jobs", base64.StdEncoding.EncodeToString([]byte("x")))
	events := f.listenFor(queueBinding("queueTrigger", "jobs"), `{"maxDequeueCount": 2}`, true)
	for _, want := range []string{"1", "2"} {
		if ev := <-events; string(ev.Data["DequeueCount"]) != want {
			t.Fatalf("DequeueCount %s, want %s", ev.Data["DequeueCount"], want)
		}
	}
	waitFor(t, "the poison message", func() bool { return len(f.peek("jobs-poison")) == 1 })
}

func TestMessages(t *testing.T) {
	for _, tc := range []struct {
		v    funcd.Value
		want []string
	}{
		{funcd.JSONValue(json.RawMessage(`["a", {"b": 1}, [2], 3]`)), []string{"a", `{"b": 1}`, "[2]", "3"}},
		{funcd.JSONValue(json.RawMessage(`"[\"x\",\"y\"]"`)), []string{"x", "y"}},
		{funcd.StringValue(`["x","y"]`), []string{"x", "y"}},
		{funcd.JSONValue(json.RawMessage(`{"k":"v"}`)), []string{`{"k":"v"}`}},
		{funcd.JSONValue(json.RawMessage(`"hi"`)), []string{"hi"}},
		{funcd.StringValue("plain"), []string{"plain"}},
		{funcd.BytesValue([]byte{1, 2}), []string{"\x01\x02"}},
		{funcd.JSONValue(json.RawMessage(`null`)), nil},
		{funcd.Value{}, nil},
	} {
		got, err := Messages(tc.v)
		var s []string
		for _, m := range got {
			s = append(s, string(m))
		}
		if err != nil || strings.Join(s, "|") != strings.Join(tc.want, "|") || len(s) != len(tc.want) {
			t.Errorf("Messages(%s) = %q %v, want %q", tc.v.Data, s, err, tc.want)
		}
	}
}

func TestOutputWrites(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	fn := &funcd.Function{Name: "work"}
	out := Output()
	b := queueBinding("queue", "out-{name}")
	data := binding.Data{"name": json.RawMessage(`"Blue"`)}
	if err := out.Write(ctx, f.env(""), fn, b, data, funcd.JSONValue(json.RawMessage(`["a",{"b":1}]`))); err != nil {
		t.Fatal(err)
	}
	ms := f.peek("out-blue")
	if len(ms) != 2 || string(ms[0].Body) != base64.StdEncoding.EncodeToString([]byte("a")) ||
		string(ms[1].Body) != base64.StdEncoding.EncodeToString([]byte(`{"b":1}`)) {
		t.Fatalf("enqueued %+v", ms)
	}
	plain := queueBinding("queue", "plain")
	if err := out.Write(ctx, f.env(`{"messageEncoding":"none"}`), fn, plain, nil, funcd.StringValue("hi")); err != nil {
		t.Fatal(err)
	}
	if ms := f.peek("plain"); len(ms) != 1 || string(ms[0].Body) != "hi" {
		t.Fatalf("enqueued %+v", ms)
	}
	big := funcd.StringValue(strings.Repeat("x", 50*1024)) // 66.7 KiB once base64-encoded
	err := out.Write(ctx, f.env(""), fn, plain, nil, big)
	if !errors.Is(err, storage.ErrTooLarge) || !strings.HasPrefix(err.Error(), "function work, binding msg: message 1 is 68268 bytes") {
		t.Errorf("large message: %v", err)
	}
	err = out.Write(ctx, f.env(""), fn, queueBinding("queue", "{missing}"), data, funcd.StringValue("x"))
	if err == nil || !strings.Contains(err.Error(), "No value for named parameter 'missing'.") {
		t.Errorf("unresolved expression: %v", err)
	}
}
