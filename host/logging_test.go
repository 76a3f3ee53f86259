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
