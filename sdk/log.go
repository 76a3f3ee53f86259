package sdk

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/funcd/funcd/sdk/internal/bridge"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// ConsoleLogPrefix starts the worker's stderr lines before its stream to
// the host is open; the host reads them as the worker's log.
const ConsoleLogPrefix = "LanguageWorkerConsoleLog"

// LogHandler is the SDK's slog.Handler, installed as slog's default when
// the package loads. Once the worker's stream is open, each record becomes
// an RpcLog: category User, "<function>.Invocation" and the invocation's id for records logged
// with an invocation's context (a handler's ctx or r.Context()), System
// for the worker's own. Attributes go into the RpcLog's properties and are
// appended to the message as key=value. Before the stream opens, records
// go to stderr behind ConsoleLogPrefix.
type LogHandler struct {
	level  slog.Leveler
	system bool
	attrs  []slog.Attr
	group  string
	out    io.Writer
}

// NewLogHandler returns a LogHandler for user records at level and above
// (nil: Info).
func NewLogHandler(level slog.Leveler) *LogHandler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &LogHandler{level: level, out: os.Stderr}
}

// SystemLogger is the logger of the worker's own records (category
// System).
func SystemLogger() *slog.Logger {
	h := NewLogHandler(slog.LevelInfo)
	h.system = true
	return slog.New(h)
}

func init() { slog.SetDefault(slog.New(NewLogHandler(nil))) }

// Enabled reports whether level is logged.
func (h *LogHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	for _, a := range attrs {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		c.attrs = append(c.attrs[:len(c.attrs):len(c.attrs)], a)
	}
	return &c
}

// WithGroup returns a handler that qualifies later attributes' keys.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

var stderrMu sync.Mutex

// Handle sends the record.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	var msg strings.Builder
	msg.WriteString(r.Message)
	props := map[string]*rpcpb.TypedData{}
	add := func(a slog.Attr) {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			return
		}
		v := a.Value.String()
		props[a.Key] = &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: v}}
		msg.WriteByte(' ')
		msg.WriteString(a.Key)
		msg.WriteByte('=')
		if strings.ContainsAny(v, " \t\n\"=") || v == "" {
			fmt.Fprintf(&msg, "%q", v)
		} else {
			msg.WriteString(v)
		}
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		add(a)
		return true
	})
	sink := bridge.Sink()
	if sink == nil {
		stderrMu.Lock()
		defer stderrMu.Unlock()
		_, err := fmt.Fprintf(h.out, "%s[%s] %s\n", ConsoleLogPrefix, r.Level, msg.String())
		return err
	}
	l := &rpcpb.RpcLog{Level: rpcLevel(r.Level), Message: msg.String(), PropertiesMap: props}
	if h.system {
		l.LogCategory = rpcpb.RpcLog_System
		l.Category = "Worker.Go"
	} else {
		l.LogCategory = rpcpb.RpcLog_User
		l.Category = "Worker.Go.User"
	}
	if mc, ok := ctx.Value(ctxKey{}).(*MiddlewareContext); ok {
		l.InvocationId = mc.InvocationID
		props["function_name"] = &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: mc.FunctionName}}
		props["trigger_type"] = &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: mc.TriggerType}}
		if !h.system {
			l.Category = mc.FunctionName + ".Invocation"
		}
	}
	if e, ok := errAttr(r); ok {
		l.Exception = e
	}
	sink(l)
	return nil
}

// errAttr makes an RpcException of a record's "stack" attribute.
func errAttr(r slog.Record) (*rpcpb.RpcException, bool) {
	var ex *rpcpb.RpcException
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "stack" {
			ex = &rpcpb.RpcException{Message: r.Message, StackTrace: a.Value.String(), Source: "go"}
			return false
		}
		return true
	})
	return ex, ex != nil
}

func rpcLevel(l slog.Level) rpcpb.RpcLog_Level {
	switch {
	case l < slog.LevelInfo:
		return rpcpb.RpcLog_Debug
	case l < slog.LevelWarn:
		return rpcpb.RpcLog_Information
	case l < slog.LevelError:
		return rpcpb.RpcLog_Warning
	}
	return rpcpb.RpcLog_Error
}

var systemLogger = sync.OnceValue(SystemLogger)

// systemLog reports a handler's panic as a System record of its
// invocation.
func systemLog(ctx context.Context, err error, stack []byte) {
	systemLogger().ErrorContext(ctx, "Function panicked: "+err.Error(), "stack", string(stack))
}

// Recover, deferred at the top of a goroutine a handler starts, stops a
// panic there from ending the worker: it logs the panic with its stack.
//
//	go func() { defer sdk.Recover(ctx); … }()
func Recover(ctx context.Context) {
	if v := recover(); v != nil {
		systemLog(ctx, fmt.Errorf("panic in a goroutine: %v", v), debug.Stack())
	}
}

// RecoverTo is Recover that also stores the panic in *err as a
// *PanicError.
func RecoverTo(ctx context.Context, err *error) {
	if v := recover(); v != nil {
		pe := &PanicError{Value: v, Stack: debug.Stack()}
		systemLog(ctx, pe, pe.Stack)
		if err != nil {
			*err = pe
		}
	}
}
