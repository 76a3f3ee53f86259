package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// consoleHandler is a slog.Handler for a person at a terminal. Its lines
// read like Core Tools' `func start` output:
//
//	[2024-10-24T10:00:00.123Z] Executing 'Functions.hello' (Reason='...', Id=3f2a1b4c-...)
//	[2024-10-24T10:00:00.125Z] hello[3f2a1b4c] {"level":"info","msg":"handler output"}
//	[2024-10-24T10:00:00.126Z] ERROR Executed 'Functions.hello' (Failed, Id=3f2a1b4c-..., Duration=3ms)
//	[2024-10-24T10:00:00.126Z] ERROR function 'hello': the custom handler ...
//
// A line is the UTC time, the level for anything but Info, the invocation
// as function[first 8 characters of its id] (unless the message names the
// invocation itself), the message as it is (a handler's output is not
// quoted or escaped), then the other attributes as key=value. An error
// attribute's message goes on lines of its own after the message, as Core
// Tools prints an exception; so does each further line of a multi-line
// message.
// The category and worker attributes are left out (the JSON format keeps
// them).
//
// With color, a line takes Core Tools' colour of its level (information
// cyan, warnings yellow, errors red, debug green) and the time is grey.
//
// Handle does no reflection and formats without fmt for the attribute
// kinds the host logs, and writes a record with one Write call.
type consoleHandler struct {
	out   *consoleOutput
	level slog.Leveler
	color bool

	attrs      []byte // rendered WithAttrs attributes, each " key=value"
	group      string // prefix of later attribute keys: "g1.g2."
	function   string // a WithAttrs "function" attribute
	invocation string // a WithAttrs "invocation_id" attribute
}

// consoleOutput is the writer the handler and its clones share.
type consoleOutput struct {
	mu sync.Mutex
	w  io.Writer
}

// Attribute keys the console handler gives a place of their own.
const (
	attrFunction   = "function"
	attrInvocation = "invocation_id"
	attrCategory   = "category"
	attrWorker     = "worker"
)

// ANSI colours, as Core Tools' output theme uses them.
const (
	ansiReset  = "\x1b[0m"
	ansiGrey   = "\x1b[90m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

func newConsoleHandler(w io.Writer, level slog.Leveler, color bool) *consoleHandler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &consoleHandler{out: &consoleOutput{w: w}, level: level, color: color}
}

func (h *consoleHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *consoleHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	c := *h
	c.attrs = append([]byte(nil), h.attrs...)
	for _, a := range as {
		if h.group == "" {
			switch a.Key {
			case attrFunction:
				c.function = a.Value.Resolve().String()
				continue
			case attrInvocation:
				c.invocation = a.Value.Resolve().String()
				continue
			case attrCategory, attrWorker:
				continue
			}
		}
		c.attrs = appendAttr(c.attrs, h.group, a)
	}
	return &c
}

func (h *consoleHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

// linePool holds the buffers records are formatted in.
var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledLine bounds the buffers linePool keeps.
const maxPooledLine = 64 << 10

func (h *consoleHandler) Handle(_ context.Context, r slog.Record) error {
	function, invocation := h.function, h.invocation
	special, errs := false, false
	r.Attrs(func(a slog.Attr) bool {
		if isError(a.Value) {
			errs = true
			return true
		}
		if h.group != "" {
			return true
		}
		switch a.Key {
		case attrFunction:
			function, special = a.Value.Resolve().String(), true
		case attrInvocation:
			invocation, special = a.Value.Resolve().String(), true
		case attrCategory, attrWorker:
			special = true
		}
		return true
	})

	bp := linePool.Get().(*[]byte)
	buf := (*bp)[:0]

	// The part every line starts with: time, level, invocation.
	buf = h.appendLead(buf, r.Time, r.Level)
	if invocation != "" && !strings.Contains(r.Message, invocation) {
		if function == "" {
			function = "invocation"
		}
		buf = append(buf, function...)
		buf = append(buf, '[')
		buf = append(buf, invocation[:min(len(invocation), 8)]...)
		buf = append(buf, "] "...)
	}
	lead := len(buf)

	msg, rest, multi := strings.Cut(r.Message, "\n")
	buf = append(buf, strings.TrimSuffix(msg, "\r")...)

	// Attributes: the handler's, then the record's.
	if invocation == "" && function != "" {
		buf = appendAttr(buf, "", slog.String(attrFunction, function))
	}
	buf = append(buf, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		if errs && isError(a.Value) {
			return true
		}
		if special && h.group == "" {
			switch a.Key {
			case attrFunction, attrInvocation, attrCategory, attrWorker:
				return true
			}
		}
		buf = appendAttr(buf, h.group, a)
		return true
	})
	buf = h.endLine(buf)

	// Further lines repeat the lead.
	for multi {
		msg, rest, multi = strings.Cut(rest, "\n")
		buf = h.appendMore(buf, lead, strings.TrimSuffix(msg, "\r"))
	}
	if errs {
		r.Attrs(func(a slog.Attr) bool {
			if isError(a.Value) {
				for line := range strings.SplitSeq(a.Value.Any().(error).Error(), "\n") {
					buf = h.appendMore(buf, lead, strings.TrimSuffix(line, "\r"))
				}
			}
			return true
		})
	}

	h.out.mu.Lock()
	_, err := h.out.w.Write(buf)
	h.out.mu.Unlock()
	if cap(buf) <= maxPooledLine {
		*bp = buf[:0]
		linePool.Put(bp)
	}
	return err
}

