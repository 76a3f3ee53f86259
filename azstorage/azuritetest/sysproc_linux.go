package azuritetest

import "syscall"

// sysProcAttr has the kernel kill Azurite if the test binary dies without
// stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
