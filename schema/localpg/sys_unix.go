package localpg

import "syscall"

// detached puts a child in its own process group so a terminal's Ctrl-C reaches only
// callplane, which then stops the cluster in order.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
