package worker

import (
	"bufio"
	"os/exec"
	"syscall"
	"testing"
)

// A worker dies with its host, even when the host is killed with SIGKILL
// and has no chance to stop it.
func TestWorkerDiesWithItsHost(t *testing.T) {
	spec := helperSpec("host", 0)
	host := exec.Command(spec.Path)
	host.Env = spec.Env
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		_ = host.Process.Kill()
		t.Fatalf("the host printed no worker pid: %v", sc.Err())
	}
	child := childPid(t, sc.Text())
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
	if err := host.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	waitGone(t, child)
}
