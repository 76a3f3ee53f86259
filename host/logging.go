package host

import (
	"context"
	"log/slog"
	"math"
	"sort"
	"strings"
)

// CategoryKey is the log attribute that names a record's category, as the
// real host's logger categories: "Function.<Name>" for a function's
// invocation records, "Host.*" for the host's own.
const CategoryKey = "category"

// levelNone is above every level: the category is off.
const levelNone = slog.Level(math.MaxInt32)

// categoryLevel is one host.json logging.logLevel entry.
type categoryLevel struct {
	prefix string // lower-case category prefix; "" for "default"
	level  slog.Level
}

// categoryHandler drops records below the minimum level host.json's
// logging.logLevel sets for their category. A category takes the level of
// the longest logLevel key that is a prefix of it (case-insensitively, on
// dot boundaries), or of "default". The category is fixed when a logger is
// made with With(CategoryKey, ...), so Enabled costs a comparison.
//
// A level host.json sets is the category's level whatever the inner
// handler's own: "Debug" or "Trace" shows debug records on a console that
// logs from Info up (the real host's console follows logging.logLevel
// too). A category host.json says nothing about keeps the inner handler's
// level, and Information at the least.
type categoryHandler struct {
	inner  slog.Handler
	levels []categoryLevel // longest prefix first
	min    slog.Level
	set    bool // min comes from host.json, not the Information default
}

// newCategoryLogger wraps base so that records obey logLevel (host.json
// logging.logLevel: category -> Trace, Debug, Information, Warning, Error,
// Critical or None). Unknown level names were rejected when the app loaded.
func newCategoryLogger(base *slog.Logger, logLevel map[string]string) *slog.Logger {
	if len(logLevel) == 0 {
		return base
	}
	h := &categoryHandler{inner: base.Handler(), min: slog.LevelDebug}
	for k, v := range logLevel {
		p := strings.ToLower(k)
		if p == "default" {
			p = ""
		}
		h.levels = append(h.levels, categoryLevel{prefix: p, level: parseLevel(v)})
	}
	sort.Slice(h.levels, func(i, j int) bool { return len(h.levels[i].prefix) > len(h.levels[j].prefix) })
	h.min, h.set = h.levelOf("")
	return slog.New(h)
}

// parseLevel maps a .NET log level name to slog's levels.
func parseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "trace", "debug":
		return slog.LevelDebug
	case "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	case "critical":
		return slog.LevelError + 4
	case "none":
		return levelNone
	default:
		return slog.LevelInfo
	}
}

// levelOf returns the minimum level of a category, and whether host.json
// sets it.
func (h *categoryHandler) levelOf(category string) (slog.Level, bool) {
	c := strings.ToLower(category)
	for _, l := range h.levels {
		if l.prefix == "" || c == l.prefix || strings.HasPrefix(c, l.prefix+".") {
			return l.level, true
		}
	}
	return slog.LevelInfo, false
}

func (h *categoryHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if h.set {
		return l >= h.min
	}
	return l >= h.min && h.inner.Enabled(ctx, l)
}

func (h *categoryHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.min {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h *categoryHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(attrs)
	for _, a := range attrs {
		if a.Key == CategoryKey {
			c.min, c.set = h.levelOf(a.Value.String())
		}
	}
	return &c
}

func (h *categoryHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	return &c
}
