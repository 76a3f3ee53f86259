package host

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestCategoryLevels(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	log := newCategoryLogger(base, map[string]string{
		"default":        "Warning",
		"Function":       "Information",
		"Function.quiet": "None",
		"Host.Results":   "Error",
		"Func":           "Debug", // a prefix only on dot boundaries: not Function's
	})
	cases := []struct {
		category string
		level    slog.Level
		want     bool
	}{
		{"Function.hello", slog.LevelInfo, true},
		{"function.HELLO", slog.LevelInfo, true}, // categories compare without case
		{"Function.hello", slog.LevelDebug, false},
		{"Function.quiet", slog.LevelError, false},
		{"Function.quiet.User", slog.LevelError, false},
		{"Function.quieter", slog.LevelInfo, true}, // not under Function.quiet
		{"Host.Results", slog.LevelWarn, false},
		{"Host.Results", slog.LevelError, true},
		{"Host.Startup", slog.LevelInfo, false}, // default: Warning
		{"Host.Startup", slog.LevelWarn, true},
		{"Func.x", slog.LevelDebug, true},
	}
	for _, c := range cases {
		buf.Reset()
		l := log.With(CategoryKey, c.category)
		l.Log(context.Background(), c.level, "record")
		if got := strings.Contains(buf.String(), "record"); got != c.want {
			t.Errorf("%s at %v logged = %v, want %v", c.category, c.level, got, c.want)
		}
		if got := l.Enabled(context.Background(), c.level); got != c.want {
			t.Errorf("%s at %v Enabled = %v, want %v", c.category, c.level, got, c.want)
		}
	}
	// Records without a category take the default level.
	buf.Reset()
	log.Info("no category")
	log.Warn("no category, warning")
	if strings.Contains(buf.String(), "no category\"") || !strings.Contains(buf.String(), "warning") {
		t.Errorf("default level not applied: %s", buf.String())
	}
}

func TestNoLogLevelKeepsTheLogger(t *testing.T) {
	base := slog.New(slog.DiscardHandler)
	if newCategoryLogger(base, nil) != base {
		t.Error("an app without logging.logLevel should log as configured")
	}
}

// TestLogLevelRaisesAQuieterConsole: a category host.json sets to Debug or
// Trace logs debug records even through a handler that logs from Info up,
// as the console does without --verbose; the rest keep the handler's level.
func TestLogLevelRaisesAQuieterConsole(t *testing.T) {
	for _, c := range []struct {
		logLevel map[string]string
		want     map[string]bool // category -> a debug record shows
	}{
		{map[string]string{"Function.hello": "Trace"}, map[string]bool{"Function.hello": true, "Function.other": false, "": false}},
		{map[string]string{"default": "Debug"}, map[string]bool{"Function.hello": true, "Host.Startup": true, "": true}},
		{map[string]string{"Function": "Debug", "Function.quiet": "Warning"}, map[string]bool{"Function.hello": true, "Function.quiet": false, "Host.Startup": false}},
	} {
		var buf bytes.Buffer
		base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
		log := newCategoryLogger(base, c.logLevel)
		for category, want := range c.want {
			buf.Reset()
			l := log
			if category != "" {
				l = log.With(CategoryKey, category)
			}
			l.Debug("debug record")
			if got := strings.Contains(buf.String(), "debug record"); got != want {
				t.Errorf("logLevel %v: a debug record of %q shows = %v, want %v", c.logLevel, category, got, want)
			}
		}
	}
}
