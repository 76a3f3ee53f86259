// Package timer is the timerTrigger binding: a function that runs on an
// NCRONTAB schedule or at a constant interval, once across every funcd
// process that shares a store, as the real host's TimerListener runs under
// its listener singleton lock.
//
// The schedule is read by package schedule. Its occurrences are computed
// in the zone named by the WEBSITE_TIME_ZONE setting (an IANA id, or a
// Windows id for the common zones), else TZ, else the process's local zone.
//
// One listener per function competes for the lease
// "locks/{hostId}/Host.Functions.{Name}.Listener" in funcd's store. The
// holder keeps the timer's status under
// "timers/{hostId}/Host.Functions.{Name}/status", checks at start-up
// whether an occurrence was missed while no host ran it (then it fires at
// once with IsPastDue), honours runOnStartup, and after each run saves the
// new status fenced by its lease: a holder whose lease was taken over stops
// running the schedule and competes for the lease again.
package timer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/binding/timer/schedule"
	"github.com/funcd/funcd/storage"
)

// Type is the function.json type of the timer trigger.
const Type = "timerTrigger"

// Trigger returns the timerTrigger Kind.
func Trigger() binding.Kind {
	return binding.Kind{
		Type: Type,
		Validate: func(fn *funcd.Function, b *funcd.Binding, env *binding.Env) error {
			_, err := readConfig(fn, b, env)
			return err
		},
		Listen: listen,
	}
}

// LockName is the lease a function's timer listener holds, named as the
// real host names its singleton lock blob.
func LockName(hostID, function string) string {
	return "locks/" + hostID + "/" + timerName(function) + ".Listener"
}

// StatusName is where a function's schedule status is kept, named as the
// real host names its status blob.
func StatusName(hostID, function string) string {
	return "timers/" + hostID + "/" + timerName(function) + "/status"
}

func timerName(function string) string { return "Host.Functions." + function }

// config is a timer binding as read from function.json and the settings.
type config struct {
	sched        *schedule.Schedule
	loc          *time.Location
	runOnStartup bool
	// useMonitor is whether status is kept; false when the binding says so
	// or the schedule fires more than once a minute (forced).
	useMonitor, forcedNoMonitor bool
}

func readConfig(fn *funcd.Function, b *funcd.Binding, env *binding.Env) (*config, error) {
	field := func(name string) string {
		for i := range fn.Bindings {
			if &fn.Bindings[i] == b {
				return fmt.Sprintf("bindings[%d].%s", i, name)
			}
		}
		return name
	}
	raw, ok := binding.Property(b, "schedule")
	expr, isString := raw.(string)
	if !ok || raw == nil || !isString || expr == "" {
		got := "is missing"
		if ok && raw != nil {
			got = fmt.Sprintf("is %s, not a string", describe(raw))
		}
		if isString {
			got = "is empty"
		}
		return nil, &funcd.ConfigError{
			Field: field("schedule"),
			Msg:   fmt.Sprintf("The timerTrigger binding %q needs a schedule; \"schedule\" %s.", b.Name, got),
			Hint:  `Give an NCRONTAB expression with seconds, e.g. "schedule": "0 */5 * * * *" (every five minutes), or a TimeSpan such as "00:05:00".`,
		}
	}
	sched, err := schedule.Parse(expr)
	if err != nil {
		hint := `Write six fields {second} {minute} {hour} {day} {month} {day-of-week}, e.g. "0 30 9 * * Mon-Fri" ` +
			`(9:30 on weekdays) or "0 */5 * * * *" (every five minutes), or a TimeSpan "hh:mm:ss" such as "00:05:00".`
		if pe, ok := err.(*schedule.ParseError); ok && pe.Cron != nil {
			hint = "As cron: " + pe.Cron.Error() + ". " + hint
		}
		return nil, &funcd.ConfigError{Field: field("schedule"), Msg: err.Error(), Hint: hint}
	}
	if d, ok := sched.Interval(); ok && d <= 0 {
		return nil, &funcd.ConfigError{
			Field: field("schedule"),
			Msg:   fmt.Sprintf("The schedule expression '%s' is an interval of zero or less, which would run the function without pause.", expr),
			Hint:  `Give a positive TimeSpan such as "00:05:00", or an NCRONTAB expression such as "0 */5 * * * *".`,
		}
	}
	cfg := &config{sched: sched, useMonitor: true}
	if cfg.runOnStartup, err = boolProperty(b, "runOnStartup", field); err != nil {
		return nil, err
	}
	if _, ok := binding.Property(b, "useMonitor"); ok {
		if cfg.useMonitor, err = boolProperty(b, "useMonitor", field); err != nil {
			return nil, err
		}
	}
	if cfg.useMonitor && sched.SubMinute() {
		cfg.useMonitor, cfg.forcedNoMonitor = false, true
	}
	if cfg.loc, err = zone(env); err != nil {
		return nil, err
	}
	return cfg, nil
}

