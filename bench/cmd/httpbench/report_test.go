package main

import "testing"

// TestMedian checks odd and even counts.
func TestMedian(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median(3,1,2) = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median(4,1,3,2) = %v", got)
	}
}

// TestCommandLine checks that arguments are quoted for a shell.
func TestCommandLine(t *testing.T) {
	got := commandLine([]string{"-duration", "10s", "-out", "my file.md"})
	want := "go run ./bench/cmd/httpbench -duration 10s -out 'my file.md'"
	if got != want {
		t.Errorf("commandLine = %q, want %q", got, want)
	}
}