// appendMore appends one more line: the first line's lead (the buffer's
// first lead bytes), then text.
func (h *consoleHandler) appendMore(buf []byte, lead int, text string) []byte {
	buf = append(buf, buf[:lead]...)
	buf = append(buf, text...)
	return h.endLine(buf)
}

// appendLead appends a line's start: the time, the colour of the level,
// and the level's name for anything but Info.
func (h *consoleHandler) appendLead(buf []byte, t time.Time, l slog.Level) []byte {
	if !t.IsZero() {
		if h.color {
			buf = append(buf, ansiGrey...)
		}
		buf = append(buf, '[')
		buf = appendTimestamp(buf, t)
		buf = append(buf, ']')
		if h.color {
			buf = append(buf, ansiReset...)
		}
		buf = append(buf, ' ')
	}
	if h.color {
		buf = append(buf, levelColor(l)...)
	}
	if l != slog.LevelInfo {
		buf = append(buf, l.String()...)
		buf = append(buf, ' ')
	}
	return buf
}

func (h *consoleHandler) endLine(buf []byte) []byte {
	if h.color {
		buf = append(buf, ansiReset...)
	}
	return append(buf, '\n')
}

func levelColor(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return ansiRed
	case l >= slog.LevelWarn:
		return ansiYellow
	case l >= slog.LevelInfo:
		return ansiCyan
	default:
		return ansiGreen
	}
}

// appendTimestamp appends t in UTC as Core Tools prints it:
// 2006-01-02T15:04:05.000Z.
func appendTimestamp(buf []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	buf = appendDigits(buf, year, 4)
	buf = append(buf, '-')
	buf = appendDigits(buf, int(month), 2)
	buf = append(buf, '-')
	buf = appendDigits(buf, day, 2)
	buf = append(buf, 'T')
	buf = appendDigits(buf, hour, 2)
	buf = append(buf, ':')
	buf = appendDigits(buf, minute, 2)
	buf = append(buf, ':')
	buf = appendDigits(buf, sec, 2)
	buf = append(buf, '.')
	buf = appendDigits(buf, t.Nanosecond()/int(time.Millisecond), 3)
	return append(buf, 'Z')
}

// appendDigits appends n, zero-padded to width digits.
func appendDigits(buf []byte, n, width int) []byte {
	var d [20]byte
	i := len(d)
	for n >= 10 || width > 1 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	i--
	d[i] = byte('0' + n)
	return append(buf, d[i:]...)
}

// isError reports whether v holds a non-nil error.
func isError(v slog.Value) bool {
	if v.Kind() != slog.KindAny {
		return false
	}
	err, ok := v.Any().(error)
	return ok && err != nil
}

// appendAttr appends " key=value", or one such pair per attribute of a
// group, with group names joined to the key by dots.
func appendAttr(buf []byte, prefix string, a slog.Attr) []byte {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		as := v.Group()
		if len(as) == 0 {
			return buf
		}
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, ga := range as {
			buf = appendAttr(buf, prefix, ga)
		}
		return buf
	}
	if a.Key == "" && v.Any() == nil {
		return buf // an empty Attr is ignored
	}
	buf = append(buf, ' ')
	buf = append(buf, prefix...)
	buf = append(buf, a.Key...)
	buf = append(buf, '=')
	return appendValue(buf, v)
}

// appendValue appends a resolved value; a string is quoted only when it
// would not read as one word.
func appendValue(buf []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendString(buf, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(buf, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(buf, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(buf, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(buf, v.Bool())
	case slog.KindDuration:
		return append(buf, v.Duration().String()...)
	case slog.KindTime:
		return v.Time().AppendFormat(buf, time.RFC3339Nano)
	}
	return appendString(buf, valueText(v))
}

// valueText is a value as text: an error's message, a Stringer's string,
// or fmt's rendering of anything else.
func valueText(v slog.Value) string {
	if v.Kind() != slog.KindAny {
		return v.String()
	}
	switch x := v.Any().(type) {
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	case []byte:
		return string(x)
	case nil:
		return "<nil>"
	default:
		return fmt.Sprint(x)
	}
}

// appendString appends s as it is when it reads as one word, else quoted.
func appendString(buf []byte, s string) []byte {
	if needsQuote(s) {
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '=' || c == '"' || c == 0x7f {
			return true
		}
		if c >= utf8.RuneSelf {
			return !utf8.ValidString(s[i:])
		}
	}
	return false
}

var _ slog.Handler = (*consoleHandler)(nil)
