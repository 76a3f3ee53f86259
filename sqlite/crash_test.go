package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/storage"
)

// crashDirEnv, set, makes TestCrashChild the child of TestCrashKeepsAcknowledgedWrites.
const crashDirEnv = "FUNCD_SQLITE_CRASH_DIR"

// TestCrashChild writes to the store in the folder crashDirEnv names and
// prints a line for every write acknowledged, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child process of TestCrashKeepsAcknowledgedWrites")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	ack := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	fail := func(err error) {
		ack("ERR %v", err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		m, err := s.Enqueue(ctx, "crash", []byte(fmt.Sprint(i)), 0, storage.NeverExpires)
		if err != nil {
			fail(err)
		}
		ack("E %s", m.ID)
		if i%3 == 0 {
			msgs, err := s.Receive(ctx, "crash", 1, time.Hour)
			if err != nil {
				fail(err)
			}
			for _, m := range msgs {
				if err := s.Delete(ctx, "crash", m.ID, m.PopReceipt); err != nil {
					fail(err)
				}
				ack("D %s", m.ID)
			}
		}
		if i%10 == 0 {
			name := fmt.Sprintf("blob-%d", i)
			p, err := s.PutBlob(ctx, "crash", name, strings.NewReader(name), storage.PutBlobOptions{})
			if err != nil {
				fail(err)
			}
			ack("B %s %s", name, p.ETag)
		}
	}
}

// TestCrashKeepsAcknowledgedWrites kills a process writing to the store
// (SIGKILL, no chance to close it) and checks that every write it was told
// had succeeded is in the store when it is opened again.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	enqueued, deleted, blobs := map[string]bool{}, map[string]bool{}, map[string]string{}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		switch {
		case len(f) == 2 && f[0] == "E":
			enqueued[f[1]] = true
		case len(f) == 2 && f[0] == "D":
			deleted[f[1]] = true
		case len(f) == 3 && f[0] == "B":
			blobs[f[1]] = f[2]
		case len(f) > 0 && f[0] == "ERR":
			t.Fatalf("child: %s", lines.Text())
		}
		if len(enqueued) == 2000 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, stdout) // acknowledgements after the kill was sent count too
	cmd.Wait()
	if len(enqueued) < 2000 {
		t.Fatalf("the child acknowledged only %d enqueues: %v", len(enqueued), lines.Err())
	}

	// A message the child received but had not deleted yet when it was
	// killed is invisible for the hour it was received for: read the store
	// from two hours later so that it counts as present.
	s := open(t, dir, clocktest.New(time.Now().Add(2*time.Hour)))
	ctx := t.Context()
	present := map[string]bool{}
	for {
		msgs, err := s.Receive(ctx, "crash", 32, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			present[m.ID] = true
		}
	}
	for id := range enqueued {
		if !deleted[id] && !present[id] {
			t.Errorf("acknowledged message %s is missing after the crash", id)
		}
	}
	for id := range deleted {
		if present[id] {
			t.Errorf("message %s, whose delete was acknowledged, is back after the crash", id)
		}
	}
	for name, etag := range blobs {
		r, p, err := s.OpenBlob(ctx, "crash", name)
		if err != nil {
			t.Errorf("acknowledged blob %s: %v", name, err)
			continue
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(b) != name || p.ETag != etag {
			t.Errorf("blob %s after the crash: %q %s (%v), want its content and ETag %s", name, b, p.ETag, err, etag)
		}
	}
	t.Logf("after the kill: %d enqueues, %d deletes and %d blobs acknowledged, all kept", len(enqueued), len(deleted), len(blobs))
}
