package funcd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error codes. The HTTP layer maps each to one status code.
const (
	ENOTFOUND     = "not_found"    // the named thing does not exist
	ECONFLICT     = "conflict"     // the thing exists or is in a state that forbids the operation
	EINVALID      = "invalid"      // the caller sent something malformed
	EUNAUTHORIZED = "unauthorized" // no valid key
	EFORBIDDEN    = "forbidden"    // a valid key without the needed level
	ETIMEOUT      = "timeout"      // the operation ran out of time
	EUNAVAILABLE  = "unavailable"  // the host cannot serve now (starting, stopping, overloaded)
	ETOOLARGE     = "too_large"    // a request exceeded a size limit
	EINTERNAL     = "internal"     // a bug or an unexpected failure
)

// Error is an error with a code. Message is safe to show to the caller; Err
// (if any) carries detail for logs.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Errorf returns an *Error with the code and a formatted message. A %w verb
// in format wraps its operand.
func Errorf(code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Code
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL if
// there is none, or "" for a nil err.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ConfigError is a problem in one of the app's files, located precisely
// enough for an editor to jump to it.
type ConfigError struct {
	// File is the path relative to the app root with forward slashes
	// ("hello/function.json"), or "" for a problem with no file (a setting).
	File string
	// Line and Column are 1-based; zero when not known.
	Line, Column int
	// Field is the JSON path of the offending property
	// ("bindings[0].direction"), or "" for the whole file.
	Field string
	// Msg is the problem, in the real host's words where it has any.
	Msg string
	// Hint tells how to fix it; doctor prints it.
	Hint string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
			if e.Column > 0 {
				b.WriteString(":" + strconv.Itoa(e.Column))
			}
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}
