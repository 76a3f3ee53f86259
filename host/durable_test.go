package host

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/durable"
)

func TestDurableConfig(t *testing.T) {
	app := func(ext string, settings map[string]string) *funcd.App {
		a := &funcd.App{Settings: settings}
		if ext != "" {
			a.Host.Extensions = map[string]json.RawMessage{"durabletask": json.RawMessage(ext)}
		}
		return a
	}
	opts, err := durableConfig(app("", nil))
	if err != nil || opts != (durable.Options{Hub: durable.DefaultHub}) {
		t.Errorf("no settings: %+v, %v", opts, err)
	}
	opts, err = durableConfig(app("", map[string]string{"WEBSITE_SITE_NAME": "mysite"}))
	if err != nil || opts.Hub != "mysite" {
		t.Errorf("site name: %+v, %v", opts, err)
	}
	opts, err = durableConfig(app(`{"hubName":"%HUB%","maxConcurrentActivityFunctions":3,"maxConcurrentOrchestratorFunctions":2,"maxConcurrentEntityFunctions":1,"overridableExistingInstanceStates":"AnyState"}`,
		map[string]string{"HUB": "Orders"}))
	want := durable.Options{Hub: "Orders", MaxConcurrentActivities: 3, MaxConcurrentOrchestrations: 2, MaxConcurrentEntities: 1, Reuse: durable.OverwriteAny}
	if err != nil || opts != want {
		t.Errorf("settings: %+v, %v; want %+v", opts, err, want)
	}
	for _, c := range []struct{ ext, field string }{
		{`{"maxConcurrentActivityFunctions":0}`, "extensions.durableTask.maxConcurrentActivityFunctions"},
		{`{"maxConcurrentOrchestratorFunctions":"ten"}`, "extensions.durableTask"},
		{`[1]`, "extensions.durableTask"},
		{`{"overridableExistingInstanceStates":"Sometimes"}`, "extensions.durableTask.overridableExistingInstanceStates"},
	} {
		_, err := durableConfig(app(c.ext, nil))
		var ce *funcd.ConfigError
		if !errors.As(err, &ce) || ce.File != "host.json" || ce.Field != c.field || !strings.Contains(err.Error(), "expected") && c.field != "extensions.durableTask" {
			t.Errorf("%s: err = %v, want a host.json error on %s", c.ext, err, c.field)
		}
	}
}

func TestLocalRPCEnabled(t *testing.T) {
	for section, want := range map[string]bool{
		"":                                  true,
		`{"hubName":"H"}`:                   true,
		`{"localRpcEndpointEnabled":true}`:  true,
		`{"localRpcEndpointEnabled":false}`: false,
		`{"LocalRpcEndpointEnabled":false}`: false,
	} {
		app := &funcd.App{}
		if section != "" {
			app.Host.Extensions = map[string]json.RawMessage{"durabletask": json.RawMessage(section)}
		}
		if got := localRPCEnabled(app); got != want {
			t.Errorf("localRPCEnabled(%s) = %v, want %v", section, got, want)
		}
	}
}
