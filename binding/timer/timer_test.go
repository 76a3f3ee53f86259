package timer

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/binding/timer/schedule"
	"github.com/funcd/funcd/storage"
)

func timerFunction(props map[string]any) *funcd.Function {
	return &funcd.Function{Name: "Tick", Bindings: []funcd.Binding{
		{Name: "out", Type: "queue", Direction: funcd.Out},
		{Name: "myTimer", Type: Type, Direction: funcd.In, Properties: props},
	}}
}

func TestValidate(t *testing.T) {
	validate := Trigger().Validate
	tests := []struct {
		name     string
		props    map[string]any
		settings map[string]string
		field    string
		msg      string // substring of Msg
		hint     string // substring of Hint
	}{
		{"missing", map[string]any{}, nil, "bindings[1].schedule", `"schedule" is missing`, `"0 */5 * * * *"`},
		{"empty", map[string]any{"schedule": ""}, nil, "bindings[1].schedule", `"schedule" is empty`, "TimeSpan"},
		{"number", map[string]any{"schedule": 5.0}, nil, "bindings[1].schedule", `"schedule" is 5, not a string`, "NCRONTAB"},
		{"bad", map[string]any{"schedule": "0 0 25 * * *"}, nil, "bindings[1].schedule",
			"The schedule expression '0 0 25 * * *' was not recognized as a valid cron expression or timespan string.", `"0 30 9 * * Mon-Fri"`},
		{"weekday 7", map[string]any{"schedule": "0 0 9 * * 7"}, nil, "bindings[1].schedule", "was not recognized",
			"As cron: '7' is not a valid [DayOfWeek] crontab field expression: 7 is higher than the maximum allowable value for the [DayOfWeek] field. Value must be between 0 and 6 (all inclusive). Write six fields"},
		{"zero interval", map[string]any{"schedule": "00:00:00"}, nil, "bindings[1].schedule", "zero or less", `"00:05:00"`},
		{"negative interval", map[string]any{"schedule": "-00:01:00"}, nil, "bindings[1].schedule", "zero or less", "positive"},
		{"runOnStartup", map[string]any{"schedule": "0 * * * * *", "runOnStartup": "yes"}, nil, "bindings[1].runOnStartup",
			`"runOnStartup" of the timerTrigger binding "myTimer" is "yes"`, "true"},
		{"useMonitor", map[string]any{"schedule": "0 * * * * *", "UseMonitor": 1.0}, nil, "bindings[1].useMonitor", "is 1", "false"},
		{"zone", map[string]any{"schedule": "0 * * * * *"}, map[string]string{"WEBSITE_TIME_ZONE": "Mars Standard Time"},
			"WEBSITE_TIME_ZONE", `"Mars Standard Time"`, "Europe/Berlin"},
		{"TZ", map[string]any{"schedule": "0 * * * * *"}, map[string]string{"TZ": "Nowhere/Atlantis"}, "TZ", "Nowhere/Atlantis", "UTC"},
	}
	for _, tt := range tests {
		fn := timerFunction(tt.props)
		err := validate(fn, &fn.Bindings[1], &binding.Env{Settings: tt.settings})
		var ce *funcd.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: Validate = %v; want a ConfigError", tt.name, err)
			continue
		}
		if ce.Field != tt.field || !strings.Contains(ce.Msg, tt.msg) || !strings.Contains(ce.Hint, tt.hint) {
			t.Errorf("%s: got field %q msg %q hint %q; want %q, %q, %q", tt.name, ce.Field, ce.Msg, ce.Hint, tt.field, tt.msg, tt.hint)
		}
	}
	for _, props := range []map[string]any{
		{"schedule": "0 */5 * * * *"},
		{"schedule": "*/5 * * * *", "runOnStartup": true, "useMonitor": false},
		{"Schedule": "00:05:00", "runOnStartup": "True", "useMonitor": "false"},
		{"schedule": "0 30 9 * * Mon-Fri"},
	} {
		fn := timerFunction(props)
		env := &binding.Env{Settings: map[string]string{"WEBSITE_TIME_ZONE": "W. Europe Standard Time"}}
		if err := validate(fn, &fn.Bindings[1], env); err != nil {
			t.Errorf("Validate(%v) = %v", props, err)
		}
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		props                  map[string]any
		useMonitor, forced, ro bool
		zone                   string
	}{
		{map[string]any{"schedule": "0 */5 * * * *"}, true, false, false, "America/New_York"},
		{map[string]any{"schedule": "*/10 * * * * *"}, false, true, false, "America/New_York"},
		{map[string]any{"schedule": "00:00:30"}, false, true, false, "America/New_York"},
		{map[string]any{"schedule": "00:00:30", "useMonitor": false}, false, false, false, "America/New_York"},
		{map[string]any{"schedule": "00:01:00", "runOnStartup": true}, true, false, true, "America/New_York"},
	}
	for _, tt := range tests {
		fn := timerFunction(tt.props)
		cfg, err := readConfig(fn, &fn.Bindings[1], &binding.Env{Settings: map[string]string{"TZ": "Eastern Standard Time"}})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.useMonitor != tt.useMonitor || cfg.forcedNoMonitor != tt.forced || cfg.runOnStartup != tt.ro || cfg.loc.String() != tt.zone {
			t.Errorf("%v: got %+v", tt.props, cfg)
		}
	}
	// WEBSITE_TIME_ZONE wins over TZ.
	fn := timerFunction(map[string]any{"schedule": "0 * * * * *"})
	cfg, err := readConfig(fn, &fn.Bindings[1], &binding.Env{Settings: map[string]string{"TZ": "Asia/Tokyo", "WEBSITE_TIME_ZONE": "UTC"}})
	if err != nil || cfg.loc != time.UTC {
		t.Errorf("zone = %v, %v; want UTC", cfg.loc, err)
	}
}

