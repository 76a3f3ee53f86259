package worker

import "syscall"

// procAttr puts the process in a group of its own and has the kernel kill
// it when funcd dies, even by SIGKILL, which leaves no chance to stop it:
// a worker must not outlive its host.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
