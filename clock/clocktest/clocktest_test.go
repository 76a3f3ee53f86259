package clocktest

import (
	"context"
	"testing"
	"time"
)

var epoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func TestAdvanceFiresDueTimersInOrder(t *testing.T) {
	f := New(epoch)
	late := f.NewTimer(2 * time.Second)
	early := f.NewTimer(time.Second)
	f.Advance(1500 * time.Millisecond)
	select {
	case got := <-early.C():
		if want := epoch.Add(time.Second); !got.Equal(want) {
			t.Fatalf("early fired at %v, want %v", got, want)
		}
	default:
		t.Fatal("early timer did not fire")
	}
	select {
	case <-late.C():
		t.Fatal("late timer fired too soon")
	default:
	}
	f.Advance(time.Second)
	if got := <-late.C(); !got.Equal(epoch.Add(2 * time.Second)) {
		t.Fatalf("late fired at %v", got)
	}
	if got, want := f.Now(), epoch.Add(2500*time.Millisecond); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v", got, want)
	}
}

func TestStopAndReset(t *testing.T) {
	f := New(epoch)
	tm := f.NewTimer(time.Second)
	if !tm.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	if tm.Stop() {
		t.Fatal("second Stop returned true")
	}
	f.Advance(time.Hour)
	select {
	case <-tm.C():
		t.Fatal("stopped timer fired")
	default:
	}
	if tm.Reset(time.Minute) {
		t.Fatal("Reset of a stopped timer returned true")
	}
	f.Advance(time.Minute)
	<-tm.C()

	// A fired, unread tick is drained by Reset.
	tm.Reset(time.Second)
	f.Advance(time.Second)
	tm.Reset(time.Second)
	select {
	case <-tm.C():
		t.Fatal("stale tick after Reset")
	default:
	}
}

func TestZeroDurationFiresAtOnce(t *testing.T) {
	f := New(epoch)
	select {
	case <-f.After(0):
	default:
		t.Fatal("After(0) did not fire")
	}
	if n := f.Timers(); n != 0 {
		t.Fatalf("Timers = %d, want 0", n)
	}
}

func TestBlockUntil(t *testing.T) {
	f := New(epoch)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-f.After(time.Minute)
	}()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	<-done

	short, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if err := f.BlockUntil(short, 5); err == nil {
		t.Fatal("BlockUntil with a cancelled context returned nil")
	}
}
