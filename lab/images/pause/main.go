// Command pause is the lab's pod sandbox process, packed by lab/mirror.sh as
// registry.k8s.io/pause:3.7: it holds a pod's namespaces open and does nothing else. As the
// pod's PID 1 it reaps orphans that other containers of the pod leave behind, and it exits
// cleanly on SIGINT or SIGTERM so that stopping a pod is not reported as a failure.
//
// It is built static (CGO_ENABLED=0) because the image holds this one file and no libc.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		os.Stdout.WriteString("pause (kplay lab) 3.7\n")
		return
	}
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sig {
		if s == syscall.SIGCHLD {
			reap()
			continue
		}
		return
	}
}

// reap collects every exited child: SIGCHLD signals coalesce, so one may stand for many.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
