package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestLogWriterKeepsEveryRecordInOrder writes from many goroutines and
// checks that each goroutine's records all arrive, in its order.
func TestLogWriterKeepsEveryRecordInOrder(t *testing.T) {
	var out syncBuffer
	w := newLogWriter(&out)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				fmt.Fprintf(w, "g%d %d\n", g, i)
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var g string
		var i int
		if _, err := fmt.Sscanf(line, "%s %d", &g, &i); err != nil {
			t.Fatalf("garbled line %q", line)
		}
		if i != next[g] {
			t.Fatalf("%s: record %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	for g := range 8 {
		if n := next[fmt.Sprintf("g%d", g)]; n != 500 {
			t.Errorf("g%d: %d records, want 500", g, n)
		}
	}
}

func TestLogWriterAfterClose(t *testing.T) {
	var out bytes.Buffer
	w := newLogWriter(&out)
	fmt.Fprint(w, "before\n")
	_ = w.Close()
	fmt.Fprint(w, "after\n")
	if out.String() != "before\nafter\n" {
		t.Errorf("out = %q", out.String())
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
