package benchrun

import "testing"

// TestMedian checks odd and even counts.
func TestMedian(t *testing.T) {
	if got := Median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("Median(3,1,2) = %v", got)
	}
	if got := Median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("Median(4,1,3,2) = %v", got)
	}
}

// TestCommandLine checks that arguments are quoted for a shell.
func TestCommandLine(t *testing.T) {
	got := CommandLine("./bench/cmd/httpbench", []string{"-duration", "10s", "-out", "my file.md"})
	want := "go run ./bench/cmd/httpbench -duration 10s -out 'my file.md'"
	if got != want {
		t.Errorf("CommandLine = %q, want %q", got, want)
	}
}
