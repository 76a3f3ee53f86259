package worker

import (
	"syscall"
	"unsafe"
)

// waitExited blocks until process pid has exited without reaping it, so its
// id (and with it the process group id) stays reserved until the caller has
// signalled the group.
func waitExited(pid int) {
	const (
		pPID    = 1          // P_PID
		wExited = 0x4        // WEXITED
		wNoWait = 0x01000000 // WNOWAIT
	)
	var siginfo [16]uint64 // room for a siginfo_t (128 bytes)
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&siginfo[0])), wExited|wNoWait, 0, 0)
		if errno != syscall.EINTR {
			return
		}
	}
}
