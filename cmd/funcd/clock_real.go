//go:build !funcdclock

package main

import "github.com/funcd/funcd/clock"

// processClock is the clock funcd runs on: the system's. A build with the
// test-only tag funcdclock replaces it (clock_offset.go).
func processClock(*globals) (clock.Clock, error) { return clock.Real{}, nil }
