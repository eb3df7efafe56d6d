// Command pause is the pod sandbox ("pause") container of the local
// cluster's real node. containerd's CRI starts one per pod to hold its
// namespaces, and since nothing may be pulled, the node cannot use
// registry.k8s.io/pause: test/nodeimage packs this program instead.
//
// Like Kubernetes' pause it blocks until SIGINT or SIGTERM, then exits 0,
// and as PID 1 of a pod that shares its process namespace it reaps the
// zombies whose parents exited. Build it with CGO_ENABLED=0: the image has
// no libc.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 16)
	// Handling SIGINT and SIGTERM matters: the kernel drops a signal a
	// PID 1 has no handler for, so without one the pause container would
	// only ever stop by SIGKILL, after the runtime's grace period.
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap waits for every exited child. One SIGCHLD may stand for several
// exits, so it loops until none is left.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
