package host

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// An owner is gone when it names a process of this machine, other than
// this one, that no longer runs.
func TestOwnerGone(t *testing.T) {
	name, _ := os.Hostname()
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	dead := ended.Process.Pid
	// A child that has exited and is not reaped yet is a zombie.
	zombie := exec.Command("true")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = zombie.Wait() })
	for i := 0; ; i++ {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", zombie.Process.Pid))
		if strings.Contains(string(b), ") Z") || i > 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range []struct {
		owner string
		gone  bool
	}{
		{newOwner(), false},
		{fmt.Sprintf("%s-%d-1a2b3c4d", name, dead), true},
		{fmt.Sprintf("%s-%d-1a2b3c4d", name, os.Getppid()), false},
		{fmt.Sprintf("other-%s-%d-1a2b3c4d", name, dead), false},
		{"garbage", false},
		{name + "-x-y", false},
	} {
		if got := ownerGone(c.owner); got != c.gone {
			t.Errorf("ownerGone(%q) = %v, want %v", c.owner, got, c.gone)
		}
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		if owner := fmt.Sprintf("%s-%d-1a2b3c4d", name, zombie.Process.Pid); !ownerGone(owner) {
			t.Errorf("ownerGone(%q) = false for a zombie, want true", owner)
		}
	}
}