// boolProperty reads an optional boolean; a string "true" or "false" (any
// case) is accepted, as Json.NET converts it.
func boolProperty(b *funcd.Binding, name string, field func(string) string) (bool, error) {
	raw, ok := binding.Property(b, name)
	if !ok || raw == nil {
		return false, nil
	}
	switch v := raw.(type) {
	case bool:
		return v, nil
	case string:
		switch v := strings.TrimSpace(v); {
		case strings.EqualFold(v, "true"):
			return true, nil
		case strings.EqualFold(v, "false"):
			return false, nil
		}
	}
	return false, &funcd.ConfigError{
		Field: field(name),
		Msg:   fmt.Sprintf("%q of the timerTrigger binding %q is %s; it must be true or false.", name, b.Name, describe(raw)),
		Hint:  fmt.Sprintf(`Write "%s": true or "%s": false, without quotes.`, name, name),
	}
}

func describe(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(raw)
}

// zone is the time zone schedules run in: WEBSITE_TIME_ZONE, else TZ,
// else the process's local zone.
func zone(env *binding.Env) (*time.Location, error) {
	for _, name := range []string{"WEBSITE_TIME_ZONE", "TZ"} {
		v, ok := env.Settings[name]
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		loc, err := schedule.LoadLocation(v)
		if err != nil {
			return nil, &funcd.ConfigError{
				Field: name,
				Msg:   fmt.Sprintf("The setting %s is %q, which is not a time zone funcd knows.", name, v),
				Hint:  `Use an IANA zone id such as "Europe/Berlin" or "America/New_York", a common Windows id such as "W. Europe Standard Time", or "UTC".`,
			}
		}
		return loc, nil
	}
	return time.Local, nil
}

// AdminEvent is the event for a timer function invoked through the admin
// API (POST /admin/functions/{name}), as the real host's
// TimerTriggerBinding binds a value that is not a TimerInfo: the saved
// status when useMonitor is on, and IsPastDue false.
func AdminEvent(ctx context.Context, env *binding.Env, fn *funcd.Function, b *funcd.Binding) (binding.Event, error) {
	cfg, err := readConfig(fn, b, env)
	if err != nil {
		return binding.Event{}, err
	}
	var st *storage.ScheduleStatus
	if cfg.useMonitor {
		saved, ok, err := env.Store.ScheduleStatus(ctx, StatusName(env.HostID, fn.Name))
		if err != nil {
			return binding.Event{}, fmt.Errorf("timer %s: read schedule status: %w", fn.Name, err)
		}
		if ok {
			st = &saved
		}
	}
	return event(fn, cfg, st, false, env.Clock.Now()), nil
}

// event builds a firing: the TimerInfo the real host sends, and the
// TimerTrigger binding data (DateTime.Now.ToString()).
func event(fn *funcd.Function, cfg *config, st *storage.ScheduleStatus, pastDue bool, now time.Time) binding.Event {
	fired, _ := json.Marshal(now.In(cfg.loc).Format("01/02/2006 15:04:05"))
	return binding.Event{
		Function: fn,
		Value:    funcd.JSONValue(TimerInfo(cfg.sched, st, pastDue, cfg.loc)),
		Data:     binding.Data{"TimerTrigger": fired},
		Reason:   "Timer fired at " + now.In(cfg.loc).Format("2006-01-02T15:04:05.0000000Z07:00"),
	}
}

// TimerInfo is the JSON of the real host's TimerInfo as Json.NET writes it:
// {"Schedule":{"AdjustForDST":bool},"ScheduleStatus":{"Last","Next",
// "LastUpdated"}|null,"IsPastDue":bool}, dates as local times in loc with
// their offset. A status time that is unset (the real host's
// DateTime.MinValue) is written as 0001-01-01T00:00:00 with the zone's
// standard offset.
func TimerInfo(s *schedule.Schedule, st *storage.ScheduleStatus, pastDue bool, loc *time.Location) json.RawMessage {
	var b strings.Builder
	fmt.Fprintf(&b, `{"Schedule":{"AdjustForDST":%t},"ScheduleStatus":`, s.AdjustForDST())
	if st == nil {
		b.WriteString("null")
	} else {
		fmt.Fprintf(&b, `{"Last":"%s","Next":"%s","LastUpdated":"%s"}`,
			jsonDate(st.Last, loc), jsonDate(st.Next, loc), jsonDate(st.LastUpdated, loc))
	}
	fmt.Fprintf(&b, `,"IsPastDue":%t}`, pastDue)
	return json.RawMessage(b.String())
}

// jsonDate formats t as Json.NET writes a local DateTime:
// yyyy-MM-ddTHH:mm:ss.FFFFFFF+hh:mm (the fraction in 100 ns ticks, trailing
// zeros and an empty fraction dropped).
func jsonDate(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		_, jan := time.Date(2001, 1, 1, 0, 0, 0, 0, loc).Zone()
		_, jul := time.Date(2001, 7, 1, 0, 0, 0, 0, loc).Zone()
		off := min(jan, jul)
		return "0001-01-01T00:00:00" + time.Unix(0, 0).In(time.FixedZone("", off)).Format("-07:00")
	}
	t = t.In(loc)
	s := t.Format("2006-01-02T15:04:05")
	if ticks := t.Nanosecond() / 100; ticks != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%07d", ticks), "0")
	}
	return s + t.Format("-07:00")
}
