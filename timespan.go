package funcd

import (
	"fmt"
	"time"
)

// TimeSpan formats d as .NET's TimeSpan.ToString() does, the form the real
// host uses in its messages and configuration: [-][d.]hh:mm:ss[.fffffff].
func TimeSpan(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h, m, s := d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second
	ticks := d % time.Second / 100 // .NET ticks are 100 ns
	out := sign
	if days > 0 {
		out += fmt.Sprintf("%d.", days)
	}
	out += fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	if ticks > 0 {
		out += fmt.Sprintf(".%07d", ticks)
	}
	return out
}

// TimeoutError is the error of an invocation that ran past the function
// timeout, in the real host's words.
func TimeoutError(timeout time.Duration, function, invocationID string, cause error) *Error {
	return &Error{
		Code: ETIMEOUT,
		Message: fmt.Sprintf("Timeout value of %s exceeded by function 'Functions.%s' (Id: '%s'). Initiating cancellation.",
			TimeSpan(timeout), function, invocationID),
		Err: cause,
	}
}