func TestTimerInfo(t *testing.T) {
	cron, _ := schedule.Parse("0 30 1 * * *")
	constant, _ := schedule.Parse("00:05:00")
	ny, _ := schedule.LoadLocation("America/New_York")
	st := storage.ScheduleStatus{
		Last:        time.Date(2024, 11, 3, 5, 30, 0, 0, time.UTC),
		Next:        time.Date(2024, 11, 4, 6, 30, 0, 0, time.UTC),
		LastUpdated: time.Date(2024, 11, 3, 5, 30, 0, 123_456_700, time.UTC),
	}
	tests := []struct {
		got  json.RawMessage
		want string
	}{
		{TimerInfo(cron, &st, false, ny),
			`{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2024-11-03T01:30:00-04:00","Next":"2024-11-04T01:30:00-05:00","LastUpdated":"2024-11-03T01:30:00.1234567-04:00"},"IsPastDue":false}`},
		{TimerInfo(constant, nil, true, time.UTC), `{"Schedule":{"AdjustForDST":false},"ScheduleStatus":null,"IsPastDue":true}`},
		{TimerInfo(cron, &storage.ScheduleStatus{Next: st.Next}, false, time.UTC),
			`{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"0001-01-01T00:00:00+00:00","Next":"2024-11-04T06:30:00+00:00","LastUpdated":"0001-01-01T00:00:00+00:00"},"IsPastDue":false}`},
		{TimerInfo(cron, &storage.ScheduleStatus{}, false, ny),
			`{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"0001-01-01T00:00:00-05:00","Next":"0001-01-01T00:00:00-05:00","LastUpdated":"0001-01-01T00:00:00-05:00"},"IsPastDue":false}`},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want || !json.Valid(tt.got) {
			t.Errorf("got  %s\nwant %s", tt.got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	if got := LockName("myhost", "Tick"); got != "locks/myhost/Host.Functions.Tick.Listener" {
		t.Errorf("LockName = %q", got)
	}
	if got := StatusName("myhost", "Tick"); got != "timers/myhost/Host.Functions.Tick/status" {
		t.Errorf("StatusName = %q", got)
	}
}

func TestAdminEvent(t *testing.T) {
	h := newHarness(t, time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	fn := timerFunction(map[string]any{"schedule": "0 */5 * * * *"})
	env := h.env("a", nil)
	st := storage.ScheduleStatus{Last: h.clk.Now().Add(-5 * time.Minute), Next: h.clk.Now().Add(5 * time.Minute), LastUpdated: h.clk.Now().Add(-5 * time.Minute)}
	if err := h.store.SetScheduleStatus(context.Background(), StatusName("testhost", "Tick"), st, storage.Lease{}); err != nil {
		t.Fatal(err)
	}
	ev, err := AdminEvent(context.Background(), env, fn, &fn.Bindings[1])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2024-05-01T09:55:00+00:00","Next":"2024-05-01T10:05:00+00:00","LastUpdated":"2024-05-01T09:55:00+00:00"},"IsPastDue":false}`
	if ev.Value.Kind != funcd.ValueJSON || string(ev.Value.Data) != want || ev.Function != fn {
		t.Errorf("AdminEvent = %s; want %s", ev.Value.Data, want)
	}
	if got := string(ev.Data["TimerTrigger"]); got != `"05/01/2024 10:00:00"` {
		t.Errorf("TimerTrigger = %s", got)
	}
}
